"""Model validation: models trained on synthetic vs on real data, tested on the real
holdout; figures by hand, against Fairlearn and scikit-learn, and on planted defects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    equal_opportunity_difference,
    equalized_odds_difference,
)
from sklearn.metrics import accuracy_score, f1_score, r2_score, roc_auc_score

from audits.checks import AuditConfig, ColumnSpec
from audits.checks import model_validation as mv
from audits.checks.catalogue import METRICS
from audits.checks.utility import tstr_ratio
from tests.audits.checks.conftest import make_context

COLUMNS = [
    ColumnSpec("sex", "categorical", "protected"),
    ColumnSpec("age", "numerical", "protected"),
    ColumnSpec("income", "numerical"),
    ColumnSpec("debt", "numerical"),
    ColumnSpec("region", "categorical"),
    ColumnSpec("approved", "categorical", "target"),
]
UTILITY = list(mv.UTILITY_KEYS)
FAIRNESS = list(mv.FAIRNESS_KEYS)


def population(n: int, seed: int, *, flip_group: str | None = None) -> pd.DataFrame:
    """Loan decisions driven by income and debt, the same rule for everyone; with
    ``flip_group`` the outcome of that sex is flipped (a generator that learned the
    relation wrongly for one group)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], size=n)
    age = rng.integers(18, 90, size=n).astype(float)
    income = rng.normal(0, 1, size=n)
    debt = rng.normal(0, 1, size=n)
    region = rng.choice(["north", "south", "east"], size=n)
    score = 2.0 * income - 1.5 * debt + rng.normal(0, 0.5, size=n)
    approved = score > 0
    if flip_group is not None:
        approved = np.where(sex == flip_group, ~approved, approved)
    return pd.DataFrame(
        {
            "sex": sex,
            "age": age,
            "income": income,
            "debt": debt,
            "region": region,
            "approved": np.where(approved, "yes", "no"),
        }
    )


def _context(real, synthetic, holdout, **options):
    config = {"columns": COLUMNS, "protected": ["sex", "age"], "target": "approved"}
    config.update(options)
    return make_context(AuditConfig(**config), real, synthetic, holdout)


def _figures(ctx) -> dict:
    results = mv.utility_figures(ctx) + mv.fairness_figures(ctx)
    return {m.key: m for m in results}


@pytest.fixture(scope="module")
def clean():
    ctx = _context(population(3000, 1), population(3000, 2), population(3000, 3))
    return ctx, _figures(ctx)


# --- by hand -----------------------------------------------------------------------------


def test_weighted_auc_by_hand():
    # Positives score 0.35 and 0.8, negatives 0.1 and 0.4: of the 4 (pos, neg) pairs the
    # positive wins 3 -> 0.75. Weight 3 on the negative 0.4: wins 1*1 + 1*3 + 1*1 of 8.
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    ties = np.unique(scores, return_inverse=True)[1]
    assert mv.weighted_auc(ties, y, np.ones(4)) == pytest.approx(0.75)
    assert mv.weighted_auc(ties, y, np.array([1.0, 3.0, 1.0, 1.0])) == pytest.approx(5 / 8)
    # A tie between a positive and a negative counts one half.
    tied = np.unique(np.array([0.5, 0.5]), return_inverse=True)[1]
    assert mv.weighted_auc(tied, np.array([0.0, 1.0]), np.ones(2)) == pytest.approx(0.5)


def test_group_figures_by_hand():
    # Group A: 4 rows, labels 1 1 0 0, predicted 1 0 0 0 -> accuracy 3/4, TPR 1/2, FPR 0.
    # Group B: 4 rows, labels 1 1 0 0, predicted 1 1 1 0 -> accuracy 3/4, TPR 1, FPR 1/2.
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    predicted = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    score = np.array([0.95, 0.45, 0.05, 0.05, 0.95, 0.65, 0.65, 0.05])
    t = mv.Trained(task="classification", y_test=y, positive=y.astype(float))
    fit = mv.Fitted(None, predicted, score, 0.0)
    g = mv.TestGrouping("group", ["group=A", "group=B"], np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    out = mv._group_figures(t, fit, g, np.ones(8), minimum=2)
    assert out["performance"].tolist() == [0.75, 0.75]
    assert out["performance_gap"] == 0
    assert out["tpr"].tolist() == [0.5, 1.0]
    assert out["fpr"].tolist() == [0.0, 0.5]
    assert out["equal_opportunity"] == pytest.approx(0.5)
    assert out["equalized_odds"] == pytest.approx(0.5)
    # Calibration, group A: bin 9 (0.95, y=1) |1-.95|=.05; bin 4 (0.45, y=1) .55;
    # bin 0 (two rows 0.05, y=0) |0-.1|=.1 -> (0.05+0.55+0.1)/4 = 0.175.
    # Group B: bin 9 .05; bin 6 (0.65 twice, y 1 and 0) |1-1.3|=.3; bin 0 .05 -> 0.4/4=0.1.
    assert out["calibration"] == pytest.approx([0.175, 0.1])
    # A group below the minimum is left out.
    small = mv._group_figures(t, fit, g, np.ones(8), minimum=5)
    assert np.isnan(small["performance_gap"])


def test_weighted_r2_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=200), rng.normal(size=200)
    w = rng.integers(0, 3, size=200).astype(float)
    assert mv.weighted_r2(y, pred, w) == pytest.approx(r2_score(y, pred, sample_weight=w))


