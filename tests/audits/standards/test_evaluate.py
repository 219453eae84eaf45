"""Rule evaluation: every operator passing, failing and missing its figure, boundaries,
type mismatches, margins and sentences, ordering and the overall status."""

from __future__ import annotations

import json
import math

import pytest

from audits.standards.engine import (
    EffectiveRule,
    FigureValue,
    RuleSpec,
    effective_rules,
    evaluate,
)
from audits.standards.engine import rules as vocabulary
from tests.audits.standards.builders import base_standard, child_standard, rule

LICENCES = ["CC-BY-4.0", "CC0-1.0", "MIT"]
RESERVED = "quality.reserved_for_tests"


@pytest.fixture
def reserved(monkeypatch):
    """A reserved (future) key of its own, so these tests do not depend on which
    figures later issues have turned into real ones."""
    monkeypatch.setattr(vocabulary, "FUTURE_METRICS", frozenset({RESERVED}))
    return RESERVED


def one(rule_spec: RuleSpec, value=None, *, absent: bool = False, **figure):
    figures = {} if absent else {rule_spec.key: FigureValue(value, **figure)}
    result = evaluate([rule_spec], figures)
    assert len(result.results) == 1
    return result.results[0]


@pytest.mark.parametrize(
    ("spec", "value", "status"),
    [
        # >= : the threshold itself passes; anything below fails.
        (rule("quality.overall", ">=", 0.8), 0.8, "pass"),
        (rule("quality.overall", ">=", 0.8), 0.95, "pass"),
        (rule("quality.overall", ">=", 0.8), 0.7999, "fail"),
        (rule("quality.overall", ">=", 0.8), 0.1 + 0.7, "pass"),  # 0.7999999999999999
        (rule("quality.overall", ">=", 0.8), 0.0, "fail"),
        # <= : the threshold itself passes; anything above fails.
        (rule("privacy.exact_match_rate", "<=", 0.0), 0.0, "pass"),
        (rule("privacy.exact_match_rate", "<=", 0.0), 0.0001, "fail"),
        (rule("privacy.dcr_closer_to_training_share", "<=", 0.55), 0.55, "pass"),
        (rule("privacy.dcr_closer_to_training_share", "<=", 0.55), 0.5501, "fail"),
        # = on numbers, booleans and text (text ignores case).
        (rule("integrity.hash_verified", "=", 1), 1.0, "pass"),
        (rule("integrity.hash_verified", "=", 1), 0.0, "fail"),
        (rule("registry.has_holdout_audit", "=", True), True, "pass"),
        (rule("registry.has_holdout_audit", "=", True), False, "fail"),
        (rule("registry.access", "=", "restricted"), "Restricted", "pass"),
        (rule("registry.access", "=", "restricted"), "open", "fail"),
        # present: any recorded value, even false or zero; nothing or blank fails.
        (rule("registry.licence", "present", None), "CC-BY-4.0", "pass"),
        (rule("registry.has_holdout_audit", "present", None), False, "pass"),
        (rule("quality.overall", "present", None), 0.0, "pass"),
        (rule("registry.licence", "present", None), None, "fail"),
        (rule("registry.licence", "present", None), "  ", "fail"),
        # one_of (SPDX identifiers are case-insensitive).
        (rule("registry.licence", "one_of", LICENCES), "MIT", "pass"),
        (rule("registry.licence", "one_of", LICENCES), "cc-by-4.0", "pass"),
        (rule("registry.licence", "one_of", LICENCES), "GPL-3.0-only", "fail"),
        (rule("fairness.missing_groups", "one_of", [0, 1]), 1.0, "pass"),
        (rule("fairness.missing_groups", "one_of", [0, 1]), 2.0, "fail"),
    ],
)
def test_operator_outcomes(spec, value, status):
    result = one(spec, value)
    assert result.status == status, result.sentence


@pytest.mark.parametrize(
    "spec",
    [
        rule("quality.overall", ">=", 0.8),
        rule("privacy.exact_match_rate", "<=", 0.0),
        rule("integrity.hash_verified", "=", 1.0),
        rule("registry.licence", "present", None),
        rule("registry.licence", "one_of", LICENCES),
    ],
    ids=lambda r: str(r.operator),
)
def test_every_operator_reports_an_absent_figure_as_missing(spec):
    result = one(spec, absent=True)
    assert result.status == "missing"
    assert result.margin is None
    assert "is missing" in result.sentence


@pytest.mark.parametrize(
    "spec",
    [
        rule("quality.overall", ">=", 0.8),
        rule("privacy.exact_match_rate", "<=", 0.0),
        rule("integrity.hash_verified", "=", 1.0),
        rule("registry.licence", "one_of", LICENCES),
    ],
    ids=lambda r: str(r.operator),
)
@pytest.mark.parametrize("value", [None, math.nan, ""])
def test_a_figure_without_value_is_missing_for_comparisons(spec, value):
    result = one(spec, value, source={"audit": 3})
    assert result.status == "missing"
    assert "has no value" in result.sentence
    assert result.source == {"audit": 3}


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (rule("quality.overall", ">=", 0.8), "high"),
        (rule("quality.overall", ">=", 0.8), True),
        (rule("privacy.exact_match_rate", "<=", 0.0), "0"),
        (rule("integrity.hash_verified", "=", 1.0), True),
        (rule("registry.has_holdout_audit", "=", True), 1.0),
        (rule("registry.access", "=", "open"), 0.0),
        (rule("registry.licence", "one_of", LICENCES), 3.0),
    ],
)
def test_a_value_of_the_wrong_type_fails_and_says_so(spec, value):
    result = one(spec, value)
    assert result.status == "fail"
    assert result.margin is None
    assert "cannot be compared" in result.sentence


