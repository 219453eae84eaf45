"""Thin Celery tasks over certificates; the daily ones are scheduled by
CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

from celery import shared_task

from audits.certification import certificates
from synthgov.queue import RetryingTask


@shared_task(base=RetryingTask, name="audits.certificates_expire")
def certificates_expire_task() -> int:
    """Daily: mark certificates whose expiry date has come, and notify."""
    return certificates.certificates_expire()


@shared_task(base=RetryingTask, name="audits.certificates_review")
def certificates_review_task() -> dict[str, int]:
    """Daily: suspend certificates whose lineage moved on; queue due re-audits."""
    return certificates.certificates_review()


@shared_task(base=RetryingTask, name="audits.certificates_lineage")
def certificates_lineage_task() -> int:
    """After an upload: suspend certificates one of whose parents it replaced."""
    return certificates.certificates_check_lineage()
