"""Evaluate a standard's rules against a dataset version's figures.

Figures come from the latest finished audits and from the registry. A rule passes,
fails, is missing its figure, or is waived; the evaluation is compliant (no fail, no
missing), non-compliant (any fail) or incomplete (no fail, something missing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audits.standards.engine.inheritance import EffectiveRule
from audits.standards.engine.rules import (
    KeyInfo,
    Operator,
    RuleSpec,
    describe_rule,
    format_number,
    format_threshold,
    format_value,
    is_number,
    key_info,
    severity_rank,
)

STATUSES = ("fail", "missing", "pass", "waived")  # the order results are listed in
COMPLIANT = "compliant"
NON_COMPLIANT = "non_compliant"
INCOMPLETE = "incomplete"

# Figures are floats computed by different code paths; a value within this of the
# threshold meets it (floating-point noise is not a breach).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class FigureValue:
    """One figure as supplied for an evaluation.

    ``value`` None means the source reported no value (a skipped check, an unset
    registry field): "missing" for comparisons, a fail for ``present``. A key absent
    from the figures means nobody supplied it: "missing" for every operator.
    ``source`` says where it came from, e.g. {"audit": 12} or {"registry": "dataset"}.
    ``uncertainty`` is the 95% half-width when the figure was computed on a sample.
    """

    value: float | str | bool | None
    source: Mapping[str, Any] = field(default_factory=dict)
    uncertainty: float | None = None


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule.

    ``margin`` (numeric ≥, ≤ and = rules with a numeric value): how far the value is
    from the threshold in the figure's units, positive = shortfall (fails), zero or
    negative = met (headroom). ``within_uncertainty``: a fail by less than the figure's
    uncertainty. ``produced_by``: the audit family for a metric, "registry" for a
    fact, "future" for a reserved key. ``sentence``: the outcome in words.
    """

    key: str
    operator: str
    threshold: Any
    severity: str
    status: str
    sentence: str
    value: Any = None
    source: Mapping[str, Any] = field(default_factory=dict)
    uncertainty: float | None = None
    margin: float | None = None
    within_uncertainty: bool = False
    origin: str = "added"
    rationale: str = ""
    clause: str = ""
    waiver_rationale: str = ""
    produced_by: str | None = None
    needs: str = ""

    @property
    def rule_text(self) -> str:
        return describe_rule(self.key, self.operator, self.threshold)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "operator": str(self.operator),
            "rule": self.rule_text,
            "threshold": _json_value(self.threshold),
            "severity": str(self.severity),
            "status": self.status,
            "sentence": self.sentence,
            "value": _json_value(self.value),
            "source": dict(self.source),
            "uncertainty": _json_value(self.uncertainty),
            "margin": _json_value(self.margin),
            "within_uncertainty": self.within_uncertainty,
            "origin": self.origin,
            "rationale": self.rationale,
            "clause": self.clause,
            "waiver_rationale": self.waiver_rationale,
            "produced_by": self.produced_by,
            "needs": self.needs,
        }


def _json_value(value: Any) -> Any:
    # Strict JSON has no NaN or infinity.
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class Evaluation:
    """``status``: "compliant", "non_compliant" or "incomplete". ``results``: one per
    rule, fails first (worst severity, then largest margin), then missing, passes and
    waived rules; ties broken by key so the order is deterministic."""

    status: str
    results: list[RuleResult]

    def by_status(self, status: str) -> list[RuleResult]:
        return [r for r in self.results if r.status == status]

    def summary(self) -> dict[str, Any]:
        """Counts per status ("pass", "fail", "missing", "waived", "total") and
        ``worst_failing_severity`` (None when nothing fails)."""
        counts = {status: 0 for status in ("pass", "fail", "missing", "waived")}
        for result in self.results:
            counts[result.status] += 1
        failing = [r.severity for r in self.results if r.status == "fail"]
        worst = max(failing, key=severity_rank) if failing else None
        return {
            "status": self.status,
            **counts,
            "total": len(self.results),
            "worst_failing_severity": str(worst) if worst else None,
        }

    def sources(self) -> dict[str, dict[str, Any]]:
        """Which source supplied each figure the evaluation used, by key."""
        return {r.key: dict(r.source) for r in self.results if r.source}

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "summary": self.summary(),
            "rules": [r.to_json() for r in self.results],
        }