# --- agreement with scikit-learn and Fairlearn on generated data -------------------------


def test_headline_agrees_with_scikit_learn_and_fairlearn(clean):
    ctx, got = clean
    t = mv.trained(ctx)
    syn = t.fits[("hist_gradient_boosting", "synthetic")]
    real = t.fits[("hist_gradient_boosting", "real")]
    assert got["utility.tstr_auc"].value == pytest.approx(roc_auc_score(t.positive, syn.score))
    assert got["utility.trtr_auc"].value == pytest.approx(roc_auc_score(t.positive, real.score))
    lr = t.fits[("logistic_regression", "synthetic")]
    assert got["utility.tstr_auc"].details["logistic_regression"] == pytest.approx(
        roc_auc_score(t.positive, lr.score)
    )
    # Every grouping's gaps equal Fairlearn's on the rows of the groups large enough.
    tables = {tab["grouping"]: tab for tab in got["utility.group_performance_gap"].details[
        "groupings"]}  # fmt: skip
    checked = 0
    for g in mv.test_groupings(ctx, t.test_rows):
        table = tables[g.name]
        labels = np.array(g.labels)[g.codes]
        eligible = np.isin(labels, table["groups"])
        y = t.positive[eligible]
        hit = (syn.predicted == mv._positive_code(t)).astype(float)[eligible]
        sensitive = labels[eligible]
        frame = MetricFrame(
            metrics=accuracy_score,
            y_true=t.y_test[eligible],
            y_pred=syn.predicted[eligible],
            sensitive_features=sensitive,
        )
        assert table["synthetic_performance_gap"] == pytest.approx(frame.difference(), abs=1e-12)
        per_group = frame.by_group.to_dict()
        assert table["synthetic_performance"] == pytest.approx(
            [per_group[name] for name in table["groups"]], abs=1e-12
        )
        assert table["synthetic_equalized_odds"] == pytest.approx(
            equalized_odds_difference(y, hit, sensitive_features=sensitive), abs=1e-12
        )
        assert table["synthetic_equal_opportunity"] == pytest.approx(
            equal_opportunity_difference(y, hit, sensitive_features=sensitive), abs=1e-12
        )
        checked += 1
    assert checked == 3  # sex, age quintiles, their intersection
    worst = max(t["synthetic_equalized_odds"] for t in tables.values())
    assert got["fairness.model_equalized_odds_difference"].value == pytest.approx(worst)


def test_tstr_ratio_comes_from_the_same_model(clean):
    ctx, _ = clean
    t = mv.trained(ctx)
    ratio = tstr_ratio(ctx)[0]

    def f1(source):
        predicted = t.fits[("hist_gradient_boosting", source)].predicted
        return f1_score(t.y_test, predicted, average="macro")

    assert ratio.value == pytest.approx(f1("synthetic") / f1("real"))


def test_figures_have_intervals_sizes_and_catalogue_entries(clean):
    ctx, got = clean
    keys = [
        "utility.tstr_auc",
        "utility.trtr_auc",
        "utility.group_performance_gap",
        "utility.calibration_gap",
        "fairness.model_equalized_odds_difference",
        "fairness.model_amplification",
        "utility.feature_importance_agreement",
    ]
    for key in keys:
        m = got[key]
        assert m.status == "ok", (key, m.skip_reason)
        assert key in METRICS and METRICS[key].direction == m.direction
        assert m.uncertainty is not None and m.uncertainty > 0
        low, high = m.details["interval"]
        assert low < m.value < high
        assert m.sample_size == 3000
    assert got["utility.tstr_auc"].value > 0.9  # the relation is learnable
    # Time per model goes to the audit's timings, not the figures (same inputs, same JSON).
    expected = {f"model {m} on {s}" for m in mv.MODELS for s in ("synthetic", "real")}
    assert expected <= set(ctx.cache["timings"])
    assert "seconds" not in str(got["utility.tstr_auc"].details)
    # Both models rely on income and debt: the rankings agree.
    agreement = got["utility.feature_importance_agreement"]
    assert agreement.value > 0.5
    assert agreement.details["features"][:2] in (["income", "debt"], ["debt", "income"])


