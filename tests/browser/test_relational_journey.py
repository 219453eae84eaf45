"""Linked tables in the browser (issue 17), the whole journey at desktop and at phone
width: a curator uploads SDMetrics' multi-table demo through the web form (the real
tables as one zip with the SDMetrics metadata pasted, the synthetic ones as three files
named in the form, keys proposed and confirmed) and sees the tables, the diagram and the
keys; an officer audits the synthetic tables against the real ones in a real worker,
reads the "Linked tables" section of the report and the evaluation against a standard
with relational rules that the worker computed next; the curator signs it off, a
regulator signs and issues the certificate, and a visitor with the verification link
reads every table with its hash."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from audits.models import AuditMetric, AuditRun, Certificate, ComplianceEvaluation
from registry.models import DatasetVersion
from tests.audits.certification import helpers
from tests.audits.test_relational_api_journey import LINKED_STANDARD
from tests.browser.conftest import VIEWPORTS, assert_no_page_scroll, sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    DEMO_DIR,
    DEMO_TABLES,
    demo_bytes,
    demo_metadata,
    zip_of,
)
from tests.worker import worker_log

signing_keys = helpers.signing_keys

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]


@pytest.fixture
def linked_world(world, signing_keys):
    standard = helpers.publish_standard(world.admin_a, LINKED_STANDARD)
    return {
        "world": world,
        "standard": standard,
        "real": make_dataset(world, kind="real", name="Web sessions real"),
        "synthetic": make_dataset(world, name="Web sessions synthetic"),
    }


def _upload_real_tables(page, dataset, tmp_path) -> DatasetVersion:
    """One zip of the real tables with SDMetrics' metadata pasted: keys declared, so the
    version page comes next. A zip with the tables in a folder first: refused with the
    reason, nothing stored, the pasted metadata kept."""
    nested = tmp_path / "nested.zip"
    nested.write_bytes(zip_of({f"web/{t}.csv": demo_bytes(t) for t in DEMO_TABLES}))
    archive = tmp_path / "web-sessions-real.zip"
    archive.write_bytes(zip_of({f"{t}.csv": demo_bytes(t) for t in DEMO_TABLES}))
    metadata = json.dumps(demo_metadata())
    page.goto(f"/datasets/{dataset.pk}/upload-tables/")
    page.get_by_label("Or one zip of the tables").set_input_files(str(nested))
    page.get_by_label("SDMetrics metadata (optional)").fill(metadata)
    page.get_by_role("button", name="Upload tables").click()
    error = page.locator(".error[role=alert]").first
    expect(error).to_contain_text("folder")
    expect(error).to_contain_text("web/users.csv")
    expect(page.get_by_label("SDMetrics metadata (optional)")).to_have_value(metadata)
    assert not DatasetVersion.objects.filter(dataset=dataset).exists()
    assert_no_page_scroll(page)
    page.get_by_label("Or one zip of the tables").set_input_files(str(archive))
    page.get_by_role("button", name="Upload tables").click()
    expect(page.locator(".message.success")).to_contain_text("3 tables and the keys you declared")
    version = DatasetVersion.objects.get(dataset=dataset)
    assert version.keys_confirmed
    return version


def _upload_synthetic_tables(page, dataset) -> DatasetVersion:
    """The demo's synthetic files as they are named on disk, renamed in the form; no
    metadata, so SynthGov proposes the keys and the curator confirms them."""
    page.goto(f"/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Upload linked tables").click()
    expect(
        page.get_by_role("heading", name="Upload a version made of linked tables")
    ).to_be_visible()
    assert_no_page_scroll(page)
    page.get_by_label("Table files").set_input_files(
        [str(DEMO_DIR / f"{t}_synthetic.csv") for t in DEMO_TABLES]
    )
    page.get_by_label("Table names").fill(
        "\n".join(f"{t}_synthetic.csv = {t}" for t in DEMO_TABLES)
    )
    page.get_by_role("button", name="Upload tables").click()

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
    for name in DEMO_TABLES:
        expect(diagram).to_contain_text(name)
        expect(page.locator(f"section[data-table={name}]")).to_contain_text("10 ×")
    if page.viewport_size["width"] < 600:
        # On a phone the diagram scrolls inside its box; the keyboard can reach it too.
        figure = page.locator("figure.diagram")
        expect(figure).to_have_attribute("tabindex", "0")
        expect(figure).to_have_attribute("aria-label", "Tables and keys: diagram, scrolls sideways")
    links = page.get_by_test_id("relationship-list")
    expect(links).to_contain_text("sessions.user_id refers to users.user_id")
    expect(links).to_contain_text("transactions.session_id refers to sessions.session_id")
    # Watermarking works on one table: a note, not a button that would refuse.
    expect(page.get_by_test_id("watermark-relational")).to_contain_text("3 linked tables")
    expect(page.get_by_role("link", name="Watermark", exact=True)).to_have_count(0)
    assert_no_page_scroll(page)
    version = DatasetVersion.objects.get(dataset=dataset)
    assert version.keys_confirmed and version.table_count == 3
    assert sorted(version.tables.values_list("name", flat=True)) == sorted(DEMO_TABLES)
    return version


def _sign(page, comment: str, consequence: str) -> None:
    page.get_by_label("Approve").check()
    page.get_by_label("Comment").fill(comment)
    page.get_by_label("Your password").fill(PASSWORD)
    assert_no_page_scroll(page)
    page.get_by_role("button", name="Sign off", exact=True).click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text(consequence)
    dialog.get_by_role("button", name="Yes, sign").click()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_linked_tables_are_registered_audited_evaluated_signed_and_certified(
    open_page, linked_world, worker_queue, tmp_path, viewport
):
    # The curator registers both versions through the upload form.
    curator = open_page(viewport)
    sign_in(curator, "curator_a", PASSWORD)
    real = _upload_real_tables(curator, linked_world["real"], tmp_path)
    version = _upload_synthetic_tables(curator, linked_world["synthetic"])

    # An officer audits it against the real tables, in the worker.
    officer = open_page(viewport)
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
    expect(section.get_by_test_id("relational-keys").locator("tbody tr")).to_have_count(3)
    run = AuditRun.objects.get(version=version)
    figures = dict(AuditMetric.objects.filter(run=run).values_list("key", "value"))
    assert figures["integrity.orphan_rate"] == 0.0
    # SDMetrics' MultiTableQualityReport on the demo (tests/audits/checks/test_relational.py).
    assert figures["quality.relational_overall"] == pytest.approx(0.62195, abs=1e-4)
    expect(officer.get_by_test_id("report-summary")).to_contain_text("0.62")
    assert_no_page_scroll(officer)

    # The worker evaluates the version next; the officer reads it from the list.
    for _ in range(60):
        officer.goto("/evaluations/")
        if officer.get_by_test_id("evaluation-list").count():
            break
        officer.wait_for_timeout(1000)
    else:
        raise AssertionError(worker_log(worker_queue))
    row = officer.get_by_test_id("evaluation-list").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("LINKED-EU@1.0")
    assert_no_page_scroll(officer)
    row.locator("[data-status]").click()
    expect(officer.get_by_test_id("evaluation-status")).to_contain_text("Compliant")
    results = officer.get_by_test_id("rule-results")
    for key in ("integrity.orphan_rate", "integrity.key_violations",
                "quality.cardinality_shapes", "quality.relational_overall"):  # fmt: skip
        expect(
            results.locator(f"tr[data-rule='{key}'] [data-testid=rule-result]")
        ).to_have_attribute("data-status", "pass")
    expect(results.locator("tr[data-rule='quality.cardinality_shapes']")).to_contain_text("0.95")
    assert_no_page_scroll(officer)
    evaluation = ComplianceEvaluation.objects.get(dataset_version=version, is_current=True)

    # The curator signs it off from the evaluation page.
    curator.goto(f"/evaluations/{evaluation.pk}/")
    curator.get_by_test_id("signoff-link").click()
    _sign(curator, "Keys intact; cardinality kept.", "passes the evaluation to a regulator")
    expect(curator.get_by_test_id("signoff-producer")).to_contain_text("Approved by")

    # A regulator signs and issues the certificate, which names every table.
    regulator = open_page(viewport)
    sign_in(regulator, "regulator", PASSWORD)
    waiting = regulator.get_by_test_id("signoffs-waiting")
    expect(waiting).to_contain_text("Web sessions synthetic")
    waiting.get_by_role("link").first.click()
    _sign(regulator, "Relational evidence checked.", "Approving issues a signed certificate")
    expect(regulator.get_by_test_id("certificate-status")).to_have_text("Valid")
    certificate = Certificate.objects.get()
    expect(regulator.get_by_test_id("certificate-number")).to_have_text(certificate.number)
    stored = dict(version.tables.values_list("name", "sha256"))
    tables = regulator.get_by_test_id("certificate-tables")
    for name, sha256 in stored.items():
        expect(tables.locator("tr", has_text=name)).to_contain_text(sha256)
    assert_no_page_scroll(regulator)
    link = urlsplit(regulator.get_by_test_id("verify-link").get_attribute("href"))

    # A visitor with no account opens the verification link.
    visitor = open_page(viewport)
    visitor.goto(f"{link.path}?{link.query}")
    expect(visitor.get_by_test_id("verify-verdict")).to_contain_text("genuine and in force")
    expect(visitor.get_by_test_id("certificate-version-sha256")).to_have_text(version.sha256)
    tables = visitor.get_by_test_id("certificate-tables")
    expect(tables.locator("tbody tr")).to_have_count(len(DEMO_TABLES))
    for name, sha256 in stored.items():
        expect(tables.locator("tr", has_text=name)).to_contain_text(sha256)
    assert_no_page_scroll(visitor)
