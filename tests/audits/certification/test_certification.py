"""Certificates through the services: offline verification of the downloaded
file, key rotation, expiry, revocation, suspension when the evidence moves on,
scheduled re-audits and the trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audits.certification import certificates as certification
from audits.certification import rules as certification_rules
from audits.certification import signoffs
from audits.models import AuditRun, AuditStatus, Certificate, Notification
from synthgov import signing_keys as keys
from synthgov import verify
from synthgov.signing.keys import rotated_keyring_text
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.certification import helpers as helpers
from tests.audits.certification.helpers import GOOD, evaluate, record_audit
from tests.registry.conftest import make_version, placements_csv

# Fixtures shared by the certificate tests.
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def certify(cw, evaluation=None):
    evaluation = evaluation or cw["evaluation"]
    world = cw["world"]
    for user in (world.curator_a, world.regulator):
        signoffs.signoff_record(
            evaluation=evaluation,
            user=user,
            decision="approve",
            comment="All rules pass; audits reviewed.",
            reauthenticated_at=timezone.now(),
        )
    return Certificate.objects.get(evaluation=evaluation)


@pytest.fixture
def certified(cert_world):
    return {**cert_world, "certificate": certify(cert_world)}


def download(certificate):
    """The file, as someone with the certificate's verification link downloads it."""
    response = Client().get(certificate.get_share_url().replace("/?", "/certificate.json?"))
    assert response.status_code == 200
    return response.content


def keys_document(tmp_path):
    response = Client().get("/.well-known/synthgov-keys.json")
    assert response.status_code == 200
    path = tmp_path / "synthgov-keys.json"
    path.write_bytes(response.content)
    return path


def test_downloaded_certificate_verifies_offline_and_any_changed_byte_fails(
    certified, tmp_path, capsys
):
    data = download(certified["certificate"])
    cert_path, key_path = tmp_path / "cert.json", keys_document(tmp_path)
    cert_path.write_bytes(data)
    assert verify.main([str(cert_path), "--public-key", str(key_path)]) == verify.EXIT_VALID
    assert "VALID signature" in capsys.readouterr().out

    failures = 0
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        cert_path.write_bytes(bytes(changed))
        failures += verify.main([str(cert_path), "--public-key", str(key_path)]) != 0
    assert failures == len(data)
    assert "INVALID" in capsys.readouterr().out


def test_a_certificate_signed_with_a_rotated_out_key_still_verifies(
    certified, signing_keys, tmp_path
):
    old = certified["certificate"]
    signing_keys.write_text(rotated_keyring_text(signing_keys.read_text()))
    keys.clear_cache()
    new_kid = keys.signing_keyring().current_kid
    assert new_kid != old.kid

    later = record_audit(
        certified["synthetic"], certified["real"], certified["world"].curator_a, GOOD
    )
    new = certify(certified, evaluate(certified["synthetic"], certified["standard"]))
    assert later.pk and new.kid == new_kid

    document = Client().get("/.well-known/synthgov-keys.json").json()
    statuses = {k["kid"]: k["status"] for k in document["keys"]}
    assert statuses == {new_kid: "current", old.kid: "retired"}
    key_path = keys_document(tmp_path)
    for certificate in (old, new):
        path = tmp_path / f"{certificate.number}.json"
        path.write_bytes(download(certificate))
        assert verify.main([str(path), "--public-key", str(key_path)]) == verify.EXIT_VALID
        assert certification.certificate_check(certificate).signature_valid is True


def test_certificates_expire_by_themselves(certified, tmp_path):
    certificate = certified["certificate"]
    day = certificate.expires
    assert certificate.effective_status(day - timedelta(days=1)) == "valid"
    assert certificate.effective_status(day) == "expired"  # even before the task runs
    assert certification.certificates_expire(today=day - timedelta(days=1)) == 0
    assert certification.certificates_expire(today=day) == 1
    assert certification.certificates_expire(today=day) == 0  # safe to run twice
    certificate.refresh_from_db()
    assert certificate.status == "expired"
    assert Event.objects.filter(action="audits.certificate.expired").count() == 1
    notified = set(
        Notification.objects.filter(message__contains="expired").values_list(
            "organisation__slug", flat=True
        )
    )
    assert notified == {"alpha", "eu-reg"}
    path = tmp_path / "cert.json"
    path.write_bytes(download(certificate))
    key_path = keys_document(tmp_path)
    args = [str(path), "--public-key", str(key_path), "--today", day.isoformat()]
    assert verify.main(args) == verify.EXIT_EXPIRED


