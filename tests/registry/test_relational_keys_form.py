"""The keys page (the web form where a curator confirms or corrects the keys SynthGov
proposed for linked tables) refuses bad keys with a 400 saying what to fix, keeps what
was typed, and changes nothing: the API's refusals are tested in test_relational.py.
(A foreign key whose values are missing from the parent is accepted on purpose: those
orphans are what an audit's integrity.orphan_rate reports.)"""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from registry import table_services
from registry.models import TableRelationship, VersionTable
from registry.table_services import TableUpload
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import DEMO_TABLES, demo_bytes

pytestmark = pytest.mark.usefixtures("registry_storage")

GOOD = {
    "pk_users": "user_id",
    "pk_sessions": "session_id",
    "pk_transactions": "transaction_id",
    "foreign_keys": "sessions.user_id -> users.user_id\n"
    "transactions.session_id -> sessions.session_id",
}


@pytest.fixture
def proposed(world):
    """SDMetrics' demo tables with the keys SynthGov proposes, not yet confirmed."""
    version = table_services.relational_version_create(
        dataset=make_dataset(world),
        user=world.curator_a,
        tables=[TableUpload(None, f"{t}.csv", iter([demo_bytes(t)])) for t in DEMO_TABLES],
    )
    assert not version.keys_confirmed
    return version


def _state(version) -> tuple:
    version.refresh_from_db()
    return (
        version.keys_confirmed,
        sorted(VersionTable.objects.filter(version=version).values_list("name", "primary_key")),
        sorted(
            TableRelationship.objects.filter(version=version).values_list(
                "child_table__name", "child_key", "parent_table__name", "parent_key"
            )
        ),
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"foreign_keys": "sessions.user_id users.user_id"}, ["Line 1 is not"]),
        ({"foreign_keys": "sessions.user_id -> people.user_id"}, ["people"]),
        ({"foreign_keys": "sessions.customer -> users.user_id"}, ["customer"]),
        (
            {
                "pk_users": "country",
                "foreign_keys": "transactions.session_id -> sessions.session_id",
            },
            ["users.country is not unique"],
        ),
        ({"pk_users": "country"}, ["must point at the primary key of 'users', which is 'country'"]),
        (
            {"foreign_keys": GOOD["foreign_keys"] + "\nusers.user_id -> sessions.session_id"},
            ["cycle"],
        ),
        ({"pk_users": "nothing_like_it"}, ["Select a valid choice"]),
    ],
    ids=[
        "malformed-line",
        "missing-table",
        "missing-column",
        "not-unique",
        "foreign-key-not-at-primary-key",
        "cycle",
        "unknown-column-choice",
    ],
)
def test_bad_keys_in_the_form_are_refused_and_change_nothing(
    client, world, proposed, change, words
):
    client.force_login(world.curator_a)
    url = reverse("registry:keys", args=[proposed.pk])
    before = _state(proposed)
    response = client.post(url, {**GOOD, **change})
    assert response.status_code == 400, response.status_code
    page = html.unescape(response.content.decode())
    assert 'role="alert"' in page
    for word in words:
        assert word in page, (word, page[page.find('role="alert"') - 200 :][:1500])
    # What the curator typed stays in the box to be corrected.
    assert html.escape(change.get("foreign_keys", GOOD["foreign_keys"])).split("\n")[0] in (
        response.content.decode()
    )
    assert _state(proposed) == before
    # The same form with good keys confirms them.
    assert client.post(url, GOOD).status_code == 302
    assert _state(proposed)[0] is True
