"""Evaluate a standard's rules against a dataset version's figures.

Figures come from the latest finished audits and from the registry. A rule passes,
fails, is missing its figure, does not apply, or is waived; the evaluation is compliant
(no fail, no missing), non-compliant (any fail) or incomplete (no fail, something
missing). A rule does not apply ("not_applicable") when it applies only when measured
(advisory rules with ``applies: when_measured``) and the audit reported its figure as
not measurable with the reason, or when a derived figure has nothing to judge (no
differential-privacy claim to test), and a figure of linked tables (orphans, key
violations, cardinality, inter-table trends) on a version that is a single table
(``single_table_figures``): any severity, as a single table truly has no relationships.
A figure absent because no audit ran is missing.

Linked tables (``evaluate(..., tables=)``, each table's figures): a rule with ``table``
is judged on that table's figure (missing when the version has no such table; not
applicable for a single-table version, which has no named tables to pick from). A rule
without ``table`` on a figure measured per table (``per_table_key``) with no figure of
the whole version is judged on every table: it fails when any table fails (its sentence
names each failing table and value), is missing when a table lacks the figure, and
passes when every table passes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audits.checks.catalogue import RELATIONAL_KEYS
from audits.standards.engine.inheritance import EffectiveRule
from audits.standards.engine.rules import (
    POPULATION_KEYS,
    KeyInfo,
    Operator,
    RuleSpec,
    describe_rule,
    format_number,
    format_threshold,
    format_value,
    is_number,
    key_info,
    per_table_key,
    severity_rank,
)

# The order results are listed in.
STATUSES = ("fail", "missing", "pass", "not_applicable", "waived")
NOT_APPLICABLE_RESULT = "not_applicable"
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

    ``not_measured``: the audit ran but reported the figure as not measurable, and why
    ("needs a real holdout …"); a rule that applies when measured does not apply, any
    other rule finds the figure missing. ``not_applicable``: there is nothing to judge
    (a derived figure without the claim it tests), and why: every rule on it does not
    apply. ``note``: words a derived figure adds to the rule's sentence. ``profile``:
    for a population figure, the profile the audit compared with (its id, name and
    version, from the audit's configuration).
    """

    value: float | str | bool | None
    source: Mapping[str, Any] = field(default_factory=dict)
    uncertainty: float | None = None
    not_measured: str | None = None
    not_applicable: str | None = None
    note: str = ""
    profile: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ProfileRequirement:
    """The population profile a standard requires for its rules on a population
    figure. ``label``: how it reads ("England and Wales population by sex (Census
    2021) (version 1)"); ``profile_ids``: the published profiles that are it (empty
    when none is: ``unresolved`` then says why); ``why``: "named by the rule" or "the
    default of UK"."""

    label: str
    profile_ids: frozenset[int] = frozenset()
    why: str = ""
    unresolved: str = ""


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
    applies: str = "always"
    population_profile: str = ""
    reason: str = ""
    table: str = ""
    tables: Mapping[str, str] = field(default_factory=dict)

    @property
    def rule_text(self) -> str:
        return describe_rule(self.key, self.operator, self.threshold, self.table)

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
            # Only when set, so that evaluations under rules written before these
            # existed keep their evidence byte for byte.
            **({"applies": self.applies} if self.applies != "always" else {}),
            **({"population_profile": self.population_profile} if self.population_profile else {}),
            **({"reason": self.reason} if self.reason else {}),
            # A rule on one table names it; a rule judged on every table of linked tables
            # gives each table's status (their values are in the sentence).
            **({"table": self.table} if self.table else {}),
            **({"tables": dict(self.tables)} if self.tables else {}),
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
        """Counts per status ("pass", "fail", "missing", "waived", "total"; and
        "not_applicable" when a rule did not apply) and ``worst_failing_severity``
        (None when nothing fails)."""
        counts = {status: 0 for status in ("pass", "fail", "missing", "waived")}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        failing = [r.severity for r in self.results if r.status == "fail"]
        worst = max(failing, key=severity_rank) if failing else None
        return {
            "status": self.status,
            **counts,
            "total": len(self.results),
            "worst_failing_severity": str(worst) if worst else None,
        }

    def sources(self) -> dict[str, dict[str, Any]]:
        """Which source supplied each figure the evaluation used, by key
        (``key@table`` for a rule on one table)."""
        return {
            f"{r.key}@{r.table}" if r.table else r.key: dict(r.source)
            for r in self.results
            if r.source
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "summary": self.summary(),
            "rules": [r.to_json() for r in self.results],
        }


