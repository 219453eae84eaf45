"""A signed-in curator downloads a version's file from its page in Chromium: the
streamed, ranged download answers a real browser with the file, named after the
version."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("registry_storage")]


def test_the_download_button_saves_the_file(page, world, tmp_path):
    content = placements_csv(rows=50)
    version = make_version(make_dataset(world, name="Browser download"), world.curator_a, content)
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/versions/{version.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download file").click()
    download = download_info.value
    assert download.suggested_filename == "Browser download-v1.csv"
    saved = tmp_path / "saved.csv"
    download.save_as(saved)
    assert saved.read_bytes() == content
