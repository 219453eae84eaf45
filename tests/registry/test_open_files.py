"""The public files of an openly published version: anyone may fetch them with no
account; an unpublished version's id answers exactly like an unknown id."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


def _published(world):
    version = make_version(make_dataset(world), world.curator_a, placements_csv(rows=12))
    version.published_at = timezone.now()
    version.published_by = world.curator_a
    version.save(update_fields=["published_at", "published_by"])
    return version


def test_a_published_version_downloads_with_no_account(world):
    version = _published(world)
    response = Client().get(f"/open/versions/{version.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == placements_csv(rows=12)
    croissant = Client().get(f"/open/versions/{version.pk}/croissant.json")
    assert croissant.status_code == 200
    assert croissant.json()["name"] == version.dataset.name


def test_an_unpublished_version_is_not_found_like_an_unknown_id(world):
    version = make_version(make_dataset(world, access="open"), world.curator_a)
    for path in ("download/", "croissant.json"):
        hidden = Client().get(f"/open/versions/{version.pk}/{path}")
        unknown = Client().get(f"/open/versions/999999/{path}")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.content == unknown.content
