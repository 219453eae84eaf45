import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.registry.conftest import placements_csv, upload

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.curator_a).key}")
    return client


def test_register_upload_declare_and_document_through_the_api(api, world):
    created = api.post(
        "/api/v1/datasets/",
        {
            "name": "API placements",
            "kind": "real",
            "domain": "Education",
            "licence": "CC0-1.0",
            "access": "open",
            "tags": ["students"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    dataset = created.json()
    assert dataset["organisation"] == "alpha" and dataset["domain"] == "education"
    v1 = api.post(
        f"/api/v1/datasets/{dataset['id']}/versions/",
        {"file": upload(placements_csv())},
        format="multipart",
    )
    assert v1.status_code == 201, v1.content
    real = v1.json()
    synth_ds = api.post(
        "/api/v1/datasets/",
        {
            "name": "API synthetic",
            "kind": "fully_synthetic",
            "domain": "education",
            "licence": "CC-BY-4.0",
        },
        format="json",
    ).json()
    s1 = api.post(
        f"/api/v1/datasets/{synth_ds['id']}/versions/",
        {"file": upload(placements_csv(seed=2))},
        format="multipart",
    ).json()
    lineage = api.put(
        f"/api/v1/versions/{s1['id']}/lineage/",
        {
            "parents": [{"parent": real["id"], "relation": "trained_on"}],
            "generator_type": "copula",
            "generator_library": "sdv",
            "generator_version": "1.17",
            "parameters": {"default_distribution": "beta"},
            "seed": 1,
            "privacy_mechanism": "differential_privacy",
            "epsilon": 3.0,
            "energy_kwh": 0.2,
        },
        format="json",
    )
    assert lineage.status_code == 200, lineage.content
    body = lineage.json()
    assert body["parents"][0]["version"] == real["id"]
    assert body["generation"]["epsilon"] == 3.0
    schema = [{**c, "role": "target"} if c["name"] == "placed" else c for c in s1["schema"]]
    patched = api.patch(f"/api/v1/versions/{s1['id']}/schema/", {"columns": schema}, format="json")
    assert patched.status_code == 200
    assert next(c for c in patched.json()["schema"] if c["name"] == "placed")["role"] == "target"
    sheet = api.put(
        f"/api/v1/versions/{s1['id']}/datasheet/",
        {"motivation": "Share placement data without exposing students."},
        format="json",
    )
    assert sheet.json()["completeness"] == pytest.approx(1 / 12, abs=1e-4)
    prov = api.get(f"/api/v1/datasets/{synth_ds['id']}/prov/").json()
    assert prov["wasDerivedFrom"]
    croissant = api.get(f"/api/v1/versions/{s1['id']}/croissant/").json()
    assert croissant["distribution"][0]["sha256"] == s1["sha256"]
    download = api.get(f"/api/v1/versions/{real['id']}/download/")
    assert b"".join(download.streaming_content) == placements_csv()
    listed = api.get("/api/v1/datasets/?kind=real&tag=students").json()
    assert [d["name"] for d in listed["results"]] == ["API placements"]
    assert api.get("/api/v1/datasets/?q=synthetic").json()["count"] == 1


def test_only_curators_register(world):
    client = APIClient()
    client.force_authenticate(world.regulator)
    response = client.post(
        "/api/v1/datasets/",
        {"name": "x", "kind": "real", "domain": "x", "licence": "MIT"},
        format="json",
    )
    assert response.status_code == 403
