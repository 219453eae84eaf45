"""Open publication of a version made of linked tables: it needs a watermark, and
SynthGov watermarks single-table versions only for now, so the refusal (API, page and
the version page's checklist) says that, instead of sending the curator to a
"Watermark" button that refuses linked tables."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audits.publishing import services as publishing
from registry import table_services
from registry.table_services import TableUpload
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import DEMO_TABLES, demo_bytes, demo_metadata

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def linked(world):
    return table_services.relational_version_create(
        dataset=make_dataset(world, name="Web sessions synthetic"),
        user=world.curator_a,
        tables=[
            TableUpload(t, f"{t}.csv", iter([demo_bytes(t, "synthetic")])) for t in DEMO_TABLES
        ],
        metadata=demo_metadata(),
    )


def test_publishing_linked_tables_is_refused_with_the_reason_that_applies(client, world, linked):
    api = APIClient()
    api.force_authenticate(world.curator_a)
    refused = api.post(f"/api/v1/versions/{linked.pk}/publish/")
    assert refused.status_code == 400, refused.content
    (reason,) = refused.json()["refusals"]
    assert reason != publishing.NOT_WATERMARKED
    assert "3 linked tables" in reason and "single-table versions only" in reason, reason
    linked.refresh_from_db()
    assert linked.published_at is None

    client.force_login(world.curator_a)
    for url in (linked.get_absolute_url(), reverse("audits:version_publish", args=[linked.pk])):
        page = html.unescape(client.get(url).content.decode())
        assert "single-table versions only" in page, url
        assert "Watermark this version first" not in page, url
