"""A curator finds that an unmarked version cannot be published, watermarks it (a
real worker makes the new version), publishes the watermarked copy; then someone
with no account opens its public page and downloads the file. At desktop and phone
width."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from registry import services
from registry.models import DatasetVersion, WatermarkRun
from tests.browser.conftest import assert_no_page_scroll, sign_in
from tests.browser.test_watermark_journey import placements, shared_keys, watermark_worker
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset
from tests.worker import worker_log

__all__ = ["shared_keys", "watermark_worker"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_curator_publishes_a_watermarked_version_and_anyone_downloads_it(
    open_page, world, watermark_worker, viewport, tmp_path: Path
):
    dataset = make_dataset(world, name="Synthetic placements")
    source = services.dataset_version_create(
        dataset=dataset,
        user=world.curator_a,
        chunks=iter([placements(3_000, seed=1).to_csv(index=False).encode()]),
        original_name="placements.csv",
    )
    page = open_page(viewport)
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/versions/{source.pk}/")

    # Not watermarked: the panel says so and offers no way to publish.
    panel = page.get_by_test_id("publishing-panel")
    expect(panel.get_by_test_id("publication-state")).to_have_attribute("data-published", "no")
    expect(panel.get_by_test_id("publication-refusal")).to_contain_text(
        "Watermark this version first"
    )
    expect(panel.get_by_test_id("publish-form")).to_have_count(0)

    page.get_by_test_id("watermark-panel").get_by_role("link", name="Watermark", exact=True).click()
    page.get_by_label("score").fill("0.2")
    page.get_by_label("salary").fill("500")
    page.get_by_role("button", name="Watermark").click()
    try:
        expect(page.get_by_test_id("watermark-run")).to_have_attribute(
            "data-status", "succeeded", timeout=120_000
        )
    except AssertionError:
        raise AssertionError(worker_log(watermark_worker)) from None
    page.get_by_test_id("watermarked-version").click()
    marked = WatermarkRun.objects.get().result
    expect(page.get_by_role("heading", name=f"{dataset.name} v2")).to_be_visible()

    panel = page.get_by_test_id("publishing-panel")
    expect(panel.locator("[data-met=yes]")).to_have_count(3)
    panel.scroll_into_view_if_needed()
    assert_no_page_scroll(page)
    panel.get_by_role("button", name="Publish openly").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("Anyone, with no account, will be able to download the file")
    dialog.get_by_role("button", name="Yes, publish openly").click()

    expect(page.locator(".message.success")).to_contain_text("is published openly")
    public_url = page.get_by_test_id("public-url")
    expect(public_url).to_have_text(f"{page.url.split('/versions/')[0]}/open/versions/{marked.pk}/")
    assert DatasetVersion.objects.get(pk=marked.pk).is_published
    assert not DatasetVersion.objects.get(pk=source.pk).is_published
    href = public_url.get_attribute("href")

    # Someone with no account, in a browser of their own.
    visitor = open_page(viewport)
    visitor.goto("/open/")
    visitor.get_by_role("link", name=dataset.name).click()
    assert visitor.url == href
    expect(visitor.get_by_role("heading", level=1)).to_contain_text(f"{dataset.name} v2")
    expect(visitor.get_by_test_id("current-user")).to_have_count(0)
    expect(visitor.get_by_test_id("open-sha256")).to_have_text(marked.sha256)
    expect(visitor.get_by_test_id("open-lineage-hidden")).to_have_text(
        "watermarked from 1 version that is not published"
    )
    assert_no_page_scroll(visitor)
    with visitor.expect_download() as download_info:
        visitor.get_by_test_id("open-download").click()
    saved = tmp_path / "downloaded.csv"
    download_info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == marked.sha256
    with visitor.expect_download() as manifest_info:
        visitor.get_by_test_id("open-manifest").click()
    assert marked.sha256.encode() in Path(manifest_info.value.path()).read_bytes()

    # The unmarked source stays private: its public page is not found.
    response = visitor.goto(f"/open/versions/{source.pk}/")
    assert response is not None and response.status == 404