def evaluate(
    rules: Sequence[EffectiveRule | RuleSpec], figures: Mapping[str, FigureValue | Any]
) -> Evaluation:
    """Evaluate ``rules`` (effective rules of a standard, or bare rules) against
    ``figures`` (key → FigureValue; a bare number, text or bool is taken as a
    FigureValue without source). Deterministic for the same input."""
    results = [_result(rule, origin, _figure(figures, rule.key)) for rule, origin in _rules(rules)]
    results.sort(key=_order)
    statuses = {r.status for r in results}
    if "fail" in statuses:
        status = NON_COMPLIANT
    elif "missing" in statuses:
        status = INCOMPLETE
    else:
        status = COMPLIANT
    return Evaluation(status=status, results=results)


def _rules(rules: Sequence[EffectiveRule | RuleSpec]) -> list[tuple[RuleSpec, str]]:
    out = []
    for item in rules:
        if isinstance(item, EffectiveRule):
            out.append((item.rule, item.origin))
        elif isinstance(item, RuleSpec):
            out.append((item, "waived" if item.waived else "added"))
        else:
            raise TypeError(f"evaluate() takes RuleSpec or EffectiveRule, not {type(item)!r}")
    return out


def _figure(figures: Mapping[str, Any], key: str) -> FigureValue | None:
    if key not in figures:
        return None
    figure = figures[key]
    if isinstance(figure, FigureValue):
        return figure
    if figure is None or isinstance(figure, int | float | str | bool):
        return FigureValue(value=figure)
    raise TypeError(f"figure {key} must be a FigureValue, not {type(figure)!r}")


def _order(result: RuleResult) -> tuple[Any, ...]:
    margin = result.margin if result.margin is not None else -math.inf
    if math.isnan(margin):
        margin = -math.inf
    return (
        STATUSES.index(result.status),
        -severity_rank(result.severity),
        -margin,
        result.key,
        str(result.operator),
        repr(result.threshold),
    )


