"""The audit compares with the applicable population profile and records it as evidence."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from audits.models import AuditMetric
from audits.populations import services as profiles
from audits.runs import services
from synthgov.accounts.models import Jurisdiction
from tests.audits.conftest import request_placements_audit

GENDER = [
    {
        "attributes": ["gender"],
        "groups": [{"values": ["F"], "share": 0.5}, {"values": ["M"], "share": 0.5}],
    }
]


def _published(world, name="Gender", user=None, owner=None):
    draft = profiles.profile_save_draft(
        user=user or world.regulator,
        owner=owner or world.regulator_org,
        name=name,
        source="A census",
        source_url="https://example.org/census",
        groupings=GENDER,
    )
    return profiles.profile_publish(profile=draft, user=user or world.regulator)


def _run_now(run):
    return services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))


def _figures(run):
    return dict(AuditMetric.objects.filter(run=run).values_list("key", "value"))


@pytest.mark.django_db
def test_jurisdiction_default_applies_and_is_recorded_as_evidence(placements_world):
    world = placements_world["world"]
    profile = _published(world)
    profiles.jurisdiction_set_default(
        jurisdiction=Jurisdiction.objects.get(code="EU"), profile=profile, user=world.regulator
    )
    run = _run_now(request_placements_audit(placements_world, holdout=False))
    assert run.status == "succeeded", run.error
    assert run.config["population"]["profile_id"] == profile.pk
    assert run.config["population"]["version"] == 1
    assert run.config["population"]["content_sha256"] == profile.content_sha256
    assert run.config["population"]["applied_as"] == "default of EU"
    figures = _figures(run)
    real, synthetic = placements_world["real"], placements_world["synthetic"]
    assert figures["fairness.population_representation_gap"] is not None
    assert figures["fairness.population_representation_gap_real"] is not None
    metric = next(
        m for m in run.results["metrics"] if m["key"] == "fairness.population_representation_gap"
    )
    table = metric["details"]["groupings"][0]
    assert table["groups"] == ["gender=F", "gender=M"]
    assert table["real_rows"] == 160 and synthetic.row_count == table["synthetic_rows"]
    assert real.pk  # the reference is the real training data


@pytest.mark.django_db
def test_without_a_profile_the_figures_are_skipped(placements_world):
    run = _run_now(request_placements_audit(placements_world, holdout=False))
    assert run.config["population"] is None
    assert _figures(run)["fairness.population_representation_gap"] is None


@pytest.mark.django_db
def test_chosen_profile_must_be_published(placements_world):
    world = placements_world["world"]
    draft = profiles.profile_save_draft(
        user=world.curator_a,
        owner=world.org_a,
        name="Own draft",
        source="x",
        source_url="https://example.org",
        groupings=GENDER,
    )
    for chosen in (draft.pk, 999_999, "abc", True):
        with pytest.raises(ValidationError) as caught:
            services.audit_run_request(
                version=placements_world["synthetic"],
                reference=placements_world["real"],
                holdout=None,
                config={**services.default_config(placements_world["synthetic"]),
                        "population_profile": chosen},
                user=world.curator_a,
            )  # fmt: skip
        assert "population_profile" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.audit_run_request(
            version=placements_world["synthetic"],
            reference=placements_world["real"],
            holdout=None,
            config={**services.default_config(placements_world["synthetic"]),
                    "population_intended": True},
            user=world.curator_a,
        )  # fmt: skip
    assert "population_intended" in caught.value.message_dict


@pytest.mark.django_db
def test_api_request_with_a_chosen_profile_and_declared_rebalancing(placements_world):
    world = placements_world["world"]
    # Another regulator's published profile: public statistics, usable by anyone.
    profile = _published(world, user=world.regulator_b, owner=world.regulator_org_b)
    client = APIClient()
    client.force_authenticate(world.curator_a)
    body = {
        "version": placements_world["synthetic"].pk,
        "reference": placements_world["real"].pk,
        "population_profile": profile.pk,
        "population_intended": True,
    }
    answer = client.post("/api/v1/audits/", body, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["config"]["population"]["intended"] is True
    refused = client.post("/api/v1/audits/", {**body, "population_profile": 0}, format="json")
    assert refused.status_code == 400 and "population_profile" in refused.json()


@pytest.mark.django_db
def test_report_shows_the_profile_and_the_population_chart(client, placements_world):
    world = placements_world["world"]
    profile = _published(world)
    run = _run_now(
        services.audit_run_request(
            version=placements_world["synthetic"],
            reference=placements_world["real"],
            holdout=None,
            config={
                **services.default_config(placements_world["synthetic"]),
                "population_profile": profile.pk,
                "population_intended": True,
            },
            user=world.curator_a,
        )
    )
    client.force_login(world.curator_a)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Gender (version 1)" in page and "deliberately rebalanced" in page
    assert 'data-chart-key="fairness.population.gender"' in page
    assert "real vs synthetic vs the population profile" in page


@pytest.mark.django_db
def test_request_form_offers_published_profiles_and_records_the_choice(client, placements_world):
    world = placements_world["world"]
    profile = _published(world)
    draft = profiles.profile_save_draft(
        user=world.curator_a,
        owner=world.org_a,
        name="Unpublished",
        source="x",
        source_url="https://example.org",
        groupings=GENDER,
    )
    client.force_login(world.curator_a)
    url = f"/versions/{placements_world['synthetic'].pk}/audit/"
    form = client.get(url).content.decode()
    assert "Gender (version 1)" in form and "Unpublished" not in form
    base = {
        "reference": placements_world["real"].pk,
        "families": ["fairness"],
        "protected": ["gender"],
        "seed": 0,
    }
    refused = client.post(url, {**base, "population_profile": draft.pk})
    # A draft is not among the choices: refused, nothing queued.
    assert "valid choice" in refused.content.decode()
    assert not placements_world["synthetic"].audits.exists()
    answer = client.post(
        url, {**base, "population_profile": profile.pk, "population_intended": "on"}
    )
    assert answer.status_code == 302
    run = placements_world["synthetic"].audits.get()
    assert run.config["population"]["profile_id"] == profile.pk
    assert run.config["population"]["intended"] is True
    assert run.config["population"]["applied_as"] == "chosen in the audit request"
