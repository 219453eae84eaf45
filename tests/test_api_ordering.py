"""Every field a list of the API offers to order by (``?ordering=``) orders it: 200, never
500. DRF's OrderingFilter, where a view names no ``ordering_fields``, offers each of the
serializer's readable fields, including ones computed in Python that the database cannot
sort on (``?ordering=standard_version__label`` answered 500)."""

from __future__ import annotations

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from audits.api_urls import router as audits_router
from registry.api_urls import router as registry_router
from tests.audits.certification import helpers

# A world with a row in every list: datasets, versions, an audit, a standard and its
# current evaluation (a list with no rows may never compile its ORDER BY).
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys
FILLED = {"datasets", "versions", "audits", "standards", "evaluations"}

LISTS = [
    (prefix, viewset)
    for router in (registry_router, audits_router)
    for prefix, viewset, _ in router.registry
    if hasattr(viewset, "list")
]


def _offered(viewset, user) -> list[str]:
    django_request = APIRequestFactory().get(f"/api/v1/{viewset}/")
    force_authenticate(django_request, user)
    view = viewset(action="list", format_kwarg=None, kwargs={})
    view.request = Request(django_request)
    view.request.user = user
    ordering = next(b() for b in view.filter_backends if issubclass(b, OrderingFilter))
    return [name for name, _ in ordering.get_valid_fields(view.get_queryset(), view)]


def test_every_list_is_checked():
    assert {prefix for prefix, _ in LISTS} >= FILLED


@pytest.mark.parametrize(("prefix", "viewset"), LISTS, ids=[prefix for prefix, _ in LISTS])
def test_every_offered_ordering_orders_the_list(cert_world, prefix, viewset):
    world = cert_world["world"]
    fields = _offered(viewset, world.curator_a)
    assert fields, prefix
    client = Client()
    client.force_login(world.curator_a)
    for field in fields:
        for term in (field, f"-{field}"):
            response = client.get(f"/api/v1/{prefix}/", {"ordering": term})
            assert response.status_code == 200, (prefix, term, response.status_code)
            if prefix in FILLED:
                assert response.json()["results"], (prefix, term)


def test_the_schema_names_every_offered_ordering(cert_world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    user = cert_world["world"].curator_a
    for prefix, viewset in LISTS:
        (parameter,) = [
            p
            for p in schema["paths"][f"/api/v1/{prefix}/"]["get"]["parameters"]
            if p["name"] == "ordering"
        ]
        offered = _offered(viewset, user)
        assert parameter["schema"]["enum"] == [t for f in offered for t in (f, f"-{f}")]


def test_only_lists_document_an_ordering():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "ordering" for p in operation.get("parameters", []))
    }
    assert documented == {("get", f"/api/v1/{prefix}/") for prefix, _ in LISTS}
