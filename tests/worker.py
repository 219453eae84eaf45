"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database this test run created (not the configured one)."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def celery_worker(
    *, concurrency: int = 1, extra_env: dict[str, str] | None = None, queue: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Yield (process, queue): a worker consuming only its own fresh queue.

    The private queue keeps a developer's running worker (or another test's)
    from taking the tasks this test sends.
    """
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "synthgov.settings",
        # Tasks the worker itself sends (the evaluation after an audit) stay on its
        # private queue, where it takes them, instead of the default one nobody reads.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **(extra_env or {}),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(ROOT / "var" / f"worker-{queue}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "synthgov",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, queue
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        # Tests read the log while the worker runs; afterwards it is only clutter.
        (ROOT / "var" / f"worker-{queue}.log").unlink(missing_ok=True)


def worker_log(queue: str) -> str:
    return (ROOT / "var" / f"worker-{queue}.log").read_text(errors="replace")


def wait_for(predicate, *, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def _reset_producers() -> None:
    from synthgov.celery import app

    # The app keeps a connection pool per broker URL; drop ours so the next
    # publish connects to whatever the configuration now says.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_down() -> Iterator[None]:
    """Point this process's Celery publishing at a 127.0.0.1 port nothing listens on."""
    from synthgov.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Publishing connects to broker_write_url, which falls back to the
    # CELERY_BROKER_URL environment variable before the configured broker_url.
    old = app.conf.get("broker_write_url")
    app.conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    _reset_producers()
    try:
        yield
    finally:
        app.conf.broker_write_url = old
        _reset_producers()
