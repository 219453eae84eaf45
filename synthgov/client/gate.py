"""The gate's decision and how it reads: from one compliance evaluation, as the API
returns it, to pass/fail, an exit code and a report. Plain Python, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Lowest to highest; SynthGov treats a failing blocking or major rule as
# non-compliant (it blocks approval and suspends a certificate).
SEVERITIES = ("advisory", "minor", "major", "blocking")
DEFAULT_FAIL_ON = "major"

# Exit codes, as `python -m synthgov.client --help` lists them.
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVER = 3


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


@dataclass
class Verdict:
    """``blocking``: failing rules at or above the gate's severity; ``missing``: rules
    at or above it with no figure (they block unless missing figures are allowed);
    ``findings``: failing rules below it (reported, never blocking)."""

    fail_on: str
    allow_missing: bool
    blocking: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.blocking and (self.allow_missing or not self.missing)

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if self.passed else EXIT_FAILED

    def blocks(self, rule: Mapping[str, Any]) -> bool:
        return any(rule is r for r in self.blocking) or (
            not self.allow_missing and any(rule is r for r in self.missing)
        )

    def summary(self) -> str:
        if self.passed:
            text = f"PASSED: no rule of severity {self.fail_on} or above fails"
            if self.findings:
                text += f" ({_rules(len(self.findings), 'lower-severity')} fail{_s(self.findings)})"
            if self.missing:
                text += f"; {_rules(len(self.missing))} without a figure, allowed"
            return text + "."
        reasons = []
        if self.blocking:
            keys = ", ".join(r.get("key", "?") for r in self.blocking)
            reasons.append(f"{_rules(len(self.blocking))} fail{_s(self.blocking)} ({keys})")
        if self.missing and not self.allow_missing:
            keys = ", ".join(r.get("key", "?") for r in self.missing)
            have = "has" if len(self.missing) == 1 else "have"
            reasons.append(f"{_rules(len(self.missing))} {have} no figure ({keys})")
        return (
            f"FAILED (rules of severity {self.fail_on} or above block): " + "; ".join(reasons) + "."
        )


def _rules(count: int, kind: str = "") -> str:
    return f"{count} {kind + ' ' if kind else ''}rule{'' if count == 1 else 's'}"


def _s(items: Sequence[Any]) -> str:
    return "s" if len(items) == 1 else ""


def rules_of(evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((evaluation.get("results") or {}).get("rules") or [])


def decide(
    evaluation: Mapping[str, Any], *, fail_on: str = DEFAULT_FAIL_ON, allow_missing: bool = False
) -> Verdict:
    """The gate's verdict on one evaluation: a rule blocks when it fails (or has no
    figure) and its severity is ``fail_on`` or worse."""
    if fail_on not in SEVERITIES:
        raise ValueError(f"fail_on must be one of {', '.join(SEVERITIES)}")
    threshold = severity_rank(fail_on)
    verdict = Verdict(fail_on=fail_on, allow_missing=allow_missing)
    for rule in rules_of(evaluation):
        gating = severity_rank(str(rule.get("severity", ""))) >= threshold
        status = rule.get("status")
        if status == "fail":
            (verdict.blocking if gating else verdict.findings).append(rule)
        elif status == "missing" and gating:
            verdict.missing.append(rule)
    return verdict


def show_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    return str(value)


STATUS_WORDS = {
    "pass": "pass",
    "fail": "FAIL",
    "missing": "missing",
    "waived": "waived",
    "not_applicable": "n/a",
}


def report(
    *,
    evaluation: Mapping[str, Any],
    verdict: Verdict,
    heading: Sequence[str] = (),
) -> str:
    """The readable report: heading lines, the status as SynthGov words it, one line
    per rule (status, severity, rule with its threshold, the figure), the verdict."""
    lines = list(heading)
    display = evaluation.get("display_status") or {}
    lines.append(
        f"Standard {evaluation.get('standard')}: {display.get('label') or evaluation.get('status')}"
    )
    lines.append("")
    rules = rules_of(evaluation)
    width = max([len(str(r.get("rule") or r.get("key"))) for r in rules] + [10])
    lines.append(f"  {'result':<8} {'severity':<9} {'rule':<{width}}  figure")
    for rule in rules:
        text = str(rule.get("rule") or rule.get("key"))
        word = STATUS_WORDS.get(str(rule.get("status")), str(rule.get("status")))
        mark = "  << blocks the gate" if verdict.blocks(rule) else ""
        lines.append(
            f"  {word:<8} {rule.get('severity', ''):<9} {text:<{width}}  "
            f"{show_value(rule.get('value'))}{mark}"
        )
    if not rules:
        lines.append("  (the standard has no rules)")
    lines.append("")
    lines.append(verdict.summary())
    return "\n".join(lines)


def as_json(
    *, evaluation: Mapping[str, Any], verdict: Verdict, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The same as a JSON document for tools: the verdict, the exit code, every rule."""
    return {
        **context,
        "passed": verdict.passed,
        "exit_code": verdict.exit_code,
        "fail_on": verdict.fail_on,
        "allow_missing": verdict.allow_missing,
        "summary": verdict.summary(),
        "evaluation": evaluation.get("id"),
        "standard": evaluation.get("standard"),
        "status": evaluation.get("display_status") or {"code": evaluation.get("status")},
        "blocking": [r.get("key") for r in verdict.blocking],
        "missing": [r.get("key") for r in verdict.missing],
        "findings": [r.get("key") for r in verdict.findings],
        "rules": [
            {
                k: r.get(k)
                for k in ("key", "rule", "operator", "threshold", "severity", "status", "value")
            }
            | {"blocks": verdict.blocks(r)}
            for r in rules_of(evaluation)
        ],
    }
