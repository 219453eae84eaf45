"""Watermarking, manifests and check origin through the API and the pages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
from django.core.files.storage import default_storage
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audits.provenance import services as provenance
from registry.models import Generation, WatermarkRun
from synthgov.signing.canonical import signed_bytes
from synthgov.signing.manifests import manifest_verify, parquet_read_manifest
from tests.audits.provenance.test_provenance import TOLERANCES, add_version, frame, stored_bytes
from tests.registry.conftest import make_dataset, parquet_bytes, upload

pytestmark = pytest.mark.usefixtures("registry_storage", "org_keys")


@pytest.fixture
def org_keys(settings: Any, tmp_path: Any) -> Any:
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    return tmp_path / "keys"


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def source(world: Any) -> Any:
    dataset = make_dataset(world)
    return add_version(dataset, world.curator_a, frame().to_csv(index=False).encode())


def run_queued() -> list[Any]:
    """What the worker would do for each queued request (tests do not commit, so
    on_commit tasks never fire)."""
    return [
        provenance.watermark_run_execute(run_id=pk)
        for pk in WatermarkRun.objects.filter(status="queued").values_list("pk", flat=True)
    ]


# --- API ----------------------------------------------------------------------------


def test_watermark_through_the_api(world, source):
    api = api_for(world.curator_a)
    response = api.post(
        f"/api/v1/versions/{source.pk}/watermark/",
        {"tolerances": TOLERANCES, "categorical": {"region": 0.1}},
        format="json",
    )
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    run_queued()
    state = api.get(f"/api/v1/watermark-runs/{run_id}/").json()
    assert state["status"] == "succeeded"
    new = api.get(f"/api/v1/versions/{state['result']}/").json()
    assert new["number"] == 2
    manifest = api.get(f"/api/v1/versions/{state['result']}/manifest/").json()
    assert manifest["manifest"]["watermark"]["parameters"]["tolerances"] == TOLERANCES


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tolerances": {"score": 0}}, "greater than 0"),
        ({"tolerances": {}}, "at least one numerical column"),
        ({"tolerances": {"region": 1}}, "not a numerical column"),
    ],
)
def test_api_refuses_bad_watermark_requests(world, source, body, message):
    response = api_for(world.curator_a).post(
        f"/api/v1/versions/{source.pk}/watermark/", body, format="json"
    )
    assert response.status_code == 400
    assert message in json.dumps(response.json())


def test_api_watermark_permissions(world, source):
    body = {"tolerances": TOLERANCES}
    assert (
        api_for(world.curator_b)
        .post(f"/api/v1/versions/{source.pk}/watermark/", body, format="json")
        .status_code
        == 404
    )
    assert (
        api_for(world.regulator)
        .post(f"/api/v1/versions/{source.pk}/watermark/", body, format="json")
        .status_code
        == 403
    )
    assert (
        api_for(world.curator_b).get(f"/api/v1/versions/{source.pk}/manifest/").status_code == 404
    )
    assert not WatermarkRun.objects.exists()


def test_check_origin_through_the_api(world, source):
    marked = provenance.version_watermark(
        version=source, user=world.curator_a, tolerances=TOLERANCES
    )
    shuffled = pd.read_csv(io.BytesIO(stored_bytes(marked))).sample(frac=1.0, random_state=1)
    response = api_for(world.curator_a).post(
        "/api/v1/check-origin/",
        {"file": upload(shuffled.to_csv(index=False).encode(), "found.csv")},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    [result] = response.json()
    assert result["organisation"] == "alpha" and result["present"] is True
    assert result["version"] == marked.pk and result["p_value"] < 1e-6
    other = api_for(world.curator_b).post(
        "/api/v1/check-origin/",
        {"file": upload(stored_bytes(marked), "found.csv")},
        format="multipart",
    )
    assert [r["organisation"] for r in other.json()] == ["beta"]
    bad = api_for(world.curator_a).post(
        "/api/v1/check-origin/", {"file": upload(b"\x00\x01", "x.bin")}, format="multipart"
    )
    assert bad.status_code == 400


def test_manifest_key_is_public_and_verifies_the_manifest(world, source):
    document = api_for(world.curator_a).get(f"/api/v1/versions/{source.pk}/manifest/").json()
    published = APIClient().get("/api/v1/organisations/alpha/manifest-key/")
    assert published.status_code == 200
    from synthgov.signing.keys import load_public_key_pem

    key = load_public_key_pem(published.json()["manifest_signing_key"]["public_key_pem"])
    kid = published.json()["manifest_signing_key"]["kid"]
    assert manifest_verify(document, {kid: key}).valid
    assert "secret" not in json.dumps(published.json())


# --- pages --------------------------------------------------------------------------


def test_watermark_pages(client, world, source):
    client.force_login(world.curator_a)
    page = client.get(source.get_absolute_url())
    assert b'data-testid="watermark-panel"' in page.content
    assert b"/watermark/" in page.content
    form = client.get(f"/versions/{source.pk}/watermark/")
    assert form.status_code == 200 and b"score" in form.content
    fields = {f"tol_{i}": "" for i, c in enumerate(source.schema)}
    fields.update({"tol_1": "0.2", "cat_3": "on", "category_rate": "0.1"})
    refused = client.post(
        f"/versions/{source.pk}/watermark/", {"tol_1": "0", "category_rate": "0.1"}
    )
    assert b"must be greater than 0" in refused.content
    posted = client.post(f"/versions/{source.pk}/watermark/", fields)
    assert posted.status_code == 302
    run = WatermarkRun.objects.get()
    assert run.tolerances == {"score": 0.2} and run.categorical == {"region": 0.1}
    waiting = client.get(posted["Location"])
    assert b'http-equiv="refresh"' in waiting.content
    run_queued()
    done = client.get(posted["Location"])
    run.refresh_from_db()
    assert b'data-testid="watermarked-version"' in done.content
    new_page = client.get(run.result.get_absolute_url())
    assert run.result.watermark_key_id.encode() in new_page.content
    assert b"Column shapes vs source" in new_page.content
    assert b'data-testid="watermark-reference-quality"' not in new_page.content  # no audit


def test_watermark_page_is_for_curators_only(client, world, source):
    client.force_login(world.regulator)
    assert client.get(f"/versions/{source.pk}/watermark/").status_code == 403
    assert b"/watermark/" not in client.get(source.get_absolute_url()).content
    client.force_login(world.curator_b)
    assert client.get(f"/versions/{source.pk}/watermark/").status_code == 404


def test_manifest_downloads(client, world, source):
    client.force_login(world.curator_a)
    sidecar = client.get(f"/versions/{source.pk}/manifest.json")
    assert sidecar["Content-Disposition"].startswith("attachment")
    assert json.loads(sidecar.content)["manifest"]["version"]["sha256"] == source.sha256
    assert client.get(f"/versions/{source.pk}/manifest.parquet").status_code == 404
    parquet = add_version(
        source.dataset, world.curator_a, parquet_bytes(frame(seed=3)), "p.parquet"
    )
    download = client.get(f"/versions/{parquet.pk}/manifest.parquet")
    assert download.status_code == 200
    path = default_storage.path("downloaded.parquet")
    with open(path, "wb") as handle:
        handle.write(b"".join(download.streaming_content))
    assert parquet_read_manifest(path)["manifest"]["version"]["id"] == parquet.pk
    key = client.get("/organisations/alpha/manifest-key.json").json()
    assert key["manifest_signing_key"]["kid"] == json.loads(sidecar.content)["signature"]["kid"]


def test_check_origin_page(client, world, source):
    marked = provenance.version_watermark(
        version=source, user=world.curator_a, tolerances=TOLERANCES
    )
    client.force_login(world.curator_a)
    assert client.get("/check-origin/").status_code == 200
    found = client.post("/check-origin/", {"file": upload(stored_bytes(marked), "found.csv")})
    assert b"Carries Alpha Synthetics" in found.content
    clean = client.post(
        "/check-origin/", {"file": upload(frame(seed=8).to_csv(index=False).encode(), "c.csv")}
    )
    assert b"No sign of Alpha Synthetics" in clean.content


def test_a_manifest_with_a_float_is_rfc8785_and_verifies_offline(world, source, tmp_path):
    """epsilon 1e-06 is the number Python and RFC 8785 write differently: the
    manifest says it is signed over RFC 8785 bytes, and the offline verifier
    accepts the sidecar the API serves."""
    Generation.objects.update_or_create(version=source, defaults={"epsilon": 1e-06})
    api = api_for(world.curator_a)
    document = api.get(f"/api/v1/versions/{source.pk}/manifest/").json()
    assert document["manifest"]["canonicalization"] == "RFC8785"
    assert b'"epsilon":0.000001' in signed_bytes(document["manifest"])
    (tmp_path / "manifest.json").write_text(json.dumps(document))
    key = APIClient().get("/api/v1/organisations/alpha/manifest-key/").content
    (tmp_path / "key.json").write_bytes(key)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "synthgov.verify_manifest", str(tmp_path / "manifest.json")),
            *("--public-key", str(tmp_path / "key.json")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