def evaluate(
    rules: Sequence[EffectiveRule | RuleSpec],
    figures: Mapping[str, FigureValue | Any],
    *,
    population_profiles: Mapping[str, ProfileRequirement] | None = None,
    tables: Mapping[str, Mapping[str, FigureValue | Any]] | None = None,
) -> Evaluation:
    """Evaluate ``rules`` (effective rules of a standard, or bare rules) against
    ``figures`` (key → FigureValue; a bare number, text or bool is taken as a
    FigureValue without source). Derived figures (``DERIVED_FIGURES``) are worked out
    from the others unless given. Deterministic for the same input.

    ``population_profiles`` maps a rule's ``population_profile`` ("" for rules that
    name none: the jurisdiction's default) to the profile the standard requires; a
    rule on a population figure whose audit compared with another profile is then
    missing. Without it (the engine on its own) population figures are judged as
    given.

    ``tables`` maps each table of a version of linked tables to its own figures (key →
    FigureValue); None for a single-table version. See the module's description for
    how rules are judged on them."""
    figures = {**derive_figures(figures), **figures}
    results = [
        _rule_result(rule, origin, figures, tables, population_profiles)
        for rule, origin in _rules(rules)
    ]
    results.sort(key=_order)
    statuses = {r.status for r in results}
    if "fail" in statuses:
        status = NON_COMPLIANT
    elif "missing" in statuses:
        status = INCOMPLETE
    else:
        status = COMPLIANT
    return Evaluation(status=status, results=results)


SINGLE_TABLE = "the version is a single table: it has no relationships"


def _rule_result(
    rule: RuleSpec,
    origin: str,
    figures: Mapping[str, Any],
    tables: Mapping[str, Mapping[str, Any]] | None,
    population_profiles: Mapping[str, ProfileRequirement] | None,
) -> RuleResult:
    """One rule's outcome: on the whole version's figure, on one table's, or on every
    table's (linked tables)."""
    if rule.table:
        return _table_result(rule, origin, tables, population_profiles)
    if tables and rule.key not in figures and per_table_key(rule.key):
        return _every_table_result(rule, origin, tables, population_profiles)
    return _result(rule, origin, _figure(figures, rule.key), population_profiles)


def _table_list(tables: Mapping[str, Any]) -> str:
    return ", ".join(sorted(tables)) or "none"


def _table_result(
    rule: RuleSpec,
    origin: str,
    tables: Mapping[str, Mapping[str, Any]] | None,
    population_profiles: Mapping[str, ProfileRequirement] | None,
) -> RuleResult:
    name = rule.table
    if tables is None or name not in tables:
        result = _result(rule, origin, None, population_profiles)
        if result.status == "waived":
            return dataclasses.replace(result, table=name)
        if tables is None:
            reason = f"the version is a single table: it has no linked table {name}"
            return dataclasses.replace(
                result,
                status=NOT_APPLICABLE_RESULT,
                sentence=f"{rule.describe()} does not apply: {reason}.",
                reason=reason,
                table=name,
            )
        return dataclasses.replace(
            result,
            sentence=f"{rule.describe()}: the version has no table {name} (its tables: "
            f"{_table_list(tables)}), so {rule.key} is missing.",
            table=name,
        )
    result = _result(rule, origin, _figure(tables[name], rule.key), population_profiles)
    return dataclasses.replace(result, sentence=f"Table {name}: {result.sentence}", table=name)


