"""Rules on the figures of each table of linked tables (issue 17): ``table: sessions``
judges that table's figure; a rule without a table on a figure each table gets judges
every table and names the failing ones; a single-table version reads as it always did.
YAML, validation and identity. Plain engine, no database."""

from __future__ import annotations

import pytest

from audits.checks.catalogue import RELATIONAL_KEYS, TABLE_KEYS
from audits.standards.engine import (
    FigureValue,
    StandardSpec,
    dump_yaml,
    evaluate,
    parse_yaml,
    single_table_figures,
    validate_standard,
)
from tests.audits.standards.builders import rule

# The duplicate rates of the SDMetrics demo's tables, audited one by one (key columns
# left out): sessions repeat device and OS pairs.
TABLES = {
    "users": {"integrity.duplicate_rate": FigureValue(0.0, source={"audit": 7})},
    "sessions": {"integrity.duplicate_rate": FigureValue(0.6, source={"audit": 7})},
    "transactions": {"integrity.duplicate_rate": FigureValue(0.0, source={"audit": 7})},
}


def _one(rules, figures=None, tables=None):
    (result,) = evaluate(rules, figures or {}, tables=tables).results
    return result


def test_a_rule_on_one_table_is_judged_on_that_tables_figure():
    loose = _one([rule("integrity.duplicate_rate", "<=", 0.7, table="sessions")], tables=TABLES)
    assert (loose.status, loose.value, loose.table) == ("pass", 0.6, "sessions")
    assert loose.sentence == (
        "Table sessions: integrity.duplicate_rate is 0.60, within the maximum 0.70."
    )
    assert loose.rule_text == "integrity.duplicate_rate ≤ 0.70 on table sessions"
    strict = _one([rule("integrity.duplicate_rate", "<=", 0.5, table="sessions")], tables=TABLES)
    assert (strict.status, strict.margin) == ("fail", pytest.approx(0.1))
    assert "Table sessions:" in strict.sentence and "0.60" in strict.sentence
    data = strict.to_json()
    assert data["table"] == "sessions" and data["source"] == {"audit": 7}
    assert data["rule"] == "integrity.duplicate_rate ≤ 0.50 on table sessions"
    # Another table passes the same threshold.
    users = _one([rule("integrity.duplicate_rate", "<=", 0.5, table="users")], tables=TABLES)
    assert users.status == "pass"


def test_a_rule_without_a_table_fails_when_one_table_fails_and_names_it():
    result = _one([rule("integrity.duplicate_rate", "<=", 0.5)], tables=TABLES)
    assert result.status == "fail"
    assert result.value == 0.6 and result.margin == pytest.approx(0.1)
    assert result.sentence.startswith("integrity.duplicate_rate ≤ 0.50 fails on 1 of 3 tables")
    assert "sessions: integrity.duplicate_rate is 0.60, above the maximum 0.50" in result.sentence
    assert "users" not in result.sentence and "transactions" not in result.sentence
    data = result.to_json()
    assert data["tables"] == {"sessions": "fail", "transactions": "pass", "users": "pass"}
    assert data["source"] == {"audit": 7, "table": "sessions"}
    assert "table" not in data  # the rule names no table
    passing = _one([rule("integrity.duplicate_rate", "<=", 0.7)], tables=TABLES)
    assert passing.status == "pass" and passing.value == 0.6  # the least headroom
    assert passing.sentence.startswith("integrity.duplicate_rate ≤ 0.70 passes on every table")


def test_a_table_without_the_figure_leaves_the_rule_missing():
    tables = {**TABLES, "users": {}}
    result = _one([rule("integrity.duplicate_rate", "<=", 0.7)], tables=tables)
    assert result.status == "missing"
    assert "missing on 1 of 3 tables (users: integrity.duplicate_rate is missing" in result.sentence
    assert evaluate([rule("integrity.duplicate_rate", "<=", 0.7)], {}, tables=tables).status == (
        "incomplete"
    )
    # A failing table still fails the rule, and the table without a figure is named.
    failing = _one([rule("integrity.duplicate_rate", "<=", 0.5)], tables=tables)
    assert failing.status == "fail" and failing.sentence.endswith("; no figure for users.")


