"""The gate's verdict and report on an evaluation as the API returns it (no server)."""

from __future__ import annotations

from synthgov.client.gate import decide, report


def _evaluation(*rules):
    return {
        "standard": "GLOBAL-BASELINE@1.1",
        "status": "compliant",
        "results": {"rules": list(rules)},
    }


def test_a_rule_that_does_not_apply_neither_blocks_nor_breaks_the_columns():
    applies_not = {
        "key": "privacy.membership_auc",
        "rule": "privacy.membership_auc ≤ 0.6",
        "severity": "advisory",
        "status": "not_applicable",
        "value": None,
    }
    passes = {
        "key": "quality.overall",
        "rule": "quality.overall ≥ 0.75",
        "severity": "major",
        "status": "pass",
        "value": 0.91,
    }
    evaluation = _evaluation(applies_not, passes)
    verdict = decide(evaluation, fail_on="advisory")
    assert verdict.passed and not verdict.missing and not verdict.blocking
    lines = report(evaluation=evaluation, verdict=verdict).splitlines()
    row = next(line for line in lines if "membership_auc" in line)
    assert row.split()[:2] == ["n/a", "advisory"]
    # Same column as the other rows: the rule text starts where theirs does.
    other = next(line for line in lines if "quality.overall" in line)
    assert row.index("privacy.") == other.index("quality.")
