"""A curator registers a dataset, uploads a file (watching the progress bar),
corrects a column role, declares lineage, fills the datasheet and sees the
lineage graph."""

import pytest
from playwright.sync_api import expect

from registry.models import Dataset, DatasetVersion
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]


def test_curator_registers_a_synthetic_dataset(page, world, tmp_path):
    real = make_dataset(world, name="Real placements", kind="real")
    real_v1 = make_version(real, world.curator_a)
    csv_path = tmp_path / "synthetic_placements.csv"
    csv_path.write_bytes(placements_csv(60, seed=9))

    sign_in(page, "curator_a", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name="Register a dataset").click()
    page.get_by_label("Name").fill("Synthetic placements")
    page.get_by_label("Kind").select_option("fully_synthetic")
    page.get_by_label("Domain").fill("education")
    page.get_by_label("Licence").fill("CC-BY-4.0")
    page.get_by_label("Tags").fill("students, synthetic")
    page.get_by_role("button", name="Register and upload a file").click()

    expect(page.get_by_role("heading", name="Upload a new version")).to_be_visible()
    page.get_by_label("File").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Column schema")).to_be_visible()
    expect(page.locator(".message.success")).to_contain_text("60 rows")

    page.locator("tr[data-column=placed] select[name^=role]").select_option("target")
    page.get_by_role("button", name="Save and declare lineage").click()

    expect(page.get_by_role("heading", name="Lineage and generation")).to_be_visible()
    page.locator("select[name=parents-0-parent]").select_option(str(real_v1.pk))
    page.locator("select[name=parents-0-relation]").select_option("trained_on")
    page.get_by_label("Generator type").select_option("gan")
    page.get_by_label("Generator library").fill("ctgan")
    page.get_by_label("Parameters").fill('{"epochs": 300}')
    page.get_by_role("button", name="Save and fill in the datasheet").click()

    expect(page.get_by_role("heading", name="Datasheet")).to_be_visible()
    page.get_by_label("Motivation").fill("Share placement data without exposing real students.")
    page.get_by_label("Uses").fill("Teaching and prototyping placement models.")
    expect(page.locator("[data-datasheet-percent]")).to_have_text("17%")
    page.get_by_role("button", name="Save datasheet").click()

    expect(page.locator(".message.success")).to_contain_text("17% complete")
    expect(page.locator("tr[data-column=placed]")).to_contain_text("target")
    page.get_by_role("link", name="Synthetic placements").first.click()
    graph = page.get_by_test_id("lineage-graph")
    expect(graph).to_contain_text("Real placements")
    expect(graph).to_contain_text("trained on")

    version = DatasetVersion.objects.get(dataset=Dataset.objects.get(name="Synthetic placements"))
    assert version.column("placed")["role"] == "target"
    assert version.parent_edges.get().parent_id == real_v1.pk
    assert version.generation.parameters == {"epochs": 300}


def test_upload_error_is_shown_without_leaving_the_page(page, world, tmp_path):
    dataset = make_dataset(world, name="Placements")
    bad = tmp_path / "ragged.csv"
    bad.write_bytes(b"a,b,c\n1,2,3\n4,5\n")
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/datasets/{dataset.pk}/upload/")
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert").first).to_contain_text("Line 3")
    assert not dataset.versions.exists()


def _adult_csv(rows: int = 40) -> bytes:
    lines = ["age,workclass,hours_per_week"]
    for i in range(rows):
        age = "?" if i % 10 == 3 else str(20 + i)
        work = "?" if i % 8 == 5 else ["Private", "State-gov"][i % 2]
        lines.append(f"{age},{work},{30 + i % 20}")
    return ("\n".join(lines) + "\n").encode()


def _no_page_scroll(page) -> None:
    """The page itself does not scroll sideways (wide tables scroll in their own box)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px viewport"


@pytest.mark.parametrize("width", [1280, 390])
def test_curator_registers_real_data_with_missing_markers(
    browser, live_server, world, tmp_path, width
):
    """A real dataset: the upload suggests '?' as a missing-value marker, the profile
    counts those cells as missing, and the steps skip lineage (no generator, no
    parents); the datasheet asks and counts the nine sections for real data."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        dataset = make_dataset(world, name="Adult census", kind="real")
        csv_path = tmp_path / "adult.csv"
        csv_path.write_bytes(_adult_csv())
        sign_in(page, "curator_a", PASSWORD)
        page.goto(f"/datasets/{dataset.pk}/upload/")
        expect(page.get_by_role("heading", name="Upload a new version")).to_be_visible()
        suggestion = page.locator("[data-marker-suggestion]")
        expect(suggestion).to_be_hidden()
        _no_page_scroll(page)
        page.get_by_label("File").set_input_files(str(csv_path))
        expect(suggestion).to_be_visible()
        expect(suggestion).to_contain_text("exactly “?”")
        _no_page_scroll(page)
        page.get_by_role("button", name="Count “?” as missing").click()
        expect(page.get_by_label("Missing-value markers")).to_have_value("?")
        expect(suggestion).to_be_hidden()
        page.get_by_role("button", name="Upload").click()

        expect(page.get_by_role("heading", name="Column schema")).to_be_visible()
        steps = page.get_by_role("navigation", name="Registration steps")
        expect(steps).not_to_contain_text("Lineage")
        expect(page.locator("tr[data-column=age] select[name^=type]")).to_have_value("numerical")
        page.get_by_role("button", name="Save and fill in the datasheet").click()

        expect(page.get_by_role("heading", name="Datasheet")).to_be_visible()
        expect(page.get_by_test_id("datasheet-rule")).to_contain_text("9 sections")
        expect(page.get_by_label("Generation method")).to_have_count(0)
        expect(page.get_by_label("Watermarking")).to_have_count(0)
        page.get_by_label("Motivation").fill("The census reference for fairness audits.")
        expect(page.locator("[data-datasheet-percent]")).to_have_text("11%")
        _no_page_scroll(page)
        page.get_by_role("button", name="Save datasheet").click()

        expect(page.locator(".message.success")).to_contain_text("11% complete")
        expect(page.get_by_test_id("missing-markers")).to_contain_text("?")
        expect(page.get_by_role("link", name="Declare lineage")).to_have_count(0)
        age = page.locator("tr[data-column=age]")
        expect(age).to_contain_text("numerical")
        expect(age).to_contain_text("10%")  # 4 of 40 ages are '?'
        version = DatasetVersion.objects.get(dataset=dataset)
        assert version.missing_markers == ["?"]
        assert not version.parent_edges.exists()
    finally:
        context.close()