def test_a_rule_on_a_table_the_version_lacks_is_missing_and_says_which_tables_it_has():
    result = _one([rule("quality.overall", ">=", 0.8, table="tumours")], tables=TABLES)
    assert result.status == "missing"
    assert result.sentence == (
        "quality.overall ≥ 0.80 on table tumours: the version has no table tumours (its "
        "tables: sessions, transactions, users), so quality.overall is missing."
    )


@pytest.mark.parametrize("severity", ["advisory", "major", "blocking"])
def test_a_rule_on_a_table_does_not_apply_to_a_single_table_version(severity):
    figures = {"integrity.duplicate_rate": 0.9, **single_table_figures()}
    result = _one(
        [rule("integrity.duplicate_rate", "<=", 0.1, severity, table="sessions")], figures
    )
    assert result.status == "not_applicable"
    assert result.reason == "the version is a single table: it has no linked table sessions"
    assert evaluate(
        [rule("integrity.duplicate_rate", "<=", 0.1, severity, table="sessions")], figures
    ).status == ("compliant")


def test_a_single_table_version_is_judged_as_before():
    rules = [rule("integrity.duplicate_rate", "<=", 0.5), rule("quality.overall", ">=", 0.8)]
    figures = {"integrity.duplicate_rate": 0.6, "quality.overall": 0.9}
    before = evaluate(rules, figures).to_json()
    assert evaluate(rules, figures, tables=None).to_json() == before
    assert all("table" not in r and "tables" not in r for r in before["rules"])


def test_a_figure_of_the_whole_version_is_judged_as_one_figure_on_linked_tables():
    result = _one(
        [rule("integrity.orphan_rate", "<=", 0.0, "blocking")],
        {"integrity.orphan_rate": FigureValue(0.2, source={"audit": 7})},
        tables=TABLES,
    )
    assert result.status == "fail" and "tables" not in result.to_json()


def test_waived_rules_stay_waived():
    result = _one(
        [rule("integrity.duplicate_rate", "<=", 0.1, waived=True, waiver_rationale="ok")],
        tables=TABLES,
    )
    assert result.status == "waived"


def test_table_keys_are_per_table_figures_only():
    assert TABLE_KEYS and not TABLE_KEYS & RELATIONAL_KEYS
    assert "integrity.hash_verified" not in TABLE_KEYS
    assert {"quality.overall", "privacy.exact_match_rate", "utility.tstr_ratio"} <= TABLE_KEYS


def _standard(*rules) -> StandardSpec:
    return StandardSpec(code="T", name="Tables", version="1.0", scope="global", rules=list(rules))


def test_yaml_writes_and_reads_the_table_only_when_set():
    spec = _standard(
        rule("quality.overall", ">=", 0.8, table="sessions"), rule("quality.overall", ">=", 0.7)
    )
    text = dump_yaml(spec)
    assert text.count("table: sessions") == 1
    assert "table:" not in dump_yaml(_standard(rule("quality.overall", ">=", 0.7)))
    again, problems = parse_yaml(text)
    assert problems == []
    assert [r.table for r in again.rules] == ["sessions", ""]
    assert again == spec
    # Two rules on the same figure, one per table, are not duplicates.
    assert validate_standard(spec, known_parents={}) == []
    assert spec.rules[0].to_json()["table"] == "sessions"
    assert "table" not in spec.rules[1].to_json()


@pytest.mark.parametrize(
    ("key", "table", "phrase"),
    [
        ("integrity.orphan_rate", "sessions", "a figure of the whole version"),
        ("registry.licence", "sessions", "a registry fact"),
        ("quality.overall", "../etc", "is not a table name"),
        ("quality.overall", "9lives", "is not a table name"),
    ],
)
def test_a_table_on_the_wrong_figure_or_a_bad_name_is_refused(key, table, phrase):
    threshold = ["MIT"] if key == "registry.licence" else 0.5
    operator = "one_of" if key == "registry.licence" else "<="
    problems = validate_standard(
        _standard(rule(key, operator, threshold, table=table)), known_parents={}
    )
    assert any(p.field == "rules[0].table" and phrase in p.message for p in problems), problems


def test_the_same_rule_on_the_same_table_twice_is_a_duplicate():
    spec = _standard(
        rule("quality.overall", ">=", 0.8, table="sessions"),
        rule("quality.overall", ">=", 0.7, table="sessions"),
    )
    problems = validate_standard(spec, known_parents={})
    assert any("on table sessions appears twice" in p.message for p in problems), problems