def test_a_regulator_revokes_with_a_reason_and_a_fresh_login(certified):
    certificate, world = certified["certificate"], certified["world"]
    with pytest.raises(certification_rules.FreshLoginRequired):
        certification.certificate_revoke(
            certificate=certificate, user=world.regulator, reason="x", reauthenticated_at=None
        )
    with pytest.raises(certification_rules.SignOffForbidden):
        certification.certificate_revoke(
            certificate=certificate,
            user=world.curator_a,
            reason="x",
            reauthenticated_at=timezone.now(),
        )
    revoked = certification.certificate_revoke(
        certificate=certificate,
        user=world.regulator,
        reason="The generator was found to memorise records.",
        reauthenticated_at=timezone.now(),
    )
    assert revoked.status == "revoked" and revoked.status_changed_by == world.regulator
    with pytest.raises(certification.CertificateStateError, match="already revoked"):
        certification.certificate_revoke(
            certificate=certificate,
            user=world.regulator,
            reason="again",
            reauthenticated_at=timezone.now(),
        )
    page = Client().get(certificate.get_share_url())
    assert "Revoked" in page.content.decode()
    assert "memorise records" in page.content.decode()
    by_number = Client().get(certificate.get_verify_url()).content.decode()
    assert "Revoked" in by_number and "memorise records" not in by_number
    assert Event.objects.filter(action="audits.certificate.revoked").count() == 1


def test_a_reaudit_failing_a_blocking_rule_suspends_the_certificate(certified):
    certificate = certified["certificate"]
    record_audit(
        certified["synthetic"],
        certified["real"],
        certified["world"].curator_a,
        {**GOOD, "quality.overall": 0.4},
        finished=timezone.now() + timedelta(seconds=1),
    )
    evaluate(certified["synthetic"], certified["standard"])
    certificate.refresh_from_db()
    assert certificate.status == "suspended"
    assert "quality.overall (blocking)" in certificate.status_reason
    assert certification.certificate_check(certificate).status == "suspended"
    # The public learns that it is suspended, not which organisation's data moved.
    page = Client().get(certificate.get_share_url()).content.decode()
    assert "Suspended" in page and "a re-audit failed a rule" in page
    holder = Client()
    holder.force_login(certified["world"].curator_a)
    detail = holder.get(certificate.get_absolute_url()).content.decode()
    assert "quality.overall (blocking)" in detail
    for org in (certified["world"].org_a, certified["world"].regulator_org):
        assert Notification.objects.filter(organisation=org, message__contains="suspended")
    assert certification.certificates_suspended(certified["world"].regulator) == [certificate]


def test_a_passing_reaudit_keeps_the_certificate(certified):
    record_audit(
        certified["synthetic"],
        certified["real"],
        certified["world"].curator_a,
        {**GOOD, "quality.overall": 0.85},
        finished=timezone.now() + timedelta(seconds=1),
    )
    evaluate(certified["synthetic"], certified["standard"])
    certified["certificate"].refresh_from_db()
    assert certified["certificate"].status == "valid"


def test_replacing_a_parent_in_the_lineage_suspends_the_certificate(
    certified, django_capture_on_commit_callbacks
):
    from audits.certification.tasks import certificates_lineage_task

    certificate = certified["certificate"]
    with django_capture_on_commit_callbacks() as callbacks:
        make_version(
            certified["real_dataset"], certified["world"].curator_a, placements_csv(seed=9)
        )
    assert len(callbacks) == 1  # the review is queued once the upload commits
    assert certificate.status == "valid"
    assert certificates_lineage_task.apply().get() == 1  # what the worker runs
    certificate.refresh_from_db()
    assert certificate.status == "suspended"
    assert "Real placements has a newer version (v2" in certificate.status_reason


