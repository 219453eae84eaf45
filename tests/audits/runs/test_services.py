import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify


def request(pw, **config):
    base = services.default_config(pw["synthetic"])
    return services.audit_run_request(
        version=pw["synthetic"],
        reference=pw["real"],
        holdout=pw["holdout"],
        config={**base, **config},
        user=pw["world"].curator_a,
    )


def run_now(run):
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    return services.audit_run_execute(run_id=run.pk, token=token)


def test_default_config_comes_from_schema_roles(placements_world):
    config = services.default_config(placements_world["synthetic"])
    assert config["protected"] == ["gender"]
    assert config["target"] == "placed"
    assert set(config["quasi_identifiers"]) == {"degree_type", "high_spec"}
    assert config["sensitive"] == ["salary"]


def test_audit_runs_and_records_evidence(placements_world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        run = request(placements_world)
    assert len(callbacks) == 1  # the task is sent only after commit
    assert run.status == AuditStatus.QUEUED
    run = run_now(run)
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert run.progress == 1.0
    assert run.input_hashes["synthetic"] == placements_world["synthetic"].sha256
    assert run.input_hashes["holdout"] == placements_world["holdout"].sha256
    assert {"pandas", "numpy", "sdmetrics", "scikit-learn", "synthgov"} <= set(run.library_versions)
    assert len(run.results_sha256) == len(run.evidence_sha256) == 64
    keys = set(AuditMetric.objects.filter(run=run).values_list("key", flat=True))
    assert {
        "quality.overall",
        "privacy.exact_match_rate",
        "fairness.amplification",
        "privacy.dcr_closer_to_training_share",
        "documentation.datasheet_completeness",
    } <= keys
    assert run.results["findings"]
    actions = list(
        Event.objects.filter(object_id=str(run.pk), object_type="audits.auditrun")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["audits.run.requested", "audits.run.started", "audits.run.finished"]
    assert trail_verify().ok


def test_same_inputs_and_seed_give_the_same_figures(placements_world):
    first, second = run_now(request(placements_world)), run_now(request(placements_world))
    assert first.results_sha256 == second.results_sha256
    assert first.results["metrics"] == second.results["metrics"]


def test_request_errors_name_the_problem(placements_world):
    pw = placements_world
    with pytest.raises(ValidationError) as info:
        request(pw, protected=["nationality"])
    assert "nationality is not a column" in str(info.value)
    with pytest.raises(ValidationError, match="must be the real data"):
        services.audit_run_request(
            version=pw["synthetic"],
            reference=pw["synthetic"],
            holdout=None,
            config=services.default_config(pw["synthetic"]),
            user=pw["world"].curator_a,
        )
    assert not AuditRun.objects.exists()


def test_tampered_file_stops_the_audit_with_that_finding(placements_world):
    version = placements_world["synthetic"]
    with default_storage.open(version.file.name, "ab") as handle:
        handle.write(b"1,M,0,0,Arts,0,Others,False,0,0,Mkt&HR,0,0,False,,,\n")
    run = run_now(request(placements_world))
    # Failed, not "succeeded": a client polling only the status cannot miss it.
    assert run.status == AuditStatus.FAILED and run.integrity == "altered"
    hash_metric = AuditMetric.objects.get(run=run, key="integrity.hash_verified")
    assert hash_metric.value == 0.0
    assert AuditMetric.objects.get(run=run, key="quality.overall").status == "skipped"
    assert Event.objects.get(action="audits.run.failed").payload["tampered_file"] is True
    assert not Event.objects.filter(action="audits.run.finished").exists()


def test_tampered_reference_fails_with_a_message(placements_world):
    reference = placements_world["real"]
    with default_storage.open(reference.file.name, "ab") as handle:
        handle.write(b"\n")
    run = run_now(request(placements_world))
    assert run.status == AuditStatus.FAILED
    assert "no longer matches the SHA-256" in run.error
    assert "Integrity check failed" in run.error
    assert Event.objects.filter(action="audits.run.failed").exists()


def test_reference_without_a_column_fails_in_words(placements_world):
    from tests.audits.conftest import placements, register
    from tests.registry.conftest import make_dataset

    world = placements_world["world"]
    real_frame, _ = placements()
    narrow = register(
        make_dataset(world, name="Narrow real", kind="real"),
        world.curator_a,
        real_frame.drop(columns=["salary"]),
    )
    run = services.audit_run_request(
        version=placements_world["synthetic"],
        reference=narrow,
        holdout=None,
        config=services.default_config(placements_world["synthetic"]),
        user=world.curator_a,
    )
    run = run_now(run)
    assert run.status == AuditStatus.FAILED
    assert "salary" in run.error


def test_cancel_queued_and_running(placements_world):
    queued = request(placements_world)
    services.audit_run_cancel(run=queued, user=placements_world["world"].curator_a)
    queued.refresh_from_db()
    assert queued.status == AuditStatus.CANCELLED
    assert services.audit_run_claim(run_id=queued.pk) is None
    running = request(placements_world)
    token = services.audit_run_claim(run_id=running.pk)
    services.audit_run_cancel(run=running, user=placements_world["world"].curator_a)
    running = services.audit_run_execute(run_id=running.pk, token=token)
    assert running.status == AuditStatus.CANCELLED
    assert not AuditMetric.objects.filter(run=running).exists()
    with pytest.raises(ValidationError, match="already finished"):
        services.audit_run_cancel(run=running, user=placements_world["world"].curator_a)


def test_claims_are_exclusive_and_stale_claims_are_taken_over(placements_world):
    run = request(placements_world)
    first = services.audit_run_claim(run_id=run.pk)
    assert first
    assert services.audit_run_claim(run_id=run.pk) is None  # a live worker holds it
    assert services.audit_run_is_held(run_id=run.pk)
    AuditRun.objects.filter(pk=run.pk).update(
        heartbeat=timezone.now() - timezone.timedelta(seconds=services.LEASE_SECONDS + 1)
    )
    second = services.audit_run_claim(run_id=run.pk)
    assert second and second != first
    with pytest.raises(services.LeaseLost):
        services.audit_run_execute(run_id=run.pk, token=first)  # the zombie cannot finish it
    finished = services.audit_run_execute(run_id=run.pk, token=second)
    assert finished.status == AuditStatus.SUCCEEDED
    assert finished.attempts == 2
    assert services.audit_run_claim(run_id=run.pk) is None
