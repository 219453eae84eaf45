"""YAML import and export: every bad document gives its problem on the right line;
export then import gives the same standard back.

Documents are written inline; the comment at the end of a line is its line number.
"""

from __future__ import annotations

from datetime import date

import pytest

from audits.standards.engine import (
    Problem,
    RuleSpec,
    StandardSpec,
    check_yaml,
    dump_yaml,
    dump_yaml_many,
    parse_yaml,
    parse_yaml_many,
)
from audits.standards.engine.yaml_io import MAX_YAML_CHARS, TOP_FIELDS

HEAD = (
    "code: TEST-LOCAL\n"  # 1
    "name: Test local\n"  # 2
    "version: '1.0'\n"  # 3
    "scope: local\n"  # 4
    "parent: BASE@1.0\n"  # 5
    "jurisdictions: [EU]\n"  # 6
    "rules:\n"  # 7
)


def rule_yaml(
    key: str = "quality.overall",
    operator: str = "'>='",
    threshold: str = "0.8",
    severity: str = "major",
    rationale: str = "Better quality.",
) -> str:
    """One rule, five lines (8 to 12 when it is the first rule after HEAD)."""
    return (
        f"  - key: {key}\n"
        f"    operator: {operator}\n"
        f"    threshold: {threshold}\n"
        f"    severity: {severity}\n"
        f"    rationale: {rationale}\n"
    )


def problems(text: str, known) -> list[Problem]:
    return check_yaml(text, known_parents=known)[1]


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


def test_a_valid_child_has_no_problems(known):
    specs, found = check_yaml(HEAD + rule_yaml(), known_parents=known)
    assert found == []
    (spec,) = specs
    assert spec.rules[0] == RuleSpec(
        "quality.overall", ">=", 0.8, "major", "Better quality.", line=8
    )
    assert spec.rules[0].line == 8
    assert spec.rules[0].field_lines == {
        "key": 8,
        "operator": 9,
        "threshold": 10,
        "severity": 11,
        "rationale": 12,
    }
    assert spec.field_lines["parent"] == 5


def test_unknown_metric_key_suggests_the_closest(known):
    problem = only(problems(HEAD + rule_yaml(key="quality.overal"), known))
    assert (problem.line, problem.field) == (8, "rules[0].key")
    assert "unknown metric or fact key 'quality.overal'" in problem.message
    assert "Did you mean 'quality.overall'?" in problem.message


