"""Linked tables in the browser (issue 17): a curator uploads three CSV tables, confirms
the keys SynthGov proposes, sees the tables and the relationship diagram; an officer
audits them against the real tables in a real worker and reads the "Linked tables"
section of the report with its figures."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from audits.models import AuditMetric, AuditRun
from registry import table_services
from registry.models import DatasetVersion
from tests.browser.conftest import assert_no_page_scroll, sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset
from tests.worker import worker_log

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]

TABLES = ("users", "sessions", "transactions")


def _demo_csvs(folder: Path) -> tuple[dict[str, Path], dict]:
    """SDMetrics' multi-table demo (installed with the package, read offline): the real
    tables as bytes for the reference, the synthetic ones written as the curator's files."""
    from sdmetrics.demos import load_multi_table_demo

    real, synthetic, metadata = load_multi_table_demo()
    files = {}
    for name in TABLES:
        files[name] = folder / f"{name}.csv"
        synthetic[name].to_csv(files[name], index=False)
    real_csv = {name: real[name].to_csv(index=False).encode() for name in TABLES}
    return files, {"real": real_csv, "metadata": metadata}


def test_curator_uploads_linked_tables_and_officer_reads_the_relational_report(
    open_page, world, worker_queue, tmp_path
):
    files, demo = _demo_csvs(tmp_path)
    real = table_services.relational_version_create(
        dataset=make_dataset(world, kind="real", name="Web sessions real"),
        user=world.curator_a,
        tables=[
            table_services.TableUpload(name, f"{name}.csv", iter([content]))
            for name, content in demo["real"].items()
        ],
        metadata=demo["metadata"],
    )
    synthetic_ds = make_dataset(world, name="Web sessions synthetic")

    page = open_page("phone")
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/datasets/{synthetic_ds.pk}/")
    page.get_by_role("link", name="Upload linked tables").click()
    expect(
        page.get_by_role("heading", name="Upload a version made of linked tables")
    ).to_be_visible()
    assert_no_page_scroll(page)
    page.get_by_label("Table files").set_input_files([str(files[name]) for name in TABLES])
    page.get_by_role("button", name="Upload tables").click()

    # No metadata: SynthGov proposes the keys from the data; the curator confirms them.
    expect(page.get_by_role("heading", name="Primary and foreign keys")).to_be_visible()
    expect(page.get_by_test_id("keys-proposed")).to_be_visible()
    expect(page.get_by_label("Primary key of users")).to_have_value("user_id")
    expect(page.get_by_label("Primary key of sessions")).to_have_value("session_id")
    expect(page.get_by_label("Primary key of transactions")).to_have_value("transaction_id")
    proposed = page.get_by_label("Foreign keys")
    expect(proposed).to_contain_text("sessions.user_id -> users.user_id")
    expect(proposed).to_contain_text("transactions.session_id -> sessions.session_id")
    assert_no_page_scroll(page)
    page.get_by_role("button", name="Confirm keys").click()

    # The version page: the tables, the diagram and the keys in words.
    expect(page.locator(".message.success")).to_contain_text("Keys saved")
    expect(page.get_by_test_id("keys-unconfirmed")).to_have_count(0)
    diagram = page.locator("figure.diagram svg")
    expect(diagram).to_be_visible()
    for name in TABLES:
        expect(diagram).to_contain_text(name)
        expect(page.locator(f"section[data-table={name}]")).to_contain_text("10 ×")
    links = page.get_by_test_id("relationship-list")
    expect(links).to_contain_text("sessions.user_id refers to users.user_id")
    expect(links).to_contain_text("transactions.session_id refers to sessions.session_id")
    # Watermarking works on one table: a note, not a button that would refuse.
    expect(page.get_by_test_id("watermark-relational")).to_contain_text("3 linked tables")
    expect(page.get_by_role("link", name="Watermark", exact=True)).to_have_count(0)
    assert_no_page_scroll(page)
    version = DatasetVersion.objects.get(dataset=synthetic_ds)
    assert version.keys_confirmed and version.table_count == 3

    # An officer audits it against the real tables, in the worker.
    officer = open_page("phone")
    sign_in(officer, "officer_a", PASSWORD)
    officer.goto(f"/versions/{version.pk}/")
    officer.get_by_role("link", name="Audit this version").click()
    expect(officer.get_by_test_id("relational-note")).to_be_visible()
    officer.get_by_label("Reference").select_option(str(real.pk))
    assert_no_page_scroll(officer)
    officer.get_by_role("button", name="Queue the audit").click()
    try:
        expect(officer.get_by_test_id("audit-status")).to_have_text("Finished", timeout=120_000)
    except AssertionError:
        raise AssertionError(worker_log(worker_queue)) from None
    section = officer.get_by_test_id("relational-section")
    expect(section.get_by_role("heading", name="Linked tables")).to_be_visible()
    expect(section.get_by_role("heading", name="Per relationship")).to_be_visible()
    relationships = section.get_by_test_id("relational-relationships")
    expect(relationships.locator("tbody tr")).to_have_count(2)
    expect(relationships).to_contain_text("sessions.user_id")
    run = AuditRun.objects.get(version=version)
    figures = dict(AuditMetric.objects.filter(run=run).values_list("key", "value"))
    assert figures["integrity.orphan_rate"] == 0.0
    assert figures["quality.relational_overall"] == pytest.approx(0.62195, abs=1e-4)
    expect(officer.get_by_test_id("report-summary")).to_contain_text("0.62")
    expect(section.get_by_test_id("relational-keys").locator("tbody tr")).to_have_count(3)
    assert_no_page_scroll(officer)
