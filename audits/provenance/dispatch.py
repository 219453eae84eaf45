"""Handing watermark runs to the broker, and the sweeper that hands on runs
nothing is working on (the audit runs' counterpart is in ``audits.runs.services``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from registry.models import WatermarkRun
from synthgov.queue import enqueue
from synthgov.trail.services import trail_record

log = logging.getLogger(__name__)

WAITING_FOR_BROKER = (
    "Waiting for the task queue (the broker did not answer): the request is kept and "
    "will be sent as soon as it answers"
)
SWEEP_BATCH = 200
# A worker still holding a run this long after the task's hard time limit
# cannot exist: Celery kills a task at that limit, and a killed worker holds nothing.
STALE_MARGIN_SECONDS = 60


def watermark_run_dispatch(*, run_id: int, previous: datetime | None = None) -> bool:
    """Hand a queued run's task to the broker; True when it was sent. ``previous``
    is the ``dispatched`` value the caller saw, so a request and a sweep never
    both send. When the broker does not answer the run stays queued, saying so,
    with ``dispatched=None`` for the sweeper; the broker's error is not raised."""
    now = timezone.now()
    queued = WatermarkRun.objects.filter(pk=run_id, status=WatermarkRun.Status.QUEUED)
    if not queued.filter(dispatched=previous).update(dispatched=now):
        return False
    try:
        enqueue("registry.watermark", run_id)
    except (BrokerError, OSError) as exc:
        log.warning("watermark run %s kept for the sweeper: broker down (%s)", run_id, exc)
        WatermarkRun.objects.filter(pk=run_id, dispatched=now).update(dispatched=None)
        queued.update(step=WAITING_FOR_BROKER)
        return False
    queued.filter(step=WAITING_FOR_BROKER).update(step="")
    return True


def watermark_runs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Send queued runs that have no task (the broker was down, or lost the
    message ``SYNTHGOV_REQUEUE_SECONDS`` ago); fail runs still "running" after
    the task time limit, whose worker died. Safe to run twice. Returns counts."""
    now = now or timezone.now()
    resend_before = now - timedelta(seconds=settings.SYNTHGOV_REQUEUE_SECONDS)
    waiting = (
        WatermarkRun.objects.filter(status=WatermarkRun.Status.QUEUED)
        .filter(Q(dispatched__isnull=True) | Q(dispatched__lt=resend_before))
        .order_by("created")
        .values_list("pk", "dispatched")[:SWEEP_BATCH]
    )
    sent = sum(watermark_run_dispatch(run_id=pk, previous=old) for pk, old in waiting)
    dead_before = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + STALE_MARGIN_SECONDS)
    stuck = WatermarkRun.objects.filter(
        Q(started__lt=dead_before) | Q(started__isnull=True, created__lt=dead_before),
        status=WatermarkRun.Status.RUNNING,
    ).select_related("source__dataset__organisation")
    failed = sum(_fail_stuck(run, now) for run in stuck[:SWEEP_BATCH])
    return {"sent": sent, "failed": failed}


def _fail_stuck(run: WatermarkRun, now: datetime) -> bool:
    message = (
        "The worker making the watermarked version stopped before it finished (it was "
        "killed or restarted). Check the version's list for a new version, then request "
        "the watermark again if there is none."
    )
    with transaction.atomic():
        changed = WatermarkRun.objects.filter(
            pk=run.pk, status=WatermarkRun.Status.RUNNING, started=run.started
        ).update(status=WatermarkRun.Status.FAILED, step="", error=message, finished=now)
        if changed:
            trail_record(
                actor=None,
                actor_label="run sweeper",
                action="registry.watermark.failed",
                target=run.source,
                organisation=run.source.dataset.organisation,
                payload={"run": run.pk, "error": message},
            )
    return bool(changed)
