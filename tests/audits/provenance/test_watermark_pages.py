"""What the watermark pages show (issue 13, forms and actions): a finished run is
titled by its outcome, the tolerances a curator entered are shown back (on the run
page and beside each column on the new version's page), and the parameters are
shown as JSON, not as Python prints a dict."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from audits.provenance import services as provenance
from registry.models import WatermarkRun
from tests.audits.provenance.test_provenance import CATEGORICAL, TOLERANCES, add_version, frame
from tests.registry.conftest import make_dataset

pytestmark = pytest.mark.usefixtures("registry_storage", "org_keys")


@pytest.fixture
def org_keys(settings: Any, tmp_path: Any) -> Any:
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    return tmp_path / "keys"


@pytest.fixture
def source(world: Any) -> Any:
    dataset = make_dataset(world)
    return add_version(dataset, world.curator_a, frame().to_csv(index=False).encode())


def title_of(page: str) -> str:
    return re.search(r'<h1 data-testid="watermark-run-title">(.*?)</h1>', page).group(1)


def pre_json(page: str) -> Any:
    block = re.search(
        r'<pre class="json" data-testid="watermark-parameters"><code>(.*?)</code>', page, re.S
    )
    assert block is not None
    return json.loads(html.unescape(block.group(1)))


def test_a_run_page_is_titled_by_what_happened_and_shows_the_entered_tolerances(
    client, world, source
):
    client.force_login(world.curator_a)
    run = provenance.watermark_run_request(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical=CATEGORICAL
    )
    waiting = client.get(f"/watermark-runs/{run.pk}/").content.decode()
    assert title_of(waiting) == f"Watermarking {source}…"
    entered = waiting[waiting.index('data-testid="watermark-run-entered"') :]
    assert "<code>score</code> ±0.2" in entered and "<code>salary</code> ±500</dd>" in entered
    assert "<code>region</code> (at most 0.1 of its cells change)" in entered

    provenance.watermark_run_execute(run_id=run.pk)
    done = client.get(f"/watermark-runs/{run.pk}/").content.decode()
    assert title_of(done) == f"Watermarked {source}"
    assert "Watermarking" not in done
    assert 'http-equiv="refresh"' not in done
    parameters = pre_json(done)
    assert parameters["tolerances"] == TOLERANCES
    assert parameters["categorical"] == CATEGORICAL
    assert "{&#x27;" not in done and "{'" not in done  # no Python reprs

    failed = provenance.watermark_run_request(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical=CATEGORICAL
    )
    provenance.watermark_run_execute(run_id=failed.pk)  # same bytes again: refused
    assert WatermarkRun.objects.get(pk=failed.pk).status == "failed"
    page = client.get(f"/watermark-runs/{failed.pk}/").content.decode()
    assert title_of(page) == f"Watermarking {source} failed"


def test_the_new_versions_page_shows_each_columns_entered_tolerance_and_json(client, world, source):
    client.force_login(world.curator_a)
    run = provenance.watermark_run_request(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical=CATEGORICAL
    )
    done = provenance.watermark_run_execute(run_id=run.pk)
    page = client.get(done.result.get_absolute_url()).content.decode()

    def entered(column: str) -> str:
        row = re.search(rf'<tr data-column="{column}">(.*?)</tr>', page, re.S).group(1)
        return re.search(r'data-testid="watermark-entered">(.*?)</td>', row).group(1)

    assert entered("score") == "±0.2"
    assert entered("salary") == "±500"
    assert entered("region") == "at most 0.1 of cells"
    assert pre_json(page)["tolerances"] == TOLERANCES
    assert "Watermarking #" not in page
    source_page = client.get(source.get_absolute_url()).content.decode()
    assert f"Watermark run #{run.pk}</a>" in source_page
    assert ": succeeded" in source_page


def test_a_refused_watermark_form_keeps_the_entered_tolerances(client, world, source):
    client.force_login(world.curator_a)
    columns = {c["name"]: i for i, c in enumerate(source.schema)}
    fields = {f"tol_{i}": "" for i in columns.values()}
    fields.update(
        {
            f"tol_{columns['score']}": "0.25",
            f"tol_{columns['salary']}": "-3",
            "category_rate": "0.1",
        }
    )
    refused = client.post(f"/versions/{source.pk}/watermark/", fields)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "must be greater than 0" in page
    assert re.search(rf'name="tol_{columns["score"]}"[^>]*value="0.25"', page)
    assert re.search(rf'name="tol_{columns["salary"]}"[^>]*value="-3"', page)
    assert not WatermarkRun.objects.exists()
