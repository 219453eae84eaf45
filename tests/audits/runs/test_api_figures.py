"""Every figure endpoint carries each figure's details and skip reason; the catalogue
says which families an audit request may name."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audits.checks.base import FAMILIES
from audits.checks.collapse import KEYS
from tests.audits import test_cross_organisation_disclosure as disclosure_case

# Organisation A's audit whose collapse figures compare with A's restricted real data,
# seen by organisation B's curator (issue 11's disclosure case).
attack = disclosure_case.attack
audited_by_a = disclosure_case.audited_by_a
api_b = disclosure_case.api_b
MEASURED = disclosure_case.MEASURED


@pytest.fixture
def fairness_run(placements_world, django_capture_on_commit_callbacks):
    api = APIClient()
    api.force_authenticate(placements_world["world"].curator_a)
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post(
            "/api/v1/audits/",
            {
                "version": placements_world["synthetic"].pk,
                "reference": placements_world["real"].pk,
                "families": ["fairness", "provenance"],
                "protected": ["gender", "degree_type"],
                "target": "",  # no outcome: the outcome figures are skipped, with why
            },
            format="json",
        )
    assert started.status_code == 202, started.content
    return api, disclosure_case.run_now(started.json()["id"])


@pytest.mark.django_db
def test_metrics_carry_the_details_and_skip_reason_of_the_results(fairness_run):
    api, run = fairness_run
    metrics = {m["key"]: m for m in api.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    document = api.get(f"/api/v1/audits/{run.pk}/results/").json()
    results = {m["key"]: m for m in document["results"]["metrics"]}
    assert set(metrics) == set(results)
    for key, figure in results.items():
        assert metrics[key]["details"] == figure["details"], key
        assert metrics[key]["skip_reason"] == figure["skip_reason"], key
    missing = metrics["fairness.missing_groups"]
    assert missing["details"]["groups"] == results["fairness.missing_groups"]["details"]["groups"]
    assert "groups" in missing["details"]
    skipped = [m for m in metrics.values() if m["status"] == "skipped"]
    assert skipped and all(m["skip_reason"] for m in skipped)


def test_metrics_withhold_the_details_of_figures_withheld_from_the_reader(audited_by_a, api_b):
    run, world = audited_by_a["run"], audited_by_a["world"]
    metrics = {m["key"]: m for m in api_b.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    for key in MEASURED:
        assert metrics[key]["value"] is None and metrics[key]["details"] == {}, key
        assert "restricted source you may not read" in metrics[key]["skip_reason"], key
    # The lineage depth is shown, without the id of the restricted ancestor.
    assert metrics[KEYS["generation_depth"]]["details"]["ancestor_version"] is None
    owner = APIClient()
    owner.force_authenticate(world.curator_a)
    own = {m["key"]: m for m in owner.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    assert own[KEYS["variance_ratio"]]["details"]["columns"]["salary"] is not None
    assert own[KEYS["variance_ratio"]]["skip_reason"] is None


@pytest.mark.django_db
def test_the_catalogue_says_which_families_an_audit_request_may_name(world):
    api = APIClient()
    api.force_authenticate(world.curator_a)
    catalogue = api.get("/api/v1/metrics/").json()
    requestable = {m["family"] for m in catalogue if m["requestable"]}
    measured_always = {m["family"] for m in catalogue if not m["requestable"]}
    assert requestable == set(FAMILIES)
    assert measured_always == {"collapse"}
