"""Rules that apply only when measured, the differential-privacy claim tested by attack, and
population rules judged against the profile the standard requires. Plain engine, no
database."""

from __future__ import annotations

import pytest

from audits.standards.engine import (
    FigureValue,
    ProfileRequirement,
    StandardSpec,
    derive_figures,
    dump_yaml,
    effective_rules,
    evaluate,
    parse_yaml,
    validate_standard,
)
from tests.audits.standards.builders import base_standard, rule

NO_HOLDOUT = "needs a real holdout dataset (its distances set the bar)"


def measured_rule(severity: str = "advisory", **extra):
    return rule("privacy.near_copy_rate", "<=", 0.03, severity, applies="when_measured", **extra)


def spec_with(*rules) -> StandardSpec:
    spec = base_standard()
    spec.rules = list(rules)
    return spec


@pytest.mark.parametrize("severity", ["minor", "major", "blocking"])
def test_only_an_advisory_rule_may_apply_only_when_measured(severity):
    problems = validate_standard(spec_with(measured_rule(severity)), known_parents={})
    assert [p.field for p in problems] == ["rules[0].applies"]
    message = problems[0].message
    assert "allowed on advisory rules only" in message
    assert "cannot dodge it" in message
    assert validate_standard(spec_with(measured_rule()), known_parents={}) == []


def test_applies_is_checked_for_its_value_and_for_figures_an_audit_measures():
    wrong = rule("privacy.near_copy_rate", "<=", 0.03, "advisory", applies="sometimes")
    fact = rule("registry.licence", "present", None, "advisory", applies="when_measured")
    problems = validate_standard(spec_with(wrong, fact), known_parents={})
    messages = [p.message for p in problems]
    assert "unknown applies 'sometimes'; use always or when_measured." in messages[0]
    assert "registry.licence is a registry fact" in messages[1]


def test_a_figure_the_audit_could_not_measure_makes_a_when_measured_rule_not_applicable():
    figures = {"privacy.near_copy_rate": FigureValue(None, {"audit": 7}, not_measured=NO_HOLDOUT)}
    result = evaluate([measured_rule()], figures)
    assert result.status == "compliant"
    (outcome,) = result.results
    assert outcome.status == "not_applicable"
    assert outcome.reason == NO_HOLDOUT
    assert outcome.sentence == (
        "privacy.near_copy_rate ≤ 0.03 does not apply (it applies only when measured): the "
        f"audit could not measure privacy.near_copy_rate: {NO_HOLDOUT}."
    )
    assert outcome.source == {"audit": 7}
    assert result.summary()["not_applicable"] == 1
    data = outcome.to_json()
    assert (data["applies"], data["reason"], data["status"]) == (
        "when_measured",
        NO_HOLDOUT,
        "not_applicable",
    )


def test_without_any_audit_the_figure_is_still_missing():
    result = evaluate([measured_rule()], {})
    assert result.status == "incomplete"
    assert result.results[0].status == "missing"


def test_a_rule_that_applies_always_finds_the_unmeasured_figure_missing_as_before():
    always = rule("privacy.near_copy_rate", "<=", 0.03, "advisory")
    unmeasured = {"privacy.near_copy_rate": FigureValue(None, {"audit": 7}, not_measured="x")}
    before, after = evaluate([always], {}), evaluate([always], unmeasured)
    assert after.status == "incomplete"
    # Byte for byte what an absent figure gave: evaluations under old rules keep evidence.
    assert after.to_json() == before.to_json()
    assert "not_applicable" not in after.summary()


def test_a_measured_figure_is_judged_by_a_when_measured_rule():
    result = evaluate([measured_rule()], {"privacy.near_copy_rate": FigureValue(0.05)})
    assert result.results[0].status == "fail"
    assert result.results[0].sentence.startswith("privacy.near_copy_rate is 0.05, above")