def test_a_new_version_of_an_unrelated_dataset_changes_nothing(
    certified, django_capture_on_commit_callbacks
):
    from audits.certification.tasks import certificates_lineage_task
    from tests.registry.conftest import make_dataset

    other = make_dataset(certified["world"], name="Unrelated")
    with django_capture_on_commit_callbacks():
        make_version(other, certified["world"].curator_a, placements_csv(seed=11))
    assert certificates_lineage_task.apply().get() == 0
    certified["certificate"].refresh_from_db()
    assert certified["certificate"].status == "valid"


def test_review_requests_a_reaudit_when_the_audit_code_changes(
    certified, django_capture_on_commit_callbacks
):
    run = certified["run"]
    AuditRun.objects.filter(pk=run.pk).update(
        library_versions={**run.library_versions, "sdmetrics": "0.0.1"}
    )
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = certification.certificates_review()
    assert outcome == {"suspended": 0, "reaudits_requested": 1}
    assert len(callbacks) == 1  # the audit task, queued after commit
    queued = AuditRun.objects.get(status=AuditStatus.QUEUED)
    assert queued.version == certified["synthetic"] and queued.reference == certified["real"]
    event = Event.objects.get(action="audits.certificate.reaudit_requested")
    assert "sdmetrics 0.0.1 →" in event.payload["reason"]
    # Not requested again while that audit waits.
    assert certification.certificates_review()["reaudits_requested"] == 0


def test_review_requests_a_reaudit_after_the_standards_interval(certified):
    run = certified["run"]
    now = timezone.now()
    assert certification.certificates_review(now=now)["reaudits_requested"] == 0
    later = run.finished + timedelta(days=90)
    assert certification.certificates_review(now=later)["reaudits_requested"] == 1
    event = Event.objects.get(action="audits.certificate.reaudit_requested")
    assert "every 90 days" in event.payload["reason"]


def test_numbers_are_sequential_and_unique(certified):
    first = certified["certificate"]
    record_audit(certified["synthetic"], certified["real"], certified["world"].curator_a, GOOD)
    second = certify(certified, evaluate(certified["synthetic"], certified["standard"]))
    year = first.issued.year
    assert (first.number, second.number) == (f"SG-{year}-000001", f"SG-{year}-000002")


def test_expiring_within_30_days_shows_on_the_dashboard(certified):
    certificate, world = certified["certificate"], certified["world"]
    assert certification.certificates_expiring(world.curator_a) == []
    Certificate.objects.filter(pk=certificate.pk).update(
        expires=timezone.now().date() + timedelta(days=20)
    )
    assert certification.certificates_expiring(world.curator_a) == [certificate]
    assert certification.certificates_expiring(world.regulator_b) == []  # not in their reach
    client = Client()
    client.force_login(world.curator_a)
    home = client.get("/").content.decode()
    assert "Certificates expiring within 30 days" in home and certificate.number in home
    # The compliance matrix marks the certified cell and links to its certificate.
    assert f'href="/certificates/{certificate.number}/"' in home
    assert 'data-testid="matrix-certificate">certified<' in home


def test_every_step_is_on_the_trail_and_the_trail_verifies(certified, capsys):
    certification.certificates_expire(today=certified["certificate"].expires)
    actions = set(Event.objects.values_list("action", flat=True))
    assert {
        "audits.signoff.recorded",
        "audits.certificate.issued",
        "audits.certificate.expired",
    } <= actions
    assert trail_verify().ok
    call_command("verify_trail")
    assert "Audit trail intact" in capsys.readouterr().out


def test_signing_without_configured_keys_in_production_refuses_clearly(cert_world, settings):
    settings.SYNTHGOV_SIGNING_KEYS_FILE = ""
    settings.DEBUG = False
    keys.clear_cache()
    world = cert_world["world"]
    signoffs.signoff_record(
        evaluation=cert_world["evaluation"],
        user=world.curator_a,
        decision="approve",
        comment="ok",
        reauthenticated_at=timezone.now(),
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="SYNTHGOV_SIGNING_KEYS_FILE"):
        signoffs.signoff_record(
            evaluation=cert_world["evaluation"],
            user=world.regulator,
            decision="approve",
            comment="ok",
            reauthenticated_at=timezone.now(),
        )
    assert not Certificate.objects.exists()
    assert cert_world["evaluation"].signoffs.count() == 1


def test_the_offline_verifier_loads_neither_django_nor_celery():
    import subprocess
    import sys

    probe = "import sys, synthgov.verify; print(sorted({'django', 'celery'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
