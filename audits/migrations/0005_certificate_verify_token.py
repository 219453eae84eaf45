"""Certificates get a verification token; global standards a permission of their own.

Existing certificates get a token each (a different one per row) without their
signed file changing: their signed ``verify_url`` keeps pointing at the page by
number, which now shows only whether they are in force, while the holder's
page offers the link with the token to share.
"""

import secrets

from django.db import migrations, models

import audits.models


def give_each_certificate_a_token(apps, schema_editor):
    Certificate = apps.get_model("audits", "Certificate")
    for certificate in Certificate.objects.filter(verify_token="").only("pk").iterator():
        Certificate.objects.filter(pk=certificate.pk).update(verify_token=secrets.token_urlsafe(16))


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0004_signoffs_certificates"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificate",
            name="verify_token",
            field=models.CharField(default="", editable=False, max_length=32),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_certificate_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="certificate",
            name="verify_token",
            field=models.CharField(
                default=audits.models.new_verify_token,
                editable=False,
                help_text="Published by the holder in the verification link; with the number "
                "it shows what the certificate states.",
                max_length=32,
            ),
        ),
        migrations.AlterModelOptions(
            name="standardversion",
            options={
                "ordering": ["standard__code", "-created"],
                "permissions": [
                    (
                        "publish_global_standard",
                        "Can publish global standards (they apply to every organisation)",
                    )
                ],
            },
        ),
    ]