# --- planted defects ---------------------------------------------------------------------


def test_outcome_flipped_for_one_group_widens_the_model_gap(clean):
    _, clean_figures = clean
    flipped_ctx = _context(
        population(3000, 1), population(3000, 2, flip_group="F"), population(3000, 3)
    )
    flipped = _figures(flipped_ctx)
    threshold = 0.1
    assert clean_figures["fairness.model_amplification"].value < threshold
    assert flipped["fairness.model_amplification"].value > threshold
    assert flipped["fairness.model_amplification"].finding
    assert (
        flipped["fairness.model_equalized_odds_difference"].value
        > flipped["fairness.model_equalized_odds_difference"].details["trained_on_real"] + 0.3
    )
    gap = flipped["utility.group_performance_gap"]
    assert gap.value > clean_figures["utility.group_performance_gap"].value + 0.3
    worst = gap.details["largest_shortfall"]
    assert "sex=F" in worst["group"]
    assert "less accurate for" in gap.finding
    assert flipped["utility.calibration_gap"].value > clean_figures["utility.calibration_gap"].value


# --- skips -------------------------------------------------------------------------------


def _skips(ctx) -> dict[str, str]:
    return {k: m.skip_reason for k, m in _figures(ctx).items() if m.status == "skipped"}


def test_skips_say_why():
    real, syn, hold = population(300, 1), population(300, 2), population(300, 3)
    no_target = _skips(_context(real, syn, hold, target=None))
    assert set(no_target) == set(UTILITY + FAIRNESS)
    assert set(no_target.values()) == {"no target column is set"}
    no_holdout = _skips(_context(real, syn, None))
    assert set(no_holdout) == set(UTILITY + FAIRNESS)
    assert all("no real holdout" in reason for reason in no_holdout.values())
    one_class = real.assign(approved="yes")
    reasons = _skips(_context(one_class, syn, hold))
    assert set(reasons) == set(UTILITY + FAIRNESS)
    assert all("one class" in reason for reason in reasons.values())
    no_groups = _skips(_context(real, syn, hold, protected=[]))
    assert set(no_groups) == {
        "utility.tstr_r2", "utility.trtr_r2", "utility.group_performance_gap",
        "utility.calibration_gap", *FAIRNESS,
    }  # fmt: skip
    assert no_groups["utility.group_performance_gap"] == "no protected attribute is named"


def test_numerical_target_reports_r2():
    def frame(seed):
        df = population(1500, seed)
        return df.assign(approved=2.0 * df["income"] - df["debt"])

    columns = [*COLUMNS[:-1], ColumnSpec("approved", "numerical", "target")]
    ctx = _context(frame(1), frame(2), frame(3), columns=columns)
    got = _figures(ctx)
    t = mv.trained(ctx)
    syn = t.fits[("hist_gradient_boosting", "synthetic")].predicted
    assert got["utility.tstr_r2"].value == pytest.approx(r2_score(t.y_test, syn))
    assert got["utility.tstr_r2"].value > 0.8
    assert got["utility.tstr_auc"].status == "skipped"
    assert got["utility.group_performance_gap"].details["metric"] == "mean absolute error"
    assert got["fairness.model_equalized_odds_difference"].status == "skipped"
    assert "numerical" in got["fairness.model_amplification"].skip_reason


def test_same_seed_same_figures():
    def run():
        ctx = _context(population(800, 1), population(800, 2), population(800, 3))
        return {k: (m.value, m.uncertainty) for k, m in _figures(ctx).items()}

    assert run() == run()


# --- standards ---------------------------------------------------------------------------


def test_a_standard_rule_on_model_amplification_catches_the_flipped_group(clean):
    from audits.standards.engine.evaluate import FigureValue, evaluate
    from audits.standards.engine.rules import RuleSpec, key_info

    rule = RuleSpec("fairness.model_amplification", "<=", 0.1, "blocking")
    assert key_info(rule.key) is not None  # a known catalogue key

    def judged(figures) -> str:
        m = figures["fairness.model_amplification"]
        figure = FigureValue(m.value, uncertainty=m.uncertainty)
        return evaluate([rule], {rule.key: figure}).results[0].status

    _, clean_figures = clean
    flipped = _figures(
        _context(population(3000, 1), population(3000, 2, flip_group="F"), population(3000, 3))
    )
    assert judged(clean_figures) == "pass"
    assert judged(flipped) == "fail"