def _every_table_result(
    rule: RuleSpec,
    origin: str,
    tables: Mapping[str, Mapping[str, Any]],
    population_profiles: Mapping[str, ProfileRequirement] | None,
) -> RuleResult:
    """A rule without a table on a figure each table of linked tables has: judged on
    every table. Its value, margin and source are those of the table that decides: the
    worst failing one, else the first missing one, else the one with least headroom."""
    each = {
        name: _result(rule, origin, _figure(tables[name], rule.key), population_profiles)
        for name in sorted(tables)
    }
    first = next(iter(each.values()))
    if first.status == "waived":
        return first
    by_status: dict[str, list[str]] = {}
    for name, result in each.items():
        by_status.setdefault(result.status, []).append(name)
    statuses = {name: result.status for name, result in each.items()}

    def margin(name: str) -> float:
        value = each[name].margin
        return -math.inf if value is None or math.isnan(value) else value

    def said(name: str) -> str:
        return f"{name}: {each[name].sentence.removesuffix('.')}"

    count = len(each)
    if "fail" in by_status:
        failing = sorted(by_status["fail"], key=lambda n: (-margin(n), n))
        decides = failing[0]
        sentence = (
            f"{rule.describe()} fails on {len(failing)} of {count} tables ("
            + "; ".join(said(n) for n in failing)
            + ")"
        )
        if "missing" in by_status:
            sentence += f"; no figure for {', '.join(by_status['missing'])}"
    elif "missing" in by_status:
        missing = by_status["missing"]
        decides = missing[0]
        sentence = (
            f"{rule.describe()} is missing on {len(missing)} of {count} tables ("
            + "; ".join(said(n) for n in missing)
            + ")"
        )
    elif "pass" in by_status:
        passing = sorted(by_status["pass"], key=lambda n: (-margin(n), n))
        decides = passing[0]
        which = "every table" if len(passing) == count else f"{len(passing)} of {count} tables"
        sentence = (
            f"{rule.describe()} passes on {which} ("
            + "; ".join(said(n) for n in sorted(passing))
            + ")"
        )
        if NOT_APPLICABLE_RESULT in by_status:
            sentence += f"; does not apply to {', '.join(by_status[NOT_APPLICABLE_RESULT])}"
    else:
        decides = by_status[NOT_APPLICABLE_RESULT][0]
        sentence = (
            f"{rule.describe()} does not apply to any table ("
            + "; ".join(said(n) for n in sorted(each))
            + ")"
        )
    chosen = each[decides]
    source = dict(chosen.source)
    if source:
        source["table"] = decides
    return dataclasses.replace(chosen, sentence=sentence + ".", source=source, tables=statuses)


def single_table_figures() -> dict[str, FigureValue]:
    """The relational figures (``RELATIONAL_KEYS``) of a version that is a single table:
    not applicable, whatever the severity of a rule on them (a single table has no
    orphans to hide, so nothing is dodged). Supplied in place of anything else for such a
    version; a version of linked tables without a relational audit has none of them
    (missing)."""
    return {
        key: FigureValue(None, source={"registry": "table_count"}, not_applicable=SINGLE_TABLE)
        for key in sorted(RELATIONAL_KEYS)
    }


DP_CLAIM = "privacy.dp_claim_consistent"
DP_BOUND = "privacy.dp_epsilon_lower_bound"
DP_MECHANISM = "differential_privacy"


def derive_figures(figures: Mapping[str, FigureValue | Any]) -> dict[str, FigureValue]:
    """The figures the evaluation works out from others (``DERIVED_FIGURES``).

    ``privacy.dp_claim_consistent``: whether the epsilon the generation claims
    (``registry.epsilon``, under ``registry.privacy_mechanism`` differential_privacy or
    unset) is at least the epsilon the membership attack proves at 95% confidence
    (``privacy.dp_epsilon_lower_bound``). Not applicable without a claim; no value
    (missing) with a claim but no bound. Only worked out when the registry's facts are
    among the figures (they always are in a compliance evaluation).
    """
    if "registry.epsilon" not in figures:
        return {}
    epsilon = _figure(figures, "registry.epsilon")
    mechanism = _figure(figures, "registry.privacy_mechanism")
    claimed = epsilon.value if epsilon is not None else None
    named = mechanism.value if mechanism is not None else None
    if named not in (None, "", DP_MECHANISM):
        return {
            DP_CLAIM: FigureValue(
                None,
                source={"derived": ["registry.privacy_mechanism"]},
                not_applicable=f"the generation claims {named}, not differential privacy",
            )
        }
    if not is_number(claimed) or not math.isfinite(float(claimed)):
        reason = "the generation claims no differential-privacy epsilon (registry.epsilon)"
        if named == DP_MECHANISM:
            reason = "the generation names differential privacy but records no epsilon"
        return {
            DP_CLAIM: FigureValue(
                None, source={"derived": ["registry.epsilon"]}, not_applicable=reason
            )
        }
    claim = f"the generation claims ε = {format_number(float(claimed))}"
    bound = _figure(figures, DP_BOUND)
    derived_from = ["registry.epsilon", DP_BOUND]
    if bound is None or not is_number(bound.value) or not math.isfinite(float(bound.value)):
        why = (bound.not_measured if bound is not None else None) or "no audit reports it"
        return {
            DP_CLAIM: FigureValue(
                None,
                source={"derived": derived_from, **_audit_of(bound)},
                not_measured=why,
                note=f"{claim}, and the attack's bound ({DP_BOUND}) is not measured: {why}",
            )
        }
    proven = float(bound.value)
    consistent = proven <= float(claimed) + TOLERANCE
    verdict = "the claim is not contradicted" if consistent else "the claim is contradicted"
    return {
        DP_CLAIM: FigureValue(
            consistent,
            source={"derived": derived_from, **_audit_of(bound)},
            note=f"the attack proves ε ≥ {format_number(proven)} at 95% confidence; "
            f"{claim}: {verdict}",
        )
    }


