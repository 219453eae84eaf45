"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

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
    *,
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
    queue: str | None = None,
    pause_dir: Path | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Yield (process, queue): a worker consuming only its own fresh queue.

    The private queue keeps a developer's running worker (or another test's)
    from taking the tasks this test sends. With ``pause_dir`` the worker holds the
    audits :func:`hold_audits` asks for halfway through (tests/worker_pause.py).
    """
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    app = "synthgov"
    if pause_dir is not None:
        from tests.worker_pause import PAUSE_DIR_ENV

        app = "tests.worker_pause"
        extra_env = {**(extra_env or {}), PAUSE_DIR_ENV: str(pause_dir)}
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
            app,
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
            pool = _children(process.pid)
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                # A pool process still busy (an audit held by tests/worker_pause.py when
                # the test failed before killing it) would outlive its worker.
                for child in pool:
                    with suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
        log.close()
        # Tests read the log while the worker runs; afterwards it is only clutter.
        (ROOT / "var" / f"worker-{queue}.log").unlink(missing_ok=True)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def hold_audits(pause_dir: Path, count: int) -> None:
    """Have a worker started with ``pause_dir`` hold the next ``count`` audits (attempts)
    that reach halfway. Call it before the runs are sent: then no run can pass first."""
    for i in range(count):
        (pause_dir / f"hold-{i}").touch()


def held_audit(
    pause_dir: Path, run_id: int, worker: subprocess.Popen[bytes], *, timeout: float
) -> dict[str, Any] | None:
    """Once ``worker`` holds run ``run_id``: its pool process's pid, the step and the
    progress fraction it stopped at (None if it did not within ``timeout``, or exited)."""
    marker = pause_dir / f"{run_id}.paused"
    wait_for(lambda: marker.exists() or worker.poll() is not None, timeout=timeout, interval=0.1)
    return json.loads(marker.read_text()) if marker.exists() else None


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
