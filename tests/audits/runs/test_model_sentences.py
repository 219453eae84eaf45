"""The report's "Models trained on this data" sentences, from figures computed on a
planted defect (the synthetic outcome flipped for women) and on clean data."""

import re

from audits.runs.selectors import models_view
from tests.audits.checks.test_model_validation import _context, _figures, population


def _sentences(synthetic) -> dict[str, str]:
    ctx = _context(population(3000, 1), synthetic, population(3000, 3))
    results = {"metrics": [m.to_json() for m in _figures(ctx).values()]}
    return {row["key"]: row["sentence"] for row in models_view(results)}


def test_a_flipped_group_is_named_with_the_points_lost():
    said = _sentences(population(3000, 2, flip_group="F"))
    assert re.fullmatch(
        r"A model trained on this data is \d+ points less accurate for sex F and age in bin "
        r"\d of 5 than one trained on the real data \(\d+\.\d% against \d+\.\d%, \d+ people "
        r"in the holdout\)\.",
        said["utility.group_performance_gap"],
    )
    assert said["fairness.model_amplification"].startswith(
        "So the synthetic data makes a model treat groups less equally"
    )
    assert "different order from" in said["utility.feature_importance_agreement"]
    assert "utility.tstr_r2" not in said  # a categorical target: only the AUC sentence


def test_clean_data_raises_no_alarm_and_skips_say_why():
    said = _sentences(population(3000, 2))
    amplification = said["fairness.model_amplification"]
    assert "less equally" not in amplification
    assert "no clear amplification" in amplification or "not widen" in amplification
    assert "much the same order as" in said["utility.feature_importance_agreement"]
    assert models_view({"metrics": []}) == []
    skipped = {"key": "utility.tstr_auc", "status": "skipped", "value": None,
               "skip_reason": "no real holdout to test on"}  # fmt: skip
    rows = models_view({"metrics": [skipped]})
    assert rows[0]["sentence"] == "Not measured: no real holdout to test on."
