"""Bias and fairness for protected attributes and intersections of two of them.

Every figure is computed on all rows. A *grouping* is one protected attribute (numbers are
cut into five bins at the real data's quintiles) or the intersection of two. Each key's
value is the worst over all groupings; details hold every grouping for the charts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from audits.checks.base import AuditInputError, Direction, MetricResult, seeded_rows, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import MISSING_CODE, PreparedColumn, category_strings
from audits.checks.groups import (
    Attribute,
    GroupCounts,
    GroupLayout,
    GroupRows,
    intersection_codes,
)
from audits.checks.population import judge_against_intent
from audits.checks.shapes import shape_score

POSITIVE_WORDS = (
    "true", "1", "yes", "y", "positive", "approved", "accepted", "granted", "hired",
    "admitted", "success", "pass", "passed", "good",
)  # fmt: skip
FIDELITY_ROWS_PER_GROUP = 20_000
# Distribution scores on a handful of rows are mostly noise: fidelity needs this many.
FIDELITY_MIN_ROWS = 50
QUANTILE_BINS = 5


class OutcomeFigure(NamedTuple):
    """A figure comparing favourable-outcome rates between groups: the grouping tables'
    ``field`` it reads, its direction, and how the worst grouping is picked."""

    field: str
    direction: Direction
    worst: Callable[[list[float]], float]


OUTCOME_FIGURES: dict[str, OutcomeFigure] = {
    "fairness.parity_difference_real": OutcomeFigure("parity_difference_real", "lower", max),
    "fairness.parity_difference_synthetic": OutcomeFigure(
        "parity_difference_synthetic", "lower", max
    ),
    "fairness.disparate_impact_real": OutcomeFigure("disparate_impact_real", "higher", min),
    "fairness.disparate_impact_synthetic": OutcomeFigure(
        "disparate_impact_synthetic", "higher", min
    ),
    "fairness.amplification": OutcomeFigure("amplification", "lower", max),
}
# Every figure's direction, in the order the family reports them.
DIRECTIONS: dict[str, Direction] = {
    "fairness.representation_gap_max": "lower",
    "fairness.missing_groups": "lower",
    **{key: figure.direction for key, figure in OUTCOME_FIGURES.items()},
    "fairness.subgroup_fidelity_gap": "lower",
}


class Outcome(NamedTuple):
    """Favourable-outcome indicators (True or False) of every real and synthetic row:
    booleans, a byte a row (``np.bincount`` weighs them as 1.0 and 0.0)."""

    real: np.ndarray
    synthetic: np.ndarray


@dataclass(frozen=True)
class Grouping:
    """Group membership of every real and synthetic row: the index of its label, in
    the narrowest integer type that holds every index (``groups.group_codes``), since the
    groupings of every protected attribute are held at once."""

    name: str
    labels: list[str]
    real: np.ndarray
    synthetic: np.ndarray


def counted(g: Grouping, outcome: Outcome | None) -> GroupCounts:
    size = len(g.labels)
    positives: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if outcome is not None:
        positives = (
            np.bincount(g.real, weights=outcome.real, minlength=size),
            np.bincount(g.synthetic, weights=outcome.synthetic, minlength=size),
        )
    return GroupCounts(
        g.name,
        g.labels,
        np.bincount(g.real, minlength=size),
        np.bincount(g.synthetic, minlength=size),
        *positives,
    )


def fidelity_rows(codes: np.ndarray, group: int, seed: int, purpose: str) -> np.ndarray:
    """The seeded sample of a group's rows the fidelity compares: the group's rows in
    order, at the positions ``seeded_rows`` picks (``partitioned_groups`` finds the same
    rows in pieces from the same positions)."""
    rows = np.flatnonzero(codes == group)
    return rows[seeded_rows(len(rows), FIDELITY_ROWS_PER_GROUP, seed, f"{purpose}.{group}")]


def fidelity_groups(counts: GroupCounts, min_group_count: int) -> np.ndarray:
    """The groups large enough in both frames for the fidelity."""
    minimum = max(min_group_count, FIDELITY_MIN_ROWS)
    return np.flatnonzero((counts.n_real >= minimum) & (counts.n_synthetic >= minimum))


def attribute(col: PreparedColumn) -> Attribute:
    name = col.spec.name
    if not col.is_numeric:
        labels = [f"{name}={v}" for v in col.categories] + [f"{name}=(missing)"]
        return Attribute(name, tuple(labels), categories=tuple(col.categories))
    labels, inner = quantile_edges(col)
    return Attribute(name, tuple(labels), inner=tuple(float(v) for v in inner))


def _single_grouping(col: PreparedColumn, attr: Attribute) -> Grouping:
    return Grouping(attr.name, list(attr.labels), attr.codes(col.real), attr.codes(col.synthetic))


def quantile_edges(col: PreparedColumn) -> tuple[list[str], np.ndarray]:
    """A numeric protected attribute as groups: the real data's quintiles (fewer when
    values repeat), plus one group for missing values. Returns the labels and the inner
    edges (a value's group is ``searchsorted(inner, value, side="right")``)."""
    name = col.spec.name
    real = col.real  # one read: each read of a prepared column decodes it anew
    present = real[~np.isnan(real)]
    edges = (
        np.unique(np.quantile(present, np.linspace(0, 1, QUANTILE_BINS + 1)))
        if len(present)
        else np.array([0.0])
    )
    inner = edges[1:-1]
    labels = [f"{name} in bin {i + 1} of {len(inner) + 1}" for i in range(len(inner) + 1)]
    labels.append(f"{name}=(missing)")
    return labels, inner


def _intersection(a: Grouping, b: Grouping, name: str, labels: list[str]) -> Grouping:
    size, b_size = len(labels), len(b.labels)
    return Grouping(
        name,
        labels,
        intersection_codes(a.real, b.real, b_size, size),
        intersection_codes(a.synthetic, b.synthetic, b_size, size),
    )


def groupings(ctx: AuditContext, layout: GroupLayout) -> Iterator[Grouping]:
    """The single groupings, then the intersections of pairs, each made when asked for
    (an intersection's codes are two arrays the size of the data; a caller that is done
    with one lets it go before the next is made)."""
    singles = [_single_grouping(ctx.column(a.name), a) for a in layout.attributes]
    yield from singles
    named = layout.groupings()[len(singles) :]
    for (a, b), (name, labels) in zip(layout.pairs, named, strict=True):
        yield _intersection(singles[a], singles[b], name, labels)


def group_layout(ctx: AuditContext, rule: OutcomeRule | None) -> GroupLayout:
    protected = ctx.config.protected
    pairs = list(combinations(range(len(protected)), 2))[: ctx.config.max_intersections]
    return GroupLayout(
        attributes=tuple(attribute(ctx.column(name)) for name in protected),
        pairs=tuple(pairs),
        target=None if rule is None else ctx.config.target,
        positive=None if rule is None else rule.label,
        seed=ctx.config.seed,
        min_group_count=ctx.config.min_group_count,
    )


def positive_outcome(ctx: AuditContext) -> tuple[int | None, str, str]:
    """(code of the favourable target value, its label, how it was chosen)."""
    col = ctx.column(ctx.config.target)
    wanted = ctx.config.positive_outcome
    if wanted is not None:
        label = str(category_strings(pd.Series([wanted])).iloc[0])
        if label not in col.categories[: col.n_reference_categories]:
            raise AuditInputError(
                f"The positive outcome '{wanted}' does not occur in the target column "
                f"'{col.spec.name}' of the reference data."
            )
        return col.categories.index(label), label, "given"
    real_labels = col.categories[: col.n_reference_categories]
    for word in POSITIVE_WORDS:
        for i, label in enumerate(real_labels):
            if label.strip().lower() == word:
                return i, label, f"the value '{label}' reads as favourable"
    if len(real_labels) == 0:
        return None, "", "the target has no values"
    real = col.real
    counts = np.bincount(real[real != MISSING_CODE], minlength=len(real_labels))
    minority = int(np.argmin(counts[: len(real_labels)]))  # ties: the first in real order
    return minority, real_labels[minority], "the least frequent real class"


def _grouping_table(g: GroupCounts, minimum: int) -> dict[str, Any]:
    size = len(g.labels)
    n_real, n_syn = g.n_real, g.n_synthetic
    present = np.flatnonzero((n_real > 0) | (n_syn > 0))
    share_real = n_real / max(n_real.sum(), 1)
    share_syn = n_syn / max(n_syn.sum(), 1)
    missing = [
        g.labels[i]
        for i in present
        if (n_real[i] > 0 and n_syn[i] == 0) or (n_real[i] >= minimum and n_syn[i] < minimum)
    ]
    table: dict[str, Any] = {
        "grouping": g.name,
        "groups": [g.labels[i] for i in present],
        "real_count": n_real[present].tolist(),
        "synthetic_count": n_syn[present].tolist(),
        "real_share": share_real[present].tolist(),
        "synthetic_share": share_syn[present].tolist(),
        "representation_gap": float(np.abs(share_syn - share_real).max()) if size else 0.0,
        "missing_groups": missing,
    }
    if g.positive_real is not None and g.positive_synthetic is not None:
        table.update(_rates(g, present, minimum))
    return table


def _gap(rates: np.ndarray) -> tuple[float | None, float | None]:
    rates = rates[~np.isnan(rates)]
    if len(rates) < 2:
        return None, None
    high, low = rates.max(), rates.min()
    return float(high - low), (float(low / high) if high > 0 else None)


def _rates(g: GroupCounts, present: np.ndarray, minimum: int) -> dict[str, Any]:
    n_real, n_syn = g.n_real, g.n_synthetic
    pos_real, pos_syn = g.positive_real, g.positive_synthetic
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_real = np.where(n_real >= minimum, pos_real / n_real, np.nan)
        rate_syn = np.where(n_syn >= minimum, pos_syn / n_syn, np.nan)
    both = ~np.isnan(rate_real) & ~np.isnan(rate_syn)
    parity_real, di_real = _gap(rate_real)
    parity_syn, di_syn = _gap(rate_syn)
    common_real, _ = _gap(np.where(both, rate_real, np.nan))
    common_syn, _ = _gap(np.where(both, rate_syn, np.nan))
    amplification = None
    if common_real is not None and common_syn is not None:
        amplification = common_syn - common_real
    return {
        "real_rate": [None if np.isnan(v) else float(v) for v in rate_real[present]],
        "synthetic_rate": [None if np.isnan(v) else float(v) for v in rate_syn[present]],
        "parity_difference_real": parity_real,
        "parity_difference_synthetic": parity_syn,
        "disparate_impact_real": di_real,
        "disparate_impact_synthetic": di_syn,
        "amplification": amplification,
    }


def _fidelity(ctx: AuditContext, g: GroupCounts, group_rows: GroupRows) -> dict[str, Any]:
    """Mean column-shape score of each group's synthetic rows against its real rows, on
    a seeded sample of each group's rows (``group_rows``)."""
    protected = set(ctx.config.protected)
    columns = [c for c in ctx.audited_columns if c.spec.name not in protected]
    minimum = max(ctx.config.min_group_count, FIDELITY_MIN_ROWS)
    scores: dict[str, float] = {}
    groups = fidelity_groups(g, ctx.config.min_group_count)
    rows = {i: (group_rows(i, "real"), group_rows(i, "synthetic")) for i in groups}
    # Column by column, each column's sampled rows read once (not the whole column, not
    # once per group), the groups' scores in column order as before.
    real_rows = np.unique(np.concatenate([r for r, _ in rows.values()] or [[]])).astype(np.int64)
    syn_rows = np.unique(np.concatenate([s for _, s in rows.values()] or [[]])).astype(np.int64)
    within = {
        i: (np.searchsorted(real_rows, r), np.searchsorted(syn_rows, s))
        for i, (r, s) in rows.items()
    }
    values: dict[int, list[float | None]] = {i: [] for i in groups}
    for c in columns if len(groups) else []:
        read = PreparedColumn(
            c.spec,
            c.read_rows("real", real_rows),
            c.read_rows("synthetic", syn_rows),
            None,
            c.categories,
        )
        for i in groups:
            values[i].append(shape_score(read, *within[i]))
    for i in groups:
        present = [v for v in values[i] if v is not None]
        if present:
            scores[g.labels[i]] = float(np.mean(present))
    gap = max(scores.values()) - min(scores.values()) if len(scores) >= 2 else None
    return {"grouping": g.name, "group_scores": scores, "gap": gap, "min_rows": minimum}


@dataclass(frozen=True)
class OutcomeRule:
    """Which target value is favourable: the category ``label`` (code ``code``), or, for
    a 0/1 numeric target, 1 (``label`` None)."""

    code: int | None
    label: str | None


def _outcome_rule(ctx: AuditContext) -> tuple[OutcomeRule | None, dict[str, Any]]:
    """Which outcome is favourable and how it was chosen; None with a reason when there
    is no usable outcome."""
    target = ctx.config.target
    if target is None:
        return None, {"reason": "no target column is set"}
    col = ctx.column(target)
    if col.is_numeric:
        values = col.real
        values = values[~np.isnan(values)]
        if not np.isin(values, [0.0, 1.0]).all():
            return None, {"reason": f"the target '{target}' is numerical, not an outcome"}
        info = {"target": target, "positive_outcome": "1", "chosen_because": "0/1 target"}
        return OutcomeRule(None, None), info
    code, label, rule = positive_outcome(ctx)
    if code is None:
        return None, {"reason": f"the target '{target}' has no values"}
    info = {"target": target, "positive_outcome": label, "chosen_because": rule}
    return OutcomeRule(code, label), info


def _outcome(ctx: AuditContext, rule: OutcomeRule | None) -> Outcome | None:
    """Favourable-outcome indicators of every real and synthetic row."""
    if rule is None:
        return None
    col = ctx.column(ctx.config.target)
    if rule.code is None:
        return Outcome(real=col.real == 1, synthetic=col.synthetic == 1)
    return Outcome(real=col.real == rule.code, synthetic=col.synthetic == rule.code)


def _counted_here(
    ctx: AuditContext, layout: GroupLayout, rule: OutcomeRule | None
) -> Iterator[tuple[GroupCounts, GroupRows]]:
    """Each grouping's counts and fidelity rows from the prepared columns."""
    outcome = _outcome(ctx, rule)
    for g in groupings(ctx, layout):

        def rows(group: int, frame: str, g: Grouping = g) -> np.ndarray:
            return fidelity_rows(getattr(g, frame), group, layout.seed, f"fidelity.{frame}")

        yield counted(g, outcome), rows


def _worst(tables: list[dict[str, Any]], field: str, pick) -> float | None:
    values = [t[field] for t in tables if t.get(field) is not None]
    return pick(values) if values else None


def fairness(ctx: AuditContext) -> list[MetricResult]:
    if not ctx.config.protected:
        return [skipped(k, d, "no protected attribute is named") for k, d in DIRECTIONS.items()]
    rule, outcome_info = _outcome_rule(ctx)
    layout = group_layout(ctx, rule)
    found = None
    if ctx.group_pieces is not None:
        # Counted from the stored files elsewhere (a Dask cluster): the same counts and
        # rows, or None when that failed.
        found = ctx.group_pieces(layout)
    tables, fidelity = [], []
    for counts, rows in found if found is not None else _counted_here(ctx, layout, rule):
        tables.append(_grouping_table(counts, ctx.config.min_group_count))
        fidelity.append(_fidelity(ctx, counts, rows))
    n = ctx.data.n_synthetic
    common = {"sample_size": n, "population": n}
    results = [_representation(tables, common), _missing(tables, common)]
    if rule is None:
        reason = outcome_info["reason"]
        results += [skipped(k, f.direction, reason) for k, f in OUTCOME_FIGURES.items()]
    else:
        results += _outcome_results(tables, outcome_info, common)
    gap = _worst(fidelity, "gap", max)
    results.append(
        MetricResult(
            key="fairness.subgroup_fidelity_gap",
            value=gap,
            direction="lower",
            details={"groupings": fidelity, "score": "mean column-shape score per group"},
            **common,
        )
        if gap is not None
        else skipped(
            "fairness.subgroup_fidelity_gap", "lower", "fewer than two groups large enough"
        )
    )
    by_key = {result.key: result for result in results}
    judge_against_intent(ctx, by_key)
    return [by_key[key] for key in DIRECTIONS]


def _representation(tables, common) -> MetricResult:
    value = _worst(tables, "representation_gap", max)
    finding = None
    if value is not None and value >= 0.05:
        finding = f"A protected group's share differs by {value:.1%} between synthetic and real."
    return MetricResult(
        key="fairness.representation_gap_max",
        value=value,
        direction="lower",
        details={"groupings": tables},
        finding=finding,
        **common,
    )


def _missing(tables, common) -> MetricResult:
    missing = sorted({label for t in tables for label in t["missing_groups"]})
    finding = None
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        finding = (
            f"{len(missing)} protected group(s) present in the real data are missing or "
            f"nearly absent in the synthetic data: {shown}."
        )
    return MetricResult(
        key="fairness.missing_groups",
        value=float(len(missing)),
        direction="lower",
        details={"groups": missing},
        finding=finding,
        **common,
    )


def _outcome_results(tables, info, common) -> list[MetricResult]:
    def by_grouping(field: str) -> dict[str, Any]:
        return {t["grouping"]: t.get(field) for t in tables}

    def result(key: str, figure: OutcomeFigure) -> MetricResult:
        value = _worst(tables, figure.field, figure.worst)
        if value is None:
            return skipped(key, figure.direction, "fewer than two groups with enough rows")
        return MetricResult(
            key=key,
            value=value,
            direction=figure.direction,
            details={**info, "by_grouping": by_grouping(figure.field)},
            **common,
        )

    results = {key: result(key, figure) for key, figure in OUTCOME_FIGURES.items()}
    amplification = results["fairness.amplification"]
    if amplification.value is not None and amplification.value > 0.01:
        amplification.finding = (
            f"The synthetic data widens the gap in '{info['positive_outcome']}' rates "
            f"between groups by {amplification.value:.1%} points."
        )
    return list(results.values())


STEPS: list[Step] = [("Fairness: groups, outcome rates and amplification", fairness)]
