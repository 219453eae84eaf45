"""Privacy and re-identification: copies, linkage, attribute disclosure on every row;
distances to the closest record on a seeded sample of synthetic rows against the full
reference (see ``privacy_distance``)."""

from __future__ import annotations

import numpy as np

from audits.checks.base import MetricResult, share_text, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import MISSING_CODE, PreparedColumn, combine_hashes, row_hashes
from audits.checks.hashcount import distinct_count, member_mask_sorted, sorted_counts
from audits.checks.integrity import NO_HASHED_COLUMNS
from audits.checks.privacy_distance import distances

DISCLOSURE_BINS = 10


def exact_match_rate(ctx: AuditContext) -> list[MetricResult]:
    """Share of synthetic rows equal to some real row on every non-identifier column.
    Skipped when every column is an identifier (as ``integrity.duplicate_rate``)."""
    if not ctx.data.columns:
        return [skipped("privacy.exact_match_rate", "lower", NO_HASHED_COLUMNS)]
    counts = ctx.row_hash_counts()
    return exact_match_result(counts.synthetic_rows, counts.copies, list(ctx.data.columns))


def exact_match_result(n: int, copies: int, columns: list[str]) -> list[MetricResult]:
    """``privacy.exact_match_rate`` from its counts (also computed from partial states,
    ``audits.checks.partitioned``)."""
    rate = copies / n
    finding = None
    if copies:
        finding = (
            f"{share_text(rate)} of synthetic rows ({copies} of {n}) are exact copies of real rows."
        )
    return [
        MetricResult(
            key="privacy.exact_match_rate",
            value=rate,
            direction="lower",
            details={"copies": copies, "columns": columns},
            sample_size=n,
            population=n,
            finding=finding,
        )
    ]


def _key_hashes(columns: list[PreparedColumn], frame: str) -> np.ndarray:
    return row_hashes(columns, frame)


def linkage_risk(ctx: AuditContext) -> list[MetricResult]:
    """Share of synthetic rows whose quasi-identifier combination occurs exactly once in
    the real data (so it singles out one real person)."""
    key = "privacy.linkage_risk"
    if not ctx.config.quasi_identifiers:
        return [skipped(key, "lower", "no quasi-identifier columns are named")]
    columns = [ctx.column(name) for name in ctx.config.quasi_identifiers]
    real_keys, real_counts = sorted_counts(_key_hashes(columns, "real"))
    unique_real = real_keys[real_counts == 1]
    synthetic = np.sort(_key_hashes(columns, "synthetic"))
    linked = synthetic[member_mask_sorted(synthetic, unique_real)]
    real_unique_share = float(len(unique_real) / max(ctx.data.n_real, 1))
    return linkage_result(
        list(ctx.config.quasi_identifiers),
        len(synthetic),
        len(linked),
        distinct_count(linked),
        real_unique_share,
    )


def linkage_result(
    quasi_identifiers: list[str], n: int, count: int, people: int, real_unique_share: float
) -> list[MetricResult]:
    """``privacy.linkage_risk`` from its counts (also computed from partial states,
    ``audits.checks.partitioned``)."""
    key = "privacy.linkage_risk"
    rate = count / n
    finding = None
    if count:
        finding = (
            f"{share_text(rate)} of synthetic rows match a quasi-identifier combination that "
            f"is unique in the real data, singling out {people} real people."
        )
    return [
        MetricResult(
            key=key,
            value=rate,
            direction="lower",
            details={
                "quasi_identifiers": quasi_identifiers,
                "linked_synthetic_rows": count,
                "real_people_singled_out": people,
                "real_unique_share": real_unique_share,
            },
            sample_size=n,
            population=n,
            finding=finding,
        )
    ]


def _disclosure_codes(col: PreparedColumn, frame: str) -> np.ndarray:
    """Codes as DisclosureProtection sees them: numbers in 10 equal-width bins of the real
    range (outer bins open-ended), missing values as their own category."""
    values = getattr(col, frame)
    if not col.is_numeric:
        return values.astype(np.int64)
    real = col.real
    real = real[~np.isnan(real)]
    low, high = (real.min(), real.max()) if real.size else (0.0, 0.0)
    inner = np.linspace(low, high, DISCLOSURE_BINS + 1)[1:-1]
    binned = np.searchsorted(inner, values, side="left").astype(np.int64)
    return np.where(np.isnan(values), MISSING_CODE, binned)


