"""The public files of an openly published version: anyone may fetch them with no
account; an unpublished version's id answers exactly like an unknown id."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from registry import services
from registry.documents.croissant import validate_croissant
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


def _publish(version, user):
    version.published_at = timezone.now()
    version.published_by = user
    version.save(update_fields=["published_at", "published_by"])
    return version


def test_the_public_croissant_names_only_what_anyone_may_see(world):
    """A published child of three parents: one published, one open but unpublished,
    one restricted. Everyone (signed in or not) gets the same document, naming only
    the published parent; the others are "restricted source" with nothing of theirs."""
    public_parent = _publish(
        make_version(
            make_dataset(world, access="open", name="Published parent", kind="real"),
            world.curator_a,
            placements_csv(rows=20, seed=1),
        ),
        world.curator_a,
    )
    open_parent = make_version(
        make_dataset(world, access="open", name="Open unpublished parent", kind="real"),
        world.curator_a,
        placements_csv(rows=20, seed=2),
    )
    secret_parent = make_version(
        make_dataset(world, name="Restricted parent", kind="real"),
        world.curator_a,
        placements_csv(rows=20, seed=3),
    )
    child = make_version(
        make_dataset(world, access="open", name="Published child"),
        world.curator_a,
        placements_csv(rows=20, seed=4),
    )
    services.version_lineage_set(
        version=child,
        user=world.curator_a,
        parents=[
            services.ParentLink(public_parent.pk, "trained_on"),
            services.ParentLink(open_parent.pk, "trained_on"),
            services.ParentLink(secret_parent.pk, "trained_on"),
        ],
        generation={"generator_type": "copula"},
    )
    _publish(child, world.curator_a)
    path = f"/open/versions/{child.pk}/croissant.json"
    anonymous = Client().get(path)
    signed_in = Client()
    signed_in.force_login(world.curator_a)  # who may see every parent
    assert anonymous.status_code == 200
    assert anonymous.content == signed_in.get(path).content
    assert anonymous["Cache-Control"] == "public, max-age=300"
    body = anonymous.content.decode()
    for hidden in (open_parent, secret_parent):
        assert hidden.dataset.name not in body
        assert hidden.sha256 not in body
        assert f"/versions/{hidden.pk}/" not in body
    doc = anonymous.json()
    assert validate_croissant(doc) == []
    sources = doc["prov:wasDerivedFrom"]
    named = [s for s in sources if s["name"] != "restricted source"]
    assert [s["name"] for s in named] == [str(public_parent)]
    assert named[0]["url"] == f"http://testserver/open/versions/{public_parent.pk}/"
    assert named[0]["sha256"] == public_parent.sha256
    assert sum(s["name"] == "restricted source" for s in sources) == 2
    # Every link in it works without an account: no page behind the sign-in.
    assert "/versions/" not in body.replace("/open/versions/", "")
    (file_object,) = doc["distribution"]
    assert file_object["contentUrl"] == f"http://testserver/open/versions/{child.pk}/download/"
    assert file_object["sha256"] == child.sha256
    assert doc["url"] == f"http://testserver/open/versions/{child.pk}/"  # its landing page


def test_croissant_content_url_is_a_download_a_tool_can_fetch(world):
    """Published: the public download. Otherwise: the API download, which takes a
    token (a browser session page would answer a tool with the login page)."""
    unpublished = make_version(
        make_dataset(world, name="Unpublished"), world.curator_a, placements_csv(rows=12, seed=5)
    )
    published = _published(world)
    key = Token.objects.create(user=world.curator_a).key
    for version, expected in (
        (unpublished, f"http://testserver/api/v1/versions/{unpublished.pk}/download/"),
        (published, f"http://testserver/open/versions/{published.pk}/download/"),
    ):
        for path in (
            f"/versions/{version.pk}/croissant.json",
            f"/api/v1/versions/{version.pk}/croissant/",
        ):
            doc = Client().get(path, HTTP_AUTHORIZATION=f"Token {key}").json()
            (file_object,) = doc["distribution"]
            assert file_object["contentUrl"] == expected, path
            assert file_object["sha256"] == version.sha256
            assert validate_croissant(doc) == []
        fetched = Client().get(
            expected.removeprefix("http://testserver"), HTTP_AUTHORIZATION=f"Token {key}"
        )
        assert fetched.status_code == 200
        assert hashlib.sha256(b"".join(fetched.streaming_content)).hexdigest() == version.sha256
