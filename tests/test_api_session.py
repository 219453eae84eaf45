"""The README's API session, step by step, as its curl commands send it.

Each request below is one curl command of README's *API* section (same method, URL,
headers and body): a token made with ``manage.py drf_create_token``, then register,
upload, declare lineage, audit, poll, read figures and read evaluations. The worker's
part (running the audit, evaluating the version) is done in-process where the README
says "poll".
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from audits.compliance import services as compliance
from audits.standards import services as standard_services
from registry.models import DatasetVersion
from tests.audits.conftest import placements
from tests.audits.standards.builders import base_standard
from tests.audits.test_cross_organisation_disclosure import run_now

pytestmark = pytest.mark.usefixtures("registry_storage")
API = "/api/v1"


def _csv(frame) -> io.BytesIO:
    handle = io.BytesIO(frame.to_csv(index=False).encode())
    handle.name = "data.csv"
    return handle


class Curl:
    """``curl -s -H "Authorization: Token $TOKEN" ...``: no session, no CSRF token."""

    def __init__(self, token: str) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

    def get(self, path: str):
        return self.client.get(API + path, **self.auth)

    def json(self, method: str, path: str, body: dict):
        # curl -X METHOD -H 'Content-Type: application/json' -d '...'
        send = getattr(self.client, method.lower())
        return send(API + path, json.dumps(body), content_type="application/json", **self.auth)

    def upload(self, path: str, file: io.BytesIO):
        # curl -F file=@data.csv
        return self.client.post(API + path, {"file": file}, **self.auth)


def test_the_readme_api_session_works_with_a_token_from_drf_create_token(
    world, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    call_command("drf_create_token", world.curator_a.username, stdout=out)
    token = re.fullmatch(r"Generated token (\w+) for user \S+\n", out.getvalue()).group(1)
    curl = Curl(token)
    assert curl.get("/me/").status_code == 200

    real_frame, synthetic_frame = placements()
    real_ds = curl.json(
        "POST",
        "/datasets/",
        {"name": "Placements", "kind": "real", "domain": "education", "licence": "CC0-1.0"},
    )
    assert real_ds.status_code == 201, real_ds.content
    synth_ds = curl.json(
        "POST",
        "/datasets/",
        {
            "name": "Placements (synthetic)",
            "kind": "fully_synthetic",
            "domain": "education",
            "licence": "CC-BY-4.0",
        },
    )
    assert synth_ds.status_code == 201, synth_ds.content

    real = curl.upload(f"/datasets/{real_ds.json()['id']}/versions/", _csv(real_frame))
    assert real.status_code == 201, real.content
    synth = curl.upload(f"/datasets/{synth_ds.json()['id']}/versions/", _csv(synthetic_frame))
    assert synth.status_code == 201, synth.content
    real_id, synth_id = real.json()["id"], synth.json()["id"]

    lineage = curl.json(
        "PUT",
        f"/versions/{synth_id}/lineage/",
        {
            "parents": [{"parent": real_id, "relation": "trained_on"}],
            "generation": {"generator_type": "copula", "generator_library": "sdv"},
        },
    )
    assert lineage.status_code == 200, lineage.content
    assert lineage.json()["parents"][0]["parent"] == real_id

    with django_capture_on_commit_callbacks(execute=False):
        requested = curl.json("POST", "/audits/", {"version": synth_id, "reference": real_id})
    assert requested.status_code == 202, requested.content
    audit = requested.json()
    assert audit["status"] == "queued"
    assert curl.get(f"/audits/{audit['id']}/").json()["status"] == "queued"
    run_now(audit["id"])  # the worker
    polled = curl.get(f"/audits/{audit['id']}/").json()
    assert polled["status"] == "succeeded" and polled["progress"] == 1

    metrics = curl.get(f"/audits/{audit['id']}/metrics/")
    assert metrics.status_code == 200
    figures = {m["key"]: m for m in metrics.json()}
    assert "quality.overall" in figures and "details" in figures["quality.overall"]
    results = curl.get(f"/audits/{audit['id']}/results/")
    assert results.status_code == 200 and results.json()["audit"] == audit["id"]

    standard_services.standard_publish(
        version=standard_services.standard_save_draft(
            spec=base_standard(), user=world.admin_a, owner=None
        ),
        user=world.admin_a,
    )
    # The worker evaluates the version once its audit finishes.
    compliance.evaluations_recompute_for_version(
        dataset_version=DatasetVersion.objects.get(pk=synth_id)
    )
    evaluations = curl.get(f"/evaluations/?dataset_version={synth_id}")
    assert evaluations.status_code == 200, evaluations.content
    (evaluation,) = evaluations.json()["results"]
    assert evaluation["standard"] == "BASE@1.0"
    assert evaluation["display_status"]["label"]
