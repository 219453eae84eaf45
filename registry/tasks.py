"""Thin Celery tasks for the registry: claim the row, call the service, retry
transient errors."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from registry import provenance

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, OSError)
MAX_RETRIES = 5


@shared_task(bind=True, name="registry.watermark", acks_late=True, max_retries=MAX_RETRIES)
def watermark_run_task(self, run_id: int) -> str:
    try:
        run = provenance.watermark_run_execute(run_id=run_id)
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            provenance.watermark_run_fail(
                run_id=run_id,
                message=f"Storage or database kept failing ({type(exc).__name__}); "
                "watermarking stopped after several retries. Try again later.",
            )
            return "failed: transient errors"
        # The service put the run back in the queue; the retry claims it again.
        log.warning("watermark run %s hit a transient error, retrying: %s", run_id, exc)
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
    if run is None:
        return "nothing to do"
    return run.status


@shared_task(bind=True, name="registry.watermark_sweep", max_retries=MAX_RETRIES)
def watermark_runs_sweep_task(self) -> dict[str, int]:
    """Every SYNTHGOV_SWEEP_SECONDS: send watermark runs that have no task, and
    fail those whose worker died."""
    from registry.dispatch import watermark_runs_sweep

    try:
        return watermark_runs_sweep()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc


@shared_task(bind=True, name="registry.storage_scrub", max_retries=MAX_RETRIES)
def storage_scrub_task(self) -> dict[str, int]:
    """Every SYNTHGOV_SCRUB_SECONDS: re-hash the SYNTHGOV_SCRUB_BATCH stored files
    checked longest ago."""
    from registry.scrub import storage_scrub

    try:
        return storage_scrub()
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
