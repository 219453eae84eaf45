"""A regulator defines a population profile in the browser, publishes it and makes it the
jurisdiction's default; an audit then compares with it and the regulator sees the
representation rule evaluated (desktop and phone)."""

import pytest
from playwright.sync_api import expect

from audits.compliance import services as compliance
from audits.models import ComplianceEvaluation, PopulationProfile
from audits.runs import services
from audits.standards import engine
from audits.standards import services as standard_services
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RULE = """\
code: EU-POPULATION
name: EU representation
version: '1.0'
scope: local
parent: GLOBAL-BASELINE@1.0
jurisdictions: [EU]
rules:
  - key: fairness.population_representation_gap
    operator: '<='
    threshold: 0.05
    severity: major
    rationale: Groups keep their population share within 5 points.
    clause: Equality Act 2010, s. 149
"""


@pytest.fixture
def standard(placements_world):
    world = placements_world["world"]
    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    standard_services.standard_publish(
        version=standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None),
        user=world.admin_a,
    )
    (draft,) = standard_services.standard_import_yaml(
        text=RULE, user=world.regulator, owner=world.regulator_org
    )
    return standard_services.standard_publish(version=draft, user=world.regulator)


def _nav(page, name):
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_define_publish_and_see_the_representation_rule(sized_page, placements_world, standard):
    page = sized_page
    sign_in(page, "regulator", PASSWORD)
    _nav(page, "Populations")
    page.get_by_role("link", name="Define a profile").click()
    page.get_by_label("Name").fill("Even genders")
    page.locator("#id_source").fill("A census, table 1")
    page.get_by_label("Source address (URL)").fill("https://example.org/census")
    shares = page.get_by_label("Shares")
    # A wrong sum is refused with the reason, nothing saved.
    shares.fill("attribute,group,share\ngender,F,0.5\ngender,M,0.4\n")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("the shares sum to 0.9")).to_be_visible()
    assert not PopulationProfile.objects.exists()
    page.get_by_label("Shares").fill("attribute,group,share\ngender,F,0.5\ngender,M,0.5\n")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("draft-badge")).to_be_visible()
    expect(page.get_by_test_id("profile-shares")).to_contain_text("0.5")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("published-badge")).to_be_visible()
    page.get_by_label("Jurisdiction").select_option(label="EU — European Union")
    page.get_by_role("button", name="Set as default").click()
    expect(page.locator(".message.success")).to_contain_text("EU's default profile")

    # An audit of the EU organisation's data compares with the EU default.
    synthetic = placements_world["synthetic"]
    run = services.audit_run_request(
        version=synthetic,
        reference=placements_world["real"],
        holdout=None,
        config=services.default_config(synthetic),
        user=placements_world["world"].curator_a,
        enqueue=False,
    )
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    compliance.evaluations_recompute_for_version(dataset_version=synthetic)
    evaluation = ComplianceEvaluation.objects.get(
        dataset_version=synthetic, standard_version=standard, is_current=True
    )
    page.goto(f"/evaluations/{evaluation.pk}/")
    row = page.locator("tr[data-rule='fairness.population_representation_gap']")
    expect(row.get_by_test_id("rule-result")).to_be_visible()
    expect(row.get_by_test_id("rule-figure")).not_to_have_text("—")
    # The report draws real vs synthetic vs population.
    row.get_by_test_id("rule-evidence").click()
    chart = page.locator("[data-chart-key='fairness.population.gender']")
    expect(chart).to_contain_text("real vs synthetic vs the population profile")
    expect(chart.locator(".main-svg").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1
