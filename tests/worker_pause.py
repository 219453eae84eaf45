"""SynthGov's Celery app for a test worker that holds audits at a known point.

``tests.worker.celery_worker(pause_dir=...)`` starts ``celery -A tests.worker_pause worker``:
the same app, tasks and configuration as ``celery -A synthgov``. In each pool process the
audit's progress callback gains one thing: when its progress reaches ``PAUSE_AT`` and a
token file ``<pause_dir>/hold-*`` is left (``tests.worker.hold_audits``), the process takes
one (removes it), writes ``<pause_dir>/<run id>.paused`` (its pid, the step and the
fraction) and stops there, its heartbeat thread still holding the lease, until the test
kills it. So a test kills a worker in the middle of an audit at a step it knows, however
fast or loaded the machine, instead of hoping a big audit is still running when it looks.
Each token holds one audit once: a run's next attempt, with no token left, goes through.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from celery.signals import worker_process_init

from synthgov.celery import app

__all__ = ["app"]

# Not SYNTHGOV_*: the settings refuse an unknown variable of theirs (a typo).
PAUSE_DIR_ENV = "TEST_WORKER_PAUSE_DIR"
# Halfway through: the data is read and the first families' figures are computed.
PAUSE_AT = 0.5
# A test that dies without killing the process must not leave it held for ever.
PAUSE_LIMIT_SECONDS = 300


def _take_token(folder: Path) -> bool:
    for token in sorted(folder.glob("hold-*")):
        try:
            token.unlink()  # another pool process may take it first
        except FileNotFoundError:
            continue
        return True
    return False


def _pause(folder: Path, run_id: int, step: str, fraction: float) -> None:
    if not _take_token(folder):
        return
    marker = {"pid": os.getpid(), "step": step, "fraction": fraction}
    partial = folder / f"{run_id}.paused.part"
    partial.write_text(json.dumps(marker))
    partial.rename(folder / f"{run_id}.paused")
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.2)


@worker_process_init.connect
def _hold_audits_halfway(**_: object) -> None:
    folder = os.environ.get(PAUSE_DIR_ENV)
    if not folder:
        return
    from audits.runs import services

    writer = services._progress_writer

    def progress_writer(run_id, token, heartbeat):  # type: ignore[no-untyped-def]
        report = writer(run_id, token, heartbeat)
        held: list[int] = []

        def paused_report(step: str, fraction: float) -> None:
            report(step, fraction)
            if fraction >= PAUSE_AT and not held:
                held.append(run_id)  # this attempt asks for a token once
                _pause(Path(folder), run_id, step, fraction)

        return paused_report

    services._progress_writer = progress_writer
