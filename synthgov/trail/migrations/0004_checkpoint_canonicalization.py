"""Record each checkpoint's canonicalisation: checkpoints signed before RFC 8785
keep "" (the legacy canonical form they were signed over) and keep verifying."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trail", "0003_anchor_v1_events")]

    operations = [
        migrations.AddField(
            model_name="checkpoint",
            name="canonicalization",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
