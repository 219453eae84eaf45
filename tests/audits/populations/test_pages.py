"""Population profile pages and API: who sees and does what; errors are 4xx."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audits.models import JurisdictionProfile, PopulationProfile
from audits.populations import services
from synthgov.trail.models import Event

CSV = "attribute,group,share\nsex,Female,0.51\nsex,Male,0.49\n"
URL = "https://www.ons.gov.uk/census"


def _draft(world):
    return services.profile_import(
        text=CSV, fmt="csv", user=world.regulator, owner=world.regulator_org,
        name="UK sex", source="ONS", source_url=URL,
    )  # fmt: skip


@pytest.mark.django_db
def test_define_publish_and_set_default_in_pages(client, world):
    client.force_login(world.regulator)
    assert "Populations" in client.get("/").content.decode()
    form = client.get("/populations/new/")
    assert form.status_code == 200
    refused = client.post(
        "/populations/new/",
        {"owner": world.regulator_org.pk, "name": "UK sex", "source": "ONS",
         "source_url": URL, "shares": "attribute,group,share\nsex,Female,0.7\n"},
    )  # fmt: skip
    assert refused.status_code == 400 and "sum to 0.7" in refused.content.decode()
    assert not PopulationProfile.objects.exists()
    saved = client.post(
        "/populations/new/",
        {"owner": world.regulator_org.pk, "name": "UK sex", "source": "ONS",
         "source_url": URL, "shares": CSV},
    )  # fmt: skip
    profile = PopulationProfile.objects.get()
    assert saved.status_code == 302 and saved["Location"] == profile.get_absolute_url()
    page = client.get(profile.get_absolute_url()).content.decode()
    assert "Female" in page and "0.51" in page and "draft" in page
    client.post(f"/populations/{profile.pk}/publish/")
    profile.refresh_from_db()
    assert profile.is_published
    # Published: the edit page refuses; a new version starts a draft.
    assert client.get(f"/populations/{profile.pk}/edit/").status_code == 403
    client.post(f"/populations/{profile.pk}/new-version/")
    assert PopulationProfile.objects.filter(number=2, status="draft").exists()
    eu = world.regulator_org.covered_jurisdictions.get()
    client.post(f"/populations/{profile.pk}/default/", {"jurisdiction": eu.pk})
    assert JurisdictionProfile.objects.get(jurisdiction=eu).profile == profile


@pytest.mark.django_db
def test_drafts_are_hidden_from_others_and_writing_is_refused(client, world):
    draft = _draft(world)
    client.force_login(world.curator_b)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.post(f"/populations/{draft.pk}/publish/").status_code == 404
    assert "UK sex" not in client.get("/populations/").content.decode()
    client.force_login(world.officer_a)
    assert client.get("/populations/new/").status_code == 403
    assert client.get("/populations/import/").status_code == 403
    assert "Populations" not in client.get("/").content.decode()
    client.force_login(world.regulator_b)
    published = services.profile_publish(profile=draft, user=world.regulator)
    assert client.get(published.get_absolute_url()).status_code == 200
    assert client.post(f"/populations/{published.pk}/new-version/").status_code == 403
    eu = world.regulator_org.covered_jurisdictions.get()
    client.post(f"/populations/{published.pk}/default/", {"jurisdiction": eu.pk})
    assert not JurisdictionProfile.objects.exists()
    assert client.get("/populations/99999/").status_code == 404


@pytest.mark.django_db
def test_import_page_refuses_hostile_input(client, world):
    client.force_login(world.curator_a)
    answer = client.post(
        "/populations/import/",
        {"owner": world.org_a.pk, "format": "yaml", "text": "a: &x [1]\nb: *x\n"},
    )
    assert answer.status_code == 400 and "aliases" in answer.content.decode()
    assert not PopulationProfile.objects.exists()
    ok = client.post(
        "/populations/import/",
        {"owner": world.org_a.pk, "format": "csv", "text": CSV, "name": "Sex",
         "source": "ONS", "source_url": URL},
    )  # fmt: skip
    assert ok.status_code == 302
    assert PopulationProfile.objects.get().owner == world.org_a


@pytest.mark.django_db
def test_api_list_create_import_publish_default(world):
    api = APIClient()
    api.force_authenticate(world.regulator)
    body = {
        "name": "UK sex",
        "source": "ONS",
        "source_url": URL,
        "groupings": [{"attributes": ["sex"], "groups": [
            {"values": ["Female"], "share": 0.51}, {"values": ["Male"], "share": 0.49}]}],
    }  # fmt: skip
    created = api.post("/api/v1/population-profiles/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    bad = api.post(
        "/api/v1/population-profiles/",
        {**body, "groupings": [{"attributes": ["sex"],
                                "groups": [{"values": ["F"], "share": 0.2}]}]},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and "sum to 0.2" in str(bad.json())
    imported = api.post(
        "/api/v1/population-profiles/import/",
        {"format": "csv", "text": CSV, "name": "From CSV", "source": "ONS", "source_url": URL},
        format="json",
    )
    assert imported.status_code == 201
    hostile = api.post(
        "/api/v1/population-profiles/import/",
        {"format": "yaml", "text": "!!python/object/apply:os.system ['id']"},
        format="json",
    )
    assert hostile.status_code == 400
    published = api.post(f"/api/v1/population-profiles/{pk}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert api.post(f"/api/v1/population-profiles/{pk}/publish/").status_code == 409
    default = api.post(
        f"/api/v1/population-profiles/{pk}/default/", {"jurisdiction": "EU"}, format="json"
    )
    assert default.status_code == 200
    unknown = api.post(
        f"/api/v1/population-profiles/{pk}/default/", {"jurisdiction": "XX"}, format="json"
    )
    assert unknown.status_code == 400
    assert api.get("/api/v1/population-profiles/abc/").status_code == 404
    # Others: published is listed, the draft is not; writing refused.
    other = APIClient()
    other.force_authenticate(world.curator_b)
    names = [p["name"] for p in other.get("/api/v1/population-profiles/").json()["results"]]
    assert names == ["UK sex"]
    assert other.post(f"/api/v1/population-profiles/{pk}/new-version/").status_code == 403
    other.force_authenticate(world.officer_a)
    assert other.post("/api/v1/population-profiles/", body, format="json").status_code == 403
    assert Event.objects.filter(action__startswith="audits.population_profile.").count() == 4


@pytest.mark.django_db
def test_schema_lists_the_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/population-profiles/", "/api/v1/population-profiles/import/",
                 "/api/v1/population-profiles/{id}/publish/"):  # fmt: skip
        assert path in schema
