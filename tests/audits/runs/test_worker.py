"""Audits through a real Celery worker and broker (Redis in CI)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from registry.models import WatermarkRun
from synthgov.celery import app
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.conftest import placements, register
from tests.audits.provenance.test_provenance import TOLERANCES, add_version, frame
from tests.registry.conftest import make_dataset
from tests.worker import (
    broker_down,
    celery_worker,
    held_audit,
    hold_audits,
    wait_for,
    worker_log,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE = 8  # seconds; the worker under test takes over a dead worker's run this fast


@pytest.fixture
def shared_media(settings, tmp_path):
    """Stored files where the worker process (another process) finds them too."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return media


def worker_env(media: Path) -> dict[str, str]:
    return {"MEDIA_ROOT": str(media), "SYNTHGOV_AUDIT_LEASE_SECONDS": str(LEASE)}


def send(run: AuditRun, queue: str) -> None:
    from audits.runs.tasks import audit_run_task

    audit_run_task.apply_async(args=[run.pk], queue=queue)


def request_audit(world, synthetic, real):
    return services.audit_run_request(
        version=synthetic,
        reference=real,
        holdout=None,
        config=services.default_config(synthetic),
        user=world.curator_a,
    )


def test_worker_runs_an_audit_end_to_end(world, shared_media):
    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    with celery_worker(extra_env=worker_env(shared_media)) as (_, queue):
        run = request_audit(world, synthetic, real)
        send(run, queue)
        assert wait_for(lambda: AuditRun.objects.get(pk=run.pk).is_finished, timeout=120), (
            worker_log(queue)
        )
    run.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert AuditMetric.objects.filter(run=run, key="quality.overall").exists()


@pytest.mark.skipif(
    settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="redelivery of a killed worker's task is tested against Redis (CI sets "
    "CELERY_BROKER_URL=redis://...); the filesystem broker is for local demos",
)
def test_audit_survives_its_worker_being_killed(world, shared_media, tmp_path):
    """SIGKILL the process running the audit halfway through it: the task is redelivered,
    a new process takes the run over once the lease runs out, and it finishes once."""
    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    pause = tmp_path / "pause"
    pause.mkdir()
    env = worker_env(shared_media)
    with celery_worker(extra_env=env, pause_dir=pause) as (process, queue):
        hold_audits(pause, 1)
        run = request_audit(world, synthetic, real)
        send(run, queue)
        held = held_audit(pause, run.pk, process, timeout=120)
        assert held is not None, worker_log(queue)
        assert_held_mid_audit(run, held, _pool_children(process.pid))
        os.kill(held["pid"], signal.SIGKILL)
        assert wait_for(lambda: AuditRun.objects.get(pk=run.pk).is_finished, timeout=300), (
            worker_log(queue)
        )
        log = worker_log(queue)
    run.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED, (run.error, log)
    assert run.attempts == 2
    assert "WorkerLostError" in log or "signal 9" in log
    assert Event.objects.filter(action="audits.run.finished", object_id=str(run.pk)).count() == 1
    assert Event.objects.filter(action="audits.run.restarted", object_id=str(run.pk)).count() == 1
    assert AuditMetric.objects.filter(run=run, key="privacy.exact_match_rate").count() == 1
    assert trail_verify().ok


def assert_held_mid_audit(run: AuditRun, held: dict, pool: list[int]) -> None:
    """The worker's pool process holds the run in the middle of its audit (its first
    attempt, running, halfway), so the kill that follows interrupts real work."""
    assert held["pid"] in pool, (held, pool)
    assert 0.5 <= held["fraction"] < 1, held
    current = AuditRun.objects.get(pk=run.pk)
    assert current.status == AuditStatus.RUNNING and current.attempts == 1, current.step
    assert not AuditMetric.objects.filter(run=run).exists()


# --- Nothing orphaned, nothing stuck -------------------------------------------


@contextmanager
def routed_to(queue: str) -> Iterator[None]:
    """Send the tasks the services queue themselves (requests, the sweeper) to
    the test worker's private queue."""
    old = app.conf.task_routes
    app.conf.task_routes = {"audits.*": {"queue": queue}, "registry.*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)
    try:
        yield
    finally:
        app.conf.task_routes = old
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)


