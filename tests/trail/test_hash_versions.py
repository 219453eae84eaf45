"""Events hashed before issue 11 (format v1) keep verifying; new events use v2,
which also covers the actor's and organisation's ids and the version itself."""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from synthgov.trail.models import GENESIS_HASH, Event, TrailHead
from synthgov.trail.services import _event_hash, trail_record, trail_verify


def v1_hash(event: Event) -> str:
    """The v1 formula exactly as deployed before issue 11 (a copy on purpose:
    if the code's v1 drifts, rows already in databases would stop verifying)."""
    fields = {
        "seq": event.seq,
        "created": event.created.isoformat(),
        "actor": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "organisation": event.organisation_label,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    data = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


UPGRADE = importlib.import_module("synthgov.trail.migrations.0003_anchor_v1_events")


def write_v1_events(world, count: int = 3) -> None:
    """Events exactly as the code before issue 11 wrote them."""
    prev = GENESIS_HASH
    start = datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)
    for seq in range(1, count + 1):
        event = Event(
            seq=seq,
            created=start + timedelta(minutes=seq),
            actor=world.curator_a,
            actor_label="curator_a",
            action="registry.dataset.created",
            object_type="registry.dataset",
            object_id=str(seq),
            object_repr=f"Dataset {seq}",
            organisation=world.org_a,
            organisation_label=str(world.org_a),
            payload={"n": seq, "ratio": 0.25},
            prev_hash=prev,
        )
        event.hash = v1_hash(event)
        event.save(force_insert=True)
        prev = event.hash
    TrailHead.objects.update_or_create(id=1, defaults={"last_seq": count, "last_hash": prev})


@pytest.fixture
def old_then_new(world):
    """Three v1 events, the upgrade's anchor event, then two new events."""
    write_v1_events(world)
    UPGRADE.anchor_v1_events(Event, TrailHead)
    for i in range(2):
        trail_record(actor=world.curator_a, action=f"tests.new.{i}", organisation=world.org_a)
    return world


def test_v1_rows_still_verify_and_new_rows_are_v2(old_then_new):
    versions = list(Event.objects.order_by("seq").values_list("hash_version", flat=True))
    assert versions == [1, 1, 1, 2, 2, 2]
    assert Event.objects.get(seq=4).action == "trail.format.upgraded"
    result = trail_verify()
    assert result.ok, result.problem
    assert (result.checked, result.v1_events) == (6, 3)


def test_edited_v1_row_is_still_caught(old_then_new):
    Event.objects.filter(seq=2).update(object_repr="forged")
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == 2


def test_v1_row_cannot_be_relabelled_v2(old_then_new, world):
    """Claiming a v1 row is v2 (say, after moving it) no longer matches its hash."""
    Event.objects.filter(seq=2).update(
        hash_version=2, organisation=world.org_b, organisation_ref=world.org_b.pk
    )
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == 2


def test_v2_row_cannot_be_relabelled_v1(old_then_new, world):
    """Claiming a v2 row is v1, to escape the check of its organisation id."""
    Event.objects.filter(seq=5).update(hash_version=1, organisation=world.org_b)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == 5


def test_newest_v2_row_rewritten_as_v1_is_refused_even_when_rehashed(old_then_new, world):
    """Downgrade the newest row, move it, re-hash it in v1 and fix the head: the
    hash matches, but a v1 row after a v2 row is never written by the code."""
    newest = Event.objects.get(seq=6)
    newest.hash_version = 1
    newest.organisation = world.org_b
    newest.organisation_ref = world.org_b.pk
    newest.organisation_label = str(world.org_b)
    newest.hash = _event_hash(newest)
    assert newest.hash == v1_hash(newest)
    newest.save()
    TrailHead.objects.filter(id=1).update(last_hash=newest.hash)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == 6
    assert "older format" in result.problem


def test_v1_event_moved_to_another_organisation_is_detected(old_then_new, world):
    """v1 hashes the organisation's name only; the upgrade's anchor covers its id."""
    Event.objects.filter(seq=2).update(organisation=world.org_b)
    result = trail_verify()
    assert (result.ok, result.broken_seq) == (False, 2)
    # Moving the copied id too is caught by the anchor event.
    Event.objects.filter(seq=2).update(organisation_ref=world.org_b.pk)
    result = trail_verify()
    assert (result.ok, result.broken_seq) == (False, 4)
    assert "trail.format.upgraded" in result.problem


def test_v1_events_without_their_anchor_are_refused(world):
    """The ids copied as the upgrade does, but its anchor event removed."""
    from django.db.models import F

    write_v1_events(world)
    Event.objects.update(actor_ref=F("actor_id"), organisation_ref=F("organisation_id"))
    result = trail_verify()
    assert not result.ok
    assert "no trail.format.upgraded event" in result.problem


def test_deleted_organisation_and_actor_leave_v2_rows_verifiable(world):
    """The foreign keys become NULL on deletion; the hashed ids stay."""
    from synthgov.accounts.models import Organisation
    from tests.factories import OrganisationFactory, UserFactory

    org = OrganisationFactory(name="Short-lived")
    user = UserFactory(username="leaver")
    trail_record(actor=user, action="tests.by_leaver", organisation=org)
    trail_record(actor=world.curator_a, action="tests.after", organisation=world.org_a)
    Organisation.objects.filter(pk=org.pk).delete()
    user.delete()
    event = Event.objects.get(seq=1)
    assert (event.organisation_id, event.actor_id) == (None, None)
    assert trail_verify().ok


def test_unlinking_an_event_from_an_existing_organisation_is_caught(world):
    """NULL is allowed only when the organisation is gone: otherwise it hides the
    event from that organisation's compliance officers."""
    trail_record(actor=world.curator_a, action="tests.one", organisation=world.org_a)
    Event.objects.filter(seq=1).update(organisation=None)
    result = trail_verify()
    assert not result.ok
    assert "moved" in result.problem


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_migration_keeps_a_deployed_trail_verifiable(world):
    """v1 rows written under the 0001 schema, then the real migrations run."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("trail", "0001_initial")])
    old_apps = executor.loader.project_state([("trail", "0001_initial")]).apps
    OldEvent = old_apps.get_model("trail", "Event")
    OldHead = old_apps.get_model("trail", "TrailHead")
    prev = GENESIS_HASH
    for seq in (1, 2):
        event = OldEvent(
            seq=seq,
            created=datetime(2026, 2, 1, 8, seq, tzinfo=UTC),
            actor_id=world.regulator.pk,
            actor_label="regulator",
            action="audits.certificate.issued",
            organisation_id=world.regulator_org.pk,
            organisation_label=str(world.regulator_org),
            payload={"seq": seq},
            prev_hash=prev,
        )
        event.hash = v1_hash(event)
        event.save()
        prev = event.hash
    OldHead.objects.create(id=1, last_seq=2, last_hash=prev)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    trail_record(actor=world.regulator, action="tests.after", organisation=world.regulator_org)
    assert list(Event.objects.order_by("seq").values_list("hash_version", "action")) == [
        (1, "audits.certificate.issued"),
        (1, "audits.certificate.issued"),
        (2, "trail.format.upgraded"),
        (2, "tests.after"),
    ]
    result = trail_verify()
    assert result.ok, result.problem
    assert result.v1_events == 2
    Event.objects.filter(seq=1).update(organisation=world.org_a, organisation_ref=world.org_a.pk)
    assert not trail_verify().ok
