"""Queueing background work, and the one retry policy every task follows.

Services queue a task by its registered name (``enqueue("audits.run", run.pk)``),
so no service imports a tasks module and tasks stay thin wrappers over services.
Tasks that retry are declared with ``base=RetryingTask``: a transient database,
storage or broker error is retried after 5 s, doubling to at most 5 minutes, at
most ``MAX_RETRIES`` times; a task that must record the failure of the work it
holds catches ``TRANSIENT`` itself and retries with :func:`backoff`.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.result import AsyncResult
from django.db import InterfaceError, OperationalError

from synthgov.celery import app

TRANSIENT = (OperationalError, InterfaceError, OSError)
MAX_RETRIES = 5
BACKOFF_SECONDS = 5
BACKOFF_MAX_SECONDS = 300


def backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: 5, 10, 20… up to 300."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2**retries)


def enqueue(name: str, *args: Any) -> AsyncResult:
    """Send the task registered as ``name``; broker errors reach the caller."""
    return app.send_task(name, args=args)


class RetryingTask(Task):
    """Base class of every retried task: one policy, stated once."""

    autoretry_for = TRANSIENT
    max_retries = MAX_RETRIES
    retry_backoff = BACKOFF_SECONDS
    retry_backoff_max = BACKOFF_MAX_SECONDS
    retry_jitter = False
