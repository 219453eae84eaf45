"""Inheritance: a local standard tightens, adds and waives; loosening is refused."""

from __future__ import annotations

import re

import pytest

from audits.standards.engine import (
    InheritanceError,
    RuleSpec,
    StandardSpec,
    diff_from_parent,
    effective_period,
    effective_rules,
    resolve_effective_rules,
    validate_standard,
)
from tests.audits.standards.builders import base_rules, base_standard, child_standard, rule


def waiver(key: str, operator: str, rationale: str = "Not relevant here.") -> RuleSpec:
    return RuleSpec(key, operator, None, "", waived=True, waiver_rationale=rationale)


def by_key(effective):
    return {(e.rule.key, str(e.rule.operator)): e for e in effective}


def test_a_child_without_rules_inherits_everything_in_order():
    effective = effective_rules(child_standard(), base_rules())
    assert [e.rule for e in effective] == base_rules()
    assert {e.origin for e in effective} == {"inherited"}
    assert all(e.parent_rule == e.rule for e in effective)


def test_a_global_standard_has_only_added_rules():
    effective = effective_rules(base_standard(), None)
    assert [e.origin for e in effective] == ["added"] * len(base_rules())
    assert all(e.parent_rule is None for e in effective)


@pytest.mark.parametrize(
    ("child_rule", "text"),
    [
        (rule("quality.overall", ">=", 0.80), "threshold 0.75 → 0.80"),
        (
            rule("privacy.exact_match_rate", "<=", 0.0, "blocking"),
            "threshold 0.01 → 0; severity major → blocking",
        ),
        (rule("quality.overall", ">=", 0.75, "blocking"), "severity major → blocking"),
        (
            rule("registry.licence", "one_of", ["CC0-1.0", "cc-by-4.0"], "minor"),
            "allowed values ['CC-BY-4.0', 'CC0-1.0', 'MIT'] → ['CC0-1.0', 'cc-by-4.0']",
        ),
        (rule("registry.generator_type", "present", None, "major"), "severity minor → major"),
    ],
)
def test_tightening_replaces_the_parent_rule_in_place(child_rule, text):
    effective = effective_rules(child_standard(child_rule), base_rules())
    position = [e.rule.identity for e in effective].index(child_rule.identity)
    parent_position = [r.identity for r in base_rules()].index(child_rule.identity)
    assert position == parent_position
    tightened = effective[position]
    assert tightened.origin == "tightened"
    assert tightened.rule == child_rule
    assert tightened.parent_rule == base_rules()[parent_position]
    (diff,) = [
        d
        for d in diff_from_parent(child_standard(child_rule), base_rules())
        if d.change == "tightened"
    ]
    assert diff.text == text
    assert diff.child == child_rule
    assert diff.parent == base_rules()[parent_position]


def test_restating_a_rule_unchanged_keeps_it_inherited():
    same = rule("registry.has_holdout_audit", "=", True, rationale="Our own words.")
    effective = by_key(effective_rules(child_standard(same), base_rules()))
    assert effective[same.identity].origin == "inherited"
    assert effective[same.identity].rule.rationale == "Our own words."
    diff = next(d for d in diff_from_parent(child_standard(same), base_rules()) if d.child)
    assert diff.text == "restated unchanged; rationale or clause reworded"


def test_new_keys_and_new_operators_are_added_after_the_inherited_rules():
    new_key = rule("privacy.linkage_risk", "<=", 0.01)
    new_operator = rule("registry.licence", "=", "MIT")
    effective = effective_rules(child_standard(new_key, new_operator), base_rules())
    assert [e.origin for e in effective[-2:]] == ["added", "added"]
    assert [e.rule for e in effective[-2:]] == [new_key, new_operator]
    assert effective[-1].parent_rule is None
    # The parent's one_of rule on the same key still applies.
    assert by_key(effective)[("registry.licence", "one_of")].origin == "inherited"
    diffs = diff_from_parent(child_standard(new_key), base_rules())
    assert diffs[-1].change == "added"
    assert diffs[-1].text == "added: privacy.linkage_risk ≤ 0.01 (major)"
    assert diffs[-1].parent is None


def test_waiving_with_a_rationale_removes_the_rule():
    child = child_standard(waiver("quality.detection", ">=", "Privacy first."))
    effective = by_key(effective_rules(child, base_rules()))
    waived = effective[("quality.detection", ">=")]
    assert waived.origin == "waived"
    assert waived.rule.waived is True
    assert waived.rule.waiver_rationale == "Privacy first."
    assert waived.rule.threshold == 0.2  # the parent's rule, for the record
    assert waived.parent_rule == base_rules()[-1]
    diff = next(d for d in diff_from_parent(child, base_rules()) if d.change == "waived")
    assert diff.text == "waived: Privacy first."
    assert validate_standard(child, known_parents={"BASE@1.0": base_standard()}) == []


