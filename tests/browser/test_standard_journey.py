"""A regulator writes a local standard extending the global baseline, tightens
a threshold, publishes it, and the dashboard shows the dataset's new status."""

import pytest
from playwright.sync_api import expect

from audits.compliance import services as compliance
from audits.runs import services
from audits.standards import engine
from audits.standards import services as standard_services
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.worker import worker_log

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def evaluated(placements_world):
    world = placements_world["world"]
    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    baseline = standard_services.standard_publish(
        version=standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None),
        user=world.admin_a,
    )
    synthetic = placements_world["synthetic"]
    run = services.audit_run_request(
        version=synthetic,
        reference=placements_world["real"],
        holdout=None,
        config=services.default_config(synthetic),
        user=world.curator_a,
        enqueue=False,
    )
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    compliance.evaluations_recompute_for_standard(standard_version=baseline)
    return placements_world


def test_regulator_tightens_the_baseline_and_the_dashboard_follows(page, evaluated, worker_queue):
    sign_in(page, "regulator", PASSWORD)
    row = page.locator("tr[data-dataset='Placements synthetic']")
    expect(row).to_be_visible()
    expect(page.get_by_test_id("compliance-matrix")).not_to_contain_text("EU-TIGHT")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Standards").click()
    page.get_by_role("link", name="Write a standard").click()
    page.get_by_label("Code").fill("eu-tight")
    page.get_by_label("Name").fill("Tight EU profile")
    page.get_by_label("Scope").select_option("local")
    page.get_by_label("Parent").select_option("GLOBAL-BASELINE@1.0")
    page.get_by_label("Jurisdictions").fill("EU")
    page.get_by_label("Rule 1 figure").select_option("quality.overall")
    page.get_by_label("Rule 1 operator").select_option(">=")
    page.get_by_label("Rule 1 threshold").fill("0.99")
    severity = page.get_by_label("Rule 1 severity")
    assert severity.locator("option").all_inner_texts() == [
        "Blocking",
        "Major",
        "Minor",
        "Advisory",
    ]
    severity.select_option(label="Blocking")
    page.get_by_label("Rule 1 rationale").fill("Only near-perfect fidelity here.")
    # A fourth rule without saving first: the page copies an empty row.
    expect(page.get_by_label("Rule 4 figure")).to_have_count(0)
    page.get_by_role("button", name="Add a rule").click()
    expect(page.get_by_label("Rule 4 figure")).to_be_focused()
    page.get_by_label("Rule 4 figure").select_option("quality.detection")
    page.get_by_label("Rule 4 operator").select_option(">=")
    page.get_by_label("Rule 4 threshold").fill("0.3")
    page.get_by_label("Rule 4 severity").select_option(label="Minor")
    page.get_by_label("Rule 4 rationale").fill("Hard to tell apart from the real data.")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_test_id("draft-badge")).to_be_visible()
    expect(page.get_by_test_id("parent-diff")).to_contain_text("threshold 0.75 → 0.99")
    expect(
        page.get_by_test_id("effective-rules").locator("tr[data-rule='quality.detection']")
    ).to_contain_text("0.3")
    # Publishing says what it will do before it does it.
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_test_id("publish-consequences")).to_contain_text("cannot be undone")
    page.get_by_role("link", name="Cancel, keep it a draft").click()
    expect(page.get_by_test_id("draft-badge")).to_be_visible()
    page.get_by_role("link", name="Publish…").click()
    page.get_by_role("button", name="Publish EU-TIGHT@1.0").click()
    expect(page.locator(".message.success")).to_contain_text("published")

    # The column appears at once ("Not audited yet"); the worker then
    # recomputes compliance in the background and the cell turns red.
    for _ in range(60):
        page.goto("/")
        headers = page.locator("[data-testid=compliance-matrix] thead th").all_inner_texts()
        if "EU-TIGHT 1.0" in headers:
            # The first header names the datasets' column (a row header, not a cell).
            cell = row.locator("td.cell").nth(headers.index("EU-TIGHT 1.0") - 1)
            if "Non-compliant" in cell.inner_text():
                break
        page.wait_for_timeout(1000)
    else:
        raise AssertionError(worker_log(worker_queue))
    expect(cell.get_by_test_id("matrix-status")).to_contain_text("Non-compliant: 1 blocking")