def test_failing_minimum_reports_margin_and_sentence():
    result = one(rule("quality.overall", ">=", 0.80), 0.74, source={"audit": 12})
    assert result.status == "fail"
    assert result.margin == pytest.approx(0.06)
    assert result.sentence == "quality.overall is 0.74, below the minimum 0.80 by 0.06."
    assert result.source == {"audit": 12}


def test_failing_maximum_reports_margin_and_sentence():
    result = one(rule("privacy.exact_match_rate", "<=", 0.0), 0.0012)
    assert result.margin == pytest.approx(0.0012)
    assert result.sentence == ("privacy.exact_match_rate is 0.0012, above the maximum 0 by 0.0012.")


def test_passing_rules_report_headroom_as_a_negative_margin():
    assert one(rule("quality.overall", ">=", 0.8), 0.9).margin == pytest.approx(-0.1)
    assert one(rule("privacy.linkage_risk", "<=", 0.05), 0.01).margin == pytest.approx(-0.04)
    assert one(rule("quality.overall", ">=", 0.8), 0.8).margin == 0.0


def test_a_shortfall_within_the_uncertainty_is_still_a_fail_but_flagged():
    close = one(rule("quality.overall", ">=", 0.8), 0.79, uncertainty=0.02)
    far = one(rule("quality.overall", ">=", 0.8), 0.70, uncertainty=0.02)
    assert close.status == far.status == "fail"
    assert close.within_uncertainty and "uncertainty of ±0.02" in close.sentence
    assert not far.within_uncertainty


def test_missing_figures_say_what_would_produce_them(reserved):
    dcr = one(rule("privacy.dcr_closer_to_training_share", "<=", 0.55), absent=True)
    assert dcr.produced_by == "privacy"
    assert dcr.needs == "a real holdout"
    assert "a privacy audit with a real holdout produces it" in dcr.sentence
    quality = one(rule("quality.overall", ">=", 0.8), absent=True)
    assert quality.sentence == "quality.overall is missing: a quality audit produces it."
    fact = one(rule("registry.epsilon", "<=", 1.0), absent=True)
    assert fact.produced_by == "registry"
    assert "the registry supplies it" in fact.sentence
    future = one(rule(reserved, ">=", 1.0), absent=True)
    assert future.produced_by == "future"
    assert "no audit produces this figure yet" in future.sentence
    collapse = one(rule("collapse.tail_coverage", ">=", 0.5), absent=True)
    assert collapse.produced_by == "collapse"
    assert collapse.sentence == (
        "collapse.tail_coverage is missing: a collapse audit with lineage back to real data "
        "produces it."
    )


def test_a_future_figure_once_supplied_is_evaluated(reserved):
    assert one(rule(reserved, ">=", 1.0), 1.0).status == "pass"


def test_a_collapse_figure_is_judged_against_its_threshold():
    assert one(rule("collapse.tail_coverage", ">=", 0.5), 0.95).status == "pass"
    assert one(rule("collapse.tail_coverage", ">=", 0.5), 0.33).status == "fail"


def test_present_on_an_absent_key_is_missing_not_failed():
    # An unproduced watermark fact must leave the evaluation incomplete, not failed.
    result = evaluate([rule("provenance.watermark", "present", None)], {})
    assert result.results[0].status == "missing"
    assert result.status == "incomplete"


def test_waived_rules_are_not_enforced():
    parent = base_standard()
    child = child_standard(
        RuleSpec(
            "quality.detection", ">=", None, "", waived=True, waiver_rationale="Privacy first."
        )
    )
    rules = effective_rules(child, parent.rules)
    result = evaluate(rules, {"quality.detection": FigureValue(0.01)})
    detection = next(r for r in result.results if r.key == "quality.detection")
    assert detection.status == "waived"
    assert detection.origin == "waived"
    assert detection.waiver_rationale == "Privacy first."
    assert "waived: Privacy first." in detection.sentence
    assert detection.threshold == 0.2  # the parent's rule, shown for the record


