"""Model-collapse figures: how much of a real ancestor a synthetic descendant still holds.

Each figure compares a synthetic frame with its nearest real ancestor; 1.0 means nothing
was lost. ``collapse_chain`` computes them for every generation of a lineage, for the
chart, and ``warning_text`` turns a fall along the chain into one plain sentence.
``collapse_metrics`` turns one comparison into the audit figures ``collapse.*``; the
runner's collapse step (``STEPS``) takes that comparison from the audit's
``RealAncestor`` input (the audit service finds the ancestor in the lineage and reads it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from audits.checks.base import MetricResult, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import category_strings, numeric_values
from audits.checks.sources import TableSource, as_source, read_column

FAMILY = "collapse"
KEYS = {
    "generation_depth": "collapse.generation_depth",
    "tail_coverage": "collapse.tail_coverage",
    "variance_ratio": "collapse.variance_ratio",
    "category_retention": "collapse.category_retention",
    "record_diversity": "collapse.record_diversity",
}
# Figures compared with the real ancestor, in the order reports and charts show them.
FIGURES = ("tail_coverage", "variance_ratio", "category_retention", "record_diversity")
NUMERIC_TYPES = ("numerical", "datetime")
CATEGORY_TYPES = ("categorical", "boolean")
DIVERSITY_EXCLUDED = ("id", "text")
TAIL_QUANTILES = (0.01, 0.99)
DIVERSITY_BINS = 20
# Distinct-row counts are taken on seeded samples of at most this many rows per frame.
DIVERSITY_SAMPLE_ROWS = 100_000
# A figure below this (1.0 = nothing lost) is reported as a finding.
FINDING_BELOW = 0.8
# A figure must fall by at least this much along the chain to be worth a warning.
WARNING_DROP = 0.10


@dataclass(frozen=True)
class CollapseFigures:
    """One synthetic frame against its real ancestor. ``None`` when no column allows it.

    - ``tail_coverage``: per numeric column, the synthetic share of rows beyond the real
      1st/99th percentiles over the real share there (about 0.02), capped at 1, averaged.
    - ``variance_ratio``: synthetic over real variance, averaged over numeric columns.
    - ``category_retention``: share of the real (column, category) pairs still present.
    - ``record_diversity``: distinct synthetic rows over distinct real rows on seeded
      samples of the same size (at most ``DIVERSITY_SAMPLE_ROWS``), capped at 1 (numeric
      columns binned on real quantiles first, so that continuous values do not make every
      row distinct). ``sample_size`` is that sample's size.
    """

    generation: int
    tail_coverage: float | None
    variance_ratio: float | None
    category_retention: float | None
    record_diversity: float | None
    sample_size: int
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CollapseChain:
    """The figures of each generation, generation 0 being the real ancestor itself."""

    generations: list[CollapseFigures]

    def series(self, figure: str) -> list[float | None]:
        return [getattr(g, figure) for g in self.generations]

    def to_json(self) -> dict:
        return {"generations": [g.to_json() for g in self.generations]}


def collapse_figures(
    real: pd.DataFrame | TableSource,
    synthetic: pd.DataFrame | TableSource,
    column_types: dict[str, str],
    *,
    generation: int = 1,
    seed: int = 0,
    diversity_sample_rows: int = DIVERSITY_SAMPLE_ROWS,
) -> CollapseFigures:
    """Compare ``synthetic`` with its real ancestor on the columns both tables hold
    (frames, or ``sources.TableSource``: each column is read from each table once and
    let go before the next, so no whole raw table is held)."""
    real, synthetic = as_source(real, copy=False), as_source(synthetic, copy=False)
    shared = [c for c in column_types if c in real.columns and c in synthetic.columns]
    numeric = [c for c in shared if column_types[c] in NUMERIC_TYPES]
    categories = [c for c in shared if column_types[c] in CATEGORY_TYPES]
    diverse = [c for c in shared if column_types[c] not in DIVERSITY_EXCLUDED]
    size = min(real.num_rows, synthetic.num_rows, diversity_sample_rows)
    sampled = bool(diverse) and size > 0
    tails, variances, edges = {}, {}, {}
    retained = total = 0
    real_sample: dict[str, pd.Series] = {}
    synthetic_sample: dict[str, pd.Series] = {}
    for column in shared:
        if column not in numeric and column not in categories and column not in diverse:
            continue
        real_values, synthetic_values = read_column(real, column), read_column(synthetic, column)
        if column in numeric:
            real_numbers = _numbers(real_values, column_types[column])
            synthetic_numbers = _numbers(synthetic_values, column_types[column])
            tails[column] = _tail_coverage(real_numbers, synthetic_numbers)
            variances[column] = _variance_ratio(real_numbers, synthetic_numbers)
            if real_numbers.size:
                edges[column] = _diversity_edges(real_numbers)
            del real_numbers, synthetic_numbers
        if column in categories:
            kept, known = _category_counts(real_values, synthetic_values)
            retained, total = retained + kept, total + known
        if sampled and column in diverse:
            # The same seeded rows for every column (the rows drawn depend only on the
            # table's length and the seed), as sampling the whole table would draw.
            real_sample[column] = real_values.sample(n=size, random_state=seed)
            synthetic_sample[column] = synthetic_values.sample(n=size, random_state=seed)
        del real_values, synthetic_values
    diversity = None
    if sampled:
        diversity = _record_diversity(
            pd.DataFrame(real_sample),
            pd.DataFrame(synthetic_sample),
            {c: column_types[c] for c in numeric},
            edges,
        )
    return CollapseFigures(
        generation=generation,
        tail_coverage=_mean(tails[c] for c in numeric),
        variance_ratio=_mean(variances[c] for c in numeric),
        category_retention=retained / total if total else None,
        record_diversity=diversity,
        sample_size=size,
        details={
            "tail_coverage": {c: tails[c] for c in numeric},
            "variance_ratio": {c: variances[c] for c in numeric},
            "categories_retained": retained,
            "categories_real": total,
        },
    )


def collapse_chain(
    frames: list[pd.DataFrame], column_types: dict[str, str], *, seed: int = 0
) -> CollapseChain:
    """``frames[0]`` is the real ancestor, ``frames[i]`` the i-th synthetic generation."""
    if not frames:
        raise ValueError("give at least the real ancestor frame")
    real = frames[0]
    return CollapseChain(
        [
            collapse_figures(real, frame, column_types, generation=i, seed=seed)
            for i, frame in enumerate(frames)
        ]
    )


def warning_text(chain: CollapseChain) -> str | None:
    """A plain sentence naming what fell from generation 0 to the last, or None."""
    if len(chain.generations) < 2:
        return None
    first, last = chain.generations[0], chain.generations[-1]
    phrases = []
    for figure, wording in (
        ("tail_coverage", "tails have lost {}% of their mass"),
        ("variance_ratio", "variance has shrunk by {}%"),
        ("category_retention", "{}% of the real categories have disappeared"),
        ("record_diversity", "record diversity has fallen by {}%"),
    ):
        start, end = getattr(first, figure), getattr(last, figure)
        if start is None or end is None or start <= 0:
            continue
        drop = 1 - end / start
        if drop >= WARNING_DROP:
            phrases.append(wording.format(round(100 * drop)))
    if not phrases:
        return None
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    count = last.generation - first.generation
    plural = "generation" if count == 1 else "generations"
    return f"{listed[0].upper()}{listed[1:]} over {count} {plural}."


def collapse_metrics(
    real: pd.DataFrame | TableSource,
    synthetic: pd.DataFrame | TableSource,
    column_types: dict[str, str],
    *,
    generation_depth: int,
    seed: int = 0,
    details: dict | None = None,
) -> list[MetricResult]:
    """The ``collapse.*`` audit figures of ``synthetic`` against its nearest real ancestor
    ``real``, ``generation_depth`` synthetic generations away. ``details`` (for example
    which ancestor was used) is added to every figure's details."""
    figures = collapse_figures(
        real, synthetic, column_types, generation=generation_depth, seed=seed
    )
    common = dict(details or {})
    rows = as_source(synthetic, copy=False).num_rows
    results = [_depth_metric(generation_depth, common)]
    per_column = {
        "tail_coverage": {"columns": figures.details["tail_coverage"]},
        "variance_ratio": {"columns": figures.details["variance_ratio"]},
        "category_retention": {
            "categories_retained": figures.details["categories_retained"],
            "categories_real": figures.details["categories_real"],
        },
        "record_diversity": {"sample_rows": figures.sample_size},
    }
    no_columns = {
        "tail_coverage": "no numeric or date column with tails is shared with the real ancestor",
        "variance_ratio": "no numeric or date column with spread is shared with the real ancestor",
        "category_retention": "no categorical or boolean column is shared with the real ancestor",
        "record_diversity": "no column other than identifiers and free text is shared",
    }
    for figure in FIGURES:
        key, value = KEYS[figure], getattr(figures, figure)
        direction = "closer_to" if figure == "variance_ratio" else "higher"
        target = 1.0 if figure == "variance_ratio" else None
        if value is None:
            results.append(skipped(key, direction, no_columns[figure], target=target))
            continue
        sampled = figure == "record_diversity"
        results.append(
            MetricResult(
                key=key,
                value=value,
                direction=direction,
                target=target,
                details={**per_column[figure], **common},
                sample_size=figures.sample_size if sampled else rows,
                population=rows,
                finding=_finding(figure, value, figures, generation_depth),
            )
        )
    return results


