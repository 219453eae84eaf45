"""Publishing through the API: refused with the reasons, allowed once watermarked;
404 for versions the caller cannot see, 403 for those they cannot change."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audits.provenance import services as provenance
from audits.publishing import services as publishing
from registry.models import DatasetVersion, WatermarkRun
from tests.audits.publishing.conftest import TOLERANCES, add_version, frame
from tests.registry.conftest import make_dataset


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_publish_is_refused_then_allowed_after_watermarking(world, synthetic):
    api = api_for(world.curator_a)
    refused = api.post(f"/api/v1/versions/{synthetic.pk}/publish/")
    assert refused.status_code == 400, refused.content
    assert refused.json() == {"refusals": [publishing.NOT_WATERMARKED]}
    assert api.get(f"/api/v1/versions/{synthetic.pk}/").json()["published_at"] is None

    made = api.post(
        f"/api/v1/versions/{synthetic.pk}/watermark/",
        {"tolerances": TOLERANCES, "categorical": {"region": 0.1}},
        format="json",
    )
    assert made.status_code == 202
    # What the worker does (tests do not commit, so on_commit tasks never fire).
    run = provenance.watermark_run_execute(run_id=made.json()["id"])
    assert run.status == WatermarkRun.Status.SUCCEEDED, run.error
    marked = run.result

    response = api.post(f"/api/v1/versions/{marked.pk}/publish/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == marked.pk and body["published"] is True
    assert body["public_url"] == f"http://testserver/open/versions/{marked.pk}/"
    shown = api.get(f"/api/v1/versions/{marked.pk}/").json()
    assert shown["published_at"] == body["published_at"] is not None
    assert shown["public_url"] == body["public_url"]
    assert api.get(f"/api/v1/versions/{synthetic.pk}/").json()["public_url"] is None

    again = api.post(f"/api/v1/versions/{marked.pk}/publish/")
    assert again.status_code == 409
    assert "already published openly" in again.json()["detail"]

    withdrawn = api.post(f"/api/v1/versions/{marked.pk}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["published"] is False
    assert withdrawn.json()["published_at"] is None
    assert api.post(f"/api/v1/versions/{marked.pk}/withdraw/").status_code == 409


def test_real_data_is_refused_with_the_reason(world, registry_storage):
    real = add_version(make_dataset(world, name="Real", kind="real"), world.curator_a, frame())
    response = api_for(world.curator_a).post(f"/api/v1/versions/{real.pk}/publish/")
    assert response.status_code == 400
    assert response.json()["refusals"] == [publishing.REAL_DATA]


@pytest.mark.parametrize("action", ["publish", "withdraw"])
def test_who_may_publish(world, marked, action):
    if action == "withdraw":
        publishing.version_publish(version=marked, user=world.curator_a)
    before = DatasetVersion.objects.get(pk=marked.pk).published_at
    # A restricted dataset of org_a: org_b's curator may not know it exists.
    assert (
        api_for(world.curator_b).post(f"/api/v1/versions/{marked.pk}/{action}/").status_code == 404
    )
    assert APIClient().post(f"/api/v1/versions/{marked.pk}/{action}/").status_code in (401, 403)
    # Those who may see it but not change it.
    for user in (world.officer_a, world.regulator, world.admin_a):
        response = api_for(user).post(f"/api/v1/versions/{marked.pk}/{action}/")
        assert response.status_code == 403, (user, response.content)
    unknown = DatasetVersion.objects.order_by("-pk").first().pk + 1
    assert api_for(world.curator_a).post(f"/api/v1/versions/{unknown}/{action}/").status_code == 404
    assert DatasetVersion.objects.get(pk=marked.pk).published_at == before


def test_an_open_dataset_of_another_organisation_is_403_not_404(world, registry_storage):
    dataset = make_dataset(world, org="org_b", access="open", name="Beta open")
    version = add_version(dataset, world.curator_b, frame())
    response = api_for(world.curator_a).post(f"/api/v1/versions/{version.pk}/publish/")
    assert response.status_code == 403
