"""Every API route with an object in its path answers 404, never 500, for an id that
is not a whole number (found by schemathesis: ``/api/v1/datasets/abc/``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

NOT_IDS = ["abc", "1.5", "-", "%C3%A9", "1e3", "99999999999999999999999"]


def _id_routes() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if "{id}" in path
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]


ID_ROUTES = _id_routes()


def test_the_id_routes_are_all_found():
    prefixes = {re.match(r"/api/v1/([^/]+)/", path).group(1) for _, path in ID_ROUTES}
    assert {"datasets", "versions", "audits", "standards", "evaluations"} <= prefixes
    assert len(ID_ROUTES) >= 18


@pytest.mark.parametrize(("method", "path"), ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_a_non_integer_id_is_not_found(world, method, path):
    client = Client()
    client.force_login(world.curator_a)
    for bad in NOT_IDS:
        response = client.generic(
            method, path.replace("{id}", bad), data="{}", content_type="application/json"
        )
        assert response.status_code == 404, (bad, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/{}/",
        "/datasets/{}/edit/",
        "/versions/{}/",
        "/versions/{}/download/",
        "/versions/{}/manifest.json",
        "/audits/{}/",
        "/evaluations/{}/",
    ],
)
def test_pages_answer_404_for_ids_out_of_range(world, path):
    client = Client()
    client.force_login(world.curator_a)
    for bad in ("99999999999999999999999", "9223372036854775808"):
        assert client.get(path.format(bad)).status_code == 404


def test_the_permission_helper_treats_a_wrong_type_as_not_found(world):
    """Pages and API share the helper: an id of the wrong type names no object."""
    from django.http import Http404

    from registry.models import Dataset
    from synthgov.accounts.permissions import DATASET_VIEW, get_object_for_user

    for bad in ("abc", None, [1]):
        with pytest.raises(Http404):
            get_object_for_user(
                user=world.curator_a, queryset=Dataset.objects, perm=DATASET_VIEW, pk=bad
            )
