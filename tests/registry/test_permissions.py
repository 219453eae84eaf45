"""Organisation A cannot see or change organisation B's restricted data through
any page or endpoint; regulators see what their jurisdiction covers."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from registry import services
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def b_restricted(world):
    dataset = make_dataset(world, org="org_b", access="restricted", name="Beta secret")
    version = make_version(dataset, world.curator_b)
    return dataset, version


def status(client, url):
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)  # the test client closes the file at the end
    return response.status_code


def page_urls(dataset, version):
    return [
        reverse("registry:dataset", args=[dataset.pk]),
        reverse("registry:prov", args=[dataset.pk]),
        reverse("registry:version", args=[version.pk]),
        reverse("registry:download", args=[version.pk]),
        reverse("registry:croissant", args=[version.pk]),
    ]


def change_urls(dataset, version):
    return [
        reverse("registry:dataset_edit", args=[dataset.pk]),
        reverse("registry:upload", args=[dataset.pk]),
        reverse("registry:schema", args=[version.pk]),
        reverse("registry:lineage", args=[version.pk]),
        reverse("registry:datasheet", args=[version.pk]),
    ]


def api_urls(dataset, version):
    return [
        f"/api/v1/datasets/{dataset.pk}/",
        f"/api/v1/datasets/{dataset.pk}/versions/",
        f"/api/v1/datasets/{dataset.pk}/prov/",
        f"/api/v1/versions/{version.pk}/",
        f"/api/v1/versions/{version.pk}/download/",
        f"/api/v1/versions/{version.pk}/croissant/",
        f"/api/v1/versions/{version.pk}/lineage/",
        f"/api/v1/versions/{version.pk}/datasheet/",
    ]


def test_other_organisation_sees_nothing(client, world, b_restricted):
    dataset, version = b_restricted
    client.force_login(world.curator_a)
    for url in page_urls(dataset, version) + change_urls(dataset, version):
        assert status(client, url) == 404, url
    assert "Beta secret" not in client.get(reverse("registry:datasets")).content.decode()
    api = APIClient()
    api.force_authenticate(world.curator_a)
    for url in api_urls(dataset, version):
        assert status(api, url) == 404, url
    assert api.get("/api/v1/datasets/").json()["count"] == 0
    assert api.get("/api/v1/versions/").json()["count"] == 0
    assert (
        api.patch(f"/api/v1/datasets/{dataset.pk}/", {"name": "x"}, format="json").status_code
        == 404
    )
    assert (
        api.post(
            f"/api/v1/datasets/{dataset.pk}/versions/",
            {"file": placements_csv()},
            format="multipart",
        ).status_code
        == 404
    )


def test_covering_regulator_sees_but_cannot_change(client, world, b_restricted):
    dataset, version = b_restricted
    client.force_login(world.regulator_b)
    for url in page_urls(dataset, version):
        assert status(client, url) == 200, url
    for url in change_urls(dataset, version):
        assert status(client, url) == 403, url
    client.force_login(world.regulator)  # covers EU, not UK
    for url in page_urls(dataset, version):
        assert status(client, url) == 404, url


def test_open_dataset_visible_to_everyone_signed_in_but_changed_only_by_owner(client, world):
    dataset = make_dataset(world, org="org_b", access="open", name="Beta open")
    version = make_version(dataset, world.curator_b)
    for who in ["curator_a", "officer_a", "regulator", "outsider"]:
        client.force_login(getattr(world, who))
        for url in page_urls(dataset, version):
            assert status(client, url) == 200, (who, url)
        for url in change_urls(dataset, version):
            assert status(client, url) == 403, (who, url)
    client.logout()
    assert client.get(reverse("registry:dataset", args=[dataset.pk])).status_code == 302


def test_compliance_officer_reads_but_does_not_change_own_data(client, world):
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a)
    client.force_login(world.officer_a)
    assert client.get(reverse("registry:version", args=[version.pk])).status_code == 200
    assert client.get(reverse("registry:dataset_create")).status_code == 403
    for url in change_urls(dataset, version):
        assert status(client, url) == 403, url


def test_lineage_never_reveals_an_invisible_parent(client, world, b_restricted):
    _, secret = b_restricted
    # B's curator builds an open child of their restricted real data.
    child_ds = make_dataset(world, org="org_b", access="open", name="Beta open child")
    child = make_version(child_ds, world.curator_b, placements_csv(30, seed=3))
    services.version_lineage_set(
        version=child,
        user=world.curator_b,
        parents=[services.ParentLink(secret.pk, "trained_on")],
        generation={"generator_type": "copula"},
    )
    client.force_login(world.curator_a)
    for url in [
        reverse("registry:version", args=[child.pk]),
        reverse("registry:dataset", args=[child_ds.pk]),
        reverse("registry:prov", args=[child_ds.pk]),
        reverse("registry:croissant", args=[child.pk]),
    ]:
        body = client.get(url).content.decode()
        assert "Beta secret" not in body, url
        assert secret.sha256 not in body, url
    assert (
        "restricted source"
        in client.get(reverse("registry:version", args=[child.pk])).content.decode()
    )
    api = APIClient()
    api.force_authenticate(world.curator_a)
    parents = api.get(f"/api/v1/versions/{child.pk}/").json()["parents"]
    assert parents == [
        {
            "parent": None,
            "relation": "trained_on",
            "relation_label": "trained on",
            "restricted": True,
            "version": None,
            "label": "restricted source",
        }
    ]
