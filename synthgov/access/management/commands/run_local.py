"""Run the web server, a Celery worker and the Celery beat scheduler together
for local use.

Ctrl-C (or SIGTERM) stops all three: each child gets SIGTERM, then SIGKILL if it
has not exited within ten seconds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from synthgov.access.demo import DEMO_PASSWORD, USERS


class Command(BaseCommand):
    help = "Start the development web server, a Celery worker and beat; Ctrl-C stops them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "synthgov"]
        commands = [
            [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            [
                *celery,
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
            ],
            # The scheduler: daily certificate expiry and review (CELERY_BEAT_SCHEDULE).
            [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
            ],
        ]
        children = [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in commands]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://{host}:{port}/"
        if self._wait_until_up(url, children, lambda: stopping):
            self._banner(url)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        self.stdout.write("\nStopping the web server, the worker and the scheduler…")
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped.")

    def _wait_until_up(self, url: str, children: list, stopping: Any) -> bool:
        for _ in range(120):
            if stopping() or any(child.poll() is not None for child in children):
                return False
            try:
                with urllib.request.urlopen(url + "healthz", timeout=2):  # noqa: S310
                    return True
            except OSError:
                time.sleep(0.5)
        return False

    def _banner(self, url: str) -> None:
        lines = [
            "",
            "=" * 64,
            f"  SynthGov is running at {url}",
            f"  API docs: {url}api/docs/    Admin: {url}admin/",
            f"  Demo logins (password for all: {DEMO_PASSWORD}):",
        ]
        for username, _full_name, org, role, _staff in USERS:
            lines.append(f"    {username:<14} {role.label:<20} {org}")
        lines += ["  Press Ctrl-C to stop the server and the worker.", "=" * 64, ""]
        self.stdout.write("\n".join(lines))
