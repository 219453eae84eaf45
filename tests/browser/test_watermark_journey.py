"""A curator watermarks a synthetic version (a real worker makes the new version),
then checks the origin of a file cut from it, and of an unmarked one."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from registry.models import DatasetVersion, WatermarkRun
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset
from tests.worker import worker_log

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]


@pytest.fixture
def shared_keys(settings: Any, tmp_path: Path, monkeypatch: Any) -> Path:
    """One organisation key folder for the live server and the worker it starts."""
    folder = tmp_path / "keys"
    settings.SYNTHGOV_ORG_KEYS_DIR = folder
    monkeypatch.setitem(os.environ, "SYNTHGOV_ORG_KEYS_DIR", str(folder))
    return folder


@pytest.fixture
def watermark_worker(shared_keys: Path, worker_queue: str) -> str:
    return worker_queue


def placements(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.normal(66, 7, rows).round(3),
            "salary": rng.integers(200_000, 900_000, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )


def test_curator_watermarks_a_version_and_checks_a_files_origin(
    page, world, watermark_worker, tmp_path
):
    from registry import services

    dataset = make_dataset(world, name="Synthetic placements")
    source = services.dataset_version_create(
        dataset=dataset,
        user=world.curator_a,
        chunks=iter([placements(3_000, seed=1).to_csv(index=False).encode()]),
        original_name="placements.csv",
    )
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/versions/{source.pk}/")
    panel = page.get_by_test_id("watermark-panel")
    expect(panel).to_contain_text("carries no SynthGov watermark")
    panel.get_by_role("link", name="Watermark", exact=True).click()

    expect(page.get_by_role("heading", name=f"Watermark {source}")).to_be_visible()
    page.get_by_label("score").fill("0.2")
    page.get_by_label("salary").fill("500")
    page.get_by_label("region").check()
    page.get_by_role("button", name="Watermark").click()

    expect(page.locator(".message.success")).to_contain_text("Watermarking queued")
    try:
        expect(page.get_by_test_id("watermark-run")).to_have_attribute(
            "data-status", "succeeded", timeout=120_000
        )
    except AssertionError:
        raise AssertionError(worker_log(watermark_worker)) from None
    # Finished: titled by what happened, with the tolerances as entered.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Watermarked {source}")
    expect(page).not_to_have_title(re.compile("Watermarking"))
    expect(page.get_by_test_id("watermark-run-entered")).to_contain_text("score ±0.2")
    expect(page.get_by_test_id("watermark-run-entered")).to_contain_text("salary ±500")
    parameters = json.loads(page.get_by_test_id("watermark-parameters").inner_text())
    assert parameters["tolerances"] == {"score": 0.2, "salary": 500.0}
    page.get_by_test_id("watermarked-version").click()

    marked = WatermarkRun.objects.get().result
    expect(page.get_by_role("heading", name=f"{dataset.name} v2")).to_be_visible()
    expect(page.get_by_test_id("watermark-key-id")).to_have_text(marked.watermark_key_id)
    expect(page.get_by_test_id("watermark-strength")).to_contain_text("detected")
    table = page.get_by_test_id("watermark-quality-table")
    expect(table.locator("tr[data-column=score] [data-testid=watermark-entered]")).to_have_text(
        "±0.2"
    )
    expect(table.locator("tr[data-column=region] [data-testid=watermark-entered]")).to_contain_text(
        "of cells"
    )

    # Someone found a fifth of the rows, shuffled, with one column removed.
    with default_storage.open(marked.file.name, "rb") as handle:
        found = pd.read_csv(io.BytesIO(handle.read()))
    found = found.sample(frac=0.2, random_state=5).drop(columns=["region"])
    found_path = tmp_path / "found.csv"
    found.to_csv(found_path, index=False)
    unmarked_path = tmp_path / "unmarked.csv"
    placements(3_000, seed=2).to_csv(unmarked_path, index=False)

    page.get_by_test_id("watermark-panel").get_by_role("link", name="Check a file's origin").click()
    expect(page.get_by_role("heading", name="Check a file's origin")).to_be_visible()
    page.get_by_label("Table to check").set_input_files(str(found_path))
    page.get_by_role("button", name="Check origin").click()
    row = page.locator("tr[data-organisation=alpha]")
    expect(row).to_contain_text("present")
    expect(row).to_contain_text("Carries Alpha Synthetics's watermark")

    page.get_by_label("Table to check").set_input_files(str(unmarked_path))
    page.get_by_role("button", name="Check origin").click()
    expect(row).to_contain_text("not found")
    assert DatasetVersion.objects.count() == 2  # checking stored nothing
