"""Model validation: the same models trained on synthetic and on real data, tested on the
real holdout, overall, per group and for fairness.

Two seeded scikit-learn models are trained once on a seeded sample of the synthetic data
and once on as many real training rows: a gradient-boosted tree model
(HistGradientBoosting, the same model and rows as ``utility.tstr_ratio``) and an
L2-regularised logistic regression (one-hot categories, standardised numbers; linear
regression with the same penalty, ridge, for a numerical target). Both are tested on
the same seeded sample of the real holdout. Headline figures are the gradient-boosted
model's; the logistic regression's are in every figure's details.

Intervals: the value ± half the 95% percentile range of a bootstrap over the holdout
test rows (``BOOTSTRAP`` seeded replicates, the models held fixed); when the models
were trained on a sample of the training data, the half-width is widened by
sqrt(1 + test rows / training rows) to allow for the training sample's own noise.
Groups are each protected attribute (numbers cut at the real data's quintiles, as in the
fairness family) and the pairwise intersections;
groups with fewer than ``MIN_GROUP_ROWS`` holdout test rows (or, for rates, that many
positives / negatives) are left out and listed in details.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from audits.checks.base import MetricResult, rng_for, seeded_rows, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import MISSING_CODE, PreparedColumn
from audits.checks.fairness import attribute, positive_outcome
from audits.checks.groups import intersection_labels
from audits.checks.models import _model, feature_matrix

MIN_ROWS = 20
MIN_GROUP_ROWS = 30
BOOTSTRAP = 200
IMPORTANCE_ROWS = 5_000
IMPORTANCE_REPEATS = 3
CALIBRATION_BINS = 10
LOGISTIC_C = 1.0
CACHE_KEY = "model_validation"
MODELS = ("hist_gradient_boosting", "logistic_regression")
MODEL_TITLES = {
    "hist_gradient_boosting": "gradient-boosted trees (HistGradientBoosting)",
    "logistic_regression": "regularised logistic regression",
}
UTILITY_KEYS = {
    "utility.tstr_auc": "higher",
    "utility.trtr_auc": "higher",
    "utility.tstr_r2": "higher",
    "utility.trtr_r2": "higher",
    "utility.group_performance_gap": "lower",
    "utility.feature_importance_agreement": "higher",
    "utility.calibration_gap": "lower",
}
FAIRNESS_KEYS = {
    "fairness.model_equalized_odds_difference": "lower",
    "fairness.model_equal_opportunity_difference": "lower",
    "fairness.model_amplification": "lower",
}
# A widened gap this large (10 points of TPR/FPR) is reported as a finding.
AMPLIFICATION_FINDING = 0.05


def split_real(ctx: AuditContext, limit: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Real rows to train on, and the real rows to test on (from the holdout when there
    is one, else a disjoint 30% of the reference)."""
    seed = ctx.config.seed
    if ctx.has_holdout and ctx.data.n_holdout >= MIN_ROWS:
        train = seeded_rows(ctx.data.n_real, limit, seed, "utility.real")
        test = seeded_rows(ctx.data.n_holdout, limit, seed, "utility.holdout")
        return train, test, "holdout"
    rows = rng_for(seed, "utility.split").permutation(ctx.data.n_real)
    rows = rows[: min(len(rows), int(limit / 0.7))]
    cut = int(len(rows) * 0.7)
    return np.sort(rows[:cut]), np.sort(rows[cut:]), "reference"


# --- training ----------------------------------------------------------------------------


@dataclass
class Fitted:
    """One model trained on one source, and its predictions on the test rows."""

    model: Any
    predicted: np.ndarray  # class codes (classification) or values (regression)
    score: np.ndarray | None  # probability of the positive outcome (classification)
    seconds: float


