"""What the forms ask depends on the dataset's kind: real data is not asked for a
generator or parents, and its datasheet shows and counts only the sections that
apply to real data."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import LineageEdge
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def real_and_synthetic(world):
    real = make_version(make_dataset(world, name="Real placements", kind="real"), world.curator_a)
    synthetic = make_version(
        make_dataset(world, name="Synthetic placements"), world.curator_a, placements_csv(seed=4)
    )
    return real, synthetic


def test_a_single_table_version_page_shows_its_schema_with_distributions(
    client, world, real_and_synthetic
):
    real, _ = real_and_synthetic
    client.force_login(world.curator_a)
    page = client.get(real.get_absolute_url()).content.decode()
    assert 'data-testid="schema-table"' in page and "<th>Distribution</th>" in page
    for column in real.schema:
        assert f'<tr data-column="{column["name"]}">' in page
    assert 'aria-label="Distribution of ' in page


def test_real_version_pages_ask_for_no_generator_or_parents(client, world, real_and_synthetic):
    real, synthetic = real_and_synthetic
    client.force_login(world.curator_a)
    lineage = client.get(reverse("registry:lineage", args=[real.pk])).content.decode()
    assert "is a <strong>real</strong> dataset" in lineage
    assert "parents-0-parent" not in lineage and "generator_type" not in lineage
    assert "Generator library" not in lineage
    schema = client.get(reverse("registry:schema", args=[real.pk])).content.decode()
    assert "Save and fill in the datasheet" in schema and "2 · Lineage" not in schema
    assert "2 · Datasheet" in schema
    saved = client.post(
        reverse("registry:schema", args=[real.pk]),
        {
            **{f"type_{i}": c["type"] for i, c in enumerate(real.schema)},
            **{f"role_{i}": c["role"] for i, c in enumerate(real.schema)},
        },
    )
    assert saved.status_code == 302
    assert saved.url == reverse("registry:datasheet", args=[real.pk])
    detail = client.get(real.get_absolute_url()).content.decode()
    assert "Declare lineage" not in detail
    assert "Real data: the reference that synthetic versions are trained on" in detail
    dataset_page = client.get(real.dataset.get_absolute_url()).content.decode()
    assert "No synthetic version names this real dataset as a source yet" in dataset_page

    # The synthetic version still gets both.
    lineage = client.get(reverse("registry:lineage", args=[synthetic.pk])).content.decode()
    assert "parents-0-parent" in lineage and "generator_type" in lineage
    assert "Declare lineage" in client.get(synthetic.get_absolute_url()).content.decode()
    assert (
        "2 · Lineage"
        in client.get(reverse("registry:schema", args=[synthetic.pk])).content.decode()
    )


def test_posting_parents_for_a_real_version_changes_nothing(client, world, real_and_synthetic):
    real, synthetic = real_and_synthetic
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:lineage", args=[real.pk]),
        {
            "parents-TOTAL_FORMS": "1",
            "parents-INITIAL_FORMS": "0",
            "parents-0-parent": str(synthetic.pk),
            "parents-0-relation": "derived_from",
            "generator_type": "gan",
        },
    )
    assert response.status_code == 400
    assert not LineageEdge.objects.filter(child=real).exists()
    real.generation.refresh_from_db()
    assert real.generation.generator_type == ""


def test_api_refuses_parents_and_generator_for_real_data(world, real_and_synthetic):
    real, synthetic = real_and_synthetic
    api = APIClient()
    api.force_authenticate(world.curator_a)
    url = f"/api/v1/versions/{real.pk}/lineage/"
    parents = api.put(
        url, {"parents": [{"parent": synthetic.pk, "relation": "derived_from"}]}, format="json"
    )
    assert parents.status_code == 400
    assert "A real dataset has no parent versions" in parents.json()["parents"][0]
    generator = api.put(
        url, {"parents": [], "generator_type": "gan", "parameters": {"epochs": 3}}, format="json"
    )
    assert generator.status_code == 400
    body = generator.json()
    assert set(body) == {"generator_type", "parameters"}
    assert "A real dataset has no generator" in body["generator_type"][0]
    assert not LineageEdge.objects.filter(child=real).exists()
    assert api.put(url, {"parents": []}, format="json").status_code == 200
    # A synthetic version declares both.
    ok = api.put(
        f"/api/v1/versions/{synthetic.pk}/lineage/",
        {"parents": [{"parent": real.pk, "relation": "trained_on"}], "generator_type": "gan"},
        format="json",
    )
    assert ok.status_code == 200, ok.content


def test_datasheet_page_shows_and_counts_the_sections_for_the_kind(
    client, world, real_and_synthetic
):
    real, synthetic = real_and_synthetic
    client.force_login(world.curator_a)
    url = reverse("registry:datasheet", args=[real.pk])
    page = client.get(url).content.decode()
    assert 'name="motivation"' in page and 'name="known_limitations"' in page
    for synthetic_only in ("generation_method", "real_sources", "watermarking"):
        assert f'name="{synthetic_only}"' not in page
    assert "share of the 9 sections that apply to a" in " ".join(page.split())
    assert (
        "generation method, real sources and watermarking apply to synthetic data only"
        in " ".join(page.split())
    )
    saved = client.post(url, {"motivation": "Reference placements for audits."}, follow=True)
    assert "Datasheet saved: 11% complete." in saved.content.decode()
    detail = client.get(real.get_absolute_url()).content.decode()
    assert "<dt>Generation method</dt>" not in detail and "<dt>Motivation</dt>" in detail

    page = client.get(reverse("registry:datasheet", args=[synthetic.pk])).content.decode()
    assert 'name="generation_method"' in page and 'name="watermarking"' in page
    assert "share of the 12 sections that apply" in " ".join(page.split())
    assert "<dt>Generation method</dt>" in client.get(synthetic.get_absolute_url()).content.decode()


def test_datasheet_api_says_which_sections_count(world, real_and_synthetic):
    real, synthetic = real_and_synthetic
    api = APIClient()
    api.force_authenticate(world.curator_a)
    sheet = api.put(
        f"/api/v1/versions/{real.pk}/datasheet/",
        {"motivation": "Reference placements for audits.", "watermarking": "Not relevant here."},
        format="json",
    ).json()
    assert len(sheet["counted_sections"]) == 9 and "watermarking" not in sheet["counted_sections"]
    assert sheet["completeness"] == pytest.approx(1 / 9, abs=1e-4)
    version = api.get(f"/api/v1/versions/{real.pk}/").json()
    assert version["datasheet_completeness"] == pytest.approx(1 / 9, abs=1e-4)
    other = api.get(f"/api/v1/versions/{synthetic.pk}/datasheet/").json()
    assert len(other["counted_sections"]) == 12
