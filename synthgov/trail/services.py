"""Writing and verifying the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from synthgov.trail.canonical import canonical_json, sha256_hex
from synthgov.trail.models import GENESIS_HASH, Event, TrailHead


def _event_hash(event: Event) -> str:
    return sha256_hex(canonical_json(event.hashed_fields()))


def trail_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    organisation: Any = None,
    payload: dict[str, Any] | None = None,
    actor_label: str = "",
) -> Event:
    """Append an event; call it inside the transaction that makes the change.

    ``payload`` must be JSON-serialisable; it is hashed in canonical form.
    """
    actor_user = actor if actor is not None and getattr(actor, "pk", None) else None
    with transaction.atomic():
        head, _ = TrailHead.objects.select_for_update().get_or_create(id=1)
        event = Event(
            seq=head.last_seq + 1,
            # Microseconds survive every backend's round trip unchanged.
            created=timezone.now().astimezone(UTC),
            actor=actor_user,
            actor_label=actor_label or (actor_user.get_username() if actor_user else "system"),
            action=action,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            object_repr=str(target)[:300] if target is not None else "",
            organisation=organisation,
            organisation_label=str(organisation) if organisation is not None else "",
            payload=payload or {},
            prev_hash=head.last_hash,
        )
        event.hash = _event_hash(event)
        event.save(force_insert=True)
        TrailHead.objects.filter(id=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class TrailVerification:
    ok: bool
    checked: int
    problem: str = ""
    broken_seq: int | None = None


def trail_verify() -> TrailVerification:
    """Walk the chain from the first event; report the first broken link."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in Event.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return TrailVerification(
                False,
                checked,
                f"Event #{expected_seq} is missing (next present is #{event.seq}): "
                "a row was deleted.",
                expected_seq,
            )
        if event.prev_hash != expected_prev:
            return TrailVerification(
                False,
                checked,
                f"Event #{event.seq} (id {event.pk}) does not follow the event before it: "
                "its previous-hash field was changed or a row before it was replaced.",
                event.seq,
            )
        if _event_hash(event) != event.hash:
            return TrailVerification(
                False,
                checked,
                f"Event #{event.seq} (id {event.pk}, {event.action}) was edited: "
                "its contents no longer match its hash.",
                event.seq,
            )
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = TrailHead.objects.filter(id=1).first()
    if head is not None and head.last_seq != checked:
        return TrailVerification(
            False,
            checked,
            f"The trail should end at event #{head.last_seq} but ends at #{checked}: "
            "the newest rows were deleted.",
            checked + 1,
        )
    return TrailVerification(True, checked)
