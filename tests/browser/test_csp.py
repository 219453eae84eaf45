"""The Content-Security-Policy blocks nothing our own pages need: each main
page is opened in chromium and any violation the browser reports (in the
console or as a securitypolicyviolation event) fails the test, while the
page's scripted parts (Plotly charts, meters, Swagger UI) are seen working."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from audits.runs import services
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


class Violations:
    """Every CSP complaint chromium makes on a page, from either channel."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(f"{self.page.url}: {text}")

    def assert_none(self) -> None:
        events = self.page.evaluate("window.__cspViolations || []")
        assert self.console == [] and events == [], (self.console, events)


@pytest.fixture
def audited(placements_world):
    synthetic = placements_world["synthetic"]
    run = services.audit_run_request(
        version=synthetic,
        reference=placements_world["real"],
        holdout=placements_world["holdout"],
        config=services.default_config(synthetic),
        user=placements_world["world"].curator_a,
        enqueue=False,
    )
    run = services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    return {**placements_world, "run": run}


def visit(page: Any, violations: Violations, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    violations.assert_none()


def test_public_pages_raise_no_csp_violation(page):
    violations = Violations(page)
    visit(page, violations, "/accounts/login/")
    visit(page, violations, "/certificates/verify/")


def test_curator_pages_raise_no_csp_violation(page, audited):
    violations = Violations(page)
    synthetic, run = audited["synthetic"], audited["run"]
    sign_in(page, "curator_a", PASSWORD)
    expect(page.get_by_test_id("current-user")).to_be_visible()
    violations.assert_none()

    visit(page, violations, f"/audits/{run.pk}/")
    expect(page.locator(".plot .main-svg").first).to_be_visible(timeout=30_000)  # Plotly drew

    visit(page, violations, f"/datasets/{synthetic.dataset_id}/")
    # The interactive lineage view drew (vendored Cytoscape.js, under the policy).
    expect(page.get_by_test_id("lineage-view").locator("canvas").first).to_be_visible()
    page.wait_for_function("() => window.synthgovLineage && window.synthgovLineage.nodes().length")
    violations.assert_none()
    visit(page, violations, f"/versions/{synthetic.pk}/")

    visit(page, violations, f"/versions/{synthetic.pk}/datasheet/")
    meter = page.locator("#datasheet-meter")
    before = meter.get_attribute("aria-valuenow")
    page.locator("[data-datasheet-section]").first.fill("Collected from three public sources.")
    expect(meter).not_to_have_attribute("aria-valuenow", before or "")  # the meter's script ran
    violations.assert_none()

    visit(page, violations, f"/datasets/{synthetic.dataset_id}/upload/")
    visit(page, violations, f"/versions/{synthetic.pk}/lineage/")

    visit(page, violations, "/audits/")
    page.locator("select[data-autosubmit]").select_option("succeeded")
    page.wait_for_url("**status=succeeded**")
    violations.assert_none()

    visit(page, violations, "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("SynthGov API")
    violations.assert_none()


def test_officer_dashboard_and_trail_raise_no_csp_violation(page, audited):
    violations = Violations(page)
    sign_in(page, "officer_a", PASSWORD)
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.wait_for_load_state("networkidle")
    violations.assert_none()
    visit(page, violations, "/trail/")
    visit(page, violations, "/evaluations/")


def test_admin_raises_no_csp_violation(page, world):
    violations = Violations(page)
    sign_in(page, "admin_a", PASSWORD)
    visit(page, violations, "/admin/")
    visit(page, violations, "/admin/accounts/membership/")
    visit(page, violations, "/admin/accounts/membership/add/")


def test_downloaded_report_draws_its_charts_under_its_own_policy(page, audited, tmp_path):
    violations = Violations(page)
    sign_in(page, "curator_a", PASSWORD)
    run = audited["run"]
    page.goto(f"/audits/{run.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download HTML report").click()
    saved = tmp_path / "report.html"
    download_info.value.save_as(saved)
    page.goto(saved.as_uri())  # opened from disk: no server, no headers
    expect(page.locator(".main-svg").first).to_be_visible(timeout=30_000)
    violations.assert_none()