def collapse_not_measured(reason: str, *, generation_depth: int | None) -> list[MetricResult]:
    """The figures when no real ancestor can be compared: the depth alone when it is
    known (0 for real data), every other figure skipped with ``reason``."""
    if generation_depth is None:
        results = [skipped(KEYS["generation_depth"], "lower", reason)]
    else:
        results = [_depth_metric(generation_depth, {})]
    for figure in FIGURES:
        if figure == "variance_ratio":
            results.append(skipped(KEYS[figure], "closer_to", reason, target=1.0))
        else:
            results.append(skipped(KEYS[figure], "higher", reason))
    return results


def _collapse_step(ctx: AuditContext) -> list[MetricResult]:
    ancestor = ctx.ancestor
    if ancestor is None:
        raise ValueError("the collapse step needs the real ancestor input")
    if ancestor.frame is None:
        return collapse_not_measured(ancestor.reason, generation_depth=ancestor.generation_depth)
    return collapse_metrics(
        ancestor.frame,
        ctx.synthetic,
        {spec.name: spec.type for spec in ctx.config.columns},
        generation_depth=ancestor.generation_depth,
        seed=ctx.config.seed,
        details=ancestor.details,
    )


def _depth_metric(depth: int, details: dict) -> MetricResult:
    finding = None
    if depth >= 2:
        finding = (
            f"This version is {depth} synthetic generations away from real data: it was "
            "generated from data that was itself synthetic."
        )
    return MetricResult(
        key=KEYS["generation_depth"],
        value=float(depth),
        direction="lower",
        details={"generation_depth": depth, **details},
        finding=finding,
    )


