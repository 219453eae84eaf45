from django.urls import reverse
from rest_framework.test import APIClient

from audits.models import AuditRun, AuditStatus
from audits.runs import services
from tests.audits.conftest import request_placements_audit


def run_now(run):
    return services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))


def test_form_is_prefilled_and_queues_an_audit(
    client, placements_world, django_capture_on_commit_callbacks
):
    pw = placements_world
    client.force_login(pw["world"].curator_a)
    url = reverse("audits:request", args=[pw["synthetic"].pk])
    page = client.get(url).content.decode()
    import re

    assert re.search(r'name="protected" value="gender"[^>]*checked', page)
    assert not re.search(r'name="protected" value="salary"[^>]*checked', page)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url,
            {
                "reference": pw["real"].pk,
                "holdout": pw["holdout"].pk,
                "protected": ["gender"],
                "quasi_identifiers": ["degree_type"],
                "sensitive": ["salary"],
                "target": "placed",
                "families": ["quality", "privacy", "fairness"],
                "seed": 3,
            },
        )
    assert response.status_code == 302
    run = AuditRun.objects.get()
    assert response.url == run.get_absolute_url()
    assert run.config["seed"] == 3 and run.config["families"] == ["fairness", "privacy", "quality"]
    assert len(callbacks) == 1
    status = client.get(reverse("audits:status", args=[run.pk])).json()
    assert status["status"] == "queued"


def test_report_page_json_and_html(client, placements_world):
    pw = placements_world
    run = run_now(request_placements_audit(pw, holdout=True))
    client.force_login(pw["world"].officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "privacy.exact_match_rate" in page
    assert "lower is better" in page
    assert 'data-testid="findings"' in page
    assert page.count('data-testid="chart"') >= 5
    document = client.get(reverse("audits:report_json", args=[run.pk])).json()
    assert document["evidence_sha256"] == run.evidence_sha256
    assert document["input_hashes"]["synthetic"] == pw["synthetic"].sha256
    html = client.get(reverse("audits:report_html", args=[run.pk])).content.decode()
    assert "Plotly" in html and "<script src=" not in html  # one self-contained file
    assert run.evidence_sha256 in html


def test_cancel_button_and_permissions(client, placements_world):
    pw = placements_world
    run = request_placements_audit(pw, holdout=False)
    client.force_login(pw["world"].regulator)  # covers the org: may see, may not cancel
    assert client.get(run.get_absolute_url()).status_code == 200
    assert client.post(reverse("audits:cancel", args=[run.pk])).status_code == 403
    client.force_login(pw["world"].curator_b)
    assert client.get(run.get_absolute_url()).status_code == 404
    assert client.get(reverse("audits:status", args=[run.pk])).status_code == 404
    client.force_login(pw["world"].officer_a)
    assert client.post(reverse("audits:cancel", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == AuditStatus.CANCELLED


def test_api_start_poll_cancel_and_results(placements_world, django_capture_on_commit_callbacks):
    pw = placements_world
    api = APIClient()
    api.force_authenticate(pw["world"].curator_a)
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post(
            "/api/v1/audits/",
            {
                "version": pw["synthetic"].pk,
                "reference": pw["real"].pk,
                "holdout": pw["holdout"].pk,
                "families": ["privacy"],
            },
            format="json",
        )
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    assert api.get(f"/api/v1/audits/{run_id}/").json()["status"] == "queued"
    assert api.get(f"/api/v1/audits/{run_id}/results/").status_code == 409
    run_now(AuditRun.objects.get(pk=run_id))
    results = api.get(f"/api/v1/audits/{run_id}/results/").json()
    keys = {m["key"] for m in results["results"]["metrics"]}
    assert "privacy.exact_match_rate" in keys
    assert api.post(f"/api/v1/audits/{run_id}/cancel/").status_code == 409
    metrics = api.get(f"/api/v1/audits/{run_id}/metrics/").json()
    assert any(m["key"] == "privacy.linkage_risk" for m in metrics)
    bad = api.post(
        "/api/v1/audits/",
        {"version": pw["synthetic"].pk, "reference": pw["real"].pk, "protected": ["religion"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "religion is not a column" in str(bad.json())


def test_metric_catalogue_page_and_api(client, world):
    client.force_login(world.curator_a)
    catalogue = client.get("/api/v1/metrics/").json()
    keys = {m["key"] for m in catalogue}
    for key in [
        "quality.overall",
        "utility.tstr_ratio",
        "fairness.amplification",
        "privacy.dcr_closer_to_training_share",
        "integrity.hash_verified",
        "provenance.compute_disclosed",
        "documentation.datasheet_completeness",
    ]:
        assert key in keys
    page = client.get(reverse("audits:metrics")).content.decode()
    assert 'id="privacy.exact_match_rate"' in page


def test_other_organisation_cannot_start_an_audit(client, placements_world):
    pw = placements_world
    client.force_login(pw["world"].curator_b)
    assert client.get(reverse("audits:request", args=[pw["synthetic"].pk])).status_code == 404
    api = APIClient()
    api.force_authenticate(pw["world"].regulator)
    response = api.post(
        "/api/v1/audits/",
        {"version": pw["synthetic"].pk, "reference": pw["real"].pk},
        format="json",
    )
    assert response.status_code == 403
