"""Rewrites of the trail that an attacker with write access to the database
could try, and what catches each (issue 11).

The attacker here knows the hashing algorithm (the code is public) and
recomputes hashes with it; what they do not hold is the signing key, nor the
checkpoints someone else kept.
"""

from __future__ import annotations

import pytest

from synthgov.trail.models import Event, TrailHead
from synthgov.trail.services import _event_hash, trail_record, trail_verify


@pytest.fixture
def chain(world):
    return [
        trail_record(
            actor=world.curator_a,
            action=f"tests.step.{i}",
            organisation=world.org_a,
            payload={"i": i},
        )
        for i in range(6)
    ]


def rehash_from(seq: int) -> None:
    """Recompute every hash from ``seq`` on and point the head at the result:
    a rewrite that is consistent within the database."""
    before = Event.objects.filter(seq=seq - 1).first()
    prev = before.hash if before else "0" * 64
    for event in Event.objects.filter(seq__gte=seq).order_by("seq"):
        event.prev_hash = prev
        event.hash = _event_hash(event)
        Event.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=event.hash)
        prev = event.hash
    last = Event.objects.order_by("-seq").first()
    TrailHead.objects.filter(id=1).update(last_seq=last.seq, last_hash=last.hash)


def test_edited_and_rehashed_newest_row_disagrees_with_the_head(chain):
    newest = Event.objects.get(pk=chain[-1].pk)
    newest.payload = {"i": 99}
    newest.hash = _event_hash(newest)
    Event.objects.filter(pk=newest.pk).update(payload=newest.payload, hash=newest.hash)
    result = trail_verify()
    assert not result.ok
    assert "head" in result.problem


def test_event_moved_to_another_organisation_is_detected(chain, world):
    Event.objects.filter(pk=chain[2].pk).update(organisation=world.org_b)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == chain[2].seq
    assert "organisation" in result.problem


def test_event_given_to_another_actor_is_detected(chain, world):
    Event.objects.filter(pk=chain[4].pk).update(actor=world.curator_b)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == chain[4].seq


def test_moved_and_rehashed_event_breaks_the_next_link(chain, world):
    """Moving an event and recomputing its hash is an edit the chain catches."""
    victim = Event.objects.get(pk=chain[2].pk)
    victim.organisation = world.org_b
    victim.hash = _event_hash(victim)
    Event.objects.filter(pk=victim.pk).update(organisation=world.org_b, hash=victim.hash)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq in {chain[2].seq, chain[3].seq}
