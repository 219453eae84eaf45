"""A representation rule evaluated through the real path: a profile is the jurisdiction's
default, an audit compares with it, and a published standard's evaluation reads the
figure. The rule is UK-HEALTH 1.1's, in a local standard for the EU (where the test
data's organisation is established)."""

from __future__ import annotations

import pytest

from audits.compliance import services as compliance
from audits.models import ComplianceEvaluation
from audits.populations import services as profiles
from audits.runs import services
from audits.standards import engine
from audits.standards import services as standard_services
from synthgov.accounts.models import Jurisdiction
from tests.audits.conftest import placements, request_placements_audit


def _rule_yaml() -> str:
    uk = next(s for s in engine.load_shipped() if s.code == "UK-HEALTH")
    (rule,) = [r for r in uk.rules if r.key == "fairness.population_representation_gap"]
    return f"""\
code: EU-POPULATION
name: EU representation
version: '1.0'
scope: local
parent: GLOBAL-BASELINE@1.0
jurisdictions: [EU]
rules:
  - key: {rule.key}
    operator: '{rule.operator.value}'
    threshold: {rule.threshold}
    severity: {rule.severity.value}
    rationale: {rule.rationale}
    clause: {rule.clause}
"""


def _profile(world, female: float):
    draft = profiles.profile_save_draft(
        user=world.regulator,
        owner=world.regulator_org,
        name=f"Gender {female}",
        source="Test census",
        source_url="https://example.org/census",
        groupings=[{"attributes": ["gender"], "groups": [
            {"values": ["F"], "share": female}, {"values": ["M"], "share": 1 - female}]}],
    )  # fmt: skip
    return profiles.profile_publish(profile=draft, user=world.regulator)


@pytest.mark.parametrize("matching", [True, False])
@pytest.mark.django_db
def test_representation_rule_passes_or_fails_on_the_jurisdiction_profile(
    placements_world, matching
):
    world = placements_world["world"]
    _, synthetic = placements()
    female = float((synthetic["gender"] == "F").mean())
    profile = _profile(world, round(female, 3) if matching else 0.5)
    profiles.jurisdiction_set_default(
        jurisdiction=Jurisdiction.objects.get(code="EU"), profile=profile, user=world.regulator
    )
    baseline = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    standard_services.standard_publish(
        version=standard_services.standard_save_draft(
            spec=baseline, user=world.admin_a, owner=None
        ),
        user=world.admin_a,
    )
    (draft,) = standard_services.standard_import_yaml(
        text=_rule_yaml(), user=world.regulator, owner=world.regulator_org
    )
    standard = standard_services.standard_publish(version=draft, user=world.regulator)
    run = request_placements_audit(placements_world, holdout=False)
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    compliance.evaluations_recompute_for_version(dataset_version=placements_world["synthetic"])
    evaluation = ComplianceEvaluation.objects.get(
        dataset_version=placements_world["synthetic"], standard_version=standard, is_current=True
    )
    (result,) = [
        r
        for r in evaluation.results["rules"]
        if r["key"] == "fairness.population_representation_gap"
    ]
    expected_gap = abs(female - profile.groupings[0]["groups"][0]["share"])
    assert result["value"] == pytest.approx(expected_gap, abs=1e-9)
    assert result["status"] == ("pass" if matching else "fail")
    if not matching:
        assert evaluation.status == "non_compliant"


def _evaluate_with(placements_world, *, chosen, rule_yaml: str):
    """Publish the baseline and a standard with ``rule_yaml``'s rule, audit the synthetic
    version comparing with ``chosen`` (as the request form or API lets a requester choose),
    and return the rule's result."""
    world = placements_world["world"]
    baseline = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    standard_services.standard_publish(
        version=standard_services.standard_save_draft(
            spec=baseline, user=world.admin_a, owner=None
        ),
        user=world.admin_a,
    )
    (draft,) = standard_services.standard_import_yaml(
        text=rule_yaml, user=world.regulator, owner=world.regulator_org
    )
    standard = standard_services.standard_publish(version=draft, user=world.regulator)
    run = services.audit_run_request(
        version=placements_world["synthetic"],
        reference=placements_world["real"],
        holdout=None,
        config={
            **services.default_config(placements_world["synthetic"]),
            "population_profile": chosen.pk,
        },
        user=world.curator_a,
    )
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    assert run.config["population"]["profile_id"] == chosen.pk
    compliance.evaluations_recompute_for_version(dataset_version=placements_world["synthetic"])
    evaluation = ComplianceEvaluation.objects.get(
        dataset_version=placements_world["synthetic"], standard_version=standard, is_current=True
    )
    (result,) = [r for r in evaluation.results["rules"] if r["key"] == GAP]
    return evaluation, result


GAP = "fairness.population_representation_gap"


@pytest.mark.django_db
def test_a_requester_cannot_pass_by_choosing_a_flattering_profile(placements_world):
    """The jurisdiction's default says half the people are women; the requester picks a
    profile that matches the synthetic data exactly. The rule is judged against the
    default, so the audit's figure does not count: the rule is missing, with what to do."""
    world = placements_world["world"]
    _, synthetic = placements()
    female = float((synthetic["gender"] == "F").mean())
    census = _profile(world, 0.5)
    profiles.jurisdiction_set_default(
        jurisdiction=Jurisdiction.objects.get(code="EU"), profile=census, user=world.regulator
    )
    flattering = _profile(world, round(female, 3))
    evaluation, result = _evaluate_with(placements_world, chosen=flattering, rule_yaml=_rule_yaml())
    assert result["value"] == pytest.approx(abs(female - round(female, 3)), abs=1e-9)
    assert result["status"] == "missing"
    assert result["sentence"] == (
        f"{GAP} is not judged: this audit compared with the population profile "
        f"{flattering.name} (version 1); the standard requires {census.label} (the EU "
        f"default): re-run the audit with {census.label}."
    )
    assert evaluation.missing_count >= 1  # the version cannot be certified on this audit


@pytest.mark.django_db
def test_a_rule_naming_a_profile_is_judged_against_it_not_the_default(placements_world):
    world = placements_world["world"]
    _, synthetic = placements()
    female = float((synthetic["gender"] == "F").mean())
    named = _profile(world, 0.5)
    default = _profile(world, round(female, 3))
    profiles.jurisdiction_set_default(
        jurisdiction=Jurisdiction.objects.get(code="EU"), profile=default, user=world.regulator
    )
    text = _rule_yaml() + f"    population_profile: {named.name}@{named.number}\n"
    _, result = _evaluate_with(placements_world, chosen=named, rule_yaml=text)
    assert result["status"] == "fail"  # judged, against the named profile
    assert result["population_profile"] == f"{named.name}@1"
