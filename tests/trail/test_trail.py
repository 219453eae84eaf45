import itertools

import pytest
from django.core.management import CommandError, call_command

from synthgov.trail.models import GENESIS_HASH, Event
from synthgov.trail.services import trail_record, trail_verify


@pytest.fixture
def chain(world):
    events = [
        trail_record(actor=world.curator_a, action=f"tests.step.{i}", payload={"i": i, "x": 0.5})
        for i in range(5)
    ]
    return events


def test_each_event_links_to_the_one_before(chain):
    events = list(Event.objects.order_by("seq"))
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
    assert trail_verify().ok
    assert trail_verify().checked == len(events)


def test_verify_trail_command_passes_on_intact_chain(chain, capsys):
    call_command("verify_trail")
    assert "intact: 5 event(s)" in capsys.readouterr().out


def test_edited_row_is_named(chain):
    victim = chain[2]
    Event.objects.filter(pk=victim.pk).update(payload={"i": 99, "x": 0.5})
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == victim.seq
    with pytest.raises(CommandError, match=rf"Event #{victim.seq} \(id {victim.pk}.*was edited"):
        call_command("verify_trail")


def test_rehashed_edit_breaks_the_next_link(chain):
    """An attacker who also recomputes the edited row's hash breaks its successor."""
    from synthgov.trail.services import _event_hash

    victim = Event.objects.get(pk=chain[1].pk)
    victim.action = "tests.forged"
    victim.hash = _event_hash(victim)
    Event.objects.filter(pk=victim.pk).update(action=victim.action, hash=victim.hash)
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == chain[2].seq


def test_deleted_row_is_named(chain):
    Event.objects.filter(pk=chain[3].pk).delete()
    result = trail_verify()
    assert not result.ok
    assert result.broken_seq == chain[3].seq
    assert "deleted" in result.problem


def test_deleted_newest_row_is_detected(chain):
    Event.objects.filter(pk=chain[-1].pk).delete()
    result = trail_verify()
    assert not result.ok
    assert "newest rows were deleted" in result.problem


def test_role_changes_through_services_are_recorded(world):
    from synthgov.access import services
    from synthgov.accounts.models import Role

    membership = services.membership_grant(
        user=world.outsider, organisation=world.org_a, role=Role.CURATOR, by=world.admin_a
    )
    services.membership_change(
        membership=membership,
        role=Role.COMPLIANCE_OFFICER,
        organisation=world.org_a,
        by=world.admin_a,
    )
    services.membership_revoke(membership=membership, by=world.admin_a)
    actions = list(Event.objects.order_by("seq").values_list("action", "actor_label"))
    assert actions == [
        ("accounts.role.granted", "admin_a"),
        ("accounts.role.changed", "admin_a"),
        ("accounts.role.revoked", "admin_a"),
    ]
    changed = Event.objects.get(action="accounts.role.changed")
    assert changed.payload["from"]["role"] == "curator"
    assert changed.payload["to"]["role"] == "compliance_officer"
    assert trail_verify().ok
