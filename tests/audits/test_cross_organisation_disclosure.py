"""Issue 11, findings 1 and 2: nothing computed from a dataset version an organisation
may not read reaches it through an audit figure, a report, a page or a manifest.

The attacker is curator B (organisation B). Organisation A keeps restricted real
salaries and publishes an open synthetic version trained on them. B downloads the open
version, uploads it as its own, declares it ``trained_on`` A's open version, and audits
it against its own reference: the collapse figures would compare B's copy with A's
restricted real data and disclose its variance per column and its categories.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from rest_framework.test import APIClient

from audits.checks.collapse import KEYS
from audits.compliance import services as compliance
from audits.models import AuditRun, AuditStatus
from audits.runs import services
from audits.runs.inputs import RESTRICTED_ANCESTOR
from audits.standards import services as standard_services
from audits.standards.engine import StandardSpec
from registry import services as registry_services
from tests.audits.conftest import register
from tests.audits.standards.builders import rule
from tests.registry.conftest import make_dataset

ROWS = 400
# Categories only A's real data holds: their names must never reach B.
SECRET_CATEGORIES = ["ward-7-oncology", "ward-9-psychiatry"]
MEASURED = [k for k in KEYS.values() if k != KEYS["generation_depth"]]


def salaries(seed: int, *, categories: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "record_id": np.arange(1, ROWS + 1),
            "salary": rng.normal(50_000, 12_000, ROWS).round(2),
            "dept": rng.choice(categories, ROWS),
        }
    )


def run_now(run_id: int) -> AuditRun:
    run = services.audit_run_execute(run_id=run_id, token=services.audit_run_claim(run_id=run_id))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    return run


def api_audit(api: APIClient, version, reference, capture) -> AuditRun:
    with capture(execute=False):
        started = api.post(
            "/api/v1/audits/",
            {"version": version.pk, "reference": reference.pk, "families": ["provenance"]},
            format="json",
        )
    assert started.status_code == 202, started.content
    return run_now(started.json()["id"])


@pytest.fixture
def attack(world, registry_storage):
    """A's restricted real data and open synthetic child; B's copy trained on it."""
    real_a = register(
        make_dataset(world, name="Secret salaries", kind="real"),
        world.curator_a,
        salaries(1, categories=["admin", "nursing", *SECRET_CATEGORIES]),
        "secret.csv",
    )
    open_frame = salaries(2, categories=["admin", "nursing"])
    open_a = register(
        make_dataset(world, name="Open salaries", access="open"), world.curator_a, open_frame
    )
    registry_services.version_lineage_set(
        version=open_a,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real_a.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    # B: its own real reference, and A's open file uploaded as B's own version.
    real_b = register(
        make_dataset(world, org="org_b", name="B reference", kind="real"),
        world.curator_b,
        salaries(3, categories=["admin", "nursing"]),
        "b-real.csv",
    )
    copy_b = register(
        make_dataset(world, org="org_b", name="B copy", access="open"),
        world.curator_b,
        open_frame,
        "copy.csv",
    )
    registry_services.version_lineage_set(
        version=copy_b,
        user=world.curator_b,
        parents=[registry_services.ParentLink(open_a.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    return {"world": world, "real_a": real_a, "open_a": open_a, "real_b": real_b, "copy_b": copy_b}


@pytest.fixture
def api_b(attack):
    api = APIClient()
    api.force_authenticate(attack["world"].curator_b)
    return api


def _collapse(results: dict) -> dict[str, dict]:
    return {m["key"]: m for m in results["metrics"] if m["key"].startswith("collapse.")}


def _figure_cells(page: str) -> list[str]:
    """The figure of each rule row of an evaluation table: the cell marked
    ``rule-figure`` (evaluation page), else the 4th cell (sign-off page)."""
    rows = re.findall(r'<tr data-rule="[^"]+"[^>]*>(.*?)</tr>', page, flags=re.S)
    cells = []
    for row in rows:
        marked = re.search(r'<td [^>]*data-testid="rule-figure">(.*?)</td>', row, flags=re.S)
        cell = marked.group(1) if marked else re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[3]
        cells.append(cell.strip())
    return cells


def _assert_nothing_of(text: str, attack: dict) -> None:
    for secret in (*SECRET_CATEGORIES, "Secret salaries", attack["real_a"].sha256):
        assert secret not in text, secret


# --- Finding 1: the collapse audit as an inference channel --------------------------


def test_collapse_figures_skip_an_ancestor_the_requesting_organisation_may_not_read(
    attack, api_b, django_capture_on_commit_callbacks
):
    run = api_audit(api_b, attack["copy_b"], attack["real_b"], django_capture_on_commit_callbacks)
    assert api_b.get(f"/api/v1/versions/{attack['real_a'].pk}/").status_code == 404
    document = api_b.get(f"/api/v1/audits/{run.pk}/results/").json()
    figures = _collapse(document["results"])
    # The depth is a fact of the lineage graph B already sees (with "restricted source").
    assert figures[KEYS["generation_depth"]]["value"] == 2.0
    for key in MEASURED:
        assert figures[key]["status"] == "skipped", key
        assert figures[key]["value"] is None, key
        assert figures[key]["skip_reason"] == RESTRICTED_ANCESTOR, key
        assert "columns" not in figures[key]["details"], key
        assert "ancestor_version" not in figures[key]["details"], key
    metrics = {m["key"]: m for m in api_b.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    assert all(metrics[key]["value"] is None for key in MEASURED)
    # And the stored run itself holds nothing computed from A's data.
    stored = json.dumps(AuditRun.objects.get(pk=run.pk).results)
    _assert_nothing_of(stored, attack)
    assert '"categories_real"' not in stored


def test_own_restricted_ancestor_is_still_measured_for_its_organisation(
    attack, django_capture_on_commit_callbacks
):
    api = APIClient()
    api.force_authenticate(attack["world"].curator_a)
    run = api_audit(api, attack["open_a"], attack["real_a"], django_capture_on_commit_callbacks)
    figures = _collapse(api.get(f"/api/v1/audits/{run.pk}/results/").json()["results"])
    assert figures[KEYS["variance_ratio"]]["status"] == "ok"
    assert set(figures[KEYS["variance_ratio"]]["details"]["columns"]) == {"salary"}


# --- Readers of an audit who may not read the ancestor -----------------------------


@pytest.fixture
def audited_by_a(attack, django_capture_on_commit_callbacks):
    """A audits its open version against an open real sample: the run is visible to B,
    but its collapse figures were measured against A's restricted real data."""
    world = attack["world"]
    sample = register(
        make_dataset(world, name="Open sample", kind="real", access="open"),
        world.curator_a,
        salaries(4, categories=["admin", "nursing"]),
        "sample.csv",
    )
    api = APIClient()
    api.force_authenticate(world.curator_a)
    run = api_audit(api, attack["open_a"], sample, django_capture_on_commit_callbacks)
    assert _collapse(run.results)[KEYS["variance_ratio"]]["status"] == "ok"
    return {**attack, "run": run, "sample": sample}