def test_results_are_ordered_worst_severity_first_then_by_margin():
    rules = [
        rule("quality.range_coverage", ">=", 0.9, "advisory"),  # fails by 0.8
        rule("quality.validity", ">=", 0.9, "major"),  # fails by 0.1
        rule("quality.overall", ">=", 0.9, "major"),  # fails by 0.3
        rule("privacy.exact_match_rate", "<=", 0.0, "blocking"),  # fails by 0.001
        rule("privacy.linkage_risk", "<=", 0.05, "blocking"),  # missing
        rule("integrity.hash_verified", "=", 1.0, "blocking"),  # passes
        rule("quality.detection", ">=", 0.2, "minor", waived=True, waiver_rationale="w"),
    ]
    figures = {
        "quality.range_coverage": FigureValue(0.1),
        "quality.validity": FigureValue(0.8),
        "quality.overall": FigureValue(0.6),
        "privacy.exact_match_rate": FigureValue(0.001),
        "integrity.hash_verified": FigureValue(1.0),
    }
    result = evaluate(rules, figures)
    assert result.status == "non_compliant"
    assert [(r.key, r.status) for r in result.results] == [
        ("privacy.exact_match_rate", "fail"),
        ("quality.overall", "fail"),
        ("quality.validity", "fail"),
        ("quality.range_coverage", "fail"),
        ("privacy.linkage_risk", "missing"),
        ("integrity.hash_verified", "pass"),
        ("quality.detection", "waived"),
    ]
    assert result.summary() == {
        "status": "non_compliant",
        "pass": 1,
        "fail": 4,
        "missing": 1,
        "waived": 1,
        "total": 7,
        "worst_failing_severity": "blocking",
    }


@pytest.mark.parametrize(
    ("figures", "status", "worst"),
    [
        ({"quality.overall": 0.9, "privacy.exact_match_rate": 0.0}, "compliant", None),
        ({"quality.overall": 0.9}, "incomplete", None),
        ({"quality.overall": 0.5}, "non_compliant", "minor"),
        ({"quality.overall": 0.9, "privacy.exact_match_rate": 0.2}, "non_compliant", "major"),
    ],
)
def test_overall_status(figures, status, worst):
    rules = [
        rule("quality.overall", ">=", 0.8, "minor"),
        rule("privacy.exact_match_rate", "<=", 0.0, "major"),
    ]
    result = evaluate(rules, figures)
    assert result.status == status
    assert result.summary()["worst_failing_severity"] == worst


def test_a_fail_outweighs_a_missing_figure():
    rules = [rule("quality.overall", ">=", 0.8, "advisory"), rule("quality.validity", ">=", 0.9)]
    result = evaluate(rules, {"quality.overall": FigureValue(0.1)})
    assert result.status == "non_compliant"
    assert [r.status for r in result.results] == ["fail", "missing"]


def test_no_rules_or_only_waived_rules_is_compliant():
    assert evaluate([], {}).status == "compliant"
    waived = rule("quality.overall", ">=", 0.8, waived=True, waiver_rationale="w")
    assert evaluate([waived], {}).status == "compliant"


def test_results_are_json_ready_and_deterministic():
    rules = base_standard().rules
    figures = {
        "quality.overall": FigureValue(0.7, {"audit": 4}, 0.01),
        "privacy.exact_match_rate": FigureValue(math.inf, {"audit": 4}),
        "registry.licence": FigureValue("GPL-3.0-only", {"registry": "registry.licence"}),
        "registry.has_holdout_audit": FigureValue(
            False, {"registry": "registry.has_holdout_audit"}
        ),
        "quality.detection": FigureValue(0.7, {"audit": 4}),
    }
    first = json.dumps(evaluate(rules, figures).to_json(), allow_nan=False, sort_keys=True)
    shuffled_rules = rules[3:] + rules[:3]
    shuffled_figures = dict(reversed(list(figures.items())))
    second = json.dumps(
        evaluate(shuffled_rules, shuffled_figures).to_json(), allow_nan=False, sort_keys=True
    )
    assert first == second
    data = json.loads(first)
    assert data["status"] == "non_compliant"
    assert data["summary"]["fail"] == 4
    by_key = {r["key"]: r for r in data["rules"]}
    assert by_key["privacy.exact_match_rate"]["value"] == "inf"
    assert by_key["quality.overall"]["rule"] == "quality.overall ≥ 0.75"
    assert by_key["registry.generator_type"]["status"] == "missing"


def test_sources_record_which_audit_supplied_each_figure():
    rules = [rule("quality.overall", ">=", 0.8), rule("registry.licence", "present", None)]
    figures = {
        "quality.overall": FigureValue(0.9, {"audit": 12}),
        "registry.licence": FigureValue("MIT", {"registry": "dataset"}),
    }
    assert evaluate(rules, figures).sources() == {
        "quality.overall": {"audit": 12},
        "registry.licence": {"registry": "dataset"},
    }


def test_bare_values_are_accepted_and_other_objects_refused():
    assert evaluate([rule("quality.overall", ">=", 0.8)], {"quality.overall": 0.9}).status == (
        "compliant"
    )
    with pytest.raises(TypeError):
        evaluate([rule("quality.overall", ">=", 0.8)], {"quality.overall": {"value": 0.9}})


def test_effective_rules_and_bare_rules_mix():
    bare = rule("quality.overall", ">=", 0.8)
    wrapped = EffectiveRule(rule("quality.validity", ">=", 0.9), "tightened", None)
    result = evaluate([bare, wrapped], {"quality.overall": 0.9, "quality.validity": 0.95})
    assert {r.origin for r in result.results} == {"added", "tightened"}
