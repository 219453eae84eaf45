"""A refused choice names the valid ones, in every serializer of the API."""

from __future__ import annotations

import importlib

import pytest
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from synthgov import api_fields

API_MODULES = [
    "registry.serializers",
    "audits.runs.serializers",
    "audits.compliance.api",
    "audits.certification.api",
    "audits.standards.api",
    "audits.provenance.api",
    "synthgov.accounts.api",
]


def _serializer_classes():
    for name in API_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.BaseSerializer)
                and value.__module__ == name
            ):
                yield value


def _fields(serializer):
    for name, field in serializer.fields.items():
        yield f"{type(serializer).__name__}.{name}", field
        inner = getattr(field, "child", None)
        if isinstance(field, serializers.ListSerializer):
            inner = field.child
        if isinstance(inner, serializers.Serializer):
            yield from _fields(inner)
        elif inner is not None:
            yield f"{type(serializer).__name__}.{name}[]", inner
        if isinstance(field, serializers.Serializer):
            yield from _fields(field)


def test_every_choice_field_of_the_api_is_the_shared_one_that_lists_valid_values():
    classes = list(_serializer_classes())
    assert len(classes) > 15
    plain = [
        name
        for cls in classes
        for name, field in _fields(cls())
        if type(field) in (serializers.ChoiceField, serializers.MultipleChoiceField)
    ]
    assert plain == []


def test_the_shared_choice_field_lists_the_valid_values():
    field = api_fields.ChoiceField(choices=[("real", "Real"), ("fully_synthetic", "Fully")])
    with pytest.raises(serializers.ValidationError) as refused:
        field.run_validation("synthetic")
    assert refused.value.detail == [
        '"synthetic" is not a valid choice; choose one of: real, fully_synthetic.'
    ]
    many = api_fields.MultipleChoiceField(choices=["a", "b"])
    assert set(many.run_validation(["a"])) == {"a"}
    with pytest.raises(serializers.ValidationError) as refused:
        many.run_validation(["a", "c"])
    assert refused.value.detail == ['"c" is not a valid choice; choose one of: a, b.']


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.curator_a).key}")
    return client


@pytest.mark.django_db
def test_registering_a_dataset_with_a_wrong_kind_lists_the_kinds(api):
    refused = api.post(
        "/api/v1/datasets/",
        {
            "name": "X",
            "kind": "synthetic",
            "domain": "health",
            "licence": "CC0-1.0",
            "access": "everyone",
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["kind"] == [
        '"synthetic" is not a valid choice; choose one of: real, fully_synthetic, '
        "partially_synthetic, hybrid."
    ]
    assert refused.json()["access"] == [
        '"everyone" is not a valid choice; choose one of: open, restricted.'
    ]


@pytest.mark.django_db
def test_an_audit_request_naming_collapse_says_which_families_can_be_requested(api):
    refused = api.post(
        "/api/v1/audits/",
        {"version": 1, "reference": 2, "families": ["quality", "collapse"]},
        format="json",
    )
    assert refused.status_code == 400
    (message,) = refused.json()["families"]["1"]
    assert message.startswith(
        '"collapse" cannot be requested; choose one or more of: integrity, quality, '
        "fairness, privacy, provenance."
    )
    assert "measured on every audit of a synthetic version" in message


@pytest.mark.django_db
def test_a_wrong_choice_in_a_list_filter_lists_the_valid_values(api):
    refused = api.get("/api/v1/datasets/?kind=synthetic")
    assert refused.status_code == 400
    assert refused.json()["kind"] == [
        '"synthetic" is not a valid choice; choose one of: real, fully_synthetic, '
        "partially_synthetic, hybrid."
    ]
    audits = api.get("/api/v1/audits/?status=done")
    assert audits.status_code == 400
    assert audits.json()["status"] == [
        '"done" is not a valid choice; choose one of: queued, running, succeeded, failed, '
        "cancelled."
    ]
    assert api.get("/api/v1/datasets/?kind=real").status_code == 200
