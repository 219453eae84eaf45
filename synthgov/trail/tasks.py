"""Scheduled trail work (CELERY_BEAT_SCHEDULE): thin wrappers over services."""

from __future__ import annotations

import logging

from celery import shared_task

from synthgov.trail import services

logger = logging.getLogger(__name__)


@shared_task(name="trail.checkpoint")
def trail_checkpoint_task() -> int | None:
    """Hourly: sign the trail's head; returns its seq, or None when unchanged.

    Not retried: a missing key or a broken trail needs a person, and the next
    run an hour later tries again anyway. Both raise, so the failure shows in
    the worker log and the task results."""
    try:
        checkpoint = services.checkpoint_create()
    except services.TrailBrokenError:
        logger.error("trail checkpoint refused: the trail does not verify", exc_info=True)
        raise
    return checkpoint.seq if checkpoint else None