def test_collapse_figures_against_a_restricted_ancestor_are_withheld_from_other_readers(
    audited_by_a, api_b, client
):
    run, world = audited_by_a["run"], audited_by_a["world"]
    document = api_b.get(f"/api/v1/audits/{run.pk}/results/").json()
    figures = _collapse(document["results"])
    for key in MEASURED:
        assert figures[key]["value"] is None and figures[key]["details"] == {}, key
        assert "restricted source" in figures[key]["skip_reason"], key
    assert figures[KEYS["generation_depth"]]["details"]["ancestor_version"] is None
    assert set(document["results"]["withheld"]) == set(MEASURED)
    assert "collapse" not in document["results"]["timings"]
    assert all(figures[key]["sample_size"] == 0 for key in MEASURED)
    metrics = {m["key"]: m for m in api_b.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    assert all(metrics[key]["value"] is None for key in MEASURED)
    client.force_login(world.curator_b)
    for url in (f"/audits/{run.pk}/report.json", f"/audits/{run.pk}/report.html"):
        body = client.get(url).content.decode()
        assert '"categories_real"' not in body and '"columns": {"salary"' not in body, url
    report = json.loads(client.get(f"/audits/{run.pk}/report.json").content)
    assert all(_collapse(report["results"])[key]["value"] is None for key in MEASURED)
    page = client.get(f"/audits/{run.pk}/").content.decode()
    assert "restricted source you may not read" in page
    # The owner still sees every figure of its own audit.
    api_a = APIClient()
    api_a.force_authenticate(world.curator_a)
    own = _collapse(api_a.get(f"/api/v1/audits/{run.pk}/results/").json()["results"])
    assert own[KEYS["variance_ratio"]]["details"]["columns"]["salary"] is not None


def test_collapse_panel_shows_no_figures_measured_against_a_restricted_ancestor(
    audited_by_a, client
):
    world = audited_by_a["world"]
    client.force_login(world.curator_b)
    page = client.get(audited_by_a["open_a"].get_absolute_url()).content.decode()
    assert 'data-testid="collapse-panel"' in page and "restricted source" in page
    assert 'data-testid="collapse-chart"' not in page
    assert f'href="/audits/{audited_by_a["run"].pk}/"' not in page.split("collapse-panel")[1]
    assert "measured against a restricted source" in page
    _assert_nothing_of(page, audited_by_a)
    client.force_login(world.curator_a)
    own = client.get(audited_by_a["open_a"].get_absolute_url()).content.decode()
    assert f'href="/audits/{audited_by_a["run"].pk}/"' in own.split("collapse-panel")[1]


@pytest.fixture
def evaluated(attack, django_capture_on_commit_callbacks):
    """A audits its open version against its restricted real data (B may not see that
    audit) and a standard judges the figures."""
    world = attack["world"]
    api = APIClient()
    api.force_authenticate(world.curator_a)
    run = api_audit(api, attack["open_a"], attack["real_a"], django_capture_on_commit_callbacks)
    spec = StandardSpec(
        code="LEAK-TEST",
        name="Leak test",
        version="1.0",
        scope="global",
        certificate_validity_days=730,
        reaudit_interval_days=365,
        rules=[
            rule("collapse.variance_ratio", ">=", 0.0, "advisory"),
            rule("collapse.tail_coverage", ">=", 0.0, "advisory"),
        ],
    )
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    standard = standard_services.standard_publish(version=draft, user=world.admin_a)
    evaluation = compliance.evaluation_compute(
        dataset_version=attack["open_a"], standard_version=standard
    )
    values = [r["value"] for r in evaluation.results["rules"]]
    assert all(v is not None for v in values)
    return {**attack, "run": run, "evaluation": evaluation, "values": values}


def test_evaluation_and_signoff_pages_withhold_figures_and_restricted_references(
    evaluated, client, api_b
):
    evaluation, run = evaluated["evaluation"], evaluated["run"]
    client.force_login(evaluated["world"].curator_b)
    assert client.get(f"/audits/{run.pk}/").status_code == 404
    for url in (evaluation.get_absolute_url(), f"/evaluations/{evaluation.pk}/signoff/"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        _assert_nothing_of(page, evaluated)
        for secret in (run.evidence_sha256, run.results_sha256, f"/audits/{run.pk}/"):
            assert secret not in page, (url, secret)
        assert _figure_cells(page) == ["—", "—"], url
    assert (
        "restricted source" in client.get(f"/evaluations/{evaluation.pk}/signoff/").content.decode()
    )
    shown = api_b.get(f"/api/v1/evaluations/{evaluation.pk}/").json()
    assert [r["value"] for r in shown["results"]["rules"]] == [None, None]
    assert [r["status"] for r in shown["results"]["rules"]] == ["pass", "pass"]
    assert all("audit" not in r["source"] for r in shown["results"]["rules"])
    assert all("audit" not in source for source in shown["sources"].values())
    # The owner's curator still sees its figures and the audit behind them.
    client.force_login(evaluated["world"].curator_a)
    page = client.get(f"/evaluations/{evaluation.pk}/signoff/").content.decode()
    assert "Secret salaries" in page and run.evidence_sha256 in page
    assert "—" not in _figure_cells(page)


# --- Finding 2: manifests ------------------------------------------------------------


def test_manifest_of_an_open_version_names_no_restricted_parent(attack, api_b, client):
    open_a, real_a = attack["open_a"], attack["real_a"]
    manifest = api_b.get(f"/api/v1/versions/{open_a.pk}/manifest/").json()
    text = json.dumps(manifest)
    assert real_a.sha256 not in text
    parents = manifest["manifest"]["parents"]
    assert parents == [
        {"version": None, "sha256": None, "relation": "trained_on", "label": "restricted source"}
    ]
    client.force_login(attack["world"].curator_b)
    assert real_a.sha256 not in client.get(f"/versions/{open_a.pk}/manifest.json").content.decode()
    # B's copy names its open parent in full.
    own = api_b.get(f"/api/v1/versions/{attack['copy_b'].pk}/manifest/").json()
    assert own["manifest"]["parents"][0]["sha256"] == open_a.sha256


# --- The audit request: the reference is the requester's choice ------------------------


def test_an_audit_cannot_take_another_organisations_restricted_data_as_reference(
    attack, django_capture_on_commit_callbacks
):
    # A curator of both organisations may read A's restricted data, but an audit of B's
    # version is shown to B's readers (its evaluation to everyone who sees the version).
    from synthgov.accounts.models import Membership, Role

    both = attack["world"].curator_a
    Membership.objects.create(user=both, organisation=attack["world"].org_b, role=Role.CURATOR)
    api = APIClient()
    api.force_authenticate(both)
    for field in ("reference", "holdout"):
        payload = {"version": attack["copy_b"].pk, "reference": attack["real_b"].pk}
        payload[field] = attack["real_a"].pk
        with django_capture_on_commit_callbacks(execute=False) as queued:
            refused = api.post("/api/v1/audits/", payload, format="json")
        assert refused.status_code == 400, (field, refused.content)
        assert "Beta Data may not read" in str(refused.json()), field
        assert not queued and not AuditRun.objects.filter(version=attack["copy_b"]).exists()
    form = APIClient()
    form.force_login(both)
    page = form.get(f"/versions/{attack['copy_b'].pk}/audit/").content.decode()
    assert "Secret salaries" not in page


# --- The watermark panel: fidelity to the audit's reference ---------------------------


def test_watermark_panel_shows_fidelity_to_a_reference_only_to_its_readers(
    attack, client, django_capture_on_commit_callbacks
):
    from audits.provenance import services as provenance

    world = attack["world"]
    api = APIClient()
    api.force_authenticate(world.curator_a)
    api_audit(api, attack["open_a"], attack["real_a"], django_capture_on_commit_callbacks)
    marked = provenance.version_watermark(
        version=attack["open_a"], user=world.curator_a, tolerances={"salary": 50.0}, categorical={}
    )
    assert marked.watermark["quality_against_reference"]["reference"] == attack["real_a"].pk
    client.force_login(world.curator_b)
    page = client.get(marked.get_absolute_url()).content.decode()
    assert 'data-testid="watermark-strength"' in page
    assert 'data-testid="watermark-reference-quality"' not in page
    client.force_login(world.curator_a)
    own = client.get(marked.get_absolute_url()).content.decode()
    assert 'data-testid="watermark-reference-quality"' in own