def _is_absent(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _result(rule: RuleSpec, origin: str, figure: FigureValue | None) -> RuleResult:
    info = key_info(rule.key)
    base = {
        "key": rule.key,
        "operator": str(rule.operator),
        "threshold": rule.threshold,
        "severity": str(rule.severity),
        "origin": origin,
        "rationale": rule.rationale,
        "clause": rule.clause,
        "waiver_rationale": rule.waiver_rationale,
        "produced_by": info.produced_by if info else None,
        "needs": info.needs if info and info.kind == "metric" else "",
    }
    if figure is not None:
        base.update(value=figure.value, source=dict(figure.source), uncertainty=figure.uncertainty)
    if rule.waived or origin == "waived":
        reason = rule.waiver_rationale or "no rationale recorded"
        return RuleResult(
            status="waived", sentence=f"{rule.describe()} is waived: {reason}", **base
        )
    if figure is None or (_is_absent(figure.value) and rule.operator != Operator.PRESENT):
        return RuleResult(status="missing", sentence=_missing_sentence(rule, info, figure), **base)
    status, sentence, margin = _judge(rule, figure.value)
    within = (
        status == "fail"
        and margin is not None
        and figure.uncertainty is not None
        and margin <= figure.uncertainty
    )
    if within:
        sentence += f" (within the figure's uncertainty of ±{format_number(figure.uncertainty)})"
    sentence += "."
    return RuleResult(
        status=status, sentence=sentence, margin=margin, within_uncertainty=within, **base
    )


def _missing_sentence(rule: RuleSpec, info: KeyInfo | None, figure: FigureValue | None) -> str:
    what = "has no value" if figure is not None else "is missing"
    if info is None:
        return f"{rule.key} {what}: no audit or registry fact produces this key."
    if info.kind == "fact":
        return (
            f"{rule.key} {what}: the registry supplies it ({info.title}) — record it on "
            "the dataset or version."
        )
    if info.kind == "future":
        return f"{rule.key} {what}: no audit produces this figure yet."
    needs = "" if info.needs in ("", "synthetic and reference data") else f" with {info.needs}"
    return f"{rule.key} {what}: a {info.produced_by} audit{needs} produces it."


def _judge(rule: RuleSpec, value: Any) -> tuple[str, str, float | None]:
    """(status, sentence, margin) for a figure that has a value."""
    op, threshold, key = rule.operator, rule.threshold, rule.key
    if op == Operator.PRESENT:
        if _is_absent(value):
            return "fail", f"{key} is not recorded", None
        return "pass", f"{key} is present ({format_value(value)})", None
    if op in (Operator.GE, Operator.LE):
        return _judge_bound(rule, value)
    if op == Operator.EQ:
        if not _comparable(threshold, value):
            return "fail", _mismatch(rule, value), None
        margin = abs(float(value) - threshold) if is_number(threshold) else None
        if _equal(threshold, value):
            met = None if margin is None else 0.0
            return "pass", f"{key} is {format_value(value)}, as required", met
        shown, required = format_value(value), format_value(threshold)
        return "fail", f"{key} is {shown}, not the required {required}", margin
    if op == Operator.ONE_OF and isinstance(threshold, list):
        allowed = [t for t in threshold if _comparable(t, value)]
        if not allowed:
            return "fail", _mismatch(rule, value), None
        if any(_equal(t, value) for t in allowed):
            return "pass", f"{key} is {format_value(value)}, one of the allowed values", None
        return (
            "fail",
            f"{key} is {format_value(value)}, not one of {format_threshold(threshold)}",
            None,
        )
    return "fail", f"{rule.describe()} cannot be evaluated: the rule is malformed", None


def _judge_bound(rule: RuleSpec, value: Any) -> tuple[str, str, float | None]:
    threshold, key = rule.threshold, rule.key
    if not (is_number(value) and is_number(threshold)):
        return "fail", _mismatch(rule, value), None
    value, threshold = float(value), float(threshold)
    if rule.operator == Operator.GE:
        margin, side, bound = threshold - value, "below", "minimum"
    else:
        margin, side, bound = value - threshold, "above", "maximum"
    shown, limit = format_number(value), format_number(threshold)
    if margin <= TOLERANCE:
        return "pass", f"{key} is {shown}, within the {bound} {limit}", min(margin, 0.0)
    sentence = f"{key} is {shown}, {side} the {bound} {limit} by {format_number(margin)}"
    return "fail", sentence, margin


def _fold(value: Any) -> Any:
    # Text compares without regard to case: SPDX identifiers are case-insensitive.
    return value.casefold() if isinstance(value, str) else value


def _comparable(threshold: Any, value: Any) -> bool:
    if isinstance(threshold, bool) or isinstance(value, bool):
        return isinstance(threshold, bool) and isinstance(value, bool)
    if is_number(threshold):
        return is_number(value)
    return isinstance(threshold, str) and isinstance(value, str)


def _equal(threshold: Any, value: Any) -> bool:
    if is_number(threshold):
        return abs(float(value) - float(threshold)) <= TOLERANCE
    return _fold(value) == _fold(threshold)


def _mismatch(rule: RuleSpec, value: Any) -> str:
    return (
        f"{rule.key} is {format_value(value)}, which cannot be compared with "
        f"{rule.describe().removeprefix(rule.key).strip()}"
    )
