"""Thin Celery tasks that recompute compliance evaluations."""

from __future__ import annotations

from celery import shared_task

from audits.compliance import services
from audits.models import StandardVersion
from registry.models import DatasetVersion
from synthgov.queue import RetryingTask


@shared_task(base=RetryingTask, name="audits.evaluate_version", acks_late=True)
def evaluations_for_version_task(version_id: int) -> int:
    """Recompute compliance of one dataset version after an audit finished."""
    version = DatasetVersion.objects.filter(pk=version_id).first()
    if version is None:
        return 0
    return len(services.evaluations_recompute_for_version(dataset_version=version))


@shared_task(base=RetryingTask, name="audits.evaluate_standard", acks_late=True)
def evaluations_for_standard_task(standard_version_id: int) -> int:
    """Recompute every evaluation a newly published standard version affects."""
    version = StandardVersion.objects.filter(pk=standard_version_id).first()
    if version is None:
        return 0
    return services.evaluations_recompute_for_standard(standard_version=version)
