"""Thin Celery tasks: claim the row, call the service, retry transient errors."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from audits import services

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, OSError)
MAX_RETRIES = 5


@shared_task(bind=True, name="audits.run", acks_late=True, max_retries=MAX_RETRIES)
def audit_run_task(self, run_id: int) -> str:
    try:
        token = services.audit_run_claim(run_id=run_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if token is None:
        if services.audit_run_is_held(run_id=run_id):
            # Another delivery is running it (or its worker just died): look
            # again once the lease would have run out.
            raise self.retry(countdown=services.LEASE_SECONDS + 5, max_retries=None)
        return "nothing to do"
    try:
        run = services.audit_run_execute(run_id=run_id, token=token)
    except services.LeaseLost:
        return "taken over by another worker"
    except SoftTimeLimitExceeded:
        services.audit_run_fail(
            run_id=run_id,
            token=token,
            message="The audit took longer than the time limit and was stopped. Try fewer "
            "check families, or ask an administrator to raise CELERY_TASK_TIME_LIMIT.",
        )
        return "failed: time limit"
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            services.audit_run_fail(
                run_id=run_id,
                token=token,
                message=f"Storage or database kept failing ({type(exc).__name__}); "
                "the audit stopped after several retries. Run it again later.",
            )
            return "failed: transient errors"
        log.warning("audit %s hit a transient error, retrying: %s", run_id, exc)
        services.audit_run_release(run_id=run_id, token=token, reason="Retrying after an error")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except Exception:
        log.exception("audit %s stopped on an unexpected error", run_id)
        services.audit_run_fail(
            run_id=run_id,
            token=token,
            message="An internal error stopped the audit; it has been logged for the "
            "SynthGov administrators. Nothing was recorded as evidence.",
        )
        raise
    return run.status


def _backoff(retries: int) -> int:
    return min(300, 5 * 2**retries)


@shared_task(bind=True, name="audits.runs_sweep", max_retries=MAX_RETRIES)
def audit_runs_sweep_task(self) -> dict[str, int]:
    """Every SYNTHGOV_SWEEP_SECONDS: send runs that have no task, hand on runs
    whose worker died, complete cancels no worker will see."""
    try:
        return services.audit_runs_sweep()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="audits.evaluate_version", acks_late=True, max_retries=MAX_RETRIES)
def evaluations_for_version_task(self, version_id: int) -> int:
    """Recompute compliance of one dataset version after an audit finished."""
    from audits import compliance
    from registry.models import DatasetVersion

    version = DatasetVersion.objects.filter(pk=version_id).first()
    if version is None:
        return 0
    try:
        return len(compliance.evaluations_recompute_for_version(dataset_version=version))
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="audits.evaluate_standard", acks_late=True, max_retries=MAX_RETRIES)
def evaluations_for_standard_task(self, standard_version_id: int) -> int:
    """Recompute every evaluation a newly published standard version affects."""
    from audits import compliance
    from audits.models import StandardVersion

    version = StandardVersion.objects.filter(pk=standard_version_id).first()
    if version is None:
        return 0
    try:
        return compliance.evaluations_recompute_for_standard(standard_version=version)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


# --- Certificates (scheduled by CELERY_BEAT_SCHEDULE) -------------------------


@shared_task(bind=True, name="audits.certificates_expire", max_retries=MAX_RETRIES)
def certificates_expire_task(self) -> int:
    """Daily: mark certificates whose expiry date has come, and notify."""
    from audits import certification

    try:
        return certification.certificates_expire()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="audits.certificates_review", max_retries=MAX_RETRIES)
def certificates_review_task(self) -> dict[str, int]:
    """Daily: suspend certificates whose lineage moved on; queue due re-audits."""
    from audits import certification

    try:
        return certification.certificates_review()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="audits.certificates_lineage", max_retries=MAX_RETRIES)
def certificates_lineage_task(self) -> int:
    """After an upload: suspend certificates one of whose parents it replaced."""
    from audits import certification

    try:
        return certification.certificates_check_lineage()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
