"""Utility: train on synthetic, test on real (TSTR), against train on real."""

from __future__ import annotations

import numpy as np

from audits.checks.base import MetricResult, seeded_rows, skipped
from audits.checks.context import AuditContext
from audits.checks.encoding import MISSING_CODE
from audits.checks.model_validation import split_real as _split_real
from audits.checks.model_validation import trained
from audits.checks.models import feature_matrix, train_and_evaluate

KEY = "utility.tstr_ratio"
MIN_ROWS = 20


def _score(task: str, y: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score, r2_score

    if task == "regression":
        return float(r2_score(y, predicted))
    return float(f1_score(y, predicted, average="macro", zero_division=0))


def tstr_ratio(ctx: AuditContext) -> list[MetricResult]:
    target = ctx.config.target
    if target is None:
        return [skipped(KEY, "higher", "no target column is set")]
    target_col = ctx.column(target)
    task = "regression" if target_col.is_numeric else "classification"
    real_train, test_rows, test_source = _split_real(ctx, ctx.config.utility_sample_rows)
    syn_rows = seeded_rows(ctx.data.n_synthetic, len(real_train), ctx.config.seed, "utility.syn")
    features = [c for c in ctx.audited_columns if c.spec.name != target]
    if not features or len(real_train) < MIN_ROWS or len(test_rows) < MIN_ROWS:
        return [skipped(KEY, "higher", "too few rows or no feature columns to train a model")]
    test_frame = "holdout" if test_source == "holdout" else "real"

    def xy(frame: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, _ = feature_matrix(features, frame, rows)
        y = getattr(target_col, frame)[rows]
        keep = ~np.isnan(y) if task == "regression" else y != MISSING_CODE
        return x[keep], y[keep]

    shared = trained(ctx) if test_source == "holdout" else None
    if shared is not None and shared.reason is None:
        # The model validation figures trained this same model on the same rows: reuse
        # its predictions, so the ratio and the AUC / R² figures come from one model.
        real_score, syn_score = (
            _score(task, shared.y_test, shared.fits[("hist_gradient_boosting", source)].predicted)
            for source in ("real", "synthetic")
        )
    else:
        _, categorical = feature_matrix(features, "real", real_train[:1])
        test = xy(test_frame, test_rows)
        options = {"task": task, "seed": ctx.config.seed}
        real_score = train_and_evaluate(xy("real", real_train), test, categorical, **options)
        syn_score = train_and_evaluate(xy("synthetic", syn_rows), test, categorical, **options)
        shared = None
    details = {
        "task": task,
        "score": "macro F1" if task == "classification" else "R²",
        "model": "HistGradientBoosting",
        "train_on_real": real_score,
        "train_on_synthetic": syn_score,
        "test_rows": len(shared.y_test) if shared else len(test[1]),
        "test_data": test_source,
        "train_rows": len(real_train),
    }
    if real_score <= 0:
        return [
            skipped(KEY, "higher", "a model trained on real data scores 0 or less", details=details)
        ]
    value = syn_score / real_score
    finding = None
    if value < 0.9:
        finding = (
            f"A model trained on synthetic data scores {value:.0%} of one trained on real data."
        )
    return [
        MetricResult(
            key=KEY,
            value=value,
            direction="higher",
            details=details,
            sample_size=len(syn_rows),
            population=ctx.data.n_synthetic,
            finding=finding,
        )
    ]
