"""A compliance officer starts an audit, watches it run in a real worker and
reads the report with its charts."""

import pytest
from playwright.sync_api import expect

from audits.models import AuditRun
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.worker import worker_log

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_officer_audits_a_version_and_reads_the_report(page, placements_world, worker_queue):
    synthetic = placements_world["synthetic"]
    sign_in(page, "officer_a", PASSWORD)
    page.goto(f"/versions/{synthetic.pk}/")
    page.get_by_role("link", name="Audit this version").click()
    expect(page.get_by_role("heading", name="Start an audit")).to_be_visible()
    expect(page.locator("input[name=protected][value=gender]")).to_be_checked()
    page.get_by_label("Holdout").select_option(str(placements_world["holdout"].pk))
    page.get_by_role("button", name="Queue the audit").click()
    try:
        expect(page.get_by_test_id("audit-status")).to_have_text("Finished", timeout=120_000)
    except AssertionError:
        raise AssertionError(worker_log(worker_queue)) from None
    expect(page.get_by_test_id("findings")).to_be_visible()
    expect(page.locator("tr[data-metric='privacy.exact_match_rate']")).to_contain_text(
        "lower is better"
    )
    # Plotly (a 4.8 MB script) may take a while to load on a busy machine.
    expect(page.locator(".plot .main-svg").first).to_be_visible(timeout=30_000)  # Plotly drew
    assert AuditRun.objects.get().status == "succeeded"
