"""How a local standard builds on its parent, and the full validation of a standard.

A local standard inherits every rule of its parent. A child rule with the same key and
operator restates the parent's: it may tighten the threshold or raise the severity,
never loosen either. ``waived: true`` with a written ``waiver_rationale`` removes the
parent's rule. Any other key is an added rule.

``validate_standard`` checks a standard on its own (fields, each rule's key, operator,
threshold, severity and rationale) and against its parent chain (unknown parent,
cycle, loosening, waivers, periods).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audits.standards.engine.rules import (
    ALWAYS,
    APPLIES,
    DATASET_KINDS,
    OPERATOR_HINTS,
    POPULATION_KEYS,
    TABLE_NAME,
    WHEN_MEASURED,
    KeyInfo,
    Operator,
    Problem,
    RuleSpec,
    Severity,
    StandardSpec,
    closest_key,
    format_number,
    format_threshold,
    format_value,
    is_number,
    key_info,
    operator_label,
    per_table_key,
    profile_reference,
    severity_rank,
    sort_problems,
    standard_fields,
)

ORIGINS = ("inherited", "tightened", "added", "waived")
PERIODS = standard_fields("days")
# A century: longer periods mean nothing, and overflow dates and database integers.
MAX_PERIOD_DAYS = 36_500


@dataclass(frozen=True)
class EffectiveRule:
    """A rule in force in a standard, and where it comes from.

    ``origin``: "inherited" (the parent's rule, or a child restating it unchanged),
    "tightened" (the child's stricter version), "added" (a key or operator the parent
    lacks; every rule of a global standard), "waived" (the parent's rule, marked
    ``waived`` and carrying the child's ``waiver_rationale``; it is not enforced).
    ``parent_rule`` is the parent's rule for every origin but "added".
    """

    rule: RuleSpec
    origin: str
    parent_rule: RuleSpec | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.to_json(),
            "origin": self.origin,
            "parent_rule": self.parent_rule.to_json() if self.parent_rule else None,
        }


@dataclass(frozen=True)
class RuleDiff:
    """One row of the side-by-side page of a local standard against its parent.

    ``parent``: the parent's rule (None for an added rule). ``child``: the rule as the
    child states it (None when it inherits the parent's untouched). ``effective``: the
    rule in force. ``change``: "inherited", "tightened", "added", "waived", or
    "refused" (a loosening or a waiver without rationale; the parent's rule stays in
    force). ``text``: the change in words, e.g. "threshold 0.80 → 0.85".
    """

    key: str
    operator: str
    parent: RuleSpec | None
    child: RuleSpec | None
    change: str
    text: str
    effective: RuleSpec

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "operator": self.operator,
            "parent": self.parent.to_json() if self.parent else None,
            "child": self.child.to_json() if self.child else None,
            "change": self.change,
            "text": self.text,
            "effective": self.effective.to_json(),
        }


class InheritanceError(ValueError):
    """A standard cannot be applied on top of its parent; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class _Merged:
    effective: list[EffectiveRule] = field(default_factory=list)
    diffs: list[RuleDiff] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _as_rules(rules: Sequence[RuleSpec | EffectiveRule] | None) -> list[RuleSpec]:
    return [r.rule if isinstance(r, EffectiveRule) else r for r in rules or []]


def effective_rules(
    standard: StandardSpec, parent_rules: Sequence[RuleSpec | EffectiveRule] | None
) -> list[EffectiveRule]:
    """The rules in force in ``standard``: the parent's, in the parent's order, with the
    child's restatements and waivers applied, then the child's added rules in its order.

    ``parent_rules`` are the parent's *effective* rules (None for a global standard);
    rules the parent waived are ignored (a waiver removes the rule for descendants too).
    Raises ``InheritanceError`` when a child rule loosens a parent's, waives without a
    rationale, or waives a rule the parent does not have.
    """
    merged = _merge(standard, parent_rules, checked={})
    if merged.problems:
        raise InheritanceError(merged.problems)
    return merged.effective


def diff_from_parent(
    standard: StandardSpec, parent_rules: Sequence[RuleSpec | EffectiveRule] | None
) -> list[RuleDiff]:
    """One row per effective rule, in the order of ``effective_rules``. Never raises:
    a refused child rule shows as change "refused" with the reason as text."""
    return _merge(standard, parent_rules, checked={}).diffs


def _merge(
    standard: StandardSpec,
    parent_rules: Sequence[RuleSpec | EffectiveRule] | None,
    *,
    checked: Mapping[int, set[str]],
) -> _Merged:
    """Apply the child's rules to the parent's. ``checked`` maps a rule's index to its
    fields already reported broken on their own: those are not compared or reported
    again."""
    parent_label = standard.parent or "the parent"
    parents = [r for r in _as_rules(parent_rules) if not r.waived]
    by_identity: dict[tuple[str, ...], tuple[int, RuleSpec]] = {}
    for index, rule in enumerate(standard.rules):
        by_identity.setdefault(rule.identity, (index, rule))
    out = _Merged()
    used: set[tuple[str, ...]] = set()
    for parent in parents:
        found = by_identity.get(parent.identity)
        if found is None or parent.identity in used:
            out.effective.append(EffectiveRule(parent, "inherited", parent))
            out.diffs.append(_diff(parent, None, "inherited", "inherited unchanged", parent))
            continue
        used.add(parent.identity)
        index, child = found
        if child.waived:
            _apply_waiver(out, index, child, parent, checked=checked.get(index, set()))
        else:
            broken = checked.get(index, set())
            _apply_restatement(out, index, child, parent, parent_label, checked=broken)
    for index, rule in enumerate(standard.rules):
        if rule.identity in used or by_identity[rule.identity][0] != index:
            continue  # restated above, or a duplicate (reported by standard_problems)
        if rule.waived:
            parent_ref = standard.parent if parent_rules is not None else None
            out.problems.append(_nothing_to_waive(index, rule, parents, parent_ref))
            continue
        out.effective.append(EffectiveRule(rule, "added", None))
        out.diffs.append(
            _diff(None, rule, "added", f"added: {rule.describe()} ({rule.severity})", rule)
        )
    return out


def _diff(
    parent: RuleSpec | None, child: RuleSpec | None, change: str, text: str, effective: RuleSpec
) -> RuleDiff:
    rule = child or parent or effective
    return RuleDiff(rule.key, str(rule.operator), parent, child, change, text, effective)


def _apply_waiver(
    out: _Merged, index: int, child: RuleSpec, parent: RuleSpec, *, checked: set[str]
) -> None:
    if not child.waiver_rationale.strip():
        if "waiver_rationale" not in checked:
            out.problems.append(
                Problem(
                    child.line_of("waiver_rationale"),
                    f"rules[{index}].waiver_rationale",
                    f"{child.key}: a waiver needs a written waiver_rationale saying why the "
                    "inherited rule does not apply.",
                )
            )
        out.effective.append(EffectiveRule(parent, "inherited", parent))
        out.diffs.append(_diff(parent, child, "refused", "waiver without a rationale", parent))
        return
    waived = dataclasses.replace(
        parent,
        waived=True,
        waiver_rationale=child.waiver_rationale,
        line=child.line,
        field_lines=dict(child.field_lines),
    )
    out.effective.append(EffectiveRule(waived, "waived", parent))
    out.diffs.append(_diff(parent, child, "waived", f"waived: {child.waiver_rationale}", waived))


def _apply_restatement(
    out: _Merged,
    index: int,
    child: RuleSpec,
    parent: RuleSpec,
    parent_label: str,
    *,
    checked: set[str],
) -> None:
    refusals, changes = _compare(index, parent, child, parent_label, checked=checked)
    broken = checked & {"key", "operator", "threshold", "severity"}
    if refusals or broken:
        # The parent's rule stays in force; fields broken on their own were reported
        # by standard_problems already.
        out.problems.extend(refusals)
        out.effective.append(EffectiveRule(parent, "inherited", parent))
        text = "; ".join(p.message for p in refusals) or "the restated rule has problems"
        out.diffs.append(_diff(parent, child, "refused", text, parent))
        return
    if changes:
        out.effective.append(EffectiveRule(child, "tightened", parent))
        out.diffs.append(_diff(parent, child, "tightened", "; ".join(changes), child))
        return
    out.effective.append(EffectiveRule(child, "inherited", parent))
    reworded = child.rationale != parent.rationale or child.clause != parent.clause
    text = "restated unchanged" + ("; rationale or clause reworded" if reworded else "")
    out.diffs.append(_diff(parent, child, "inherited", text, child))


def _compare(
    index: int, parent: RuleSpec, child: RuleSpec, parent_label: str, *, checked: set[str]
) -> tuple[list[Problem], list[str]]:
    """(refusals, changes): why the child rule loosens the parent's, and how it tightens.
    Fields in ``checked`` are broken on their own and not compared."""
    refusals: list[Problem] = []
    changes: list[str] = []
    name = f"rules[{index}]"
    verdict, detail = "same", ""
    if not checked & {"key", "operator", "threshold"}:
        verdict, detail = _threshold_verdict(parent, child)
    if verdict == "looser":
        refusals.append(
            Problem(
                child.line_of("threshold"),
                f"{name}.threshold",
                f"{child.key}: loosens the inherited threshold: {parent_label} requires "
                f"{parent.describe()}; {detail}",
            )
        )
    elif verdict == "stricter":
        changes.append(detail)
    _compare_applies(name, parent, child, parent_label, refusals, changes, checked=checked)
    p_rank, c_rank = severity_rank(parent.severity), severity_rank(child.severity)
    if "severity" in checked:
        return refusals, changes
    if c_rank < p_rank:
        refusals.append(
            Problem(
                child.line_of("severity"),
                f"{name}.severity",
                f"{child.key}: lowers the inherited severity from {parent.severity} to "
                f"{child.severity}; a local standard may only keep or raise it.",
            )
        )
    elif c_rank > p_rank:
        changes.append(f"severity {parent.severity} → {child.severity}")
    return refusals, changes


def _compare_applies(
    name: str,
    parent: RuleSpec,
    child: RuleSpec,
    parent_label: str,
    refusals: list[Problem],
    changes: list[str],
    *,
    checked: set[str],
) -> None:
    """A child may make a rule apply always where the parent applied it when measured,
    never the reverse; it may name a population profile where the parent relied on the
    jurisdiction's default, never name another than the parent's."""
    if "applies" not in checked and child.applies in APPLIES and parent.applies in APPLIES:
        if child.when_measured and not parent.when_measured:
            refusals.append(
                Problem(
                    child.line_of("applies"),
                    f"{name}.applies",
                    f"{child.key}: {parent_label} applies this rule always; a local standard "
                    f"may not limit it to when the figure is measured.",
                )
            )
        elif parent.when_measured and not child.when_measured:
            changes.append(f"applies {WHEN_MEASURED} → {ALWAYS}")
    if "population_profile" in checked or child.population_profile == parent.population_profile:
        return
    if parent.population_profile:
        refusals.append(
            Problem(
                child.line_of("population_profile"),
                f"{name}.population_profile",
                f"{child.key}: {parent_label} judges this rule against the population profile "
                f"{parent.population_profile}; a local standard keeps it.",
            )
        )
    else:
        changes.append(f"population profile: {child.population_profile}")


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _threshold_verdict(parent: RuleSpec, child: RuleSpec) -> tuple[str, str]:
    """("same" | "stricter" | "looser", words). Words say the change when stricter and
    what a local standard may do instead when looser."""
    op, p, c = parent.operator, parent.threshold, child.threshold
    if op == Operator.PRESENT:
        return "same", ""
    if op in (Operator.GE, Operator.LE):
        if not (is_number(p) and is_number(c)):
            return "looser", f"{format_threshold(c)} cannot be compared with it."
        if c == p:
            return "same", ""
        raises = c > p
        if raises == (op == Operator.GE):
            return "stricter", f"threshold {format_threshold(p)} → {format_threshold(c)}"
        way = "keep or raise it, not lower" if op == Operator.GE else "keep or lower it, not raise"
        return "looser", f"a local standard may {way} it to {format_threshold(c)}."
    if op == Operator.EQ:
        if type(p) is type(c) and _fold(p) == _fold(c):
            return "same", ""
        return "looser", (
            f"an inherited = rule keeps its value; {format_threshold(c)} would replace "
            f"{format_threshold(p)}."
        )
    if not (isinstance(p, list) and isinstance(c, list)):
        return "looser", f"{format_threshold(c)} cannot be compared with it."
    allowed = {_fold(v) for v in p}
    extra = [v for v in c if _fold(v) not in allowed]
    if extra:
        shown = ", ".join(format_value(v) for v in extra)
        return "looser", f"a local standard may only narrow the list, not add {shown}."
    if {_fold(v) for v in c} == allowed:
        return "same", ""
    return "stricter", f"allowed values {format_threshold(p)} → {format_threshold(c)}"


def _nothing_to_waive(
    index: int, rule: RuleSpec, parents: list[RuleSpec], parent_ref: str | None
) -> Problem:
    if parent_ref is None:
        message = f"{rule.key}: a standard without a parent has no inherited rule to waive."
    else:
        others = [str(p.operator) for p in parents if p.key == rule.key]
        message = f"{rule.key}: {parent_ref} has no rule on {rule.key} to waive."
        if others:
            message = (
                f"{rule.key}: {parent_ref} has no rule {rule.describe()} to waive; its rule "
                f"on {rule.key} uses {', '.join(others)}. Waive with the same operator."
            )
    return Problem(rule.line_of("waived"), f"rules[{index}].waived", message)


# --- Checks on a rule or a standard alone ------------------------------------
# (validate_standard adds the checks against the parent, below)

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$")
SCOPES = ("global", "local")


def rule_problems(rule: RuleSpec, index: int) -> list[Problem]:
    """Everything wrong with one rule that can be told without its parent."""
    name = f"rules[{index}]"
    problems: list[Problem] = []

    def add(field_name: str, message: str) -> None:
        problems.append(Problem(rule.line_of(field_name), f"{name}.{field_name}", message))

    info = _check_key(rule, add)
    operator_ok = _check_operator(rule, add)
    if not rule.waived:
        _check_severity(rule, add)
        if not rule.rationale.strip():
            add("rationale", f"{rule.key}: a rationale is required: say why the rule exists.")
        if info is not None and operator_ok:
            for message in threshold_problems(rule, info):
                add("threshold", f"{rule.key}: {message}")
    else:
        if not rule.waiver_rationale.strip():
            add(
                "waiver_rationale",
                f"{rule.key}: a waiver needs a written waiver_rationale saying why the "
                "inherited rule does not apply.",
            )
        if rule.severity and severity_rank(rule.severity) < 0:
            _check_severity(rule, add)
    if rule.waiver_rationale.strip() and not rule.waived:
        add(
            "waiver_rationale",
            f"{rule.key}: waiver_rationale is given but the rule is not waived; "
            "set waived: true or remove the rationale.",
        )
    if not rule.waived:
        for field_name, message in applies_problems(rule, info):
            add(field_name, f"{rule.key}: {message}")
    return problems


def applies_problems(rule: RuleSpec, info: KeyInfo | None) -> list[tuple[str, str]]:
    """(field, message) for an ``applies`` or ``population_profile`` that does not suit
    the rule: when_measured only on an advisory rule on an audit figure, a profile only
    on a population figure and written NAME@VERSION."""
    problems: list[tuple[str, str]] = []
    if rule.applies not in APPLIES:
        problems.append(
            ("applies", f"unknown applies '{rule.applies}'; use {ALWAYS} or {WHEN_MEASURED}.")
        )
    elif rule.when_measured:
        if isinstance(rule.severity, Severity) and rule.severity != Severity.ADVISORY:
            problems.append(
                (
                    "applies",
                    f"applies: {WHEN_MEASURED} is allowed on advisory rules only; a "
                    f"{rule.severity} rule applies always, so that leaving out a holdout or "
                    "a target cannot dodge it (its figure is then missing). Make the rule "
                    f"advisory or remove applies: {WHEN_MEASURED}.",
                )
            )
        if info is not None and info.kind != "metric":
            problems.append(
                (
                    "applies",
                    f"applies: {WHEN_MEASURED} suits figures an audit measures; "
                    f"{rule.key} is {'a registry fact' if info.kind == 'fact' else 'not one'}.",
                )
            )
    if rule.table:
        problems.extend(table_problems(rule, info))
    if rule.population_profile:
        if rule.key not in POPULATION_KEYS:
            problems.append(
                (
                    "population_profile",
                    "population_profile is for rules on a population figure ("
                    + ", ".join(sorted(POPULATION_KEYS))
                    + ").",
                )
            )
        elif profile_reference(rule.population_profile) is None:
            problems.append(
                (
                    "population_profile",
                    f"population_profile '{rule.population_profile}' must name a published "
                    "profile as NAME@VERSION, e.g. 'England and Wales population by sex "
                    "(Census 2021)@1'.",
                )
            )
    return problems


def table_problems(rule: RuleSpec, info: KeyInfo | None) -> list[tuple[str, str]]:
    """(field, message) for a ``table`` that does not suit the rule: a table name as the
    registry writes them, on a figure an audit measures on each table of linked tables."""
    problems: list[tuple[str, str]] = []
    if not TABLE_NAME.match(rule.table):
        problems.append(
            (
                "table",
                f"table '{rule.table[:80]}' is not a table name: 1 to 63 ASCII letters, "
                "digits and underscores, starting with a letter.",
            )
        )
    if info is not None and not per_table_key(rule.key):
        what = {"fact": "a registry fact", "derived": "worked out by the evaluation"}.get(
            info.kind, "a figure of the whole version"
        )
        problems.append(
            (
                "table",
                f"table: names one table of linked tables, for a figure each table gets "
                f"(integrity, quality, utility and privacy figures); {rule.key} is {what}. "
                "Remove table:.",
            )
        )
    return problems


def _check_key(rule: RuleSpec, add: Any) -> KeyInfo | None:
    if not isinstance(rule.key, str) or not rule.key:
        add("key", "a rule needs a key: a metric from the audit catalogue or a registry fact.")
        return None
    info = key_info(rule.key)
    if info is None:
        hint = closest_key(rule.key)
        suggestion = f" Did you mean '{hint}'?" if hint else ""
        add(
            "key",
            f"unknown metric or fact key '{rule.key}': it is neither in the audit "
            f"catalogue nor a registry fact.{suggestion}",
        )
    return info


def _check_operator(rule: RuleSpec, add: Any) -> bool:
    if isinstance(rule.operator, Operator):
        return True
    text = str(rule.operator or "")
    hint = OPERATOR_HINTS.get(text.strip().lower())
    suggestion = f" Did you mean {hint}?" if hint else ""
    what = f"unknown operator '{text}'" if text else "an operator is required"
    add("operator", f"{rule.key}: {what}; use one of >=, <=, =, present, one_of.{suggestion}")
    return False


def _check_severity(rule: RuleSpec, add: Any) -> None:
    if isinstance(rule.severity, Severity):
        return
    text = str(rule.severity or "")
    what = f"unknown severity '{text}'" if text else "a severity is required"
    add("severity", f"{rule.key}: {what}; use blocking, major, minor or advisory.")


def threshold_problems(rule: RuleSpec, info: KeyInfo) -> list[str]:
    """Why ``rule.threshold`` does not suit its operator and key (empty when it does)."""
    op, value = rule.operator, rule.threshold
    if op == Operator.PRESENT:
        return [] if value is None else ["'present' takes no threshold; remove it."]
    if op in (Operator.GE, Operator.LE):
        if info.value_type not in ("number", "any"):
            return [
                f"{op.label} needs a numeric figure but {info.key} is {info.value_type}; "
                "use = or one_of."
            ]
        if not is_number(value):
            return [f"{op.label} needs a number as threshold, not {format_value(value)}."]
        return _number_problems(value, info) + _direction_problems(op, info)
    if op == Operator.EQ:
        if value is None or isinstance(value, list):
            return [f"= needs a single value as threshold, not {format_threshold(value)}."]
        return _value_problems(value, info)
    # one_of
    if not isinstance(value, list) or not value:
        return [f"one_of needs a non-empty list as threshold, e.g. [a, b], not {value!r}."]
    problems: list[str] = []
    seen: list[Any] = []
    for item in value:
        if isinstance(item, list | dict) or item is None:
            problems.append(f"one_of lists single values; {format_threshold(item)} is not one.")
            continue
        problems.extend(_value_problems(item, info))
        folded = item.casefold() if isinstance(item, str) else item
        if folded in seen:
            problems.append(f"one_of lists {format_value(item)} twice.")
        seen.append(folded)
    return problems


def _value_problems(value: Any, info: KeyInfo) -> list[str]:
    kind = info.value_type
    if kind == "any":
        return _number_problems(value, info) if is_number(value) else []
    if kind == "number":
        if not is_number(value):
            return [f"{info.key} is a number; {format_value(value)} is not."]
        return _number_problems(value, info)
    if kind == "boolean":
        if not isinstance(value, bool):
            return [f"{info.key} is true or false; {format_value(value)} is neither."]
        return []
    if not isinstance(value, str):
        return [f"{info.key} is text; write {format_value(value)} as text."]
    if kind == "choice" and value not in info.choices:
        return [f"{info.key} is one of {', '.join(info.choices)}; '{value}' is not."]
    return []


def _number_problems(value: float, info: KeyInfo) -> list[str]:
    if not math.isfinite(value):
        return [f"the threshold must be a finite number, not {value}."]
    low, high = info.value_range
    if (low is not None and value < low) or (high is not None and value > high):
        shown_low = format_number(low) if low is not None else "−∞"
        shown_high = format_number(high) if high is not None else "∞"
        return [
            f"threshold {format_number(value)} is outside the range of {info.key} "
            f"({shown_low} to {shown_high})."
        ]
    return []


def _direction_problems(op: Operator, info: KeyInfo) -> list[str]:
    # A minimum on a lower-is-better figure (or the reverse) rewards worse data;
    # that is a slip, not a policy. "closer_to" figures take bounds on both sides.
    if info.direction == "lower" and op == Operator.GE:
        return [f"{info.key} is better when lower; a minimum (≥) would reward worse data. Use ≤."]
    if info.direction == "higher" and op == Operator.LE:
        return [f"{info.key} is better when higher; a maximum (≤) would reward worse data. Use ≥."]
    return []


def standard_problems(spec: StandardSpec) -> list[Problem]:
    """Everything wrong with a standard that can be told without its parent."""
    problems: list[Problem] = []

    def add(field_name: str, message: str, line_field: str | None = None) -> None:
        problems.append(Problem(spec.line_of(line_field or field_name), field_name, message))

    if not spec.code:
        add("code", "a code is required, e.g. EU-STRICT-PRIVACY.")
    elif not isinstance(spec.code, str) or not CODE_PATTERN.match(spec.code):
        add(
            "code",
            f"code '{spec.code}' must be letters, digits, hyphens or underscores "
            "(up to 64), e.g. EU-STRICT-PRIVACY.",
        )
    if not isinstance(spec.name, str) or not spec.name.strip():
        add("name", "a name is required.")
    if not spec.version:
        add("version", "a version is required, e.g. 1.0.")
    elif not isinstance(spec.version, str) or not VERSION_PATTERN.match(spec.version):
        add(
            "version",
            f"version '{spec.version}' must be like 1.0 (letters, digits, dots, up to 20).",
        )
    problems.extend(_scope_problems(spec))
    for name in standard_fields("codes"):
        problems.extend(_code_list_problems(spec, name, getattr(spec, name)))
    if spec.effective_from and spec.effective_to and spec.effective_to < spec.effective_from:
        add(
            "effective_to",
            f"effective_to {spec.effective_to.isoformat()} is before effective_from "
            f"{spec.effective_from.isoformat()}.",
        )
    for name in PERIODS:
        value = getattr(spec, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            add(name, f"{name} must be a whole number of days.")
        elif value is not None and value <= 0:
            add(name, f"{name} must be at least 1 day.")
        elif value is not None and value > MAX_PERIOD_DAYS:
            add(name, f"{name} must be at most {MAX_PERIOD_DAYS:,} days (a century).")
    if spec.scope == "global" and not spec.rules:
        add("rules", "a global standard needs at least one rule.")
    seen: dict[tuple[str, ...], RuleSpec] = {}
    for index, rule in enumerate(spec.rules):
        problems.extend(rule_problems(rule, index))
        first = seen.setdefault(rule.identity, rule)
        if first is not rule:
            where = f" (first on line {first.line})" if first.line else ""
            problems.append(
                Problem(
                    rule.line,
                    f"rules[{index}]",
                    f"duplicate rule: {rule.key} {operator_label(rule.operator)}"
                    f"{f' on table {rule.table}' if rule.table else ''} appears twice"
                    f"{where}; keep one.",
                )
            )
    return problems


def _scope_problems(spec: StandardSpec) -> list[Problem]:
    problems: list[Problem] = []
    if spec.scope not in SCOPES:
        what = f"scope '{spec.scope}' must be" if spec.scope else "a scope is required:"
        problems.append(Problem(spec.line_of("scope"), "scope", f"{what} global or local."))
    if spec.scope == "global" and spec.parent:
        problems.append(
            Problem(
                spec.line_of("parent"),
                "parent",
                "a global standard has no parent; make it local to extend "
                f"{spec.parent}, or remove the parent.",
            )
        )
    if spec.scope == "local":
        if not spec.parent:
            problems.append(
                Problem(
                    spec.line_of("parent") or spec.line_of("scope"),
                    "parent",
                    "a local standard extends a parent: name it as CODE@VERSION, "
                    "e.g. GLOBAL-BASELINE@1.0.",
                )
            )
        if not spec.jurisdictions and not spec.sectors:
            problems.append(
                Problem(
                    spec.line_of("jurisdictions") or spec.line_of("scope"),
                    "jurisdictions",
                    "a local standard applies to a jurisdiction or a sector: list at least "
                    "one in jurisdictions or sectors.",
                )
            )
    if spec.parent and "@" not in spec.parent:
        problems.append(
            Problem(
                spec.line_of("parent"),
                "parent",
                f"parent '{spec.parent}' must be written CODE@VERSION, e.g. GLOBAL-BASELINE@1.0.",
            )
        )
    return problems


def _code_list_problems(spec: StandardSpec, name: str, values: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            problems.append(
                Problem(spec.line_of(name), name, f"{name} holds an empty or padded entry.")
            )
            continue
        if name == "dataset_kinds" and value not in DATASET_KINDS:
            problems.append(
                Problem(
                    spec.line_of(name),
                    name,
                    f"unknown dataset kind '{value}'; use {', '.join(DATASET_KINDS)}.",
                )
            )
        if value.casefold() in seen:
            problems.append(Problem(spec.line_of(name), name, f"{name} lists '{value}' twice."))
        seen.add(value.casefold())
    return problems


# --- Parents -----------------------------------------------------------------


def resolve_chain(
    spec: StandardSpec, known_parents: Mapping[str, StandardSpec]
) -> tuple[list[StandardSpec], list[Problem]]:
    """The ancestors of ``spec``, nearest first, and any unknown parent or cycle.
    ``known_parents`` maps ``CODE@VERSION`` to the standard."""
    chain: list[StandardSpec] = []
    refs = [spec.ref]
    current = spec.parent
    line = spec.line_of("parent")
    while current:
        if current in refs:
            cycle = " → ".join([*refs[refs.index(current) :], current])
            return chain, [Problem(line, "parent", f"cycle of parents: {cycle}.")]
        parent = known_parents.get(current)
        if parent is None:
            if chain:
                message = f"{chain[-1].ref} extends {current}, which is not a known standard."
            else:
                message = _unknown_parent(current, known_parents)
            return chain, [Problem(line, "parent", message)]
        chain.append(parent)
        refs.append(current)
        current = parent.parent
    return chain, []


def _unknown_parent(ref: str, known: Mapping[str, StandardSpec]) -> str:
    code = ref.partition("@")[0]
    versions = sorted(k.partition("@")[2] for k in known if k.partition("@")[0] == code)
    if versions:
        return f"parent {ref} is not a known standard; {code} has versions {', '.join(versions)}."
    close = difflib.get_close_matches(ref, sorted(known), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"parent {ref} is not a known standard (only published standards can be extended).{hint}"


def _chain_rules(chain: list[StandardSpec]) -> list[RuleSpec] | None:
    """Effective rules of the nearest ancestor (waived ones dropped), leniently: an
    ancestor's own problems are its own, not the child's."""
    rules: list[RuleSpec] | None = None
    for ancestor in reversed(chain):
        merged = _merge(ancestor, rules, checked={})
        rules = [e.rule for e in merged.effective if not e.rule.waived]
    return rules


def resolve_effective_rules(
    spec: StandardSpec, *, known_parents: Mapping[str, StandardSpec]
) -> list[EffectiveRule]:
    """``effective_rules`` with the parent's rules worked out from ``known_parents``.
    Raises ``InheritanceError`` for an unknown parent, a cycle or a loosening."""
    chain, problems = resolve_chain(spec, known_parents)
    if problems:
        raise InheritanceError(problems)
    return effective_rules(spec, _chain_rules(chain) if chain else None)


def effective_period(
    spec: StandardSpec, name: str, *, known_parents: Mapping[str, StandardSpec]
) -> int | None:
    """``certificate_validity_days`` or ``reaudit_interval_days`` in force: the
    standard's own, else the nearest ancestor's (None when no one sets it)."""
    if name not in PERIODS:
        raise ValueError(f"{name} is not one of {', '.join(PERIODS)}")
    own = getattr(spec, name)
    if own is not None:
        return own
    chain, _ = resolve_chain(spec, known_parents)
    return next((getattr(a, name) for a in chain if getattr(a, name) is not None), None)


# --- Validation ----------------------------------------------------------------

_RULE_INDEX = re.compile(r"^rules\[(\d+)\]")


def validate_standard(
    spec: StandardSpec, *, known_parents: Mapping[str, StandardSpec]
) -> list[Problem]:
    """Every reason ``spec`` cannot be saved, sorted by line (empty when it can).

    ``known_parents`` maps ``CODE@VERSION`` to the standards a parent may be (and
    their own ancestors). Covers fields, each rule on its own (key, operator,
    threshold type and range, severity, rationale, waivers, duplicates), the parent
    (unknown, cycle, scope), and inheritance (loosened threshold or severity, waiver of
    a rule the parent lacks, longer certificate or re-audit period than the parent's).
    """
    problems = standard_problems(spec)
    checked: dict[int, set[str]] = {}
    for problem in problems:
        if (match := _RULE_INDEX.match(problem.field)) is not None:
            field_name = problem.field[match.end() :].lstrip(".") or "rule"
            checked.setdefault(int(match.group(1)), set()).add(field_name)
    parent_rules: list[RuleSpec] | None = None
    chain: list[StandardSpec] = []
    if spec.parent and "@" in spec.parent and spec.scope == "local":
        chain, chain_problems = resolve_chain(spec, known_parents)
        problems.extend(chain_problems)
        if chain_problems:
            return sort_problems(problems)
        parent_rules = _chain_rules(chain)
    elif spec.parent:
        return sort_problems(problems)  # malformed, or on a global standard: reported
    problems.extend(_merge(spec, parent_rules, checked=checked).problems)
    problems.extend(_period_problems(spec, chain))
    return sort_problems(problems)


def _period_problems(spec: StandardSpec, chain: list[StandardSpec]) -> list[Problem]:
    problems = []
    for name in PERIODS:
        own = getattr(spec, name)
        holder = next((a for a in chain if getattr(a, name) is not None), None)
        if own is None or holder is None or not isinstance(own, int):
            continue
        inherited = getattr(holder, name)
        if own > inherited:
            problems.append(
                Problem(
                    spec.line_of(name),
                    name,
                    f"{own} days is longer than the {inherited} days set by {holder.ref}; "
                    "a local standard may only shorten it.",
                )
            )
    return problems