def _cap_protection(ctx: AuditContext, sensitive: str) -> tuple[float | None, float, int]:
    """(CAP protection, baseline protection, real rows attacked) for one sensitive column."""
    known = [ctx.column(name) for name in ctx.config.quasi_identifiers]
    target = ctx.column(sensitive)
    sizes = {"real": ctx.data.n_real, "synthetic": ctx.data.n_synthetic}

    def key(frame: str) -> np.ndarray:
        # Each column's codes are mixed in as they are made (one column held at a time).
        parts = (_disclosure_codes(c, frame).astype(np.uint64) for c in known)
        return combine_hashes(parts, sizes[frame])

    def pair(known_key: np.ndarray, frame: str) -> np.ndarray:
        return combine_hashes([known_key, _sensitive_codes(target, frame)], sizes[frame])

    # Each array is dropped once the later steps no longer read it: at 10M rows each
    # is 80 MB and this step held a dozen of them at once.
    syn_key = key("synthetic")
    syn_pair = pair(syn_key, "synthetic")
    key_values, key_counts = sorted_counts(syn_key)
    del syn_key
    pair_values, pair_counts = sorted_counts(syn_pair)
    del syn_pair
    real_key = key("real")
    real_pair = pair(real_key, "real")
    matched = _lookup(key_values, key_counts, real_key)
    del real_key, key_values, key_counts
    attacked = matched > 0
    correct = _lookup(pair_values, pair_counts, real_pair)
    del real_pair, pair_values, pair_counts
    baseline = 1.0 - 1.0 / distinct_count(_sensitive_codes(target, "real"))
    if not attacked.any():
        return None, baseline, 0
    score = (correct[attacked] / matched[attacked]).mean()
    return float(1.0 - score), baseline, int(attacked.sum())


def _sensitive_codes(target: PreparedColumn, frame: str) -> np.ndarray:
    return _disclosure_codes(target, frame).astype(np.uint64)


def _lookup(keys: np.ndarray, counts: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[pos] == wanted, counts[pos], 0).astype(np.float64)


def attribute_disclosure(ctx: AuditContext) -> list[MetricResult]:
    """SDMetrics DisclosureProtection (CAP): the quasi-identifiers are what an attacker
    knows, each sensitive column what they guess; the value is the worst column's."""
    key = "privacy.attribute_disclosure"
    if not ctx.config.quasi_identifiers or not ctx.config.sensitive:
        return [skipped(key, "higher", "needs quasi-identifier and sensitive columns")]
    per_column = {}
    for name in ctx.config.sensitive:
        cap, baseline, attacked = _cap_protection(ctx, name)
        score = None if cap is None or baseline == 0 else min(cap / baseline, 1.0)
        per_column[name] = {
            "score": score,
            "cap_protection": cap,
            "baseline_protection": baseline,
            "real_rows_attacked": attacked,
        }
    scores = [v["score"] for v in per_column.values() if v["score"] is not None]
    if not scores:
        return [
            skipped(
                key,
                "higher",
                "no real record's known values occur in the synthetic "
                "data, or the sensitive column has a single value",
                details=per_column,
            )
        ]
    value = min(scores)
    finding = None
    if value < 0.5:
        finding = (
            f"Known quasi-identifiers let an attacker guess a sensitive value well: "
            f"disclosure protection is {value:.2f} (1 = no better than chance)."
        )
    n = ctx.data.n_synthetic
    return [
        MetricResult(
            key=key,
            value=value,
            direction="higher",
            details={
                "known_columns": list(ctx.config.quasi_identifiers),
                "sensitive_columns": per_column,
                "method": "CAP",
                "numeric_bins": DISCLOSURE_BINS,
            },
            sample_size=n,
            population=n,
            finding=finding,
        )
    ]


STEPS: list[Step] = [
    ("Privacy: exact copies", exact_match_rate),
    ("Privacy: quasi-identifier linkage", linkage_risk),
    ("Privacy: attribute disclosure", attribute_disclosure),
    ("Privacy: distances to closest records", distances),
]