def test_applies_and_population_profile_round_trip_and_stay_out_of_old_rules():
    profile = rule(
        "fairness.population_representation_gap",
        "<=",
        0.05,
        "major",
        population_profile="England and Wales population by sex (Census 2021)@1",
    )
    spec = spec_with(measured_rule(), profile)
    text = dump_yaml(spec)
    assert "applies: when_measured" in text
    assert "population_profile: England and Wales population by sex (Census 2021)@1" in text
    again, problems = parse_yaml(text)
    assert problems == [] and again == spec
    assert validate_standard(again, known_parents={}) == []
    # A rule without them dumps and serialises as it did before they existed.
    plain = base_standard()
    assert "applies" not in dump_yaml(plain) and "population_profile" not in dump_yaml(plain)
    assert all(set(r.to_json()) == set(rule("k", "<=", 1).to_json()) for r in plain.rules)


def test_population_profile_only_on_population_figures_and_written_name_at_version():
    wrong_key = rule("quality.overall", ">=", 0.8, population_profile="X@1")
    no_version = rule(
        "fairness.population_representation_gap", "<=", 0.05, population_profile="ONS census"
    )
    problems = validate_standard(spec_with(wrong_key, no_version), known_parents={})
    assert [p.field for p in problems] == [
        "rules[0].population_profile",
        "rules[1].population_profile",
    ]
    assert "is for rules on a population figure" in problems[0].message
    assert "NAME@VERSION" in problems[1].message


def _child(*rules) -> StandardSpec:
    return StandardSpec(
        code="CHILD",
        name="Child",
        version="1.0",
        scope="local",
        parent="BASE@1.0",
        jurisdictions=["EU"],
        rules=list(rules),
    )


def test_a_child_may_make_a_rule_apply_always_but_not_only_when_measured():
    parent = spec_with(measured_rule(), rule("quality.overall", ">=", 0.75, "advisory"))
    known = {parent.ref: parent}
    stricter = _child(rule("privacy.near_copy_rate", "<=", 0.02, "blocking"))
    assert validate_standard(stricter, known_parents=known) == []
    (tightened, _) = [e for e in effective_rules(stricter, parent.rules)][:2]
    assert tightened.origin == "tightened" and not tightened.rule.when_measured
    dodge = _child(rule("quality.overall", ">=", 0.75, "advisory", applies="when_measured"))
    (problem,) = validate_standard(dodge, known_parents=known)
    assert problem.field == "rules[0].applies"
    assert "may not limit it to when the figure is measured" in problem.message


def test_a_child_keeps_the_population_profile_its_parent_names():
    named = "England and Wales population by sex (Census 2021)@1"
    key = "fairness.population_representation_gap"
    parent = spec_with(rule(key, "<=", 0.05, population_profile=named))
    other = _child(rule(key, "<=", 0.05, population_profile="Flattering@1"))
    (problem,) = validate_standard(other, known_parents={parent.ref: parent})
    assert problem.field == "rules[0].population_profile"
    assert named in problem.message


# --- The differential-privacy claim --------------------------------------------------

CLAIM_RULE = rule("privacy.dp_claim_consistent", "=", True, "blocking")


def dp_figures(epsilon, bound, mechanism="differential_privacy", **bound_extra):
    figures = {
        "registry.epsilon": FigureValue(epsilon, {"registry": "registry.epsilon"}),
        "registry.privacy_mechanism": FigureValue(mechanism, {"registry": "x"}),
    }
    if bound is not None or bound_extra:
        figures["privacy.dp_epsilon_lower_bound"] = FigureValue(bound, {"audit": 3}, **bound_extra)
    return figures


def test_a_claim_the_attack_contradicts_fails_with_both_numbers():
    result = evaluate([CLAIM_RULE], dp_figures(1.0, 2.3))
    (outcome,) = result.results
    assert (outcome.status, outcome.value) == ("fail", False)
    assert outcome.sentence == (
        "privacy.dp_claim_consistent is false, not the required true: the attack proves "
        "ε ≥ 2.30 at 95% confidence; the generation claims ε = 1: the claim is contradicted."
    )
    assert outcome.source == {
        "derived": ["registry.epsilon", "privacy.dp_epsilon_lower_bound"],
        "audit": 3,
    }


def test_a_claim_the_attack_does_not_contradict_passes():
    (outcome,) = evaluate([CLAIM_RULE], dp_figures(3.0, 0.4)).results
    assert outcome.status == "pass"
    assert outcome.sentence.endswith("the generation claims ε = 3: the claim is not contradicted.")


