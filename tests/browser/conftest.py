"""Playwright driving Debian's chromium against pytest-django's live server.

Locally the browser tests are skipped, with a message, when /usr/bin/chromium
is missing; CI sets REQUIRE_BROWSER_TESTS=1 so a missing browser fails instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if os.path.exists(CHROMIUM) or os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        return
    skip = pytest.mark.skip(
        reason=f"browser tests need Debian's chromium at {CHROMIUM} "
        "(apt-get install -y chromium); .ci/run installs it"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="synthgov-chromium-")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


# Shared with the audit tests: real and synthetic placements, registered.
from tests.audits.conftest import placements_world  # noqa: E402, F401
from tests.audits.runs.test_worker import worker_env  # noqa: E402
from tests.worker import celery_worker  # noqa: E402


@pytest.fixture
def worker_queue(settings, tmp_path):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    with celery_worker(extra_env=worker_env(media)) as (_, queue):
        # Pages send audit tasks to the default queue; point them at this worker's.
        settings.CELERY_TASK_DEFAULT_QUEUE = queue
        from synthgov.celery import app

        app.conf.task_default_queue = queue
        try:
            yield queue
        finally:
            app.conf.task_default_queue = "celery"
