"""Quality and fidelity: SDMetrics reports, coverage, detection and utility."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from audits.checks.base import MetricResult, seeded_rows, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import MISSING_CODE, PreparedColumn
from audits.checks.models import feature_matrix, fit_and_score
from audits.checks.shapes import category_coverage, distribution, range_coverage
from audits.checks.utility import tstr_ratio

SDMETRICS_SDTYPES = {
    "numerical": "numerical",
    "datetime": "datetime",
    "categorical": "categorical",
    # Booleans are compared exactly like categories (TVComplement, contingency tables).
    "boolean": "categorical",
}


def _sdmetrics_frame(columns: list[PreparedColumn], frame: str, rows: np.ndarray) -> pd.DataFrame:
    data = {}
    for col in columns:
        values = col.read_rows(frame, rows)
        if col.spec.type == "datetime":
            data[col.spec.name] = pd.to_datetime(values * 1e9, unit="ns")
        elif col.is_numeric:
            data[col.spec.name] = values
        else:
            labels = np.array([*col.categories, None], dtype=object)
            data[col.spec.name] = labels[np.where(values == MISSING_CODE, -1, values)]
    return pd.DataFrame(data)


def _domain_rows(columns: list[PreparedColumn]) -> np.ndarray:
    """Rows holding the first occurrence of each real category and each column's real
    minimum and maximum."""
    rows = []
    for col in columns:
        values = col.real
        if col.is_numeric:
            if np.isnan(values).all():
                continue
            rows += [int(np.nanargmin(values)), int(np.nanargmax(values))]
        else:
            rows += np.unique(values, return_index=True)[1].tolist()
    return np.array(sorted(set(rows)), dtype=np.int64)


def _sdmetrics_uncertainty(n: int) -> float:
    # The 95% two-sample Kolmogorov-Smirnov bound for samples of n rows: how far a
    # distribution statistic computed on the sample may sit from the one on all rows.
    return 1.36 * math.sqrt(2.0 / n)


def sdmetrics_reports(ctx: AuditContext) -> list[MetricResult]:
    from sdmetrics.reports import DiagnosticReport, QualityReport

    columns = [c for c in ctx.audited_columns if c.spec.type in SDMETRICS_SDTYPES]
    limit = ctx.config.sdmetrics_sample_rows
    real_rows = seeded_rows(ctx.data.n_real, limit, ctx.config.seed, "sdmetrics.real")
    syn_rows = seeded_rows(ctx.data.n_synthetic, limit, ctx.config.seed, "sdmetrics.synthetic")
    real = _sdmetrics_frame(columns, "real", real_rows)
    synthetic = _sdmetrics_frame(columns, "synthetic", syn_rows)
    # Validity compares synthetic values with the real categories and bounds, so its real
    # sample also gets the rows holding every category and every extreme value.
    domain_rows = np.union1d(real_rows, _domain_rows(columns))
    real_domain = _sdmetrics_frame(columns, "real", domain_rows)
    table = "dataset"
    columns_meta = {c.spec.name: {"sdtype": SDMETRICS_SDTYPES[c.spec.type]} for c in columns}
    metadata = {"tables": {table: {"columns": columns_meta}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = QualityReport()
        quality.generate({table: real}, {table: synthetic}, metadata, verbose=False)
        diagnostic = DiagnosticReport()
        diagnostic.generate({table: real_domain}, {table: synthetic}, metadata, verbose=False)
    sample = {
        "sample_size": len(syn_rows),
        "population": ctx.data.n_synthetic,
        "uncertainty": None
        if len(syn_rows) == ctx.data.n_synthetic and len(real_rows) == ctx.data.n_real
        else _sdmetrics_uncertainty(min(len(syn_rows), len(real_rows))),
    }
    details_common = {"real_sample_rows": len(real_rows), "engine": "sdmetrics"}
    return [
        *_quality_results(ctx, quality, columns, sample, details_common),
        *_diagnostic_results(
            diagnostic, sample, {**details_common, "real_rows_for_validity": len(domain_rows)}
        ),
    ]


def _property_score(report: Any, name: str) -> float | None:
    table = report.get_properties()
    score = table.loc[table["Property"] == name, "Score"]
    value = float(score.iloc[0]) if len(score) else math.nan
    return None if math.isnan(value) else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict(orient="records")


def _quality_results(ctx, quality, columns, sample, common) -> list[MetricResult]:
    shapes = quality.get_details("Column Shapes", "dataset")
    pairs = quality.get_details("Column Pair Trends", "dataset")
    overall = quality.get_score()
    column_charts = {c.spec.name: distribution(c) for c in columns}
    results = [
        MetricResult(
            key="quality.overall",
            value=None if math.isnan(overall) else float(overall),
            direction="higher",
            details={**common, "properties": _records(quality.get_properties())},
            **sample,
        ),
        MetricResult(
            key="quality.column_shapes",
            value=_property_score(quality, "Column Shapes"),
            direction="higher",
            details={**common, "columns": _records(shapes), "distributions": column_charts},
            **sample,
        ),
        MetricResult(
            key="quality.column_pair_trends",
            value=_property_score(quality, "Column Pair Trends"),
            direction="higher",
            details={
                **common,
                **_pair_matrix(pairs, [c.spec.name for c in columns]),
                # SDMetrics scores only pairs related in the real data: a numeric pair
                # whose |correlation| exceeds the first, any other pair whose
                # association (Cramér's V) exceeds the second; the rest have no score.
                "real_correlation_threshold": getattr(quality, "real_correlation_threshold", None),
                "real_association_threshold": getattr(quality, "real_association_threshold", None),
            },
            **sample,
        ),
    ]
    value = results[0].value
    if value is not None:
        results[0].finding = f"Overall quality score is {value:.2f} (SDMetrics, 0 to 1)."
    return results


def _pair_matrix(pairs: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """A symmetric matrix of pair-trend scores for a heatmap (None where SDMetrics
    scored no value for a pair), plus the raw rows.

    The rows are read by column name: the report is generated for a one-table
    dataset, so its details lead with a "Table" column, and reading them by position
    took the table name for "Column 1" and matched no pair (only the diagonal showed)."""
    index = {name: i for i, name in enumerate(names)}
    matrix: list[list[float | None]] = [[None] * len(names) for _ in names]
    for i in range(len(names)):
        matrix[i][i] = 1.0
    for row in pairs.to_dict(orient="records"):
        a, b = index.get(row.get("Column 1")), index.get(row.get("Column 2"))
        score = row.get("Score")
        if a is not None and b is not None and score is not None and not pd.isna(score):
            matrix[a][b] = matrix[b][a] = float(score)
    return {"columns": names, "matrix": matrix, "pairs": _records(pairs)}


def _diagnostic_results(diagnostic, sample, common) -> list[MetricResult]:
    return [
        MetricResult(
            key="quality.validity",
            value=_property_score(diagnostic, "Data Validity"),
            direction="higher",
            details={
                **common,
                "columns": _records(diagnostic.get_details("Data Validity", "dataset")),
            },
            **sample,
        ),
        MetricResult(
            key="quality.structure",
            value=_property_score(diagnostic, "Data Structure"),
            direction="higher",
            details={
                **common,
                "checks": _records(diagnostic.get_details("Data Structure", "dataset")),
            },
            **sample,
        ),
    ]


def coverage(ctx: AuditContext) -> list[MetricResult]:
    """Category and range coverage on every row."""
    n = ctx.data.n_synthetic
    per_category, absent_by_column = {}, {}
    per_range = {}
    for col in ctx.audited_columns:
        if col.is_numeric:
            per_range[col.spec.name] = range_coverage(col)
        else:
            per_category[col.spec.name], absent = category_coverage(col)
            absent_by_column[col.spec.name] = absent[:ABSENT_SHOWN]
    return coverage_results(n, per_category, absent_by_column, per_range)


ABSENT_SHOWN = 50
"""Absent real categories listed per column in ``quality.category_coverage``."""


def coverage_results(
    n: int,
    per_category: dict[str, float | None],
    absent_by_column: dict[str, list[str]],
    per_range: dict[str, float | None],
) -> list[MetricResult]:
    """``quality.category_coverage`` and ``quality.range_coverage`` from each column's
    coverage (also merged from pieces of the stored files, ``audits.checks.partitioned``)."""
    results = []
    cat_values = [v for v in per_category.values() if v is not None]
    if cat_values:
        value = float(np.mean(cat_values))
        absent_total = sum(len(a) for a in absent_by_column.values())
        results.append(
            MetricResult(
                key="quality.category_coverage",
                value=value,
                direction="higher",
                details={"columns": per_category, "absent_categories": absent_by_column},
                sample_size=n,
                population=n,
                finding=None
                if absent_total == 0
                else f"{absent_total} real categories never appear in the synthetic data.",
            )
        )
    else:
        results.append(skipped("quality.category_coverage", "higher", "no categorical columns"))
    range_values = [v for v in per_range.values() if v is not None]
    if range_values:
        results.append(
            MetricResult(
                key="quality.range_coverage",
                value=float(np.mean(range_values)),
                direction="higher",
                details={"columns": per_range},
                sample_size=n,
                population=n,
            )
        )
    else:
        results.append(skipped("quality.range_coverage", "higher", "no numeric or date columns"))
    return results


def detection(ctx: AuditContext) -> list[MetricResult]:
    """Can a classifier tell synthetic rows from real ones? 1 - max(0, 2*AUC - 1)."""
    from sklearn.metrics import roc_auc_score

    limit = min(ctx.config.detection_sample_rows, ctx.data.n_real, ctx.data.n_synthetic)
    real_rows = seeded_rows(ctx.data.n_real, limit, ctx.config.seed, "detection.real")
    syn_rows = seeded_rows(ctx.data.n_synthetic, limit, ctx.config.seed, "detection.synthetic")
    columns = ctx.audited_columns
    x_real, categorical = feature_matrix(columns, "real", real_rows)
    x_syn, _ = feature_matrix(columns, "synthetic", syn_rows)
    x = np.vstack([x_real, x_syn])
    y = np.concatenate([np.zeros(len(x_real)), np.ones(len(x_syn))])
    if len(x_real) < 10:
        return [skipped("quality.detection", "higher", "fewer than 10 rows to train on")]
    scores, y_test = fit_and_score(x, y, categorical, seed=ctx.config.seed, task="proba")
    auc = float(roc_auc_score(y_test, scores))
    value = 1.0 - max(0.0, 2.0 * auc - 1.0)
    return [
        MetricResult(
            key="quality.detection",
            value=value,
            direction="higher",
            details={
                "auc": auc,
                "classifier": "HistGradientBoostingClassifier",
                "rows_per_class": len(x_real),
                "test_rows": len(y_test),
            },
            sample_size=len(syn_rows),
            population=ctx.data.n_synthetic,
            uncertainty=min(1.0, 2.0 * _auc_half_width(auc, y_test)),
            finding=None
            if value >= 0.5
            else f"A classifier tells synthetic from real rows apart (AUC {auc:.2f}).",
        )
    ]


def _auc_half_width(auc: float, y: np.ndarray) -> float:
    # Hanley & McNeil (1982) standard error of the AUC.
    n_pos, n_neg = float((y == 1).sum()), float((y == 0).sum())
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return 1.96 * math.sqrt(max(var, 0.0))


STEPS: list[Step] = [
    ("Quality: SDMetrics quality and diagnostic reports", sdmetrics_reports),
    ("Quality: category and range coverage", coverage),
    ("Quality: detection classifier", detection),
    ("Quality: train on synthetic, test on real", tstr_ratio),
]