def _audit_of(figure: FigureValue | None) -> dict[str, Any]:
    if figure is None or "audit" not in figure.source:
        return {}
    return {"audit": figure.source["audit"]}


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


def _result(
    rule: RuleSpec,
    origin: str,
    figure: FigureValue | None,
    population_profiles: Mapping[str, ProfileRequirement] | None,
) -> RuleResult:
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
        "applies": str(rule.applies),
        "population_profile": rule.population_profile,
    }
    if figure is not None and figure.not_measured and _is_absent(figure.value):
        if rule.when_measured and not (rule.waived or origin == "waived"):
            reason = figure.not_measured
            return RuleResult(
                status=NOT_APPLICABLE_RESULT,
                sentence=f"{rule.describe()} does not apply (it applies only when measured): "
                f"the audit could not measure {rule.key}: {reason}.",
                source=dict(figure.source),
                reason=reason,
                **base,
            )
        if info is None or info.kind != "derived":
            # Any other rule reads a figure the audit could not measure as one nobody
            # supplied: "missing", in the words it always had.
            figure = None
    if figure is not None:
        base.update(value=figure.value, source=dict(figure.source), uncertainty=figure.uncertainty)
    if rule.waived or origin == "waived":
        reason = rule.waiver_rationale or "no rationale recorded"
        return RuleResult(
            status="waived", sentence=f"{rule.describe()} is waived: {reason}", **base
        )
    if figure is not None and figure.not_applicable:
        return RuleResult(
            status=NOT_APPLICABLE_RESULT,
            sentence=f"{rule.describe()} does not apply: {figure.not_applicable}.",
            reason=figure.not_applicable,
            **base,
        )
    if figure is None or (_is_absent(figure.value) and rule.operator != Operator.PRESENT):
        return RuleResult(status="missing", sentence=_missing_sentence(rule, info, figure), **base)
    if population_profiles is not None and rule.key in POPULATION_KEYS:
        other = _other_profile(rule, figure, population_profiles)
        if other:
            return RuleResult(status="missing", sentence=other, **base)
    status, sentence, margin = _judge(rule, figure.value)
    if figure.note:
        sentence += f": {figure.note}"
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


def _other_profile(
    rule: RuleSpec, figure: FigureValue, requirements: Mapping[str, ProfileRequirement]
) -> str:
    """Why a population figure cannot be judged by this rule ("" when it can): the
    audit compared with a profile other than the one the standard requires."""
    required = requirements.get(rule.population_profile)
    if required is None or not required.profile_ids:
        why = required.unresolved if required else "no profile requirement was supplied"
        return f"{rule.key} cannot be judged: {why}."
    compared = figure.profile or {}
    if compared.get("profile_id") in required.profile_ids:
        return ""
    if compared:
        shown = f"{compared.get('name')} (version {compared.get('version')})"
        what = f"this audit compared with the population profile {shown}"
    else:
        what = "this audit does not record which population profile it compared with"
    return (
        f"{rule.key} is not judged: {what}; the standard requires {required.label} "
        f"({required.why}): re-run the audit with {required.label}."
    )


def _missing_sentence(rule: RuleSpec, info: KeyInfo | None, figure: FigureValue | None) -> str:
    if info is not None and info.kind == "derived":
        note = f": {figure.note}" if figure is not None and figure.note else ""
        return f"{rule.key} is missing{note}."
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