@dataclass
class Trained:
    """Everything the model-validation figures read; ``reason`` says why they cannot be
    computed (then the rest is empty)."""

    reason: str | None = None
    task: str = ""
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None  # class codes or values
    positive: np.ndarray | None = None  # 1.0 where the test row has the positive outcome
    categorical: np.ndarray | None = None
    features: list[str] = field(default_factory=list)
    fits: dict[tuple[str, str], Fitted] = field(default_factory=dict)  # (model, source)
    test_rows: np.ndarray | None = None  # holdout row numbers kept
    train_rows: int = 0
    synthetic_rows: int = 0
    sampled: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)
    test_source: str = ""


def _logistic(task: str, categorical: np.ndarray, seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = np.flatnonzero(categorical).tolist()
    nums = np.flatnonzero(~categorical).tolist()
    parts = []
    if cats:
        parts.append(
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=-1.0),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                cats,
            )
        )
    if nums:
        parts.append(
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)
        )
    prepare = ColumnTransformer(parts, sparse_threshold=1.0)
    if task == "regression":
        return make_pipeline(prepare, Ridge(alpha=1.0 / LOGISTIC_C))
    return make_pipeline(prepare, LogisticRegression(C=LOGISTIC_C, max_iter=300, random_state=seed))


def _fit(name: str, task: str, train, x_test, categorical, seed: int, positive_code) -> Fitted:
    x, y = train
    started = time.perf_counter()
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        if task == "classification" and len(np.unique(y)) < 2:
            # A training set with a single class predicts that class.
            only = y[0] if len(y) else -1
            predicted = np.full(len(x_test), only)
            score = np.full(len(x_test), 1.0 if only == positive_code else 0.0)
            return Fitted(None, predicted, score, time.perf_counter() - started)
        if name == "hist_gradient_boosting":
            model = _model(task, categorical, seed)
        else:
            model = _logistic(task, categorical, seed)
        model.fit(x, y)
        predicted = model.predict(x_test)
        score = None
        if task == "classification":
            score = _positive_score(model, x_test, positive_code)
    return Fitted(model, predicted, score, time.perf_counter() - started)


def _positive_score(model, x: np.ndarray, positive_code) -> np.ndarray:
    classes = list(model.classes_)
    if positive_code not in classes:
        return np.zeros(len(x))
    return model.predict_proba(x)[:, classes.index(positive_code)]


def trained(ctx: AuditContext) -> Trained:
    """Train (once per audit, cached) both models on synthetic and on real data."""
    if CACHE_KEY not in ctx.cache:
        ctx.cache[CACHE_KEY] = _train(ctx)
    return ctx.cache[CACHE_KEY]


def _train(ctx: AuditContext) -> Trained:
    target = ctx.config.target
    if target is None:
        return Trained("no target column is set")
    if not ctx.has_holdout or ctx.data.n_holdout < MIN_ROWS:
        return Trained(
            "no real holdout to test on (models are tested on real rows no model was trained on)"
        )
    target_col = ctx.column(target)
    task = "regression" if target_col.is_numeric else "classification"
    limit = ctx.config.utility_sample_rows
    real_train, test_rows, _ = split_real(ctx, limit)
    syn_rows = seeded_rows(ctx.data.n_synthetic, len(real_train), ctx.config.seed, "utility.syn")
    features = [c for c in ctx.audited_columns if c.spec.name != target]
    if not features:
        return Trained("no feature columns besides the target to train a model on")

    def xy(frame: str, rows: np.ndarray):
        x, _ = feature_matrix(features, frame, rows)
        y = getattr(target_col, frame)[rows]
        keep = ~np.isnan(y) if task == "regression" else y != MISSING_CODE
        return x[keep], y[keep], rows[keep]

    _, categorical = feature_matrix(features, "real", real_train[:1])
    x_real, y_real, _ = xy("real", real_train)
    x_syn, y_syn, _ = xy("synthetic", syn_rows)
    x_test, y_test, kept = xy("holdout", test_rows)
    if min(len(y_real), len(y_test)) < MIN_ROWS:
        return Trained("too few rows with a target value to train and test a model")
    out = Trained(
        task=task,
        x_test=x_test,
        y_test=y_test,
        categorical=categorical,
        features=[c.spec.name for c in features],
        test_rows=kept,
        train_rows=len(y_real),
        synthetic_rows=len(y_syn),
        sampled=ctx.data.n_real > limit or ctx.data.n_synthetic > limit,
        test_source="holdout",
    )
    positive_code = None
    if task == "classification":
        if len(np.unique(y_real)) < 2:
            return Trained(f"the target '{target}' has one class in the real training data")
        code, label, rule = positive_outcome(ctx)
        positive_code = code
        out.positive = (y_test == code).astype(float)
        out.outcome = {"target": target, "positive_outcome": label, "chosen_because": rule}
        if out.positive.min() == out.positive.max():
            return Trained(
                f"the real holdout's target '{target}' has one class: AUC and error rates need both"
            )
    seed = ctx.config.seed
    timings = ctx.cache.setdefault("timings", {})
    for name in MODELS:
        for source, train in (("synthetic", (x_syn, y_syn)), ("real", (x_real, y_real))):
            fit = _fit(name, task, train, x_test, categorical, seed, positive_code)
            out.fits[(name, source)] = fit
            timings[f"model {name} on {source}"] = fit.seconds
    return out