def test_without_a_claim_the_rule_does_not_apply_whatever_its_severity():
    for figures in (dp_figures(None, 2.3, mechanism=None), dp_figures(None, 2.3)):
        result = evaluate([CLAIM_RULE], figures)
        assert result.status == "compliant"
        assert result.results[0].status == "not_applicable"
    assert "records no epsilon" in evaluate([CLAIM_RULE], dp_figures(None, 2.3)).results[0].reason
    other = evaluate([CLAIM_RULE], dp_figures(None, 1.0, mechanism="k_anonymity"))
    assert other.results[0].reason == "the generation claims k_anonymity, not differential privacy"


def test_a_claim_without_the_bound_is_missing_and_says_why():
    result = evaluate([CLAIM_RULE], dp_figures(1.0, None, not_measured=NO_HOLDOUT))
    assert result.status == "incomplete"
    assert result.results[0].sentence == (
        "privacy.dp_claim_consistent is missing: the generation claims ε = 1, and the "
        f"attack's bound (privacy.dp_epsilon_lower_bound) is not measured: {NO_HOLDOUT}."
    )


def test_the_planted_case_a_claim_of_0_1_with_copied_training_rows_is_contradicted():
    """Synthetic data that copies training rows (the "exact" planted leak of the attack
    tests: 5% of 1,000 rows, seed 1) under a claimed epsilon of 0.1: the membership attack
    proves far more (0.82); on clean data it proves nothing (0), so the claim stands."""
    from audits.checks.attacks import membership
    from tests.audits.checks.conftest import make_context
    from tests.audits.checks.test_attacks import plant

    def bound(scenario: str) -> float:
        results = membership(make_context(*plant(scenario, 1_000, 1)))
        return next(m.value for m in results if m.key == "privacy.dp_epsilon_lower_bound")

    copied = bound("exact")
    assert copied > 0.5
    derived = derive_figures(dp_figures(0.1, copied))["privacy.dp_claim_consistent"]
    assert derived.value is False
    assert derived.note.startswith("the attack proves ε ≥ 0.82")
    assert derived.note.endswith("the generation claims ε = 0.10: the claim is contradicted")
    (outcome,) = evaluate([CLAIM_RULE], dp_figures(0.1, copied)).results
    assert outcome.status == "fail" and outcome.severity == "blocking"
    clean = bound("clean")
    assert derive_figures(dp_figures(0.1, clean))["privacy.dp_claim_consistent"].value is True


# --- Population figures judged against the required profile ---------------------------

GAP = "fairness.population_representation_gap"
ONS = ProfileRequirement("ONS (version 1)", frozenset({5}), why="the UK default")


def test_a_population_figure_from_another_profile_is_not_judged():
    figure = FigureValue(0.0, {"audit": 9}, profile={"profile_id": 6, "name": "Kind", "version": 2})
    result = evaluate([rule(GAP, "<=", 0.05)], {GAP: figure}, population_profiles={"": ONS})
    (outcome,) = result.results
    assert result.status == "incomplete" and outcome.status == "missing"
    assert outcome.sentence == (
        f"{GAP} is not judged: this audit compared with the population profile Kind "
        "(version 2); the standard requires ONS (version 1) (the UK default): re-run the "
        "audit with ONS (version 1)."
    )
    matching = FigureValue(
        0.01, {"audit": 9}, profile={"profile_id": 5, "name": "ONS", "version": 1}
    )
    same = evaluate([rule(GAP, "<=", 0.05)], {GAP: matching}, population_profiles={"": ONS})
    plain = evaluate([rule(GAP, "<=", 0.05)], {GAP: FigureValue(0.01, {"audit": 9})})
    assert same.to_json() == plain.to_json() and same.status == "compliant"


def test_a_standard_whose_profile_cannot_be_found_leaves_the_rule_missing():
    figure = FigureValue(0.0, {"audit": 9}, profile={"profile_id": 6, "name": "K", "version": 1})
    unresolved = ProfileRequirement("the default population profile of UK", unresolved="none set")
    result = evaluate([rule(GAP, "<=", 0.05)], {GAP: figure}, population_profiles={"": unresolved})
    assert result.results[0].sentence == f"{GAP} cannot be judged: none set."