def test_a_waived_rule_does_not_reach_grandchildren(known):
    child = child_standard(waiver("quality.detection", ">="))
    grandchild = child_standard(code="GRANDCHILD", parent="CHILD@1.0")
    known = {**known, child.ref: child}
    effective = resolve_effective_rules(grandchild, known_parents=known)
    assert ("quality.detection", ">=") not in by_key(effective)
    # And a grandchild cannot waive it again: there is nothing left to waive.
    again = child_standard(waiver("quality.detection", ">="), code="G2", parent="CHILD@1.0")
    problems = validate_standard(again, known_parents=known)
    assert [p.field for p in problems] == ["rules[0].waived"]


def test_waiving_without_a_rationale_is_refused(known):
    child = child_standard(waiver("quality.detection", ">=", rationale="  "))
    with pytest.raises(InheritanceError) as caught:
        effective_rules(child, base_rules())
    assert [p.field for p in caught.value.problems] == ["rules[0].waiver_rationale"]
    problems = validate_standard(child, known_parents=known)
    assert [p.field for p in problems] == ["rules[0].waiver_rationale"]
    assert "waiver needs a written waiver_rationale" in problems[0].message
    diff = diff_from_parent(child, base_rules())
    assert next(d for d in diff if d.key == "quality.detection").change == "refused"


def test_waiving_a_rule_the_parent_does_not_have_is_refused(known):
    child = child_standard(waiver("privacy.linkage_risk", "<="))
    with pytest.raises(
        InheritanceError, match=re.escape("BASE@1.0 has no rule on privacy.linkage_risk")
    ):
        effective_rules(child, base_rules())
    wrong_operator = child_standard(waiver("quality.overall", "<="))
    (problem,) = validate_standard(wrong_operator, known_parents=known)
    assert problem.field == "rules[0].waived"
    assert "uses >=" in problem.message


@pytest.mark.parametrize(
    ("child_rule", "message"),
    [
        (rule("quality.overall", ">=", 0.70), "may keep or raise it, not lower it to 0.70"),
        (rule("privacy.exact_match_rate", "<=", 0.05), "may keep or lower it, not raise it"),
        (
            rule("registry.licence", "one_of", ["MIT", "GPL-3.0-only"], "minor"),
            "not add 'GPL-3.0-only'",
        ),
        (rule("registry.has_holdout_audit", "=", False), "keeps its value"),
    ],
)
def test_loosening_a_threshold_is_refused(child_rule, message, known):
    child = child_standard(child_rule)
    with pytest.raises(InheritanceError, match=message):
        effective_rules(child, base_rules())
    (problem,) = validate_standard(child, known_parents=known)
    assert problem.field == "rules[0].threshold"
    assert "loosens the inherited threshold: BASE@1.0 requires" in problem.message
    # The side-by-side page still shows it, refused, with the parent's rule in force.
    diff = next(d for d in diff_from_parent(child, base_rules()) if d.child)
    assert diff.change == "refused"
    assert diff.effective == diff.parent


def test_lowering_severity_is_refused(known):
    child = child_standard(rule("quality.overall", ">=", 0.9, "minor"))
    with pytest.raises(InheritanceError, match="lowers the inherited severity from major"):
        effective_rules(child, base_rules())
    (problem,) = validate_standard(child, known_parents=known)
    assert problem.field == "rules[0].severity"


def test_a_global_standard_cannot_waive():
    spec = base_standard()
    spec.rules.append(waiver("quality.validity", ">="))
    problems = validate_standard(spec, known_parents={})
    assert [p.field for p in problems] == ["rules[6].waived"]
    assert "without a parent has no inherited rule" in problems[0].message


def test_unknown_parent_names_the_versions_that_exist(known):
    problems = validate_standard(child_standard(parent="BASE@2.0"), known_parents=known)
    assert [(p.field, p.message) for p in problems] == [
        ("parent", "parent BASE@2.0 is not a known standard; BASE has versions 1.0.")
    ]
    (problem,) = validate_standard(child_standard(parent="BASF@1.0"), known_parents=known)
    assert "Did you mean BASE@1.0?" in problem.message


