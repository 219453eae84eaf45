"""Distance to closest record (DCR) and nearest-neighbour distance ratio (NNDR).

Distances use the mixed-type distance of ``encoding`` (0..1: the average per-column
difference). A seeded sample of up to ``distance_sample_rows`` synthetic rows is compared
with the *full* reference; holdout rows likewise. The search is exact for every record (see
``neighbours``); the details' ``censored`` counts stay in the evidence and are 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from audits.checks.base import MetricResult, proportion_ci, seeded_rows, skipped
from audits.checks.context import AuditContext
from audits.checks.encoding import (
    DistanceEncoding,
    EncodedTable,
    encode_for_distance,
    search_layout,
)
from audits.checks.neighbours import Neighbours, nearest, nearest_several

HISTOGRAM_BINS = 40
PERCENTILE = 5.0


def _lower_bounds(nb: Neighbours, column: int = 0) -> np.ndarray:
    """The exact distance where known, else the proven lower bound."""
    dist = nb.dist[:, column]
    return np.where(dist <= nb.floor, dist, np.maximum(nb.floor, 0.0))


def percentile_with_ci(values: np.ndarray, q: float) -> tuple[float, float | None]:
    """The q-th percentile and the half-width of its 95% distribution-free interval
    (binomial order statistics)."""
    n = len(values)
    ordered = np.sort(values)
    value = float(np.percentile(ordered, q))
    if n < 20:
        return value, None
    p = q / 100.0
    spread = 1.96 * math.sqrt(n * p * (1 - p))
    lo = ordered[max(math.floor(n * p - spread), 0)]
    hi = ordered[min(math.ceil(n * p + spread), n - 1)]
    return value, float(hi - lo) / 2.0


def _histogram(series: dict[str, np.ndarray]) -> dict[str, Any]:
    everything = np.concatenate([v for v in series.values() if len(v)])
    top = float(np.percentile(everything, 99)) if len(everything) else 1.0
    edges = np.linspace(0.0, max(top, 1e-9), HISTOGRAM_BINS + 1)
    out: dict[str, Any] = {"edges": edges.tolist()}
    for name, values in series.items():
        counts = np.histogram(np.minimum(values, edges[-1]), bins=edges)[0]
        out[name] = (counts / max(len(values), 1)).tolist()
    return out


@dataclass(frozen=True)
class DistanceSample:
    """The full reference (encoded on demand), a seeded sample of synthetic rows and one
    of holdout rows, encoded alike for distances (cached in the audit context)."""

    encoding: DistanceEncoding
    synthetic_rows: np.ndarray
    holdout_rows: np.ndarray | None


@dataclass(frozen=True)
class ClosestRecords:
    """The distance sample's nearest reference records, shared by the distance figures
    and ``privacy.near_copy_rate`` (cached in the audit context)."""

    encoding: DistanceEncoding
    synthetic_rows: int
    synthetic_to_reference: Neighbours
    holdout_to_reference: Neighbours | None


def distance_rows(ctx: AuditContext) -> tuple[np.ndarray, np.ndarray | None]:
    """The seeded samples of synthetic and holdout rows (cached): the distance figures
    encode them whole, the attacks encode only the columns each reads."""
    if "distance_rows" not in ctx.cache:
        cfg = ctx.config
        syn_rows = seeded_rows(ctx.data.n_synthetic, cfg.distance_sample_rows, cfg.seed, "dcr.syn")
        hold_rows = None
        if ctx.has_holdout:
            hold_rows = seeded_rows(
                ctx.data.n_holdout, cfg.distance_sample_rows, cfg.seed, "dcr.hold"
            )
        ctx.cache["distance_rows"] = syn_rows, hold_rows
    return ctx.cache["distance_rows"]


def distance_sample(ctx: AuditContext) -> DistanceSample:
    if "distance_sample" not in ctx.cache:
        syn_rows, hold_rows = distance_rows(ctx)
        # The reference is encoded a range of rows at a time as the search reads it
        # (``neighbours.nearest``): held whole it would set the audit's peak memory.
        enc = encode_for_distance(ctx.data, syn_rows, hold_rows, reference_on_demand=True)
        ctx.cache["distance_sample"] = DistanceSample(enc, syn_rows, hold_rows)
    return ctx.cache["distance_sample"]


def closest_records(ctx: AuditContext) -> ClosestRecords:
    """Distances from the sampled synthetic rows (and holdout rows) to the full
    reference: the two nearest for synthetic rows, the nearest for holdout rows."""
    if "closest_records" not in ctx.cache:
        sample = distance_sample(ctx)
        enc = sample.encoding
        searches = [(enc.synthetic, min(2, len(enc.reference)))]
        if enc.holdout is not None and len(enc.holdout):
            searches.append((enc.holdout, 1))
        found = None
        if ctx.reference_search is not None:
            # The reference's stored file searched elsewhere (a Dask cluster): the same
            # exact distances, or None when that failed.
            layout = search_layout(ctx.data, enc.categorical, enc.numeric)
            found = ctx.reference_search(searches, layout)
        if found is None:
            # One pass over the reference's ranges serves both searches.
            found = nearest_several(searches, enc.reference)
        to_real, *holdout = found
        holdout_to_real = holdout[0] if holdout else None
        ctx.cache["closest_records"] = ClosestRecords(
            enc, len(sample.synthetic_rows), to_real, holdout_to_real
        )
    return ctx.cache["closest_records"]


def lower_bounds(nb: Neighbours, column: int = 0) -> np.ndarray:
    """The exact distance where known, else the proven lower bound."""
    return _lower_bounds(nb, column)


def distances(ctx: AuditContext) -> list[MetricResult]:
    if not ctx.audited_columns:
        reason = "no columns usable for distances"
        return [
            skipped("privacy.dcr_closer_to_training_share", "closer_to", reason, target=0.5),
            skipped("privacy.dcr_p05_ratio", "higher", reason),
            skipped("privacy.nndr_p05", "higher", reason),
        ]
    found = closest_records(ctx)
    enc, to_real = found.encoding, found.synthetic_to_reference
    common = {"sample_size": found.synthetic_rows, "population": ctx.data.n_synthetic}
    results = [_nndr(to_real, enc, common)]
    if enc.holdout is None or len(enc.holdout) == 0:
        reason = "needs a real holdout dataset"
        results.insert(0, skipped("privacy.dcr_p05_ratio", "higher", reason, **common))
        results.insert(
            0,
            skipped(
                "privacy.dcr_closer_to_training_share", "closer_to", reason, target=0.5, **common
            ),
        )
        return results
    holdout_to_real = found.holdout_to_reference
    share = _closer_to_training(ctx, enc, common)
    ratio = _p05_ratio(to_real, holdout_to_real, enc, common)
    return [share, ratio, *results]


def _p05_ratio(to_real: Neighbours, holdout_to_real: Neighbours, enc, common) -> MetricResult:
    p = enc.n_columns
    syn = _lower_bounds(to_real) / p
    hold = _lower_bounds(holdout_to_real) / p
    syn_p05, syn_hw = percentile_with_ci(syn, PERCENTILE)
    hold_p05, hold_hw = percentile_with_ci(hold, PERCENTILE)
    details = {
        "synthetic_p05": syn_p05,
        "holdout_p05": hold_p05,
        "holdout_rows": len(hold),
        "censored_synthetic": int((~to_real.exact).sum()),
        "histogram": _histogram({"synthetic": syn, "holdout": hold}),
        "distance": "mean per-column difference (0..1)",
    }
    if hold_p05 <= 0:
        return skipped(
            "privacy.dcr_p05_ratio",
            "higher",
            "the holdout's 5th-percentile distance to the reference is 0 (the real data "
            "repeats records), so the ratio is undefined",
            details=details,
            **common,
        )
    ratio = syn_p05 / hold_p05
    uncertainty = None
    if syn_hw is not None and hold_hw is not None and syn_p05 > 0:
        uncertainty = ratio * math.sqrt((syn_hw / syn_p05) ** 2 + (hold_hw / hold_p05) ** 2)
    finding = None
    if ratio < 0.8:
        finding = (
            f"The closest 5% of synthetic rows sit {1 - ratio:.0%} closer to real records than "
            "unseen real records do."
        )
    return MetricResult(
        key="privacy.dcr_p05_ratio",
        value=ratio,
        direction="higher",
        details=details,
        uncertainty=uncertainty,
        finding=finding,
        **common,
    )


def _closer_to_training(ctx: AuditContext, enc: DistanceEncoding, common) -> MetricResult:
    """Share of synthetic rows closer to the training data than to the holdout, with the
    training data subsampled to the holdout's size so that 0.5 is the ideal."""
    size = min(len(enc.reference), len(enc.holdout))
    train_rows = seeded_rows(len(enc.reference), size, ctx.config.seed, "dcr.train_equal")
    hold_rows = seeded_rows(len(enc.holdout), size, ctx.config.seed, "dcr.hold_equal")
    training: EncodedTable = enc.reference.take(train_rows)
    holdout: EncodedTable = enc.holdout.take(hold_rows)
    to_train = nearest(enc.synthetic, training, k=1)
    to_hold = nearest(enc.synthetic, holdout, k=1)
    t_lo, t_hi = _interval(to_train)
    h_lo, h_hi = _interval(to_hold)
    closer_train = t_hi < h_lo
    closer_hold = h_hi < t_lo
    tied = (t_hi == t_lo) & (h_hi == h_lo) & (t_hi == h_hi)
    undetermined = ~closer_train & ~closer_hold & ~tied
    n = len(t_lo)
    share = (closer_train.sum() + 0.5 * (tied.sum() + undetermined.sum())) / n
    p = enc.n_columns
    details = {
        "closer_to_training": int(closer_train.sum()),
        "closer_to_holdout": int(closer_hold.sum()),
        "ties": int(tied.sum()),
        "undetermined_far_records": int(undetermined.sum()),
        "reference_rows_compared": size,
        "histogram": _histogram({"to_training": t_lo / p, "to_holdout": h_lo / p}),
    }
    finding = None
    if share > 0.6:
        finding = (
            f"{share:.0%} of synthetic rows are closer to the training data than to unseen "
            "real data (50% is expected)."
        )
    return MetricResult(
        key="privacy.dcr_closer_to_training_share",
        value=float(share),
        direction="closer_to",
        target=0.5,
        details=details,
        uncertainty=proportion_ci(share * n, n),
        finding=finding,
        **common,
    )


