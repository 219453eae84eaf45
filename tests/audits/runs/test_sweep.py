"""Nothing orphaned, nothing stuck: the run sweeper, cancelling a run no worker
holds, and a missing or altered stored file as an integrity failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audits.compliance import services as compliance
from audits.models import AuditMetric, AuditRun, AuditStatus, Certificate, CertificateStatus
from audits.runs import services
from audits.runs.tasks import audit_run_task
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.certification import helpers as helpers
from tests.audits.certification.test_certification import certify
from tests.worker import broker_down

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def request(pw, **config):
    return services.audit_run_request(
        version=pw["synthetic"],
        reference=pw["real"],
        holdout=None,
        config={**services.default_config(pw["synthetic"]), **config},
        user=pw["world"].curator_a,
    )


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def orphan(run, settings, *, attempts=1):
    """The run as a worker that died mid-run leaves it: running, heartbeat stale."""
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    lease = settings.SYNTHGOV_AUDIT_LEASE_SECONDS
    AuditRun.objects.filter(pk=run.pk).update(
        heartbeat=timezone.now() - timezone.timedelta(seconds=lease + 1), attempts=attempts
    )
    return token


# --- Cancel and the sweeper --------------------------------------------------


def test_cancel_completes_at_once_for_a_run_no_worker_holds(placements_world, settings):
    run = request(placements_world)
    zombie = orphan(run, settings)
    response = api_for(placements_world["world"].curator_a).post(f"/api/v1/audits/{run.pk}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["step"] == "Cancelled"
    services.audit_run_execute(run_id=run.pk, token=zombie)  # a late worker changes nothing
    assert AuditRun.objects.get(pk=run.pk).status == AuditStatus.CANCELLED
    assert not AuditMetric.objects.filter(run_id=run.pk).exists()
    assert Event.objects.filter(action="audits.run.cancelled", object_id=str(run.pk)).exists()


def test_sweeper_completes_a_cancel_its_worker_never_saw(placements_world, settings):
    run = request(placements_world)
    services.audit_run_claim(run_id=run.pk)
    api_for(placements_world["world"].curator_a).post(f"/api/v1/audits/{run.pk}/cancel/")
    assert AuditRun.objects.get(pk=run.pk).step == "Cancelling…"  # a live worker holds it
    orphan_heartbeat = timezone.now() - timezone.timedelta(
        seconds=settings.SYNTHGOV_AUDIT_LEASE_SECONDS + 1
    )
    AuditRun.objects.filter(pk=run.pk).update(heartbeat=orphan_heartbeat)  # ...then dies
    call_command("sweep_runs")
    run.refresh_from_db()
    assert run.status == AuditStatus.CANCELLED and run.claim_token == ""
    assert Event.objects.filter(action="audits.run.cancelled", object_id=str(run.pk)).count() == 1


def test_sweeper_requeues_a_run_whose_worker_died_and_is_safe_to_run_twice(
    placements_world, settings
):
    run = request(placements_world)
    zombie = orphan(run, settings)
    call_command("sweep_runs")
    call_command("sweep_runs")
    run.refresh_from_db()
    assert run.status == AuditStatus.QUEUED and run.claim_token == ""
    assert run.step.startswith("Queued again")
    assert Event.objects.filter(action="audits.run.requeued", object_id=str(run.pk)).count() == 1
    with pytest.raises(services.LeaseLost):
        services.audit_run_execute(run_id=run.pk, token=zombie)
    token = services.audit_run_claim(run_id=run.pk)
    assert services.audit_run_execute(run_id=run.pk, token=token).status == AuditStatus.SUCCEEDED
    assert trail_verify().ok


def test_sweeper_fails_a_run_whose_workers_keep_dying(placements_world, settings):
    run = request(placements_world)
    orphan(run, settings, attempts=settings.SYNTHGOV_AUDIT_MAX_ATTEMPTS)
    call_command("sweep_runs")
    run.refresh_from_db()
    assert run.status == AuditStatus.FAILED
    assert f"stopped {settings.SYNTHGOV_AUDIT_MAX_ATTEMPTS} times" in run.error
    assert Event.objects.filter(action="audits.run.failed", object_id=str(run.pk)).count() == 1


def test_sweeper_leaves_a_run_a_live_worker_holds(placements_world):
    run = request(placements_world)
    token = services.audit_run_claim(run_id=run.pk)
    call_command("sweep_runs")
    run.refresh_from_db()
    assert run.status == AuditStatus.RUNNING and run.claim_token == token


# --- A missing or altered stored file ------------------------------------------


def test_tampered_file_ends_the_audit_failed_for_integrity(placements_world, client):
    version = placements_world["synthetic"]
    with default_storage.open(version.file.name, "ab") as handle:
        handle.write(b"1,M,0,0,Arts,0,Others,False,0,0,Mkt&HR,0,0,False,,,\n")
    run = request(placements_world)
    audit_run_task.apply(args=[run.pk])
    api = api_for(placements_world["world"].curator_a)
    state = api.get(f"/api/v1/audits/{run.pk}/").json()
    assert state["status"] == "failed"
    assert state["integrity"] == "altered"
    assert "no longer matches the SHA-256" in state["error"]
    # The evidence of the failure is kept and can be read.
    assert AuditMetric.objects.get(run_id=run.pk, key="integrity.hash_verified").value == 0.0
    assert api.get(f"/api/v1/audits/{run.pk}/results/").status_code == 200
    client.force_login(placements_world["world"].curator_a)
    page = client.get(f"/audits/{run.pk}/").content.decode()
    assert "Integrity check failed" in page


def test_missing_audited_file_is_an_integrity_failure_and_suspends_its_certificates(cert_world):
    certificate = certify(cert_world)
    synthetic = cert_world["synthetic"]
    Path(default_storage.path(synthetic.file.name)).unlink()
    run = request(cert_world)
    audit_run_task.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == AuditStatus.FAILED
    assert run.integrity == "missing"
    assert "missing from storage" in run.error
    assert "kept failing" not in run.error
    assert AuditMetric.objects.get(run=run, key="integrity.hash_verified").value == 0.0
    # Standards judge the version by that failed figure, not an older passing one.
    assert compliance.figures_for(synthetic)["integrity.hash_verified"].value == 0.0
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.SUSPENDED
    assert "missing" in certificate.status_reason
    assert Event.objects.filter(action="audits.certificate.suspended").count() == 1
    assert trail_verify().ok


def test_missing_reference_fails_at_once_with_a_message(placements_world):
    Path(default_storage.path(placements_world["real"].file.name)).unlink()
    run = request(placements_world)
    audit_run_task.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == AuditStatus.FAILED
    assert run.attempts == 1
    assert "missing from storage" in run.error and "kept failing" not in run.error


def test_tampered_certified_file_suspends_the_certificate(cert_world):
    certificate = certify(cert_world)
    with default_storage.open(cert_world["synthetic"].file.name, "ab") as handle:
        handle.write(b"\n")
    run = request(cert_world)
    audit_run_task.apply(args=[run.pk])
    assert AuditRun.objects.get(pk=run.pk).integrity == "altered"
    assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.SUSPENDED


# --- The broker down ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_audit_form_with_the_broker_down_keeps_the_run_and_says_so(world, registry_storage, client):
    """Committed for real (on_commit runs), with publishing pointed at a closed port:
    the curator lands on the run's page, not a 500, and the run waits for the sweeper."""
    from tests.audits.conftest import placements, register
    from tests.registry.conftest import make_dataset

    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    client.force_login(world.curator_a)
    with broker_down():
        response = client.post(
            f"/versions/{synthetic.pk}/audit/",
            {"reference": real.pk, "families": ["privacy"], "seed": 1},
        )
    run = AuditRun.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert run.status == AuditStatus.QUEUED and run.dispatched is None
    assert "task queue" in client.get(response.url).content.decode()
    assert Event.objects.filter(action="audits.run.requested").count() == 1