def _finding(figure: str, value: float, figures: CollapseFigures, depth: int) -> str | None:
    if figure == "category_retention":
        lost = figures.details["categories_real"] - figures.details["categories_retained"]
        if lost == 0:
            return None
        total = figures.details["categories_real"]
        return f"{lost} of the {total} categories of the real ancestor no longer occur."
    if value >= FINDING_BELOW:
        return None
    after = f"after {depth} synthetic generation{'s' if depth != 1 else ''}"
    return {
        "tail_coverage": f"Only {value:.0%} of the real tails' mass is left {after}.",
        "variance_ratio": f"Numeric columns keep only {value:.0%} of the real variance {after}.",
        "record_diversity": f"Records are only {value:.0%} as diverse as the real data {after}.",
    }[figure]


def _numbers(series: pd.Series, column_type: str) -> np.ndarray:
    """The column's present values as floats (dates as seconds, text dates parsed)."""
    values = numeric_values(series, column_type)
    return values[np.isfinite(values)]


def _tail_coverage(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    if real.size == 0 or synthetic.size == 0:
        return None
    low, high = np.quantile(real, TAIL_QUANTILES)
    real_mass = np.mean((real < low) | (real > high))
    if real_mass == 0:
        return None  # no tails to lose, e.g. a nearly constant column
    synthetic_mass = np.mean((synthetic < low) | (synthetic > high))
    return float(min(1.0, synthetic_mass / real_mass))


def _variance_ratio(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    if real.size < 2 or synthetic.size < 2:
        return None
    real_variance = np.var(real, ddof=1)
    if real_variance == 0:
        return None
    return float(np.var(synthetic, ddof=1) / real_variance)


def _category_counts(real: pd.Series, synthetic: pd.Series) -> tuple[int, int]:
    """(real categories still present in the synthetic column, real categories)."""
    # Compared as text, so that True, "True", 1 and 1.0 read from files agree.
    real_values = set(category_strings(real).dropna().unique().tolist())
    synthetic_values = set(category_strings(synthetic).dropna().unique().tolist())
    return len(real_values & synthetic_values), len(real_values)


def _diversity_edges(real_numbers: np.ndarray) -> np.ndarray:
    """The real quantiles a numeric column is cut on before counting distinct rows."""
    return np.unique(np.quantile(real_numbers, np.linspace(0, 1, DIVERSITY_BINS + 1)))


def _record_diversity(
    real_rows: pd.DataFrame,
    synthetic_rows: pd.DataFrame,
    numeric: dict[str, str],
    edges: dict[str, np.ndarray],
) -> float:
    """Distinct synthetic rows over distinct real rows of the two samples (equal sizes,
    since distinct counts grow with the number of rows), numeric columns cut on
    ``edges`` (a column without present real values keeps its raw values)."""
    for column, column_type in numeric.items():
        if column not in edges or column not in real_rows.columns:
            continue  # nothing to cut on: the raw values stand
        for rows in (real_rows, synthetic_rows):
            values = numeric_values(rows[column], column_type)
            # Missing values form their own bin rather than joining the top one.
            cut = edges[column][1:-1]
            rows[column] = np.where(np.isnan(values), -1, np.searchsorted(cut, values))
    real_distinct = len(real_rows.drop_duplicates())
    synthetic_distinct = len(synthetic_rows.drop_duplicates())
    return float(min(1.0, synthetic_distinct / real_distinct))


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


STEPS: list[Step] = [("Model collapse: comparing with the nearest real ancestor", _collapse_step)]
