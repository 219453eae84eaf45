"""Rules on figures of linked tables judged for a version that is a single table: not
applicable at any severity (a single table has no relationships, so nothing is dodged),
while the same rules on linked tables without a relational audit are missing. Plain
engine, no database."""

from __future__ import annotations

import pytest

from audits.checks.catalogue import METRICS, RELATIONAL_KEYS
from audits.standards.engine import FigureValue, evaluate, single_table_figures
from tests.audits.standards.builders import rule

RULES = [
    rule("integrity.orphan_rate", "<=", 0.0, "blocking"),
    rule("integrity.key_violations", "<=", 0.0, "blocking"),
    rule("quality.cardinality_shapes", ">=", 0.8, "major"),
    rule("quality.intertable_trends", ">=", 0.7, "minor"),
    rule("quality.relational_overall", ">=", 0.7, "advisory"),
]


# The privacy and fairness figures of linked tables (family copies, individuals, joined
# fairness) are relational figures too: a single table has none.
OTHER_RULES = [
    rule(key, "<=" if METRICS[key].direction == "lower" else ">=", 0.1, "major")
    for key in sorted(RELATIONAL_KEYS - {r.key for r in RULES})
    if METRICS[key].direction != "closer_to"
]


def test_the_rules_cover_every_relational_figure():
    assert {r.key for r in RULES + OTHER_RULES} == RELATIONAL_KEYS


@pytest.mark.parametrize("severity", ["advisory", "minor", "major", "blocking"])
def test_a_single_table_makes_every_relational_rule_not_applicable_at_any_severity(severity):
    rules = [rule(r.key, r.operator, r.threshold, severity) for r in RULES + OTHER_RULES]
    result = evaluate(rules, {"quality.overall": 0.9, **single_table_figures()})
    assert result.status == "compliant"
    assert {r.status for r in result.results} == {"not_applicable"}
    assert result.summary()["not_applicable"] == len(RELATIONAL_KEYS)
    orphans = next(r for r in result.results if r.key == "integrity.orphan_rate")
    assert orphans.reason == "the version is a single table: it has no relationships"
    assert orphans.sentence == (
        "integrity.orphan_rate ≤ 0 does not apply: the version is a single table: "
        "it has no relationships."
    )
    assert orphans.to_json()["source"] == {"registry": "table_count"}


def test_linked_tables_without_a_relational_audit_read_missing_and_with_one_are_judged():
    missing = evaluate(RULES, {"quality.overall": 0.9})
    assert missing.status == "incomplete"
    assert {r.status for r in missing.results} == {"missing"}
    orphans = next(r for r in missing.results if r.key == "integrity.orphan_rate")
    # ("a integrity audit": the engine's article is kept, it is in recorded evidence.)
    assert "integrity audit with a version of linked tables" in orphans.sentence
    measured = {
        "integrity.orphan_rate": FigureValue(0.2, {"audit": 3}),
        "integrity.key_violations": FigureValue(0.0, {"audit": 3}),
        "quality.cardinality_shapes": FigureValue(0.95, {"audit": 3}),
        "quality.intertable_trends": FigureValue(0.8, {"audit": 3}),
        "quality.relational_overall": FigureValue(0.62, {"audit": 3}),
    }
    judged = {r.key: r.status for r in evaluate(RULES, measured).results}
    assert judged == {
        "integrity.orphan_rate": "fail",
        "integrity.key_violations": "pass",
        "quality.cardinality_shapes": "pass",
        "quality.intertable_trends": "pass",
        "quality.relational_overall": "fail",
    }


def test_a_waived_relational_rule_stays_waived_on_a_single_table():
    waived = rule(
        "integrity.orphan_rate", "<=", 0.0, "blocking", waived=True, waiver_rationale="no links"
    )
    (outcome,) = evaluate([waived], single_table_figures()).results
    assert outcome.status == "waived"