# --- weighted statistics (weights are bootstrap counts; all ones for the point value) ----


def weighted_auc(ties: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """ROC AUC of scores given by their tie-group ranks ``ties`` (np.unique's inverse),
    labels ``y`` (0/1) and row weights ``w``; ties count one half."""
    size = int(ties.max()) + 1 if len(ties) else 0
    pos = np.bincount(ties, weights=w * y, minlength=size)
    neg = np.bincount(ties, weights=w * (1 - y), minlength=size)
    total = pos.sum() * neg.sum()
    if total <= 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / total)


def weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    mean = (w * y).sum() / total
    ss_tot = (w * (y - mean) ** 2).sum()
    if ss_tot <= 0:
        return float("nan")
    return float(1 - (w * (y - pred) ** 2).sum() / ss_tot)


def _group_rates(codes, size, w, values):
    """Weighted mean of ``values`` per group and the weighted group sizes."""
    n = np.bincount(codes, weights=w, minlength=size)
    s = np.bincount(codes, weights=w * values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / n, n


def _spread(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.max() - values.min()) if len(values) >= 2 else float("nan")


# --- groups on the holdout ---------------------------------------------------------------


@dataclass(frozen=True)
class TestGrouping:
    name: str
    labels: list[str]
    codes: np.ndarray  # per test row


def _holdout_grouping(col: PreparedColumn, rows: np.ndarray) -> TestGrouping:
    """The protected attribute's groups (``fairness.attribute``) of the test rows, as
    int64 (the intersections multiply them)."""
    attr = attribute(col)
    codes = attr.codes(col.read_rows("holdout", rows)).astype(np.int64)
    return TestGrouping(attr.name, list(attr.labels), codes)


def test_groupings(ctx: AuditContext, rows: np.ndarray) -> list[TestGrouping]:
    singles = [_holdout_grouping(ctx.column(name), rows) for name in ctx.config.protected]
    pairs = list(combinations(singles, 2))[: ctx.config.max_intersections]
    out = list(singles)
    for a, b in pairs:
        size = len(b.labels)
        labels = intersection_labels(a.labels, b.labels)
        out.append(TestGrouping(f"{a.name} × {b.name}", labels, a.codes * size + b.codes))
    return out


# --- the figures of one model on given weights ------------------------------------------


def _performance(t: Trained, fit: Fitted) -> np.ndarray:
    """Per-row performance: 1.0 for a correct class (accuracy) or the absolute error."""
    if t.task == "classification":
        return (fit.predicted == t.y_test).astype(float)
    return np.abs(fit.predicted - t.y_test)


def _group_figures(t: Trained, fit: Fitted, g: TestGrouping, w: np.ndarray, minimum: int):
    """Per-group performance, TPR, FPR and calibration error of one model, and the gaps
    over groups large enough."""
    size = len(g.labels)
    perf, n = _group_rates(g.codes, size, w, _performance(t, fit))
    perf = np.where(n >= minimum, perf, np.nan)
    out = {"performance": perf, "n": n, "performance_gap": _spread(perf)}
    if t.task != "classification":
        return out
    y, hit = t.positive, (fit.predicted == _positive_code(t)).astype(float)
    tpr, n_pos = _group_rates(g.codes, size, w * y, hit)
    fpr, n_neg = _group_rates(g.codes, size, w * (1 - y), hit)
    tpr = np.where(n_pos >= minimum, tpr, np.nan)
    both = (n_pos >= minimum) & (n_neg >= minimum)
    tpr_both = np.where(both, tpr, np.nan)
    fpr_both = np.where(both, fpr, np.nan)
    out.update(
        tpr=tpr,
        fpr=np.where(n_neg >= minimum, fpr, np.nan),
        equal_opportunity=_spread(tpr),
        equalized_odds=np.nanmax([_spread(tpr_both), _spread(fpr_both)])
        if both.sum() >= 2
        else float("nan"),
        calibration=_calibration(g.codes, size, w, fit.score, y, n, minimum),
    )
    return out


def _positive_code(t: Trained):
    # The positive class code: the class whose rows have positive == 1.
    return t.y_test[np.argmax(t.positive)]


def _calibration(codes, size, w, score, y, n, minimum) -> np.ndarray:
    """Expected calibration error per group: over ten equal-width score bins, the
    row-weighted mean of |observed positive rate - mean score|."""
    bins = np.minimum((score * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    cell = codes * CALIBRATION_BINS + bins
    cells = size * CALIBRATION_BINS
    nw = np.bincount(cell, weights=w, minlength=cells)
    sy = np.bincount(cell, weights=w * y, minlength=cells)
    ss = np.bincount(cell, weights=w * score, minlength=cells)
    per_group = np.abs(sy - ss).reshape(size, CALIBRATION_BINS).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ece = per_group / nw.reshape(size, CALIBRATION_BINS).sum(axis=1)
    return np.where(n >= minimum, ece, np.nan)


def _worst(values: list[float], pick=np.nanmax) -> float:
    values = np.array([v for v in values if not np.isnan(v)], dtype=float)
    return float(pick(values)) if len(values) else float("nan")


def _model_values(t: Trained, model: str, groups, w: np.ndarray, ties, minimum) -> dict:
    """Every headline value of one model, trained on each source, on row weights ``w``
    (keys "synthetic.auc", "real.equalized_odds", ..., "amplification")."""
    flat: dict[str, Any] = {}
    for source in ("synthetic", "real"):
        fit = t.fits[(model, source)]
        if t.task == "classification":
            flat[f"{source}.auc"] = weighted_auc(ties[(model, source)], t.positive, w)
        else:
            flat[f"{source}.r2"] = weighted_r2(t.y_test, fit.predicted, w)
        tables = [_group_figures(t, fit, g, w, minimum) for g in groups]
        flat[f"{source}.performance_gap"] = _worst([x["performance_gap"] for x in tables])
        if t.task == "classification":
            eo = [x["equalized_odds"] for x in tables]
            flat[f"{source}._eo"] = eo
            flat[f"{source}.equalized_odds"] = _worst(eo)
            flat[f"{source}.equal_opportunity"] = _worst([x["equal_opportunity"] for x in tables])
            flat[f"{source}.calibration"] = _worst(
                [
                    float(np.nanmax(x["calibration"]))
                    if np.isfinite(x["calibration"]).any()
                    else float("nan")
                    for x in tables
                ]
            )
    if t.task == "classification":
        diffs = [
            s - r
            for s, r in zip(flat.pop("synthetic._eo"), flat.pop("real._eo"), strict=True)
            if not (np.isnan(s) or np.isnan(r))
        ]
        flat["amplification"] = max(diffs) if diffs else float("nan")
    return flat


# --- the checks --------------------------------------------------------------------------


def _interval(samples: np.ndarray, t: Trained, value: float):
    """Half-width of the bootstrap's 95% percentile range (widened for a training
    sample) and the interval value ± half-width: a worst-group figure is biased upwards
    in resamples, so its raw percentiles need not contain the value."""
    samples = samples[np.isfinite(samples)]
    if len(samples) < BOOTSTRAP // 2:
        return None, None
    low, high = np.percentile(samples, [2.5, 97.5])
    half = (high - low) / 2
    if t.sampled:
        half *= np.sqrt(1 + len(t.y_test) / max(t.train_rows, 1))
    return float(half), [float(value - half), float(value + half)]


def _compute(ctx: AuditContext, t: Trained) -> dict[str, Any]:
    """All figures, with bootstrap samples of the gradient-boosted model's headlines."""
    minimum = max(ctx.config.min_group_count, MIN_GROUP_ROWS)
    groups = test_groupings(ctx, t.test_rows)
    ties = {}
    if t.task == "classification":
        for key, fit in t.fits.items():
            ties[key] = np.unique(fit.score, return_inverse=True)[1]
    n = len(t.y_test)
    started = time.perf_counter()
    point = {m: _model_values(t, m, groups, np.ones(n), ties, minimum) for m in MODELS}
    rng = rng_for(ctx.config.seed, "model_validation.bootstrap")
    boot: dict[str, list[float]] = {}
    for _ in range(BOOTSTRAP):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        hgb = _model_values(t, "hist_gradient_boosting", groups, w, ties, minimum)
        for k, v in hgb.items():
            boot.setdefault(k, []).append(v)
    tables = _tables(t, groups, minimum)
    ctx.cache.setdefault("timings", {})["model bootstrap"] = time.perf_counter() - started
    return {
        "point": point,
        "boot": {k: np.array(v) for k, v in boot.items()},
        "groups": groups,
        "tables": tables,
        "minimum": minimum,
    }


def _nan_to_none(values) -> list[float | None]:
    return [None if v is None or np.isnan(v) else float(v) for v in values]


def _tables(t: Trained, groups: list[TestGrouping], minimum: int) -> list[dict[str, Any]]:
    """Per grouping, per group: size, and each source's performance, TPR, FPR and
    calibration error (gradient-boosted model), for the report's charts and sentences."""
    ones = np.ones(len(t.y_test))
    out = []
    for g in groups:
        by_source = {
            source: _group_figures(t, t.fits[("hist_gradient_boosting", source)], g, ones, minimum)
            for source in ("synthetic", "real")
        }
        n = by_source["synthetic"]["n"]
        present = np.flatnonzero(n > 0)
        kept = [i for i in present if n[i] >= minimum]
        table: dict[str, Any] = {
            "grouping": g.name,
            "groups": [g.labels[i] for i in kept],
            "test_rows": [int(n[i]) for i in kept],
            "too_small": [g.labels[i] for i in present if n[i] < minimum],
        }
        for source, figures in by_source.items():
            table[f"{source}_performance"] = _nan_to_none(figures["performance"][kept])
            table[f"{source}_performance_gap"] = _nan_to_none([figures["performance_gap"]])[0]
            if t.task == "classification":
                for name in ("tpr", "fpr", "calibration"):
                    table[f"{source}_{name}"] = _nan_to_none(figures[name][kept])
                for name in ("equalized_odds", "equal_opportunity"):
                    table[f"{source}_{name}"] = _nan_to_none([figures[name]])[0]
        out.append(table)
    return out


def computed(ctx: AuditContext) -> tuple[Trained, dict[str, Any] | None]:
    t = trained(ctx)
    if t.reason is not None:
        return t, None
    key = CACHE_KEY + ".figures"
    if key not in ctx.cache:
        ctx.cache[key] = _compute(ctx, t)
    return t, ctx.cache[key]


def _common(t: Trained, ctx: AuditContext) -> dict[str, Any]:
    return {
        "models": {m: MODEL_TITLES[m] for m in MODELS},
        "headline_model": "hist_gradient_boosting",
        "task": t.task,
        "test_rows": len(t.y_test),
        "test_data": t.test_source,
        "train_rows_real": t.train_rows,
        "train_rows_synthetic": t.synthetic_rows,
        "trained_on_sample": t.sampled,
        "bootstrap_replicates": BOOTSTRAP,
        **({"outcome": t.outcome} if t.outcome else {}),
    }


def _result(key, direction, value, t, ctx, fig, boot_key, details, finding=None):
    if value is None or not np.isfinite(value):
        return skipped(key, direction, details.pop("_reason", "not enough data"), details=details)
    uncertainty, interval = (None, None)
    if boot_key is not None:
        uncertainty, interval = _interval(fig["boot"][boot_key], t, value)
    return MetricResult(
        key=key,
        value=float(value),
        direction=direction,
        details={**_common(t, ctx), **details, "interval": interval},
        sample_size=t.synthetic_rows,
        population=ctx.data.n_synthetic,
        uncertainty=uncertainty,
        finding=finding,
    )


def utility_figures(ctx: AuditContext) -> list[MetricResult]:
    t, fig = computed(ctx)
    if fig is None:
        return [skipped(k, d, t.reason) for k, d in UTILITY_KEYS.items()]
    point = fig["point"]
    hgb, lr = point["hist_gradient_boosting"], point["logistic_regression"]
    results = []
    score = "auc" if t.task == "classification" else "r2"
    other = "r2" if score == "auc" else "auc"
    for source, prefix in (("synthetic", "tstr"), ("real", "trtr")):
        results.append(
            _result(
                f"utility.{prefix}_{score}",
                "higher",
                hgb[f"{source}.{score}"],
                t,
                ctx,
                fig,
                f"{source}.{score}",
                {
                    "trained_on": source,
                    "logistic_regression": lr[f"{source}.{score}"],
                    "other_source": hgb[
                        f"{'real' if source == 'synthetic' else 'synthetic'}.{score}"
                    ],
                },
            )
        )
        reason = (
            "the target is categorical: see the AUC figures"
            if score == "auc"
            else "the target is numerical: see the R² figures"
        )
        results.append(skipped(f"utility.{prefix}_{other}", "higher", reason))
    results.append(_group_gap(t, ctx, fig))
    results.append(_importance(t, ctx))
    results.append(_calibration_result(t, ctx, fig))
    by_key = {r.key: r for r in results}
    return [by_key[k] for k in UTILITY_KEYS]


def _no_groups(ctx: AuditContext) -> str | None:
    if not ctx.config.protected:
        return "no protected attribute is named"
    return None


def _group_gap(t: Trained, ctx: AuditContext, fig) -> MetricResult:
    key = "utility.group_performance_gap"
    reason = _no_groups(ctx)
    if reason:
        return skipped(key, "lower", reason)
    point = fig["point"]
    metric = "accuracy" if t.task == "classification" else "mean absolute error"
    hgb = point["hist_gradient_boosting"]
    worst = worst_group_shortfall(fig["tables"], t.task)
    finding = None
    if worst and worst["points"] >= 0.05 and t.task == "classification":
        finding = (
            f"A model trained on this data is {worst['points'] * 100:.0f} points less accurate "
            f"for {worst['group']} than one trained on the real data."
        )
    details = {
        "metric": metric,
        "min_group_rows": fig["minimum"],
        "trained_on_real": hgb["real.performance_gap"],
        "logistic_regression": {
            s: point["logistic_regression"][f"{s}.performance_gap"] for s in ("synthetic", "real")
        },
        "groupings": fig["tables"],
        "largest_shortfall": worst,
        "_reason": f"no grouping has two groups with {fig['minimum']} or more holdout test rows",
    }
    result = _result(
        key, "lower", hgb["synthetic.performance_gap"], t, ctx, fig,
        "synthetic.performance_gap", details, finding,
    )  # fmt: skip
    result.details.pop("_reason", None)
    return result


def worst_group_shortfall(tables: list[dict[str, Any]], task: str) -> dict[str, Any] | None:
    """The group where the synthetic-trained model falls furthest behind the real-trained
    one (accuracy lower, or error higher), in points of the metric."""
    best = None
    for table in tables:
        for i, group in enumerate(table["groups"]):
            syn, real = table["synthetic_performance"][i], table["real_performance"][i]
            if syn is None or real is None:
                continue
            points = real - syn if task == "classification" else syn - real
            if best is None or points > best["points"]:
                best = {
                    "grouping": table["grouping"],
                    "group": group,
                    "points": points,
                    "synthetic": syn,
                    "real": real,
                    "test_rows": table["test_rows"][i],
                }
    return best


def _importance(t: Trained, ctx: AuditContext) -> MetricResult:
    """Spearman rank correlation of the two gradient-boosted models' permutation
    importances on a seeded sample of the holdout test rows."""
    from scipy.stats import spearmanr

    key = "utility.feature_importance_agreement"
    if len(t.features) < 3:
        return skipped(key, "higher", "fewer than three feature columns to rank")
    rows = seeded_rows(len(t.y_test), IMPORTANCE_ROWS, ctx.config.seed, "importance.rows")
    importances = {}
    started = time.perf_counter()
    for source in ("synthetic", "real"):
        fit = t.fits[("hist_gradient_boosting", source)]
        if fit.model is None:
            return skipped(key, "higher", f"the model trained on {source} data saw one class")
        importances[source] = permutation_importances(
            fit.model, t, rows, rng_for(ctx.config.seed, f"importance.{source}")
        )
    ctx.cache.setdefault("timings", {})["model permutation importances"] = (
        time.perf_counter() - started
    )
    syn, real = importances["synthetic"], importances["real"]
    if np.ptp(syn) == 0 or np.ptp(real) == 0:
        return skipped(key, "higher", "a model's importances are all equal: nothing to rank")
    rho = float(spearmanr(syn, real).statistic)
    k = len(syn)
    uncertainty = interval = None
    if k > 3:
        # Fieller, Hartley and Pearson's standard error of Fisher's z for Spearman's rho.
        z, se = np.arctanh(np.clip(rho, -0.999999, 0.999999)), np.sqrt(1.06 / (k - 3))
        low, high = np.tanh(z - 1.96 * se), np.tanh(z + 1.96 * se)
        uncertainty, interval = float((high - low) / 2), [float(low), float(high)]
    order = np.argsort(-real)
    return MetricResult(
        key=key,
        value=rho,
        direction="higher",
        details={
            **_common(t, ctx),
            "importance_rows": len(rows),
            "repeats": IMPORTANCE_REPEATS,
            "score": "ROC AUC" if t.task == "classification" else "R²",
            "features": [t.features[i] for i in order],
            "trained_on_synthetic": syn[order].tolist(),
            "trained_on_real": real[order].tolist(),
            "interval": interval,
            "interval_method": "Fisher z with the Fieller-Hartley-Pearson standard error",
        },
        sample_size=t.synthetic_rows,
        population=ctx.data.n_synthetic,
        uncertainty=uncertainty,
        finding=(
            f"Models trained on synthetic and on real data rank the features differently "
            f"(rank correlation {rho:.2f})."
            if rho < 0.5
            else None
        ),
    )


def permutation_importances(model, t: Trained, rows: np.ndarray, rng) -> np.ndarray:
    """Mean drop in score (ROC AUC of the positive outcome, or R²) when one feature's
    values are shuffled, over ``IMPORTANCE_REPEATS`` seeded shuffles."""
    x = t.x_test[rows].copy()

    def score(matrix: np.ndarray) -> float:
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            if t.task == "classification":
                s = _positive_score(model, matrix, _positive_code(t))
                return weighted_auc(np.unique(s, return_inverse=True)[1], t.positive[rows],
                                    np.ones(len(rows)))  # fmt: skip
            return weighted_r2(t.y_test[rows], model.predict(matrix), np.ones(len(rows)))

    base = score(x)
    out = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        column = x[:, j].copy()
        drops = []
        for _ in range(IMPORTANCE_REPEATS):
            x[:, j] = column[rng.permutation(len(column))]
            drops.append(base - score(x))
        x[:, j] = column
        out[j] = float(np.mean(drops))
    return out


def _calibration_result(t: Trained, ctx: AuditContext, fig) -> MetricResult:
    key = "utility.calibration_gap"
    reason = _no_groups(ctx) or (
        "the target is numerical: calibration needs a categorical outcome"
        if t.task != "classification"
        else None
    )
    if reason:
        return skipped(key, "lower", reason)
    point = fig["point"]
    details = {
        "bins": CALIBRATION_BINS,
        "min_group_rows": fig["minimum"],
        "trained_on_real": point["hist_gradient_boosting"]["real.calibration"],
        "logistic_regression": {
            s: point["logistic_regression"][f"{s}.calibration"] for s in ("synthetic", "real")
        },
        "groupings": [
            {
                k: table[k]
                for k in (
                    "grouping",
                    "groups",
                    "test_rows",
                    "synthetic_calibration",
                    "real_calibration",
                )
            }
            for table in fig["tables"]
        ],
        "_reason": f"no group has {fig['minimum']} or more holdout test rows",
    }
    value = point["hist_gradient_boosting"]["synthetic.calibration"]
    result = _result(key, "lower", value, t, ctx, fig, "synthetic.calibration", details)
    result.details.pop("_reason", None)
    return result


def fairness_figures(ctx: AuditContext) -> list[MetricResult]:
    t, fig = computed(ctx)
    reason = t.reason or _no_groups(ctx)
    if reason is None and t.task != "classification":
        reason = "the target is numerical: error-rate fairness needs a categorical outcome"
    if reason is not None:
        return [skipped(k, d, reason) for k, d in FAIRNESS_KEYS.items()]
    point = fig["point"]
    hgb, lr = point["hist_gradient_boosting"], point["logistic_regression"]
    too_few = f"no grouping has two groups with {fig['minimum']} or more holdout test rows"
    results = []
    for key, name in (
        ("fairness.model_equalized_odds_difference", "equalized_odds"),
        ("fairness.model_equal_opportunity_difference", "equal_opportunity"),
    ):
        details = {
            "definition": "Fairlearn MetricFrame, difference between groups (max - min)",
            "min_group_rows": fig["minimum"],
            "trained_on_real": hgb[f"real.{name}"],
            "logistic_regression": {s: lr[f"{s}.{name}"] for s in ("synthetic", "real")},
            "by_grouping": {
                table["grouping"]: {
                    "trained_on_synthetic": table[f"synthetic_{name}"],
                    "trained_on_real": table[f"real_{name}"],
                }
                for table in fig["tables"]
            },
            "_reason": too_few,
        }
        result = _result(key, "lower", hgb[f"synthetic.{name}"], t, ctx, fig,
                         f"synthetic.{name}", details)  # fmt: skip
        result.details.pop("_reason", None)
        results.append(result)
    value = hgb["amplification"]
    finding = None
    if np.isfinite(value) and value > AMPLIFICATION_FINDING:
        finding = (
            f"A model trained on the synthetic data treats groups less equally than one "
            f"trained on the real data: its equalized-odds gap is {value * 100:.0f} points "
            "wider."
        )
    details = {
        "definition": "equalized-odds difference of the synthetic-trained model minus the "
        "real-trained model's, per grouping; the largest",
        "logistic_regression": lr["amplification"],
        "_reason": too_few,
    }
    result = _result("fairness.model_amplification", "lower", value, t, ctx, fig,
                     "amplification", details, finding)  # fmt: skip
    result.details.pop("_reason", None)
    results.append(result)
    return results


UTILITY_STEPS: list[Step] = [("Quality: models trained on synthetic vs real", utility_figures)]
FAIRNESS_STEPS: list[Step] = [("Fairness: models trained on synthetic vs real", fairness_figures)]
