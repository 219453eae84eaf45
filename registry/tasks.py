"""Thin Celery tasks for the registry."""

from __future__ import annotations

from celery import shared_task

from registry.scrub import storage_scrub
from synthgov.queue import RetryingTask


@shared_task(base=RetryingTask, name="registry.storage_scrub")
def storage_scrub_task() -> dict[str, int]:
    """Every SYNTHGOV_SCRUB_SECONDS: re-hash the SYNTHGOV_SCRUB_BATCH stored files
    checked longest ago."""
    return storage_scrub()