def test_unknown_key_in_a_later_rule(known):
    text = (
        HEAD + rule_yaml() + rule_yaml(key="privacy.exact_matches", operator="'<='", threshold="0")
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (13, "rules[1].key")
    assert "Did you mean 'privacy.exact_match_rate'?" in problem.message


def test_bad_operator(known):
    problem = only(problems(HEAD + rule_yaml(operator="'=>'"), known))
    assert (problem.line, problem.field) == (9, "rules[0].operator")
    assert "unknown operator '=>'" in problem.message
    assert "Did you mean >=?" in problem.message


def test_unquoted_greater_or_equal_is_a_syntax_error_with_a_hint(known):
    problem = only(problems(HEAD + rule_yaml(operator=">="), known))
    assert problem.line == 9
    assert problem.message.startswith("YAML syntax error")
    assert "Quote the operator" in problem.message


@pytest.mark.parametrize(
    ("key", "operator", "threshold", "message"),
    [
        ("quality.overall", "'>='", "high", "needs a number as threshold"),
        ("quality.overall", "'>='", "[0.8]", "needs a number as threshold"),
        ("registry.licence", "'>='", "0.5", "needs a numeric figure but registry.licence is text"),
        ("registry.licence", "one_of", "MIT", "one_of needs a non-empty list"),
        ("registry.licence", "one_of", "[]", "one_of needs a non-empty list"),
        ("registry.licence", "one_of", "[MIT, mit]", "lists 'mit' twice"),
        ("registry.kind", "one_of", "[real, imaginary]", "'imaginary' is not"),
        ("registry.licence", "present", "true", "'present' takes no threshold"),
        ("registry.has_holdout_audit", "'='", "1", "is true or false"),
        ("integrity.hash_verified", "'='", "yes", "is a number"),
        ("quality.overall", "'='", "null", "= needs a single value"),
    ],
)
def test_threshold_of_the_wrong_type(key, operator, threshold, message, known):
    problem = only(problems(HEAD + rule_yaml(key, operator, threshold), known))
    assert (problem.line, problem.field) == (10, "rules[0].threshold")
    assert message in problem.message


@pytest.mark.parametrize(
    ("key", "operator", "threshold", "message"),
    [
        ("quality.overall", "'>='", "1.5", "outside the range of quality.overall (0 to 1)"),
        ("fairness.amplification", "<=", "-2", "(-1 to 1)"),
        ("fairness.missing_groups", "<=", "-1", "(0 to ∞)"),
        ("registry.datasheet_completeness", "'>='", "90", "(0 to 1)"),
        ("quality.overall", "'>='", ".inf", "finite number"),
    ],
)
def test_threshold_outside_the_value_range(key, operator, threshold, message, known):
    problem = only(problems(HEAD + rule_yaml(key, operator, threshold), known))
    assert (problem.line, problem.field) == (10, "rules[0].threshold")
    assert message in problem.message


def test_a_minimum_on_a_lower_is_better_figure_is_refused(known):
    text = HEAD + rule_yaml("privacy.linkage_risk", "'>='", "0.1")
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (10, "rules[0].threshold")
    assert "better when lower" in problem.message


def test_bad_severity(known):
    problem = only(problems(HEAD + rule_yaml(severity="critical"), known))
    assert (problem.line, problem.field) == (11, "rules[0].severity")
    assert "unknown severity 'critical'" in problem.message


def test_missing_rationale(known):
    text = HEAD + (
        "  - key: quality.overall\n"  # 8
        "    operator: '>='\n"  # 9
        "    threshold: 0.8\n"  # 10
        "    severity: major\n"  # 11
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (8, "rules[0].rationale")
    assert "a rationale is required" in problem.message
    blank = only(problems(HEAD + rule_yaml(rationale="''"), known))
    assert (blank.line, blank.field) == (12, "rules[0].rationale")


def test_missing_severity_and_operator(known):
    text = HEAD + (
        "  - key: quality.overall\n"  # 8
        "    threshold: 0.8\n"  # 9
        "    rationale: Why.\n"  # 10
    )
    found = problems(text, known)
    assert [(p.line, p.field) for p in found] == [
        (8, "rules[0].operator"),
        (8, "rules[0].severity"),
    ]
    assert "an operator is required" in found[0].message
    assert "a severity is required" in found[1].message


def test_waiver_without_rationale(known):
    text = HEAD + (
        "  - key: quality.detection\n"  # 8
        "    operator: '>='\n"  # 9
        "    waived: true\n"  # 10
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (8, "rules[0].waiver_rationale")
    blank = only(problems(text + "    waiver_rationale: ' '\n", known))  # 11
    assert (blank.line, blank.field) == (11, "rules[0].waiver_rationale")


def test_waiver_of_a_key_the_parent_does_not_have(known):
    text = HEAD + (
        "  - key: privacy.linkage_risk\n"  # 8
        "    operator: <=\n"  # 9
        "    waived: true\n"  # 10
        "    waiver_rationale: Not relevant.\n"  # 11
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (10, "rules[0].waived")
    assert "BASE@1.0 has no rule on privacy.linkage_risk to waive" in problem.message


def test_a_valid_waiver(known):
    text = HEAD + (
        "  - key: quality.detection\n"  # 8
        "    operator: '>='\n"  # 9
        "    waived: true\n"  # 10
        "    waiver_rationale: Privacy first.\n"  # 11
    )
    specs, found = check_yaml(text, known_parents=known)
    assert found == []
    assert specs[0].rules[0].waived is True


def test_loosened_inherited_threshold_and_severity(known):
    text = HEAD + rule_yaml(threshold="0.7", severity="minor")
    found = problems(text, known)
    assert [(p.line, p.field) for p in found] == [
        (10, "rules[0].threshold"),
        (11, "rules[0].severity"),
    ]
    assert "loosens the inherited threshold: BASE@1.0 requires quality.overall ≥ 0.75" in (
        found[0].message
    )
    assert "lowers the inherited severity from major to minor" in found[1].message


def test_unknown_parent(known):
    text = HEAD.replace("parent: BASE@1.0", "parent: BASE@9.9") + rule_yaml()
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (5, "parent")
    assert "parent BASE@9.9 is not a known standard; BASE has versions 1.0." in problem.message


def test_parent_not_written_code_at_version(known):
    text = HEAD.replace("parent: BASE@1.0", "parent: BASE") + rule_yaml()
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (5, "parent")
    assert "CODE@VERSION" in problem.message


def test_local_standard_without_parent(known):
    text = (
        "code: TEST-LOCAL\n"  # 1
        "name: Test local\n"  # 2
        "version: '1.0'\n"  # 3
        "scope: local\n"  # 4
        "jurisdictions: [EU]\n"  # 5
        "rules: []\n"  # 6
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (4, "parent")
    assert "a local standard extends a parent" in problem.message


def test_global_standard_with_parent(known):
    text = HEAD.replace("scope: local", "scope: global") + rule_yaml(threshold="0.9")
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (5, "parent")
    assert "a global standard has no parent" in problem.message


def test_duplicate_rule(known):
    text = HEAD + rule_yaml() + rule_yaml(threshold="0.9")
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (13, "rules[1]")
    assert "quality.overall ≥ appears twice (first on line 8)" in problem.message


def test_effective_to_before_effective_from(known):
    text = (
        HEAD.replace(
            "rules:\n",
            "effective_from: 2025-06-01\n"  # 7
            "effective_to: 2025-01-31\n"  # 8
            "rules:\n",  # 9
        )
        + rule_yaml()
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (8, "effective_to")
    assert "2025-01-31 is before effective_from 2025-06-01" in problem.message


def test_unknown_top_level_field(known):
    text = HEAD.replace("jurisdictions: [EU]", "jurisdiction: [EU]\nsectors: [health]") + (
        rule_yaml()
    )
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (6, "jurisdiction")
    assert "unknown standard field 'jurisdiction' (did you mean 'jurisdictions'?)" in (
        problem.message
    )


def test_unknown_rule_field(known):
    text = HEAD + rule_yaml() + "    treshold: 0.9\n"  # 13
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (13, "rules[0].treshold")
    assert "(did you mean 'threshold'?)" in problem.message


def test_a_field_given_twice(known):
    text = HEAD + rule_yaml() + "    severity: blocking\n"  # 13
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (13, "rules[0].severity")
    assert "given twice (first on line 11)" in problem.message


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        (
            "code: X\nname: Y\nrules:\n  - key: quality.overall\n     operator: '>='\n",
            5,
            "Check the indentation",
        ),
        ('code: X\nname: "Y\nrules: []\n', 4, "started on line 2"),
        ("code: X\nname: Y\n\tscope: global\n", 3, "not tabs"),
    ],
)
def test_malformed_yaml_gives_the_line_of_the_error(text, line, hint):
    spec, found = parse_yaml(text)
    assert spec is None
    problem = only(found)
    assert problem.line == line
    assert problem.message.startswith("YAML syntax error")
    assert hint in problem.message


@pytest.mark.parametrize(
    ("replacement", "line", "field", "message"),
    [
        ("jurisdictions: EU", 6, "jurisdictions", "must be a list"),
        ("jurisdictions: [[EU]]", 6, "jurisdictions", "plain text values only"),
        ("jurisdictions: [EU]\neffective_from: 1st May", 7, "effective_from", "not a date"),
        ("jurisdictions: [EU]\neffective_from: 2025-02-30", 7, "effective_from", "not a date"),
        (
            "jurisdictions: [EU]\ncertificate_validity_days: 1.5",
            7,
            "certificate_validity_days",
            "whole number",
        ),
        ("jurisdictions: [EU]\nname: Again", 7, "name", "given twice"),
        ("jurisdictions: [EU]\ndescription: [a, b]", 7, "description", "must be text"),
    ],
)
def test_fields_of_the_wrong_shape(replacement, line, field, message, known):
    text = HEAD.replace("jurisdictions: [EU]", replacement) + rule_yaml()
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


def test_rules_of_the_wrong_shape(known):
    assert only(problems(HEAD.replace("rules:\n", "rules: none\n"), known)).line == 7
    text = HEAD + "  - just text\n" + rule_yaml()  # 8, then 9-13
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (8, "rules[0]")
    waived = HEAD + rule_yaml() + "    waived: sometimes\n"  # 13
    problem = only(problems(waived, known))
    assert (problem.line, problem.field) == (13, "rules[0].waived")
    nested = HEAD + rule_yaml(threshold="{min: 0.8}")
    problem = only(problems(nested, known))
    assert (problem.line, problem.field) == (10, "rules[0].threshold")


def test_missing_required_fields_are_reported_on_the_first_line():
    _, found = check_yaml("name: Test\nscope: global\n", known_parents={})
    assert [(p.line, p.field) for p in found] == [(1, "code"), (1, "version"), (1, "rules")]


def test_every_problem_is_listed_in_line_order(known):
    text = (
        HEAD.replace("version: '1.0'", "version: ''").replace("parent: BASE@1.0", "parent: X@1")
        + rule_yaml(key="quality.overal")
        + rule_yaml(operator="'>>'", severity="huge")
    )
    found = problems(text, known)
    assert [(p.line, p.field) for p in found] == [
        (3, "version"),
        (5, "parent"),
        (8, "rules[0].key"),
        (14, "rules[1].operator"),
        (16, "rules[1].severity"),
    ]


def test_yaml_tags_are_not_executed(known):
    text = HEAD + rule_yaml(threshold="!!python/object/apply:os.system ['true']")
    problem = only(problems(text, known))
    assert (problem.line, problem.field) == (10, "rules[0].threshold")


def test_documents_that_are_not_a_standard():
    assert parse_yaml("") == (None, [Problem(1, "", "the file holds no standard.")])
    spec, found = parse_yaml("- a\n- b\n")
    assert spec is None and found[0].line == 1 and "mapping of fields" in found[0].message
    spec, found = parse_yaml("code: A\n---\ncode: B\n")
    assert spec is None and found[0].line == 3 and "holds 2 standards" in found[0].message
    spec, found = parse_yaml(b"code: \xff\n")
    assert spec is None and "not UTF-8" in found[0].message
    spec, found = parse_yaml("#" * (MAX_YAML_CHARS + 1))
    assert spec is None and "larger than" in found[0].message


def test_scalars_keep_the_meaning_written():
    text = (
        "code: X\nname: 'yes'\nversion: 1.10\nscope: global\nrules:\n"
        "  - key: privacy.exact_match_rate\n    operator: =\n    threshold: 1e-3\n"
        "    severity: minor\n    rationale: no\n"
    )
    spec, found = parse_yaml(text)
    assert found == []
    assert spec.version == "1.10"
    assert spec.name == "yes"
    assert spec.rules[0].operator == "="
    assert spec.rules[0].threshold == 0.001
    assert spec.rules[0].rationale == "no"


# --- Several documents ---------------------------------------------------------

PARENT_AND_CHILD = (
    "code: A\n"  # 1
    "name: A\n"  # 2
    "version: '1.0'\n"  # 3
    "scope: local\n"  # 4
    "parent: B@1.0\n"  # 5
    "jurisdictions: [EU]\n"  # 6
    "---\n"  # 7
    "code: B\n"  # 8
    "name: B\n"  # 9
    "version: '1.0'\n"  # 10
    "scope: local\n"  # 11
    "parent: A@1.0\n"  # 12
    "jurisdictions: [EU]\n"  # 13
)


def test_cycle_between_documents_is_reported_on_each_parent_line():
    specs, found = parse_yaml_many(PARENT_AND_CHILD)
    assert [s.ref for s in specs] == ["A@1.0", "B@1.0"]
    assert [(p.line, p.field, p.message) for p in found] == [
        (5, "parent", "cycle of parents: A@1.0 → B@1.0 → A@1.0."),
        (12, "parent", "cycle of parents: B@1.0 → A@1.0 → B@1.0."),
    ]
    # check_yaml reports the same once, not again from validation.
    assert check_yaml(PARENT_AND_CHILD, known_parents={})[1] == found


def test_cycle_of_three_and_a_self_parent():
    three = (
        PARENT_AND_CHILD.replace("parent: A@1.0", "parent: C@1.0")
        + "---\ncode: C\nname: C\nversion: '1.0'\nscope: local\nparent: A@1.0\n"  # 14-19
        + "jurisdictions: [EU]\n"
    )
    found = parse_yaml_many(three)[1]
    assert [(p.line, p.message) for p in found] == [
        (5, "cycle of parents: A@1.0 → B@1.0 → C@1.0 → A@1.0."),
        (12, "cycle of parents: B@1.0 → C@1.0 → A@1.0 → B@1.0."),
        (19, "cycle of parents: C@1.0 → A@1.0 → B@1.0 → C@1.0."),
    ]
    itself = "code: A\nname: A\nversion: '1.0'\nscope: local\nparent: A@1.0\n"
    assert [(p.line, p.message) for p in parse_yaml_many(itself)[1]] == [
        (5, "cycle of parents: A@1.0 → A@1.0.")
    ]


def test_a_parent_and_child_import_together(known):
    text = dump_yaml_many(
        [
            StandardSpec(
                "NEW-BASE",
                "New base",
                "1.0",
                "global",
                rules=[RuleSpec("quality.overall", ">=", 0.7, "major", "why")],
            ),
            StandardSpec(
                "NEW-CHILD",
                "New child",
                "1.0",
                "local",
                jurisdictions=["EU"],
                parent="NEW-BASE@1.0",
                rules=[RuleSpec("quality.overall", ">=", 0.6, "major", "looser")],
            ),
        ]
    )
    specs, found = check_yaml(text, known_parents=known)
    assert [s.ref for s in specs] == ["NEW-BASE@1.0", "NEW-CHILD@1.0"]
    # Lines count from the start of the file, across documents.
    line = text.splitlines().index("    threshold: 0.6") + 1
    assert line > 20
    assert [(p.line, p.field) for p in found] == [(line, "rules[0].threshold")]


def test_the_same_standard_twice_in_one_file():
    doc = "code: A\nname: A\nversion: '1.0'\nscope: global\n"
    found = parse_yaml_many(doc + "---\n" + doc)[1]
    assert [(p.line, p.field) for p in found] == [(6, "code")]
    assert "A@1.0 appears twice in the file (first on line 1)" in found[0].message


def test_a_broken_document_does_not_hide_the_others():
    text = "code: A\nname: A\nversion: '1.0'\nscope: global\ncolor: red\n---\n- not a standard\n"
    specs, found = parse_yaml_many(text)
    assert [s.ref for s in specs] == ["A@1.0"]
    assert [(p.line, p.field) for p in found] == [(5, "color"), (7, "")]


# --- Export --------------------------------------------------------------------


def tricky_standard() -> StandardSpec:
    return StandardSpec(
        code="TRICKY_1",
        name="Ünïcödé: name # not a comment",
        version="2.10",
        scope="local",
        jurisdictions=["EU", "FR"],
        sectors=["health", "yes"],
        dataset_kinds=["hybrid"],
        parent="BASE@1.0",
        description="First line.\nSecond line with trailing spaces   \n\n  indented third\n",
        source="  leading spaces and 'quotes' and \"double\" and a tab\tinside",
        effective_from=date(2025, 1, 1),
        effective_to=date(2026, 12, 31),
        certificate_validity_days=365,
        reaudit_interval_days=90,
        rules=[
            RuleSpec("registry.licence", "one_of", ["1.0", "null", "true", "MIT"], "minor", "x"),
            RuleSpec("registry.has_holdout_audit", "=", True, "blocking", "y", "§ 3(a): b"),
            RuleSpec("registry.generator_type", "present", None, "major", "z", ""),
            RuleSpec("quality.overall", ">=", 0.8125, "major", "multi\nline\n", "c"),
            RuleSpec("privacy.exact_match_rate", "<=", 0, "blocking", "~", "null"),
            RuleSpec("quality.detection", ">=", None, "", waived=True, waiver_rationale="w: x"),
            RuleSpec("registry.access", "=", "open", "minor", "", "", waiver_rationale="odd"),
        ],
    )


def test_round_trip_keeps_every_field_of_a_tricky_standard():
    spec = tricky_standard()
    back, found = parse_yaml(dump_yaml(spec))
    assert found == []
    assert back == spec
    assert back.rules[4].threshold == 0.0  # ints come back as floats, and compare equal


def test_export_is_stable_and_in_a_fixed_order():
    spec = tricky_standard()
    text = dump_yaml(spec)
    assert text == dump_yaml(parse_yaml(text)[0])
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert top == list(TOP_FIELDS)
    first_rule = text[text.index("rules:") :].splitlines()[1:7]
    assert [line.strip().lstrip("- ").split(":")[0] for line in first_rule] == [
        "key",
        "operator",
        "threshold",
        "severity",
        "rationale",
        "clause",
    ]


def test_export_of_a_waiver_is_minimal():
    spec = StandardSpec(
        "C",
        "C",
        "1.0",
        "local",
        jurisdictions=["EU"],
        parent="BASE@1.0",
        rules=[RuleSpec("quality.detection", ">=", None, "", waived=True, waiver_rationale="w")],
    )
    assert dump_yaml(spec).endswith(
        "rules:\n"
        "  - key: quality.detection\n"
        "    operator: '>='\n"
        "    waived: true\n"
        "    waiver_rationale: w\n"
    )
