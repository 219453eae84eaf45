"""The attack figures through the real audit path: a queued audit with a holdout runs in
process and stores every attack key with a value; without a holdout they are stored as
skipped with the reason, never as 0."""

import re

from rest_framework.test import APIClient

from audits.checks.attacks import ATTACK_KEYS, NO_HOLDOUT
from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from tests.audits.conftest import request_placements_audit


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
        assert metric.value is not None and metric.value >= 0.0, key
        if key != "privacy.dp_epsilon_lower_bound":  # an epsilon, not a share
            assert metric.value <= 1.0 and metric.uncertainty is not None, key
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


def test_the_api_lists_the_attack_figures_and_runs_them_on_request(
    placements_world, django_capture_on_commit_callbacks
):
    pw = placements_world
    api = APIClient()
    api.force_authenticate(pw["world"].curator_a)
    catalogue = {m["key"]: m for m in api.get("/api/v1/metrics/").json()}
    for key in ATTACK_KEYS:
        assert catalogue[key]["family"] == "privacy" and catalogue[key]["requestable"], key
        assert "holdout" in catalogue[key]["needs"], key
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            "/api/v1/audits/",
            {
                "version": pw["synthetic"].pk,
                "reference": pw["real"].pk,
                "holdout": pw["holdout"].pk,
                "families": ["privacy"],
            },
            format="json",
        )
    assert response.status_code == 202, response.content
    run = _run(AuditRun.objects.get(pk=response.json()["id"]))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    figures = {m["key"]: m for m in api.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    for key in ATTACK_KEYS:
        assert figures[key]["status"] == "ok" and figures[key]["value"] is not None, key


def test_the_report_says_what_an_attacker_could_learn(client, placements_world):
    pw = placements_world
    run = _run(request_placements_audit(pw, holdout=True))
    client.force_login(pw["world"].curator_a)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "What an attacker could learn" in page
    # The inference sentence names what the attacker knows and what they infer.
    assert re.search(
        r"An attacker who knows (degree_type, high_spec|high_spec, degree_type) of a person", page
    )
    assert "could infer their salary" in page
    assert "95% interval" in page
    for chart in ("privacy.singling_out", "privacy.linkability", "privacy.inference.salary",
                  "privacy.membership"):  # fmt: skip
        assert f'data-chart-key="{chart}"' in page, chart
    standalone = client.get(f"/audits/{run.pk}/report.html")
    assert standalone.status_code == 200
    assert "What an attacker could learn" in standalone.content.decode()
    # Without a holdout the section says why nothing was measured, never a 0.
    bare = _run(request_placements_audit(pw, holdout=False))
    page = client.get(bare.get_absolute_url()).content.decode()
    assert "Not measured: needs a real holdout dataset (the control)" in page
