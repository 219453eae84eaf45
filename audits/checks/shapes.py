"""Per-column similarity of real and synthetic values, computed on every row.

The statistics are those of SDMetrics' Column Shapes property (KSComplement for numbers
and dates, TVComplement for categories), vectorised so they run on millions of rows and
per group; coverage follows SDMetrics' RangeCoverage and CategoryCoverage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audits.checks.encoding import MISSING_CODE, PreparedColumn, present_range

HISTOGRAM_BINS = 30
MAX_CATEGORIES_SHOWN = 30


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """1 minus the two-sample Kolmogorov-Smirnov statistic; missing values are ignored."""
    real = np.sort(real[~np.isnan(real)])
    synthetic = np.sort(synthetic[~np.isnan(synthetic)])
    if real.size == 0 or synthetic.size == 0:
        return None
    # Both ECDFs step only at observed values: evaluate them at each distinct value of
    # either sample. A sorted sample's own ECDF at a value is (index of the value's last
    # repeat + 1) / size, so only the other sample needs a search.
    gap = 0.0
    for own, other in ((real, synthetic), (synthetic, real)):
        last = np.flatnonzero(np.append(own[1:] != own[:-1], True))
        cdf_own = (last + 1) / own.size
        cdf_other = np.searchsorted(other, own[last], side="right") / other.size
        gap = max(gap, float(np.max(np.abs(cdf_own - cdf_other))))
    return float(1.0 - gap)


def tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """1 minus the total variation distance of the category frequencies (missing ignored)."""
    real = real[real != MISSING_CODE]
    synthetic = synthetic[synthetic != MISSING_CODE]
    if real.size == 0 or synthetic.size == 0:
        return None
    size = int(max(real.max(), synthetic.max())) + 1
    p_real = np.bincount(real, minlength=size) / real.size
    p_synthetic = np.bincount(synthetic, minlength=size) / synthetic.size
    return float(1.0 - 0.5 * np.abs(p_real - p_synthetic).sum())


def shape_score(column: PreparedColumn, real_rows=None, synthetic_rows=None) -> float | None:
    """The column-shape statistic for a column, optionally on a subset of rows."""
    real = column.real if real_rows is None else column.read_rows("real", real_rows)
    synthetic = (
        column.synthetic
        if synthetic_rows is None
        else column.read_rows("synthetic", synthetic_rows)
    )
    if column.is_numeric:
        return ks_complement(real, synthetic)
    return tv_complement(real, synthetic)


def range_coverage(column: PreparedColumn) -> float | None:
    """Share of the real range [min, max] that the synthetic values span (0..1)."""
    # One read of each array (a read decodes the stored column anew).
    real, synthetic = present_range(column.real), present_range(column.synthetic)
    if real is None or synthetic is None:
        return None
    return range_coverage_of(*real, *synthetic)


def range_coverage_of(low, high, synthetic_low, synthetic_high) -> float | None:
    """``range_coverage`` from the real and synthetic minimum and maximum (also merged
    from pieces of the stored files, ``audits.checks.partitioned``)."""
    if low == high:
        return None
    below = max((synthetic_low - low) / (high - low), 0.0)
    above = max((high - synthetic_high) / (high - low), 0.0)
    return float(max(1.0 - (below + above), 0.0))


def category_coverage(column: PreparedColumn) -> tuple[float | None, list[str]]:
    """Share of the real categories that appear in the synthetic data, and the absent ones
    (missing values are not a category here)."""
    real = column.real  # one read: a read decodes the stored column anew
    real = np.unique(real[real != MISSING_CODE])
    if real.size == 0:
        return None, []
    present = np.isin(real, column.synthetic)
    absent = [column.categories[i] for i in real[~present]]
    return float(present.mean()), absent


def category_coverage_of(real: list[str], seen: set[str]) -> tuple[float | None, list[str]]:
    """``category_coverage`` from the real categories (in the order ``encoding.prepare``
    codes them: first appearance in the reference) and the ones the synthetic data
    holds."""
    if not real:
        return None, []
    present = np.array([c in seen for c in real])
    return float(present.mean()), [c for c in real if c not in seen]


def distribution(column: PreparedColumn) -> dict[str, Any]:
    """What a chart needs to compare the column's real and synthetic distributions."""
    if column.is_numeric:
        return _histograms(column)
    return _category_shares(column)


def _histograms(column: PreparedColumn) -> dict[str, Any]:
    real, synthetic = column.real, column.synthetic
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if real.size == 0:
        return {"kind": "histogram", "edges": [], "real": [], "synthetic": []}
    edges = np.histogram_bin_edges(real, bins=HISTOGRAM_BINS)
    clipped = np.clip(synthetic, edges[0], edges[-1])
    real_counts = np.histogram(real, bins=edges)[0]
    synthetic_counts = np.histogram(clipped, bins=edges)[0]
    return {
        "kind": "histogram",
        "unit": "seconds since 1970" if column.spec.type == "datetime" else "value",
        "edges": edges.tolist(),
        "real": (real_counts / max(real.size, 1)).tolist(),
        "synthetic": (synthetic_counts / max(synthetic.size, 1)).tolist(),
        "real_missing_share": float(np.isnan(column.real).mean()),
        "synthetic_missing_share": float(np.isnan(column.synthetic).mean()),
        "synthetic_outside_real_range_share": float(
            ((synthetic < edges[0]) | (synthetic > edges[-1])).sum() / max(synthetic.size, 1)
        ),
    }


def _category_shares(column: PreparedColumn) -> dict[str, Any]:
    size = len(column.categories) + 1  # the last slot counts missing values
    real = np.bincount(np.where(column.real == MISSING_CODE, size - 1, column.real), minlength=size)
    synthetic = np.bincount(
        np.where(column.synthetic == MISSING_CODE, size - 1, column.synthetic), minlength=size
    )
    real_share = real / max(real.sum(), 1)
    synthetic_share = synthetic / max(synthetic.sum(), 1)
    order = np.lexsort((np.arange(size), -(real_share + synthetic_share)))
    shown = order[:MAX_CATEGORIES_SHOWN]
    labels = [column.categories[i] if i < size - 1 else "(missing)" for i in shown]
    return {
        "kind": "bar",
        "categories": labels,
        "real": real_share[shown].tolist(),
        "synthetic": synthetic_share[shown].tolist(),
        "other_real": float(real_share[order[MAX_CATEGORIES_SHOWN:]].sum()),
        "other_synthetic": float(synthetic_share[order[MAX_CATEGORIES_SHOWN:]].sum()),
    }
