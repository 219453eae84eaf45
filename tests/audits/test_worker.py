"""Audits through a real Celery worker and broker (Redis in CI)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from audits import services
from audits.models import AuditMetric, AuditRun, AuditStatus
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.conftest import placements, register, scaled
from tests.registry.conftest import make_dataset
from tests.worker import celery_worker, wait_for, worker_log

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
    from audits.tasks import audit_run_task

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
def test_audit_survives_its_worker_being_killed(world, shared_media):
    """SIGKILL the process running the audit: the task is redelivered, a new
    process takes the run over once the lease runs out, and it finishes once."""
    real_frame, synthetic_frame = placements()
    real = register(
        make_dataset(world, name="Real", kind="real"),
        world.curator_a,
        scaled(real_frame, 20_000, seed=1),
    )
    synthetic = register(
        make_dataset(world, name="Synthetic"),
        world.curator_a,
        scaled(synthetic_frame, 20_000, seed=2),
    )
    with celery_worker(extra_env=worker_env(shared_media)) as (process, queue):
        run = request_audit(world, synthetic, real)
        send(run, queue)
        assert wait_for(
            lambda: AuditRun.objects.get(pk=run.pk).status == AuditStatus.RUNNING, timeout=60
        ), worker_log(queue)
        child = _pool_child(process.pid)
        os.kill(child, signal.SIGKILL)
        assert wait_for(lambda: AuditRun.objects.get(pk=run.pk).is_finished, timeout=240), (
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


def _pool_child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children, "the worker has no pool process"
    return int(children[0])
