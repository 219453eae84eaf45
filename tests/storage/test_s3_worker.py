"""A real Celery worker on "another machine": the same database, broker and
bucket, but its own empty MEDIA_ROOT, so it can only read what the web process
stored through the bucket."""

from __future__ import annotations

import pytest

from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from audits.runs.tasks import audit_run_task
from tests.audits.conftest import placements, register
from tests.registry.conftest import make_dataset
from tests.worker import celery_worker, wait_for, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_audits_files_it_did_not_write(s3, world, tmp_path):
    real_frame, synthetic_frame = placements()
    real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    assert s3.names() == sorted([real.file.name, synthetic.file.name])
    assert s3.local_files() == []  # the web side kept nothing on its disk either
    worker_media = tmp_path / "worker-media"
    worker_media.mkdir()
    with celery_worker(extra_env={**s3.env, "MEDIA_ROOT": str(worker_media)}) as (worker, queue):
        run = services.audit_run_request(
            version=synthetic,
            reference=real,
            holdout=None,
            config=services.default_config(synthetic),
            user=world.curator_a,
            enqueue=False,
        )
        audit_run_task.apply_async(args=[run.pk], queue=queue)
        # Stop waiting early when the worker could not start (its log says why).
        wait_for(
            lambda: worker.poll() is not None or AuditRun.objects.get(pk=run.pk).is_finished,
            timeout=180,
        )
        finished = AuditRun.objects.get(pk=run.pk).is_finished
        log = worker_log(queue)
    assert finished, log
    run.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED, f"{run.error}\n{log}"
    assert run.integrity == "verified"
    overall = AuditMetric.objects.get(run=run, key="quality.overall")
    assert 0 < overall.value <= 1
    assert AuditMetric.objects.filter(run=run).count() > 10
    # The worker read through the bucket: nothing landed in its folder.
    assert [p for p in worker_media.rglob("*") if p.is_file()] == []
