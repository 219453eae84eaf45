"""Model-collapse figures: how much of a real ancestor a synthetic descendant still holds.

Each figure compares a synthetic frame with its nearest real ancestor; 1.0 means nothing
was lost. ``collapse_chain`` computes them for every generation of a lineage, for the
chart, and ``warning_text`` turns a fall along the chain into one plain sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

NUMERIC_TYPES = ("numerical", "datetime")
CATEGORY_TYPES = ("categorical", "boolean")
DIVERSITY_EXCLUDED = ("id", "text")
TAIL_QUANTILES = (0.01, 0.99)
DIVERSITY_BINS = 20
# A figure must fall by at least this much along the chain to be worth a warning.
WARNING_DROP = 0.10


@dataclass(frozen=True)
class CollapseFigures:
    """One synthetic frame against its real ancestor. ``None`` when no column allows it.

    - ``tail_coverage``: per numeric column, the synthetic share of rows beyond the real
      1st/99th percentiles over the real share there (about 0.02), capped at 1, averaged.
    - ``variance_ratio``: synthetic over real variance, averaged over numeric columns.
    - ``category_retention``: share of the real (column, category) pairs still present.
    - ``record_diversity``: distinct synthetic rows over distinct real rows on samples of
      the same size, capped at 1 (numeric columns binned on real quantiles first, so that
      continuous values do not make every row distinct).
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
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_types: dict[str, str],
    *,
    generation: int = 1,
    seed: int = 0,
) -> CollapseFigures:
    """Compare ``synthetic`` with its real ancestor on the columns both frames hold."""
    shared = [c for c in column_types if c in real.columns and c in synthetic.columns]
    numeric = [c for c in shared if column_types[c] in NUMERIC_TYPES]
    categories = [c for c in shared if column_types[c] in CATEGORY_TYPES]
    tails = {c: _tail_coverage(_numbers(real[c]), _numbers(synthetic[c])) for c in numeric}
    variances = {c: _variance_ratio(_numbers(real[c]), _numbers(synthetic[c])) for c in numeric}
    retained, total = _category_counts(real, synthetic, categories)
    diversity, sample_size = _record_diversity(
        real,
        synthetic,
        [c for c in shared if column_types[c] not in DIVERSITY_EXCLUDED],
        numeric,
        seed,
    )
    return CollapseFigures(
        generation=generation,
        tail_coverage=_mean(tails.values()),
        variance_ratio=_mean(variances.values()),
        category_retention=retained / total if total else None,
        record_diversity=diversity,
        sample_size=sample_size,
        details={
            "tail_coverage": tails,
            "variance_ratio": variances,
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


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dropna().to_numpy(dtype="datetime64[ns]").astype("int64")
        return values.astype("float64")
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
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


def _category_counts(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]
) -> tuple[int, int]:
    retained = total = 0
    for column in columns:
        real_values = set(real[column].dropna().unique().tolist())
        synthetic_values = set(synthetic[column].dropna().unique().tolist())
        total += len(real_values)
        retained += len(real_values & synthetic_values)
    return retained, total


def _record_diversity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    numeric: list[str],
    seed: int,
) -> tuple[float | None, int]:
    size = min(len(real), len(synthetic))
    if not columns or size == 0:
        return None, size
    # Equal sample sizes, since distinct counts grow with the number of rows.
    real_rows = real[columns].sample(n=size, random_state=seed)
    synthetic_rows = synthetic[columns].sample(n=size, random_state=seed)
    real_rows, synthetic_rows = real_rows.copy(), synthetic_rows.copy()
    for column in numeric:
        edges = np.unique(
            np.quantile(_numbers(real[column]), np.linspace(0, 1, DIVERSITY_BINS + 1))
        )
        for rows in (real_rows, synthetic_rows):
            values = _column_numbers(rows[column])
            # Missing values form their own bin rather than joining the top one.
            rows[column] = np.where(np.isnan(values), -1, np.searchsorted(edges[1:-1], values))
    real_distinct = len(real_rows.drop_duplicates())
    synthetic_distinct = len(synthetic_rows.drop_duplicates())
    return float(min(1.0, synthetic_distinct / real_distinct)), size


def _column_numbers(series: pd.Series) -> np.ndarray:
    """Like ``_numbers`` but keeps one value per row (missing stays NaN)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None
