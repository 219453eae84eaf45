"""The model validation figures through the real audit path: a queued audit with a
target, protected attributes and a holdout stores every key with a value and interval;
without a holdout they are stored as skipped with the reason; the API lists them as
requestable; the report says in plain words what a model trained on the data does."""

import pytest
from rest_framework.test import APIClient

from audits.checks.model_validation import FAIRNESS_KEYS, UTILITY_KEYS
from audits.models import AuditMetric, AuditStatus
from audits.runs import services
from tests.audits.conftest import placements, register, scaled
from tests.registry.conftest import make_dataset

KEYS = set(UTILITY_KEYS) | set(FAIRNESS_KEYS)
# "placed" is a categorical target: the R² figures are for numerical ones.
MEASURED = KEYS - {"utility.tstr_r2", "utility.trtr_r2"}


@pytest.fixture
def larger_placements(world, registry_storage):
    """The placements demo drawn up to 1,500 training, 600 holdout and 1,500 synthetic
    rows (jittered numbers), so that both genders have 30+ holdout rows."""
    real_frame, synthetic_frame = placements()
    real_ds = make_dataset(world, name="Placements real", kind="real")
    synth_ds = make_dataset(world, name="Placements synthetic", kind="fully_synthetic")
    real = register(real_ds, world.curator_a, scaled(real_frame, 1500, 1), "train.csv")
    hold = register(real_ds, world.curator_a, scaled(real_frame, 600, 2), "holdout.csv")
    synth = register(synth_ds, world.curator_a, scaled(synthetic_frame, 1500, 3), "syn.csv")
    return {"real": real, "holdout": hold, "synthetic": synth, "world": world}


def _audit(pw, *, holdout: bool):
    config = services.default_config(pw["synthetic"])
    config["families"] = ["quality", "fairness"]
    run = services.audit_run_request(
        version=pw["synthetic"],
        reference=pw["real"],
        holdout=pw["holdout"] if holdout else None,
        config=config,
        user=pw["world"].curator_a,
    )
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    run = services.audit_run_execute(run_id=run.pk, token=token)
    assert run.status == AuditStatus.SUCCEEDED, run.error
    return run


def test_audit_with_a_holdout_stores_every_model_figure(larger_placements):
    run = _audit(larger_placements, holdout=True)
    stored = {m.key: m for m in AuditMetric.objects.filter(run=run, key__in=KEYS)}
    assert set(stored) == KEYS
    for key in MEASURED:
        metric = stored[key]
        assert metric.status == "ok", (key, metric.finding)
        assert metric.value is not None and metric.uncertainty is not None, key
        assert metric.sample_size == 1500, key
    results = {m["key"]: m for m in run.results["metrics"]}
    gap = results["utility.group_performance_gap"]["details"]
    assert [t["grouping"] for t in gap["groupings"]] == ["gender"]
    assert sorted(gap["groupings"][0]["groups"]) == ["gender=F", "gender=M"]
    assert results["utility.tstr_auc"]["details"]["test_rows"] == 600
    # Time per model is kept with the run's timings, not in the figures.
    assert "model hist_gradient_boosting on synthetic" in run.timings
    assert results["utility.tstr_r2"]["skip_reason"].startswith("the target is categorical")


def test_audit_without_a_holdout_skips_model_figures_with_the_reason(larger_placements):
    run = _audit(larger_placements, holdout=False)
    results = {m["key"]: m for m in run.results["metrics"]}
    for key in KEYS:
        assert results[key]["status"] == "skipped" and results[key]["value"] is None, key
        assert "no real holdout" in results[key]["skip_reason"], key
    # The ratio still runs on a held-back part of the reference, as before.
    assert results["utility.tstr_ratio"]["status"] == "ok"


def test_the_api_lists_the_model_figures(larger_placements):
    api = APIClient()
    api.force_authenticate(larger_placements["world"].curator_a)
    catalogue = {m["key"]: m for m in api.get("/api/v1/metrics/").json()}
    for key in KEYS:
        assert catalogue[key]["requestable"], key
        assert "holdout" in catalogue[key]["needs"], key
    assert "Fairlearn" in catalogue["fairness.model_equalized_odds_difference"]["description"]


def test_the_report_says_what_a_model_trained_on_this_data_does(client, larger_placements):
    pw = larger_placements
    run = _audit(pw, holdout=True)
    client.force_login(pw["world"].curator_a)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Models trained on this data" in page
    assert "Trained on this data, the model scores ROC AUC" in page
    assert "than one trained on the real data" in page
    for chart in ("models.performance.gender", "models.error_rates.gender"):
        assert f'data-chart-key="{chart}"' in page, chart
    standalone = client.get(f"/audits/{run.pk}/report.html").content.decode()
    assert "Models trained on this data" in standalone
    assert 'data-chart-key="models.performance.gender"' in standalone
    # Without a holdout the section says why, never a 0.
    bare = _audit(pw, holdout=False)
    page = client.get(bare.get_absolute_url()).content.decode()
    assert "Not measured: no real holdout to test on" in page
