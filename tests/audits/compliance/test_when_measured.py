"""GLOBAL-BASELINE 1.1 through the real path: an audit without a holdout leaves the
advisory attack rules not applicable, with the audit's reason, on the evaluation page, in
the API, in the report and on the standard's page; the evaluation is not incomplete for
them. Earlier versions' evaluations keep their evidence."""

from __future__ import annotations

import html

import pytest
from rest_framework.test import APIClient

from audits.checks.attacks import ATTACK_KEYS, NO_HOLDOUT
from audits.compliance import services as compliance
from audits.models import ComplianceEvaluation
from audits.runs import services
from audits.standards import engine
from audits.standards import services as standard_services
from tests.audits.conftest import request_placements_audit

MEASURED_ONLY = ATTACK_KEYS - {"privacy.dp_epsilon_lower_bound"}


def publish(spec, user):
    draft = standard_services.standard_save_draft(spec=spec, user=user, owner=None)
    return standard_services.standard_publish(version=draft, user=user)


@pytest.fixture
def unheld(placements_world):
    """The placements synthetic version audited without a holdout, evaluated against
    GLOBAL-BASELINE 1.0 and then 1.1."""
    pw = placements_world
    admin = pw["world"].admin_a
    old = publish(engine.load_shipped_version("GLOBAL-BASELINE", "1.0"), admin)
    run = request_placements_audit(pw, holdout=False)
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    compliance.evaluations_recompute_for_version(dataset_version=pw["synthetic"])
    before = ComplianceEvaluation.objects.get(dataset_version=pw["synthetic"], is_current=True)
    new = publish(engine.load_shipped_version("GLOBAL-BASELINE", "1.1"), admin)
    compliance.evaluations_recompute_for_standard(standard_version=new)
    after = ComplianceEvaluation.objects.get(dataset_version=pw["synthetic"], is_current=True)
    return {**pw, "run": run, "old": old, "new": new, "before": before, "after": after}


def test_without_a_holdout_the_attack_rules_do_not_apply_and_say_why(unheld):
    after = unheld["after"]
    assert after.standard_version == unheld["new"]
    rules = {r["key"]: r for r in after.results["rules"] if r["key"] in ATTACK_KEYS}
    assert set(rules) == MEASURED_ONLY
    for key, rule in rules.items():
        assert rule["status"] == "not_applicable", (key, rule["sentence"])
        assert rule["applies"] == "when_measured" and rule["severity"] == "advisory"
        assert rule["reason"] == NO_HOLDOUT or "holdout" in rule["reason"], rule["reason"]
        assert rule["source"] == {"audit": unheld["run"].pk}
        assert (
            "does not apply (it applies only when measured): the audit could not"
            in (rule["sentence"])
        )
    # Not applicable is not missing: the version's status is what the other rules make it.
    assert after.missing_count == unheld["before"].missing_count
    assert after.status == unheld["before"].status
    assert after.results["summary"]["not_applicable"] >= len(MEASURED_ONLY)
    # What 1.0 shares with 1.1 reads the same under both.
    shared = {r["key"]: r for r in unheld["before"].results["rules"]}
    for r in after.results["rules"]:
        if r["key"] in shared:
            assert r == shared[r["key"]], r["key"]

    # The 1.0 evaluation keeps its evidence when recomputed now that the audit's
    # unmeasured figures reach the evaluation.
    before = unheld["before"]
    again = compliance.evaluation_compute(
        dataset_version=unheld["synthetic"], standard_version=unheld["old"]
    )
    # Nothing changed for 1.0: the same evidence hash, so a new row is not even needed
    # (the recomputed row equals the one 1.1 superseded).
    assert again.evidence_sha256 == before.evidence_sha256
    assert again.results == before.results
    assert "not_applicable" not in before.results["summary"]
    assert all("applies" not in r and "reason" not in r for r in before.results["rules"])


def test_pages_and_api_show_not_applicable_with_the_reason(client, unheld):
    world, after = unheld["world"], unheld["after"]
    client.force_login(world.officer_a)
    page = html.unescape(client.get(after.get_absolute_url()).content.decode())
    row = page[page.index('data-rule="privacy.near_copy_rate"') :]
    row = row[: row.index("</tr>")]
    assert 'data-status="not_applicable"' in row and "Not applicable" in row
    assert "applies when measured" in row
    assert "needs a real holdout" in row
    standard_page = html.unescape(client.get(unheld["new"].get_absolute_url()).content.decode())
    assert standard_page.count('data-testid="rule-applies"') == len(MEASURED_ONLY) + 1
    report = html.unescape(client.get(f"/audits/{unheld['run'].pk}/").content.decode())
    assert "not applicable (nothing to judge: each rule says why)" in report
    api = APIClient()
    api.force_authenticate(world.officer_a)
    data = api.get(f"/api/v1/evaluations/{after.pk}/").json()
    shown = {r["key"]: r for r in data["results"]["rules"]}
    assert shown["privacy.near_copy_rate"]["status"] == "not_applicable"
    assert shown["privacy.near_copy_rate"]["applies"] == "when_measured"
    rules = api.get(f"/api/v1/standards/{unheld['new'].pk}/").json()["rules"]
    assert {r["key"] for r in rules if r["applies"] == "when_measured"} >= MEASURED_ONLY
    exported = api.get(f"/api/v1/standards/{unheld['new'].pk}/yaml/").content.decode()
    shipped = (engine.SHIPPED_DIR / "global-baseline.yaml").read_text(encoding="utf-8")
    assert exported == shipped
    # Someone who may not see the version sees nothing of it.
    client.force_login(world.curator_b)
    assert client.get(after.get_absolute_url()).status_code == 404
