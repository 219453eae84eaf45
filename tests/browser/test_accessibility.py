"""axe-core, run in chromium on the main pages of every role at desktop and
phone width, finds no serious or critical accessibility violation.

axe-core comes from npm, pinned in tests/browser/axe/package-lock.json and
installed (``npm ci``) into the git-ignored tests/browser/axe/node_modules by
.ci/run, or by this module the first time it runs. It is a test tool only:
the product never serves it.

The pages forbid inline script (CSP: script-src 'self' + nonce), and axe is
injected as an inline script tag, so the test's browser context bypasses the
CSP (Playwright's ``bypass_csp``). That changes only this test browser: each
page is still served with the product's policy, which the test checks, and
tests/browser/test_csp.py opens pages under the policy enforced.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audits.populations import services as population_services
from audits.runs import services as run_services
from registry.models import DatasetVersion
from tests.audits.certification import helpers
from tests.audits.certification.helpers import api_sign
from tests.audits.conftest import placements, register, scaled
from tests.browser.conftest import VIEWPORTS, sign_in
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"

# Serious and critical are the impacts the issue forbids; moderate and minor
# findings (mostly best-practice rules) are reported by axe but do not fail.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + ": " + n.failureSummary),
    }));
}"""


def strict_script_policy(policy: str) -> bool:
    """The served policy allows scripts only from this site (or by nonce)."""
    directives = {}
    for part in policy.split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources
    sources = directives.get("script-src", "").split()
    return (
        bool(sources)
        and sources[0] == "'self'"
        and all(s == "'self'" or s.startswith("'nonce-") for s in sources)
    )


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """The pinned axe-core, installed with npm on first use."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "the accessibility test needs npm to install axe-core (apt-get install npm)"
            )
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_SCRIPT


class Axe:
    """Runs axe on pages and keeps every serious or critical finding, so one
    test reports all failing pages at once rather than the first."""

    def __init__(self, script: Path, viewport: str) -> None:
        self.script = script
        self.viewport = viewport
        self.findings: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Any, url: str | None = None) -> None:
        if url is not None:
            response = page.goto(url)
            assert response is not None and response.ok, (url, response and response.status)
            # The product's policy is untouched; only this browser ignores it.
            assert strict_script_policy(response.headers.get("content-security-policy", ""))
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(self.script))
        path = urlsplit(page.url).path
        self.checked.append(path)
        for v in page.evaluate(RUN_AXE):
            nodes = "\n      ".join(v["nodes"])
            self.findings.append(
                f"{self.viewport} {path}: {v['impact']} {v['rule']} ({v['help']})\n      {nodes}"
            )

    def assert_clean(self) -> None:
        assert not self.findings, "\n".join(self.findings)


@pytest.fixture
def world_to_check(cert_world, placements_world):
    """A signed-off-ready evaluation of a synthetic version (cert_world) and a
    real, finished audit with its charts (placements_world)."""
    synthetic = placements_world["synthetic"]
    # A holdout of 300 rows drawn from the real data: both genders have the 30 rows the
    # per-group model charts ("Models trained on this data") need, so axe sees them.
    real = placements_world["real"]
    holdout = register(
        real.dataset, placements_world["world"].curator_a, scaled(placements()[0], 300, 2)
    )
    run = run_services.audit_run_request(
        version=synthetic,
        reference=real,
        holdout=holdout,
        config=run_services.default_config(synthetic),
        user=placements_world["world"].curator_a,
        enqueue=False,
    )
    run = run_services.audit_run_execute(
        run_id=run.pk, token=run_services.audit_run_claim(run_id=run.pk)
    )
    return {**cert_world, "audited_run": run}


def role_page(open_page: Any, viewport: str, username: str | None) -> Any:
    page = open_page(viewport, bypass_csp=True)
    if username is not None:
        sign_in(page, username, PASSWORD)
        # Attached, not visible: on a phone the user's name is in the folded menu.
        expect(page.get_by_test_id("current-user")).to_be_attached()
    return page


def test_main_pages_have_no_serious_accessibility_violation(open_page, axe_script, world_to_check):
    """Each page at desktop and at phone width, on one world (an audit and a certification
    are built once, not once per width): every width sees a page in the same state, since
    each change (the certificate, a population profile, publishing) comes after both
    widths have seen the pages before it."""
    world, evaluation = world_to_check["world"], world_to_check["evaluation"]
    synthetic = world_to_check["synthetic"]
    axes = {viewport: Axe(axe_script, viewport) for viewport in VIEWPORTS}
    curators = {}

    for viewport, axe in axes.items():
        curator = curators[viewport] = role_page(open_page, viewport, "curator_a")
        axe.check(curator)  # home, where signing in lands
        axe.check(curator, f"/datasets/{synthetic.dataset_id}/")
        axe.check(curator, f"/versions/{synthetic.pk}/")
        axe.check(curator, f"/audits/{world_to_check['audited_run'].pk}/")
        expect(curator.locator(".plot .main-svg").first).to_be_visible()
        expect(curator.get_by_test_id("models-section")).to_be_visible()
        models_chart = curator.locator('[data-chart-key="models.error_rates.gender"] .main-svg')
        expect(models_chart.first).to_be_attached()
        axe.check(curator, f"/evaluations/{evaluation.pk}/")
        axe.check(curator, f"/evaluations/{evaluation.pk}/signoff/")
        expect(curator.get_by_label("Your password")).to_be_visible()
        axe.check(curator, f"/standards/{world_to_check['standard'].pk}/")

    api_sign(world.curator_a, evaluation)
    number = api_sign(world.regulator, evaluation)["certificate"]
    verifies = {}
    for viewport, axe in axes.items():
        curator = curators[viewport]
        axe.check(curator, f"/certificates/{number}/")
        expect(curator.get_by_test_id("certificate-status")).to_have_text("Valid")
        verifies[viewport] = urlsplit(curator.get_by_test_id("verify-link").get_attribute("href"))
        officer = role_page(open_page, viewport, "officer_a")
        # The certificate's notification, whose "Dismiss" once read 1.1:1 on white.
        expect(officer.get_by_role("button", name="Dismiss").first).to_be_attached()
        axe.check(officer)
        for username in ("regulator", "admin_a"):
            axe.check(role_page(open_page, viewport, username))

    # Population profiles: the list, a profile, and the pages that define and import one.
    profile = population_services.profile_import(
        text="attribute,group,share\ngender,F,0.51\ngender,M,0.49\n",
        fmt="csv",
        user=world.regulator,
        owner=world.regulator_org,
        name="Gender",
        source="A census",
        source_url="https://example.org/census",
    )
    visitors = {}
    for viewport, axe in axes.items():
        regulator = role_page(open_page, viewport, "regulator")
        for path in ("/populations/", f"/populations/{profile.pk}/", "/populations/new/",
                     "/populations/import/"):  # fmt: skip
            axe.check(regulator, path)
        visitor = visitors[viewport] = role_page(open_page, viewport, None)
        axe.check(visitor, "/certificates/verify/")
        verify = verifies[viewport]
        axe.check(visitor, f"{verify.path}?{verify.query}")  # what the QR code opens
        expect(visitor.get_by_test_id("verify-verdict")).to_contain_text("genuine and in force")

    # The public pages of an openly published version (the page's content, not the
    # publication rules, is checked here: those are tested in tests/audits/publishing).
    DatasetVersion.objects.filter(pk=synthetic.pk).update(published_at=timezone.now())
    for viewport, axe in axes.items():
        visitor = visitors[viewport]
        axe.check(visitor, "/open/")
        axe.check(visitor, f"/open/versions/{synthetic.pk}/")
        expect(visitor.get_by_test_id("open-certificates")).to_contain_text(number)

    for axe in axes.values():
        assert len(axe.checked) == 19, (axe.viewport, axe.checked)
    assert_all_clean(axes)


def assert_all_clean(axes: dict[str, Axe]) -> None:
    """Every width's findings at once, rather than the first width's."""
    findings = [finding for axe in axes.values() for finding in axe.findings]
    assert not findings, "\n".join(findings)


@pytest.fixture
def linked_to_check(world, registry_storage, signing_keys):
    """SDMetrics' multi-table demo: the real tables with their metadata, the synthetic
    ones with keys proposed (not yet confirmed), and a second synthetic version audited,
    evaluated against a standard of relational rules and certified."""
    from audits.compliance import services as compliance
    from registry import services as registry_services
    from registry import table_services
    from tests.audits.test_relational_api_journey import LINKED_STANDARD
    from tests.registry.conftest import make_dataset
    from tests.registry.relational_helpers import DEMO_TABLES, demo_bytes, demo_metadata

    def tables(kind: str) -> list[Any]:
        return [
            table_services.TableUpload(t, f"{t}.csv", iter([demo_bytes(t, kind)]))
            for t in DEMO_TABLES
        ]

    helpers.publish_standard(world.admin_a, LINKED_STANDARD)
    real = table_services.relational_version_create(
        dataset=make_dataset(world, kind="real", name="Web sessions real"),
        user=world.curator_a,
        tables=tables("real"),
        metadata=demo_metadata(),
    )
    synthetic_ds = make_dataset(world, name="Web sessions synthetic")
    certified = table_services.relational_version_create(
        dataset=synthetic_ds, user=world.curator_a, tables=tables("synthetic")
    )
    table_services.version_keys_set(
        version=certified, user=world.curator_a, metadata=demo_metadata()
    )
    # Trained on the real tables: the version page shows each table's collapse figures.
    registry_services.version_lineage_set(
        version=certified,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    run = run_services.audit_run_request(
        version=certified,
        reference=real,
        holdout=None,
        config=run_services.default_config(certified),
        user=world.curator_a,
        enqueue=False,
    )
    run = run_services.audit_run_execute(
        run_id=run.pk, token=run_services.audit_run_claim(run_id=run.pk)
    )
    assert run.status == "succeeded", run.error
    (evaluation,) = compliance.evaluations_recompute_for_version(dataset_version=certified)
    api_sign(world.curator_a, evaluation)
    number = api_sign(world.regulator, evaluation)["certificate"]
    # The same synthetic files with one user fewer: a version whose keys wait for the curator.
    users = demo_bytes("users", "synthetic").rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n"
    proposed = table_services.relational_version_create(
        dataset=synthetic_ds,
        user=world.curator_a,
        tables=[
            table_services.TableUpload(
                t, f"{t}.csv", iter([users if t == "users" else demo_bytes(t, "synthetic")])
            )
            for t in DEMO_TABLES
        ],
    )
    assert not proposed.keys_confirmed
    return {"run": run, "number": number, "certified": certified, "proposed": proposed}


def test_linked_table_pages_have_no_serious_accessibility_violation(
    open_page, axe_script, linked_to_check
):
    """The pages of a version made of linked tables, at desktop and at phone width (the
    tables, their audit and certificate built once): the upload form (empty and refused),
    the keys page as SynthGov proposes them, the version page with its tables and
    diagram, the report with its Linked tables section, and the certificate and its
    public verification listing every table."""
    axes = {viewport: Axe(axe_script, viewport) for viewport in VIEWPORTS}
    certified, proposed = linked_to_check["certified"], linked_to_check["proposed"]
    for viewport, axe in axes.items():
        curator = role_page(open_page, viewport, "curator_a")
        axe.check(curator, f"/datasets/{certified.dataset_id}/upload-tables/")
        curator.get_by_role("button", name="Upload tables").click()  # nothing chosen: refused
        expect(curator.locator(".error[role=alert]").first).to_be_visible()
        axe.check(curator)
        axe.check(curator, f"/versions/{proposed.pk}/keys/")
        expect(curator.get_by_test_id("keys-proposed")).to_be_visible()
        axe.check(curator, f"/versions/{proposed.pk}/")
        expect(curator.get_by_test_id("keys-unconfirmed")).to_be_visible()
        axe.check(curator, f"/versions/{certified.pk}/")
        expect(curator.get_by_test_id("collapse-table-chain").first).to_be_visible()
        expect(curator.locator("figure.diagram svg")).to_be_visible()
        axe.check(curator, f"/audits/{linked_to_check['run'].pk}/")
        expect(curator.get_by_test_id("relational-section")).to_be_visible()
        number = linked_to_check["number"]
        axe.check(curator, f"/certificates/{number}/")
        expect(curator.get_by_test_id("certificate-tables")).to_be_visible()
        verify = urlsplit(curator.get_by_test_id("verify-link").get_attribute("href"))
        visitor = role_page(open_page, viewport, None)
        axe.check(visitor, f"{verify.path}?{verify.query}")
        expect(visitor.get_by_test_id("certificate-tables")).to_be_visible()
        assert len(axe.checked) == 8, (viewport, axe.checked)
    assert_all_clean(axes)


def test_the_check_reports_a_serious_violation(open_page, axe_script, db):
    """The check is live: a control with no accessible name fails it."""
    axe = Axe(axe_script, "desktop")
    page = role_page(open_page, "desktop", None)
    page.goto("/accounts/login/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<button type=\"button\"></button>')"
    )
    axe.check(page)
    assert any("button-name" in finding for finding in axe.findings), axe.findings


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_keyboard_focus_is_visible(open_page, world, viewport):
    page = open_page(viewport)
    sign_in(page, "curator_a", PASSWORD)
    expect(page.get_by_test_id("current-user")).to_be_attached()
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    seen = []
    for _ in range(4):
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.textContent.trim(), s.outlineStyle, s.outlineWidth]; }"
        )
        seen.append(outline)
        assert outline[1] == "solid" and outline[2] == "3px", seen
        page.keyboard.press("Tab")
    # After the skip link and the brand: the folded menu's button on a phone.
    assert seen[2][0] == ("Menu" if viewport == "phone" else "Home"), seen
    skip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
