"""A compliance officer starts an audit, watches it run in a real worker and
reads the report with its charts."""

import pytest
from playwright.sync_api import expect

from audits.models import AuditRun
from audits.runs import services
from tests.audits.conftest import request_placements_audit
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


# Per chart: tick labels that overlap one another or stick out of the chart's own box.
TICK_PROBLEMS = """
() => {
  const problems = [];
  document.querySelectorAll(".plot").forEach((plot) => {
    const box = plot.querySelector(".main-svg").getBoundingClientRect();
    for (const axis of ["xtick", "ytick"]) {
      const rects = [...plot.querySelectorAll(`.${axis} text`)]
        .map((t) => t.getBoundingClientRect()).filter((r) => r.width > 0);
      rects.forEach((r, i) => {
        if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
            r.bottom > box.bottom + 1) problems.push(`${plot.dataset.chart} ${axis} clipped`);
        rects.slice(i + 1).forEach((o) => {
          const w = Math.min(r.right, o.right) - Math.max(r.left, o.left);
          const h = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
          if (w > 1 && h > 1) problems.push(`${plot.dataset.chart} ${axis} overlap`);
        });
      });
    }
    const legend = plot.querySelector(".legend");
    if (legend) {
      const l = legend.getBoundingClientRect();
      plot.querySelectorAll(".xtick text, .ytick text, .xtitle, .ytitle").forEach((t) => {
        const r = t.getBoundingClientRect();
        const w = Math.min(r.right, l.right) - Math.max(r.left, l.left);
        const h = Math.min(r.bottom, l.bottom) - Math.max(r.top, l.top);
        if (w > 1 && h > 1) problems.push(`${plot.dataset.chart} legend over labels`);
      });
    }
  });
  return problems;
}
"""
PAGE_SCROLLS_SIDEWAYS = (
    "document.documentElement.scrollWidth > document.documentElement.clientWidth"
)


@pytest.mark.parametrize("width", [1280, 390])
def test_report_opens_with_its_summary_and_links_land_on_the_figure(page, audited, width):
    run = audited["run"]
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "officer_a", PASSWORD)
    page.goto(f"/audits/{run.pk}/#figure-quality-overall")
    page.wait_for_load_state("networkidle")
    row = page.locator("#figure-quality-overall")
    expect(row).to_be_in_viewport()  # the anchor other pages link to lands on the row
    expect(row).to_contain_text("Overall quality")
    page.goto(f"/audits/{run.pk}/")
    summary = page.get_by_test_id("report-summary")
    expect(summary).to_be_in_viewport()  # the first thing read
    expect(summary.get_by_test_id("family-score")).to_have_count(
        len(page.locator("section.metric-family").all())
    )
    summary.locator("[data-family=quality]").click()
    expect(row).to_be_in_viewport()
    expect(page.locator(".plot .main-svg").first).to_be_visible()
    page.wait_for_function(
        "document.querySelectorAll('.plot .main-svg').length >= "
        "document.querySelectorAll('.plot').length"
    )
    assert page.evaluate(TICK_PROBLEMS) == []
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)


@pytest.mark.parametrize("width", [1280, 390])
def test_badge_reads_running_while_the_bar_moves_and_cancel_asks_first(
    page, placements_world, width
):
    pw = placements_world
    run = request_placements_audit(pw, holdout=False, enqueue=False)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "officer_a", PASSWORD)
    page.goto(f"/audits/{run.pk}/")
    badge = page.get_by_test_id("audit-status")
    expect(badge).to_have_text("Queued")
    # A worker claims the run and reports progress while the page is open.
    services.audit_run_claim(run_id=run.pk)
    AuditRun.objects.filter(pk=run.pk).update(progress=0.56, step="Privacy: distances")
    expect(page.locator("[data-progress-pct]")).to_have_text("56%")
    expect(badge).to_have_text("Running")
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)
    confirm = page.get_by_role("button", name="Yes, cancel this audit")
    expect(confirm).to_be_hidden()  # one click alone cancels nothing
    page.get_by_test_id("cancel-audit").locator("summary").click()
    expect(page.get_by_test_id("cancel-audit")).to_contain_text("no figures are recorded")
    confirm.click()
    expect(page.get_by_text("Cancellation requested.")).to_be_visible()
    assert AuditRun.objects.get(pk=run.pk).cancel_requested or (
        AuditRun.objects.get(pk=run.pk).status == "cancelled"
    )


def test_downloaded_report_reads_on_a_phone(page, audited, tmp_path):
    run = audited["run"]
    sign_in(page, "officer_a", PASSWORD)
    page.goto(f"/audits/{run.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download HTML report").click()
    saved = tmp_path / "report.html"
    download_info.value.save_as(saved)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(saved.as_uri() + "#figure-quality-overall")  # opened from disk
    expect(page.locator("#figure-quality-overall")).to_be_in_viewport()
    page.goto(saved.as_uri())
    expect(page.get_by_test_id("report-summary")).to_be_visible()
    expect(page.get_by_test_id("family-score").first).to_be_in_viewport()
    page.wait_for_function(
        "document.querySelectorAll('.plot .main-svg').length >= "
        "document.querySelectorAll('.plot').length"
    )
    assert page.evaluate(TICK_PROBLEMS) == []
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)
