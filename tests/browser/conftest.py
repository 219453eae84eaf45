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


# --- Viewports: a test at desktop and at phone width -------------------------
# The issue asks for each page at 1280 px and at 390 px (an iPhone 12-15 in
# portrait). The phone context is a touch device with a mobile viewport, so the
# page's <meta name="viewport"> is honoured as on a real phone.
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
}


@pytest.fixture
def open_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A factory: ``open_page("phone")`` is a new page, in a context of its own
    (so its own session cookie), at that viewport; extra keyword arguments go to
    ``browser.new_context``. Every context is closed when the test ends."""
    contexts: list[Any] = []

    def _open(viewport: str = "desktop", **options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, **VIEWPORTS[viewport], **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(request: Any, open_page: Any) -> Any:
    """Like ``page``, but the test runs twice: at desktop and at phone width.
    ``request.param`` (also ``sized_page.viewport_name``) says which."""
    page = open_page(request.param)
    page.viewport_name = request.param
    return page


PAGE_OVERFLOW = """(width) => {
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const classes = (el) => typeof el.className === "string" && el.className.trim()
    ? "." + el.className.trim().split(/\\s+/).join(".") : "";
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes(el);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    tooWide: Array.from(document.body.querySelectorAll("*"))
      .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
      .slice(0, 5).map(name),
  };
}"""


def assert_no_page_scroll(page: Any) -> None:
    """The page itself does not scroll sideways: anything wide scrolls inside
    its own box. Compared with both the window and the configured viewport,
    since a mobile browser may zoom out to fit an over-wide page."""
    width = page.viewport_size["width"]
    found = page.evaluate(PAGE_OVERFLOW, width)
    width = min(found["innerWidth"], width)
    assert found["scrollWidth"] <= width, (
        f"{page.url} scrolls sideways at {width} px: "
        f"page is {found['scrollWidth']} px wide; too wide: {found['tooWide']}"
    )