def _interval(nb: Neighbours) -> tuple[np.ndarray, np.ndarray]:
    dist = nb.dist[:, 0]
    known = dist <= nb.floor
    return np.where(known, dist, nb.floor), dist


def _nndr(to_real: Neighbours, enc: DistanceEncoding, common) -> MetricResult:
    if to_real.dist.shape[1] < 2:
        return skipped("privacy.nndr_p05", "higher", "the reference has a single record")
    # A far (censored) record whose neighbours were not found is given its proven bound:
    # it is at least that far from every real record, so it singles out nobody.
    d1 = np.where(np.isfinite(to_real.dist[:, 0]), to_real.dist[:, 0], to_real.floor)
    d2 = np.where(np.isfinite(to_real.dist[:, 1]), to_real.dist[:, 1], to_real.floor)
    d2 = np.maximum(d1, d2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(d2 > 0, d1 / d2, 1.0)  # two real records at 0: nobody singled out
    value, half_width = percentile_with_ci(ratio, PERCENTILE)
    dcr = _lower_bounds(to_real) / enc.n_columns
    return MetricResult(
        key="privacy.nndr_p05",
        value=value,
        direction="higher",
        details={
            "histogram": _histogram({"nndr": ratio}),
            "dcr_histogram": _histogram({"synthetic": dcr}),
            "dcr_p05": float(np.percentile(dcr, PERCENTILE)),
            "dcr_median": float(np.median(dcr)),
            "censored": int((~to_real.exact).sum()),
            "distance_columns": {"categorical": enc.categorical, "numeric": enc.numeric},
        },
        uncertainty=half_width,
        **common,
    )