def test_a_cycle_of_parents_is_reported_with_the_chain():
    a = child_standard(code="A", parent="B@1.0")
    b = child_standard(code="B", parent="A@1.0")
    (problem,) = validate_standard(a, known_parents={"A@1.0": a, "B@1.0": b})
    assert problem.field == "parent"
    assert problem.message == "cycle of parents: A@1.0 → B@1.0 → A@1.0."
    with pytest.raises(InheritanceError, match="cycle"):
        resolve_effective_rules(a, known_parents={"B@1.0": b})
    itself = child_standard(code="A", parent="A@1.0")
    (problem,) = validate_standard(itself, known_parents={})
    assert problem.message == "cycle of parents: A@1.0 → A@1.0."


def test_an_unknown_ancestor_is_reported(known):
    middle = child_standard(code="MIDDLE", parent="GONE@1.0")
    (problem,) = validate_standard(
        child_standard(parent="MIDDLE@1.0"), known_parents={"MIDDLE@1.0": middle}
    )
    assert problem.message == "MIDDLE@1.0 extends GONE@1.0, which is not a known standard."


def test_scope_and_parent_must_agree(known):
    orphan = child_standard(parent=None)
    assert [p.field for p in validate_standard(orphan, known_parents=known)] == ["parent"]
    adopted = base_standard()
    adopted.parent = "BASE@1.0"
    problems = validate_standard(adopted, known_parents=known)
    assert "a global standard has no parent" in problems[0].message
    nowhere = child_standard(jurisdictions=[])
    (problem,) = validate_standard(nowhere, known_parents=known)
    assert problem.field == "jurisdictions"


def test_periods_may_only_shorten(known):
    assert (
        validate_standard(child_standard(certificate_validity_days=365), known_parents=known) == []
    )
    longer = child_standard(certificate_validity_days=1000, reaudit_interval_days=400)
    problems = validate_standard(longer, known_parents=known)
    assert [p.field for p in problems] == ["certificate_validity_days", "reaudit_interval_days"]
    assert "longer than the 730 days set by BASE@1.0" in problems[0].message


def test_effective_periods_come_from_the_nearest_ancestor(known):
    child = child_standard(reaudit_interval_days=180)
    grandchild = child_standard(code="G", parent="CHILD@1.0")
    known = {**known, child.ref: child}
    assert effective_period(grandchild, "certificate_validity_days", known_parents=known) == 730
    assert effective_period(grandchild, "reaudit_interval_days", known_parents=known) == 180
    with pytest.raises(ValueError):
        effective_period(grandchild, "colour", known_parents=known)


def test_three_levels_tighten_in_turn(known):
    child = child_standard(rule("quality.overall", ">=", 0.8))
    grandchild = child_standard(
        rule("quality.overall", ">=", 0.85), code="G", parent="CHILD@1.0", jurisdictions=["FR"]
    )
    known = {**known, child.ref: child}
    assert validate_standard(grandchild, known_parents=known) == []
    effective = by_key(resolve_effective_rules(grandchild, known_parents=known))
    assert effective[("quality.overall", ">=")].rule.threshold == 0.85
    assert effective[("quality.overall", ">=")].parent_rule.threshold == 0.8
    # Loosening back to the grandparent's level is still loosening against the parent.
    back = child_standard(rule("quality.overall", ">=", 0.75), code="G", parent="CHILD@1.0")
    assert [p.field for p in validate_standard(back, known_parents=known)] == ["rules[0].threshold"]


def test_parent_rules_may_be_effective_rules():
    effective = effective_rules(base_standard(), None)
    child = child_standard(rule("quality.overall", ">=", 0.8))
    assert effective_rules(child, effective) == effective_rules(child, base_rules())


def test_a_broken_child_rule_is_reported_once(known):
    # A bad threshold type is a rule problem; it is not also reported as a loosening.
    child = child_standard(rule("quality.overall", ">=", "high"))
    problems = validate_standard(child, known_parents=known)
    assert [p.field for p in problems] == ["rules[0].threshold"]
    assert "needs a number" in problems[0].message


def test_standard_spec_equality_ignores_lines():
    a = StandardSpec("X", "X", "1.0", "global", rules=[rule("quality.overall", ">=", 0.8)])
    b = StandardSpec(
        "X",
        "X",
        "1.0",
        "global",
        rules=[
            RuleSpec(
                "quality.overall",
                ">=",
                0.8,
                "major",
                "why quality.overall",
                "Test clause",
                line=9,
                field_lines={"key": 9},
            )
        ],
        field_lines={"code": 1},
    )
    assert a == b
    assert hash(a.rules[0]) == hash(b.rules[0])
