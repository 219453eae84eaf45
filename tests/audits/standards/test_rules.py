"""Vocabulary (operators, severities, keys), rule values, and the engine's independence
from Django."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from audits.checks.catalogue import METRICS
from audits.standards.engine import (
    FUTURE_METRICS,
    REGISTRY_FACTS,
    RULE_FIELDS,
    STANDARD_FIELDS,
    Operator,
    RuleSpec,
    Severity,
    StandardSpec,
    describe_rule,
    evaluate,
    key_info,
    known_keys,
    validate_standard,
)
from audits.standards.engine import rules as vocabulary
from audits.standards.engine.rules import closest_key, format_number

ROOT = Path(__file__).resolve().parents[3]


def test_operator_values_and_labels():
    assert [op.value for op in Operator] == [">=", "<=", "=", "present", "one_of"]
    assert [op.label for op in Operator] == ["≥", "≤", "=", "is present", "is one of"]


def test_severities_order_by_how_bad_they_are():
    assert Severity.worst_first() == [
        Severity.BLOCKING,
        Severity.MAJOR,
        Severity.MINOR,
        Severity.ADVISORY,
    ]
    assert Severity.BLOCKING > Severity.MAJOR > Severity.MINOR > Severity.ADVISORY
    assert Severity.ADVISORY < Severity.BLOCKING  # not alphabetical
    assert max([Severity.MINOR, Severity.BLOCKING, Severity.ADVISORY]) == Severity.BLOCKING
    assert Severity("major") == "major"


def test_rule_values_are_normalised():
    rule = RuleSpec(" quality.overall ", ">=", 1, " major ", "why")
    assert rule.key == "quality.overall"
    assert rule.operator is Operator.GE
    assert rule.severity is Severity.MAJOR
    assert rule.threshold == 1.0 and isinstance(rule.threshold, float)
    assert RuleSpec("registry.has_holdout_audit", "=", True, "major").threshold is True
    listed = RuleSpec("fairness.missing_groups", "one_of", [0, 1], "minor")
    assert listed.threshold == [0.0, 1.0]
    assert hash(listed) == hash(RuleSpec("fairness.missing_groups", "one_of", [0.0, 1.0], "minor"))
    unknown = RuleSpec("quality.overall", "gt", 1, "huge")
    assert (unknown.operator, unknown.severity) == ("gt", "huge")
    assert rule.describe() == "quality.overall ≥ 1"
    assert RuleSpec("registry.licence", "present", None, "minor").describe() == (
        "registry.licence is present"
    )


def test_keys_come_from_the_catalogue_the_registry_and_the_future():
    assert set(METRICS) <= set(known_keys())
    assert set(REGISTRY_FACTS) <= set(known_keys())
    assert key_info("quality.overall").kind == "metric"
    assert key_info("quality.overall").produced_by == "quality"
    assert key_info("registry.kind").choices == (
        "real",
        "fully_synthetic",
        "partially_synthetic",
        "hybrid",
    )
    assert key_info("provenance.watermark").kind == "fact"
    assert key_info("provenance.watermark_detected").kind == "metric"
    assert key_info("provenance.manifest_valid").produced_by == "provenance"
    assert key_info("collapse.tail_coverage").kind == "metric"
    assert key_info("collapse.tail_coverage").produced_by == "collapse"
    # Collapse figures exist now: a misspelt one is unknown, not reserved.
    assert key_info("collapse.anything_new") is None
    assert key_info("collapse.") is None
    assert key_info("quality.nonsense") is None
    assert not (FUTURE_METRICS & set(METRICS))
    assert all(fact.description for fact in REGISTRY_FACTS.values())
    expected_facts = {
        "registry.licence",
        "registry.kind",
        "registry.access",
        "registry.datasheet_completeness",
        "registry.has_holdout_audit",
        "registry.generator_type",
        "registry.privacy_mechanism",
        "registry.epsilon",
        "registry.published_openly",
        "provenance.watermark",
    }
    assert set(REGISTRY_FACTS) == expected_facts


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("quality.overal", "quality.overall"),
        ("privacy.exact_match", "privacy.exact_match_rate"),
        ("overall", "quality.overall"),
        ("registry.license", "registry.licence"),
        ("zzz", None),
    ],
)
def test_closest_key(typed, suggested):
    assert closest_key(typed) == suggested


def test_a_future_key_is_accepted_by_validation(monkeypatch):
    # A reserved key of its own: the shipped reservations become real figures in time.
    monkeypatch.setattr(vocabulary, "FUTURE_METRICS", frozenset({"quality.reserved_for_tests"}))
    spec = StandardSpec(
        "FUTURE",
        "Future",
        "1.0",
        "global",
        rules=[RuleSpec("quality.reserved_for_tests", ">=", 0.9, "minor", "reserved")],
    )
    assert validate_standard(spec, known_parents={}) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "has space", "must be letters, digits"),
        ("code", "", "a code is required"),
        ("version", "v 1", "must be like 1.0"),
        ("name", " ", "a name is required"),
        ("scope", "regional", "must be global or local"),
        ("dataset_kinds", ["synthetic"], "unknown dataset kind 'synthetic'"),
        ("jurisdictions", ["EU", "eu"], "lists 'eu' twice"),
        ("certificate_validity_days", 0, "at least 1 day"),
        ("reaudit_interval_days", 1.5, "whole number"),
        ("rules", [], "a global standard needs at least one rule"),
    ],
)
def test_standard_fields_are_checked(field, value, message):
    spec = StandardSpec(
        "OK", "OK", "1.0", "global", rules=[RuleSpec("quality.overall", ">=", 0.8, "major", "w")]
    )
    setattr(spec, field, value)
    (problem,) = validate_standard(spec, known_parents={})
    assert problem.field == field
    assert message in problem.message


def test_waiver_rationale_on_a_rule_that_is_not_waived_is_a_problem():
    spec = StandardSpec(
        "OK",
        "OK",
        "1.0",
        "global",
        rules=[RuleSpec("quality.overall", ">=", 0.8, "major", "w", waiver_rationale="why")],
    )
    (problem,) = validate_standard(spec, known_parents={})
    assert problem.field == "rules[0].waiver_rationale"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.8, "0.80"),
        (0.06000000000000005, "0.06"),
        (0.0012, "0.0012"),
        (0.0, "0"),
        (3.0, "3"),
        (0.125, "0.125"),
        (0.123456, "0.1235"),
        (-1.0, "-1"),
    ],
)
def test_numbers_read_naturally(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize(
    ("operator", "threshold", "text"),
    [
        (">=", 0.8, "quality.overall ≥ 0.80"),
        ("<=", 3, "quality.overall ≤ 3"),
        ("=", True, "quality.overall = true"),
        ("present", None, "quality.overall is present"),
        ("one_of", ["a", 1.0], "quality.overall is one of ['a', 1]"),
        ("~", "x", "quality.overall ~ 'x'"),
    ],
)
def test_a_rule_reads_the_same_in_the_standard_and_in_its_result(operator, threshold, text):
    rule = RuleSpec("quality.overall", operator, threshold, "major")
    result = evaluate([rule], {}).results[0]
    assert describe_rule(rule.key, rule.operator, rule.threshold) == text
    assert rule.describe() == text
    assert result.rule_text == text


def test_the_field_lists_name_every_field_of_a_standard_and_a_rule():
    not_fields = {"rules", "field_lines", "line"}
    spec_fields = [f.name for f in dataclasses.fields(StandardSpec) if f.name not in not_fields]
    rule_fields = [f.name for f in dataclasses.fields(RuleSpec) if f.name not in not_fields]
    assert sorted(STANDARD_FIELDS) == sorted(spec_fields)
    assert set(STANDARD_FIELDS.values()) == {"text", "codes", "date", "days"}
    assert list(RULE_FIELDS) == rule_fields


def test_standards_engine_imports_without_django():
    code = (
        "import sys\n"
        "import audits.standards.engine as engine\n"
        "specs = engine.load_shipped()\n"
        "engine.evaluate(engine.resolve_effective_rules(specs[-1], "
        "known_parents={s.ref: s for s in specs}), {})\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
