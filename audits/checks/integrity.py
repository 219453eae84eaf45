"""Integrity: the stored file's hash, duplicates, values outside the reference's domain,
and whether the reference has the same schema. All on every row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audits.checks.base import ColumnSpec, MetricResult, seeded_rows, share_text, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import MISSING_CODE, numeric_values, present_range
from audits.checks.sources import as_source, read_column

PARSEABLE_SHARE = 0.99
SCHEMA_SAMPLE_ROWS = 100_000
# Why the row-hash figures (duplicates here, exact copies in ``privacy``) are skipped
# when no column is left to hash.
NO_HASHED_COLUMNS = "every column is an identifier: no values to compare rows on"


def hash_verified(facts: dict[str, Any]) -> MetricResult:
    key = "integrity.hash_verified"
    verified = facts.get("hash_verified")
    if verified is None:
        return skipped(key, "higher", "the registry did not verify the stored file's hash")
    return MetricResult(
        key=key,
        value=1.0 if verified else 0.0,
        direction="higher",
        details={"hash_verified": bool(verified)},
        finding=None
        if verified
        else "The stored file no longer matches its SHA-256 hash: it may have been altered.",
    )


def duplicate_rate(ctx: AuditContext) -> list[MetricResult]:
    """Share of synthetic rows repeating an earlier synthetic row (identifiers ignored).
    Skipped when every column is an identifier (no values to compare rows on)."""
    if not ctx.data.columns:
        return [skipped("integrity.duplicate_rate", "lower", NO_HASHED_COLUMNS)]
    counts = ctx.row_hash_counts()
    n = counts.synthetic_rows
    duplicates = n - counts.synthetic_distinct
    real_rate = (counts.real_rows - counts.real_distinct) / max(counts.real_rows, 1)
    return duplicate_result(n, duplicates, real_rate)


def duplicate_result(n: int, duplicates: int, real_rate: float) -> list[MetricResult]:
    """``integrity.duplicate_rate`` from its counts (also computed from partial states,
    ``audits.checks.partitioned``)."""
    rate = duplicates / n
    finding = None
    if rate > real_rate + 0.01:
        finding = (
            f"{share_text(rate)} of synthetic rows are duplicates (real data: {real_rate:.1%})."
        )
    return [
        MetricResult(
            key="integrity.duplicate_rate",
            value=rate,
            direction="lower",
            details={"duplicates": duplicates, "real_duplicate_rate": real_rate},
            sample_size=n,
            population=n,
            finding=finding,
        )
    ]


def out_of_domain_rate(ctx: AuditContext) -> list[MetricResult]:
    """Share of synthetic rows with a category unseen in the reference, or a number or
    date outside the reference's [min, max]. Missing values are not out of domain."""
    n = ctx.data.n_synthetic
    outside = np.zeros(n, dtype=bool)
    per_column: dict[str, float] = {}
    for col in ctx.audited_columns:
        # One read of each array (a read decodes the stored column anew).
        if col.is_numeric:
            real = present_range(col.real)
            if real is None:
                continue
            synthetic = col.synthetic
            with np.errstate(invalid="ignore"):
                bad = (synthetic < real[0]) | (synthetic > real[1])
        else:
            synthetic = col.synthetic
            bad = (synthetic >= col.n_reference_categories) & (synthetic != MISSING_CODE)
        per_column[col.spec.name] = float(bad.mean()) if n else 0.0
        outside |= bad
    return out_of_domain_result(n, per_column, float(outside.mean()) if n else 0.0)


def out_of_domain_result(n: int, per_column: dict[str, float], rate: float) -> list[MetricResult]:
    """``integrity.out_of_domain_rate`` from its shares (also merged from pieces of the
    stored files, ``audits.checks.partitioned``)."""
    finding = None
    if rate > 0:
        worst = max(per_column, key=per_column.get)
        finding = (
            f"{share_text(rate)} of synthetic rows hold a value never seen in the reference "
            f"(most often in '{worst}')."
        )
    return [
        MetricResult(
            key="integrity.out_of_domain_rate",
            value=rate,
            direction="lower",
            details={"columns": per_column},
            sample_size=n,
            population=n,
            finding=finding,
        )
    ]


def _fits_type(series: pd.Series, spec: ColumnSpec) -> bool:
    present = series.dropna()
    if present.empty or spec.type in ("categorical", "id", "text"):
        return True
    if spec.type == "boolean":
        return present.astype(str).str.lower().nunique() <= 2
    values = numeric_values(present, spec.type)
    return bool(np.mean(~np.isnan(values)) >= PARSEABLE_SHARE)


def schema_facts(ctx: AuditContext) -> tuple[list[str], list[str], int]:
    """(extra reference columns, columns whose reference values do not fit their type,
    reference rows checked), read from the raw reference once (the runner calls this
    before it releases the frames) and cached."""
    if "schema_facts" not in ctx.cache:
        specs = ctx.config.columns
        real = as_source(ctx.real, copy=False)
        extra = sorted(set(real.columns) - {s.name for s in specs}, key=str)
        rows = seeded_rows(real.num_rows, SCHEMA_SAMPLE_ROWS, ctx.config.seed, "schema")
        # One column at a time: the sample's rows of each column, the rest let go.
        mismatched = [
            s.name for s in specs if not _fits_type(read_column(real, s.name).iloc[rows], s)
        ]
        ctx.cache["schema_facts"] = (extra, mismatched, len(rows))
    extra, mismatched, rows_checked = ctx.cache["schema_facts"]
    return list(extra), list(mismatched), rows_checked


def schema_matches_reference(ctx: AuditContext) -> list[MetricResult]:
    """1 when the reference has exactly the synthetic data's columns and every column's
    reference values fit its declared type; otherwise the share of columns that do.
    Types are checked on a seeded sample of up to 100,000 reference rows."""
    specs = ctx.config.columns
    extra, mismatched, rows_checked = schema_facts(ctx)
    total = len(specs) + len(extra)
    value = (len(specs) - len(mismatched)) / total if total else 1.0
    finding = None
    if value < 1:
        problems = [f"type differs for {', '.join(mismatched)}"] if mismatched else []
        if extra:
            problems.append(f"reference has extra columns {', '.join(map(str, extra))}")
        finding = "The reference schema does not match: " + "; ".join(problems) + "."
    return [
        MetricResult(
            key="integrity.schema_matches_reference",
            value=value,
            direction="higher",
            details={
                "type_mismatches": mismatched,
                "extra_reference_columns": extra,
                "reference_rows_checked": rows_checked,
            },
            finding=finding,
        )
    ]


def _hash_step(ctx: AuditContext) -> list[MetricResult]:
    return [hash_verified(ctx.registry_facts)]


STEPS: list[Step] = [
    ("Integrity: stored file hash", _hash_step),
    ("Integrity: schema against the reference", schema_matches_reference),
    ("Integrity: duplicate rows", duplicate_rate),
    ("Integrity: values outside the reference domain", out_of_domain_rate),
]
