"""What GET /versions/{id}/lineage/ returns, PUT takes back unchanged."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.models import LineageEdge
from tests.registry.conftest import make_dataset, make_version

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.curator_a).key}")
    return client


@pytest.fixture
def synthetic(world, api):
    real = make_version(make_dataset(world, kind="real", name="Real placements"), world.curator_a)
    other = make_version(make_dataset(world, kind="real", name="More placements"), world.curator_a)
    synth = make_version(make_dataset(world, name="Synthetic placements"), world.curator_a)
    declared = api.put(
        f"/api/v1/versions/{synth.pk}/lineage/",
        {
            "parents": [
                {"parent": real.pk, "relation": "trained_on"},
                {"parent": other.pk, "relation": "derived_from"},
            ],
            "generator_type": "copula",
            "generator_library": "sdv",
            "generator_version": "1.17",
            "parameters": {"default_distribution": "beta", "epochs": 300},
            "seed": 7,
            "privacy_mechanism": "differential_privacy",
            "epsilon": 3.0,
            "delta": 1e-06,
            "compute_description": "one laptop",
            "energy_kwh": 0.2,
            "carbon_kg": 0.05,
        },
        format="json",
    )
    assert declared.status_code == 200, declared.content
    return synth, real, other


def _lineage(version):
    edges = sorted(LineageEdge.objects.filter(child=version).values_list("parent_id", "relation"))
    version.generation.refresh_from_db()
    return edges, {f: getattr(version.generation, f) for f in (
        "generator_type", "generator_library", "generator_version", "parameters", "seed",
        "privacy_mechanism", "epsilon", "delta", "compute_description", "energy_kwh",
        "carbon_kg",
    )}  # fmt: skip


def test_get_names_each_parent_and_relation_as_put_takes_them(api, synthetic):
    synth, real, other = synthetic
    body = api.get(f"/api/v1/versions/{synth.pk}/lineage/").json()
    assert body["parents"] == [
        {
            "parent": real.pk,
            "relation": "trained_on",
            "relation_label": "trained on",
            "restricted": False,
            "version": real.pk,
            "label": str(real),
        },
        {
            "parent": other.pk,
            "relation": "derived_from",
            "relation_label": "derived from",
            "restricted": False,
            "version": other.pk,
            "label": str(other),
        },
    ]
    assert body["generation"]["generator_type"] == "copula"
    assert body["generation"]["delta"] == 1e-06


def test_get_then_put_the_same_body_changes_nothing(api, synthetic):
    synth = synthetic[0]
    before = _lineage(synth)
    body = api.get(f"/api/v1/versions/{synth.pk}/lineage/").json()
    put = api.put(f"/api/v1/versions/{synth.pk}/lineage/", body, format="json")
    assert put.status_code == 200, put.content
    assert _lineage(synth) == before
    assert put.json()["parents"] == body["parents"]
    assert put.json()["generation"] == body["generation"]


def test_the_generation_block_is_read_when_sent_back_changed(api, synthetic):
    synth = synthetic[0]
    body = api.get(f"/api/v1/versions/{synth.pk}/lineage/").json()
    body["generation"]["epsilon"] = 1.5
    body["generation"]["generator_type"] = "gan"
    put = api.put(f"/api/v1/versions/{synth.pk}/lineage/", body, format="json")
    assert put.status_code == 200, put.content
    synth.generation.refresh_from_db()
    assert (synth.generation.epsilon, synth.generation.generator_type) == (1.5, "gan")
    assert synth.generation.generator_library == "sdv"


def test_generation_facts_in_the_block_and_at_the_top_level_are_refused(api, synthetic):
    synth = synthetic[0]
    body = api.get(f"/api/v1/versions/{synth.pk}/lineage/").json()
    refused = api.put(
        f"/api/v1/versions/{synth.pk}/lineage/", {**body, "epsilon": 9.0}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["epsilon"] == [
        "Give the generation facts in `generation` or at the top level, not both."
    ]


def test_a_real_version_round_trips_with_no_parents_or_generator(world, api):
    real = make_version(make_dataset(world, kind="real", name="Real only"), world.curator_a)
    body = api.get(f"/api/v1/versions/{real.pk}/lineage/").json()
    put = api.put(f"/api/v1/versions/{real.pk}/lineage/", body, format="json")
    assert put.status_code == 200, put.content
    assert put.json()["parents"] == [] and put.json()["generation"] == body["generation"]


def test_a_wrong_relation_lists_the_relations(api, synthetic):
    synth, real, _ = synthetic
    refused = api.put(
        f"/api/v1/versions/{synth.pk}/lineage/",
        {"parents": [{"parent": real.pk, "relation": "trained on"}]},
        format="json",
    )
    assert refused.status_code == 400
    (message,) = refused.json()["parents"]["0"]["relation"]
    assert message.startswith('"trained on" is not a valid choice; choose one of: trained_on, ')
    assert "derived_from" in message


def test_a_wrong_column_type_lists_the_types(api, synthetic):
    synth = synthetic[0]
    columns = [{**c, "type": "number"} if i == 0 else c for i, c in enumerate(synth.schema)]
    refused = api.patch(f"/api/v1/versions/{synth.pk}/schema/", {"columns": columns}, format="json")
    assert refused.status_code == 400
    (message,) = refused.json()["columns"]["0"]["type"]
    assert message.startswith('"number" is not a valid choice; choose one of: ')
    assert "numerical" in message and "categorical" in message