def test_runs_requested_while_the_broker_is_down_run_once_it_is_back(
    world, shared_media, settings, tmp_path
):
    """The request is accepted and kept (202, "waiting for the task queue"), never
    a 500 and never a run with no task: the sweeper sends it when the broker answers."""
    keys = tmp_path / "keys"
    settings.SYNTHGOV_ORG_KEYS_DIR = keys
    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    source = add_version(
        make_dataset(world, name="To mark"), world.curator_a, frame().to_csv(index=False).encode()
    )
    api = APIClient()
    api.force_authenticate(world.curator_a)
    with broker_down():
        audit = api.post(
            "/api/v1/audits/",
            {"version": synthetic.pk, "reference": real.pk, "families": ["privacy"]},
            format="json",
        )
        mark = api.post(
            f"/api/v1/versions/{source.pk}/watermark/",
            {"tolerances": TOLERANCES},
            format="json",
        )
    assert audit.status_code == 202, audit.content
    assert mark.status_code == 202, mark.content
    run = AuditRun.objects.get(pk=audit.json()["id"])
    watermark = WatermarkRun.objects.get(pk=mark.json()["id"])
    assert run.status == AuditStatus.QUEUED and run.dispatched is None
    assert "task queue" in api.get(f"/api/v1/audits/{run.pk}/").json()["step"]
    assert watermark.status == WatermarkRun.Status.QUEUED and watermark.dispatched is None
    assert "task queue" in api.get(f"/api/v1/watermark-runs/{watermark.pk}/").json()["step"]
    env = {**worker_env(shared_media), "SYNTHGOV_ORG_KEYS_DIR": str(keys)}
    with celery_worker(extra_env=env) as (_, queue), routed_to(queue):
        call_command("sweep_runs")
        assert wait_for(
            lambda: (
                AuditRun.objects.get(pk=run.pk).is_finished
                and WatermarkRun.objects.get(pk=watermark.pk).done
            ),
            timeout=120,
        ), worker_log(queue)
    run.refresh_from_db()
    watermark.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert watermark.status == WatermarkRun.Status.SUCCEEDED, watermark.error
    assert Event.objects.filter(action="audits.run.finished", object_id=str(run.pk)).count() == 1


@pytest.mark.skipif(
    settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="a whole worker killed with its task unacknowledged is tested against Redis (CI "
    "sets CELERY_BROKER_URL=redis://...), whose visibility timeout would hold the task for "
    "hours; the filesystem broker is for local demos",
)
def test_whole_worker_killed_the_sweeper_takes_over_and_cancel_completes(
    world, shared_media, settings, tmp_path
):
    """SIGKILL the worker and its pool, both runs halfway through: Redis keeps the task
    unacknowledged for the visibility timeout, so only the sweeper can hand the runs on.
    One run is taken over by a new worker and finishes once; the other, cancelled while
    its worker was dead, ends cancelled instead of "Cancelling…" for hours."""
    settings.SYNTHGOV_AUDIT_LEASE_SECONDS = LEASE
    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    api = APIClient()
    api.force_authenticate(world.curator_a)
    pause = tmp_path / "pause"
    pause.mkdir()
    env = worker_env(shared_media)
    with celery_worker(concurrency=2, extra_env=env, pause_dir=pause) as (process, queue):
        hold_audits(pause, 2)
        with routed_to(queue):
            runs = [request_audit(world, synthetic, real) for _ in range(2)]
        helds = [held_audit(pause, r.pk, process, timeout=120) for r in runs]
        assert all(helds), (helds, run_states(runs), worker_log(queue))
        pool = _pool_children(process.pid)
        for run, held in zip(runs, helds, strict=True):
            assert_held_mid_audit(run, held, pool)
        assert {h["pid"] for h in helds} == set(pool)  # each pool process holds one
        for child in pool:
            os.kill(child, signal.SIGKILL)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    taken_over, cancelled = runs
    response = api.post(f"/api/v1/audits/{cancelled.pk}/cancel/")
    assert response.status_code == 200
    with celery_worker(extra_env=worker_env(shared_media)) as (_, queue), routed_to(queue):
        # Once the dead worker's lease has run out the sweeper acts (beat runs it
        # every SYNTHGOV_SWEEP_SECONDS; here it is called until it has acted).
        def swept() -> bool:
            call_command("sweep_runs")
            return AuditRun.objects.get(pk=cancelled.pk).is_finished

        assert wait_for(swept, timeout=60, interval=1), (run_states(runs), worker_log(queue))

        # The sweeper goes on running, as beat would: the two dead runs' last heartbeats
        # differ by up to a heartbeat, so the taken-over run's lease may run out after
        # the sweep that finished the cancelled one.
        def taken_over_finished() -> bool:
            call_command("sweep_runs")
            return AuditRun.objects.get(pk=taken_over.pk).is_finished

        assert wait_for(taken_over_finished, timeout=240, interval=1), (
            run_states(runs),
            worker_log(queue),
        )
        log = worker_log(queue)
    taken_over.refresh_from_db()
    cancelled.refresh_from_db()
    assert cancelled.status == AuditStatus.CANCELLED and cancelled.step == "Cancelled"
    assert taken_over.status == AuditStatus.SUCCEEDED, (taken_over.error, log)
    assert taken_over.attempts == 2
    finished = Event.objects.filter(action="audits.run.finished", object_id=str(taken_over.pk))
    assert finished.count() == 1
    requeued = Event.objects.filter(action="audits.run.requeued", object_id=str(taken_over.pk))
    assert requeued.count() == 1
    assert not AuditMetric.objects.filter(run=cancelled).exists()
    assert trail_verify().ok


def run_states(runs: list[AuditRun]) -> list[dict]:
    """Where each run stands, and its trail: what a failure message needs to say."""
    fields = ("pk", "status", "step", "attempts", "dispatched", "heartbeat", "cancel_requested")
    return [
        {
            **AuditRun.objects.values(*fields).get(pk=run.pk),
            "events": list(
                Event.objects.filter(object_type="audits.auditrun", object_id=str(run.pk))
                .order_by("seq")
                .values_list("action", flat=True)
            ),
        }
        for run in runs
    ]


def _pool_children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
