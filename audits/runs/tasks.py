"""Thin Celery tasks: claim the row, call the service, retry transient errors."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from audits.runs import services
from synthgov.queue import MAX_RETRIES, TRANSIENT, RetryingTask, backoff

log = logging.getLogger(__name__)


@shared_task(bind=True, base=RetryingTask, name="audits.run", acks_late=True)
def audit_run_task(self, run_id: int) -> str:
    try:
        token = services.audit_run_claim(run_id=run_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
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
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
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


@shared_task(base=RetryingTask, name="audits.runs_sweep")
def audit_runs_sweep_task() -> dict[str, int]:
    """Every SYNTHGOV_SWEEP_SECONDS: send runs that have no task, hand on runs
    whose worker died, complete cancels no worker will see."""
    return services.audit_runs_sweep()
