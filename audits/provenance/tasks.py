"""Thin Celery tasks for watermarking: run one watermark run, sweep the queue."""

from __future__ import annotations

import logging

from celery import shared_task

from audits.provenance import dispatch, services
from synthgov.queue import MAX_RETRIES, TRANSIENT, RetryingTask, backoff

log = logging.getLogger(__name__)


@shared_task(bind=True, base=RetryingTask, name="registry.watermark", acks_late=True)
def watermark_run_task(self, run_id: int) -> str:
    try:
        run = services.watermark_run_execute(run_id=run_id)
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            services.watermark_run_fail(
                run_id=run_id,
                message=f"Storage or database kept failing ({type(exc).__name__}); "
                "watermarking stopped after several retries. Try again later.",
            )
            return "failed: transient errors"
        # The service put the run back in the queue; the retry claims it again.
        log.warning("watermark run %s hit a transient error, retrying: %s", run_id, exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    if run is None:
        return "nothing to do"
    return run.status


@shared_task(base=RetryingTask, name="registry.watermark_sweep")
def watermark_runs_sweep_task() -> dict[str, int]:
    """Every SYNTHGOV_SWEEP_SECONDS: send watermark runs that have no task, and
    fail those whose worker died."""
    return dispatch.watermark_runs_sweep()
