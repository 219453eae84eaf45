"""The attack figures through the real audit path: a queued audit with a holdout runs in
process and stores every attack key with a value; without a holdout they are stored as
skipped with the reason, never as 0."""

from audits.checks.attacks import NO_HOLDOUT
from audits.models import AuditMetric, AuditStatus
from audits.runs import services
from tests.audits.conftest import request_placements_audit

ATTACK_KEYS = {
    "privacy.singling_out_risk",
    "privacy.linkability_risk",
    "privacy.inference_risk",
    "privacy.membership_auc",
    "privacy.membership_tpr_at_1pct_fpr",
    "privacy.near_copy_rate",
}


def _run(run):
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    return services.audit_run_execute(run_id=run.pk, token=token)


def test_audit_with_a_holdout_stores_every_attack_figure(placements_world):
    run = _run(request_placements_audit(placements_world, holdout=True))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    stored = {m.key: m for m in AuditMetric.objects.filter(run=run, key__in=ATTACK_KEYS)}
    assert set(stored) == ATTACK_KEYS
    for key, metric in stored.items():
        assert metric.status == "ok", (key, metric.finding)
        assert metric.value is not None and 0.0 <= metric.value <= 1.0, key
        assert metric.uncertainty is not None, key
        assert metric.sample_size > 0, key
    # The placements demo's synthetic data is not a copy: no risk shows beyond its interval.
    inference = stored["privacy.inference_risk"]
    assert inference.value - inference.uncertainty <= 0.0
    details = {m["key"]: m for m in run.results["metrics"]}
    assert details["privacy.inference_risk"]["details"]["headline_attribute"] == "salary"


def test_audit_without_a_holdout_skips_attack_figures_with_the_reason(placements_world):
    run = _run(request_placements_audit(placements_world, holdout=False))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    results = {m["key"]: m for m in run.results["metrics"]}
    for key in ATTACK_KEYS:
        assert results[key]["status"] == "skipped", key
        assert results[key]["value"] is None, key
        assert "holdout" in results[key]["skip_reason"], key
    assert results["privacy.linkability_risk"]["skip_reason"] == NO_HOLDOUT
