"""A compliance officer reads the dashboard and drills into a failure, on a
desktop and on a phone: severity decides red, a certified dataset is never
red, a failing cell leads in two clicks to the figure's row in the audit
report, and the public page tells a token holder that a newer version exists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from audits.models import Certificate
from tests.audits.dashboard import board
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_version, placements_csv

board_world = board.board_world
cert_world = board.cert_world
signing_keys = board.signing_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}


def fits(page, selector: str, width: int) -> None:
    """The element stays inside the viewport: a wide table scrolls in its own box."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box


@pytest.mark.parametrize("device", list(WIDTHS))
def test_status_reads_true_and_a_failure_is_two_clicks_from_its_evidence(page, board_world, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "officer_a", PASSWORD)
    matrix = page.get_by_test_id("compliance-matrix")
    advisory = matrix.locator('tr[data-dataset="Advisory only"] td.cell').first
    expect(advisory.get_by_test_id("matrix-status")).to_have_text("✓ Compliant, 1 advisory")
    expect(advisory.get_by_test_id("matrix-certificate")).to_have_text("certified")
    expect(page.get_by_test_id("count-compliant_with_findings")).to_have_text("1")
    expect(page.get_by_test_id("count-non_compliant")).to_have_text("1")
    real = matrix.locator('tr[data-dataset="Real placements"] td.cell')
    expect(real.nth(0).get_by_test_id("matrix-status")).to_have_text("○ Not audited yet")
    expect(real.nth(0).get_by_test_id("matrix-action")).to_have_text("Request an audit")
    expect(real.nth(1).get_by_test_id("matrix-status")).to_have_text("– Not applicable")
    fits(page, ".matrix-wrap", width)

    # Click 1: the red cell opens the evaluation with the failing rule.
    blocking = matrix.locator('tr[data-dataset="Blocking failure"] td.cell').first
    cell = blocking.get_by_test_id("matrix-status")
    expect(cell).to_contain_text("Non-compliant: 1 blocking")
    cell.scroll_into_view_if_needed()
    cell.click()
    expect(page.get_by_test_id("evaluation-title")).to_have_text(
        "Blocking failure version 1 against CERT-TEST@1.0"
    )
    rule = page.locator('tr[data-rule="quality.overall"]')
    expect(rule.get_by_test_id("rule-title")).to_have_text("Overall quality")
    expect(rule.get_by_test_id("rule-requirement")).to_have_text("≥ 0.80")
    expect(rule.get_by_test_id("rule-result")).to_have_text("Fails (blocking)")
    expect(rule.get_by_test_id("rule-figure")).to_have_text("0.0515 ± 0.0123")
    fits(page, ".table-scroll", width)
    fits(page, '[data-testid="rule-figure"]', width)
    # The evaluation page itself does not scroll sideways, on a phone either.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Click 2: the figure's row in the audit report.
    evidence = rule.get_by_test_id("rule-evidence")
    evidence.scroll_into_view_if_needed()
    evidence.click()
    run = board_world["versions"]["blocking"].audits.get()
    expect(page).to_have_url(
        f"{page.url.split('/audits/')[0]}/audits/{run.pk}/#figure-quality-overall"
    )

    # The rule failing most often leads to the evaluations failing it.
    page.goto("/")
    link = page.get_by_test_id("failing-rule-link").first
    expect(link).to_contain_text("quality.detection")
    link.click()
    expect(page.get_by_test_id("rule-filter")).to_contain_text("quality.detection")
    expect(page.get_by_test_id("evaluation-list").locator("tbody tr")).to_have_count(2)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_public_page_tells_the_token_holder_of_a_newer_version(page, board_world, device):
    width = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": 900})
    world = board_world["world"]
    certificate = Certificate.objects.get(number=board_world["advisory_certificate"])
    dataset = certificate.dataset_version.dataset
    make_version(dataset, world.curator_a, placements_csv(seed=5))

    # The dashboard keeps the certified version in view.
    sign_in(page, "officer_a", PASSWORD)
    row = page.get_by_test_id("compliance-matrix").locator('tr[data-dataset="Advisory only"]')
    expect(row.get_by_test_id("matrix-note").first).to_have_text(
        "v2 not yet audited — v1 certified"
    )
    expect(row.get_by_test_id("matrix-certificate").first).to_have_text("certified")

    link = certificate.get_share_url()
    token = parse_qs(urlsplit(link).query)["token"][0]
    visitor = page.context.browser.new_context(
        base_url=page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2],
        viewport={"width": width, "height": 900},
    )
    public = visitor.new_page()
    public.goto(f"/certificates/verify/{certificate.number}/")
    expect(public.get_by_test_id("certificate-status")).to_have_text("Valid")
    expect(public.get_by_test_id("certificate-newer-version")).to_have_count(0)
    public.goto(f"/certificates/verify/{certificate.number}/?token={token}")
    expect(public.get_by_test_id("certificate-newer-version")).to_have_text(
        "A newer version of this dataset exists (version 2). "
        "This certificate covers version 1 only."
    )
    fits(public, '[data-testid="certificate-newer-version"]', width)
    visitor.close()
