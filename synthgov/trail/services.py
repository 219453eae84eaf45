"""Writing and verifying the audit trail, and signing checkpoints of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from synthgov.accounts.models import Organisation
from synthgov.signing.checkpoints import (
    CheckpointError,
    checkpoint_check,
    checkpoint_sign,
    checkpoint_statement,
)
from synthgov.signing.keys import SigningKeyError
from synthgov.signing_keys import signing_keyring
from synthgov.trail.chain import (
    CURRENT_HASH_VERSION,
    ChainResult,
    chain_against_checkpoints,
    chain_walk,
    record_hash,
)
from synthgov.trail.models import GENESIS_HASH, Checkpoint, Event, TrailHead


def _event_hash(event: Event) -> str:
    return record_hash(event.as_record())


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
            actor_ref=actor_user.pk if actor_user else None,
            actor_label=actor_label or (actor_user.get_username() if actor_user else "system"),
            action=action,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            object_repr=str(target)[:300] if target is not None else "",
            organisation=organisation,
            organisation_ref=organisation.pk if organisation is not None else None,
            organisation_label=str(organisation) if organisation is not None else "",
            payload=payload or {},
            prev_hash=head.last_hash,
            hash_version=CURRENT_HASH_VERSION,
        )
        event.hash = _event_hash(event)
        event.save(force_insert=True)
        TrailHead.objects.filter(id=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class TrailVerification:
    """``ok``: every check passed. ``checked``: events intact before the first
    problem. ``broken_seq``: where it is. ``checkpoints``: stored and external
    checkpoints the chain was compared with. ``v1_events``: events in the old
    hash format (their links are covered by the upgrade's anchor event)."""

    ok: bool
    checked: int
    problem: str = ""
    broken_seq: int | None = None
    checkpoints: int = 0
    v1_events: int = 0


def _records() -> Iterator[dict[str, Any]]:
    for event in Event.objects.order_by("seq").iterator(chunk_size=2000):
        yield {**event.as_record(), "id": event.pk, "_event": event}


def _links_problem(event: Event, existing: _ExistingIds) -> str:
    """Why an event's foreign keys disagree with its hashed ids, or ''.

    A foreign key may be NULL only because its row was deleted (ids are never
    reused); otherwise it must point where the hashed id says."""
    for name, fk_id, ref, ids in (
        ("organisation", event.organisation_id, event.organisation_ref, existing.organisations),
        ("actor", event.actor_id, event.actor_ref, existing.users),
    ):
        if fk_id is None and (ref is None or ref not in ids):
            continue
        if fk_id != ref:
            return (
                f"Event #{event.seq} ({event.action}) was moved: its {name} is "
                f"#{fk_id} but the hashed record says #{ref}."
            )
    return ""


@dataclass
class _ExistingIds:
    organisations: set[int]
    users: set[int]


def _checked_records(
    records: Iterable[Mapping[str, Any]], problems: list[tuple[str, int]]
) -> Iterator[Mapping[str, Any]]:
    """Records for the chain walk; stops at the first event whose links moved."""
    existing = _ExistingIds(
        organisations=set(Organisation.objects.values_list("id", flat=True)),
        users=set(get_user_model().objects.values_list("id", flat=True)),
    )
    for record in records:
        event = record["_event"]
        # v1 events' ids were copied when the format was upgraded and are
        # covered by its anchor event (synthgov.trail.chain), so every event
        # is checked.
        problem = _links_problem(event, existing)
        if problem:
            problems.append((problem, event.seq))
            return
        yield record


def trail_verify(*, external: Iterable[Any] = ()) -> TrailVerification:
    """Walk the chain from the first event and compare it with its head, every
    stored checkpoint and any ``external`` checkpoint documents (kept outside
    the database); report the first problem."""
    stored = list(Checkpoint.objects.order_by("seq"))
    try:
        public_keys = _public_keys() if stored or external else {}
        signed = [checkpoint_check(c.document(), public_keys) for c in stored]
        kept = [checkpoint_check(document, public_keys) for document in external]
    except CheckpointError as error:
        return TrailVerification(False, 0, f"Checkpoint refused: {error}.")
    link_problems: list[tuple[str, int]] = []
    result = chain_walk(
        _checked_records(_records(), link_problems),
        keep_hashes_at={seq for seq, _ in signed + kept},
    )
    if result.ok and link_problems:
        problem, seq = link_problems[0]
        return TrailVerification(False, result.checked, problem, seq, v1_events=result.v1_events)
    result = _against_head(result)
    result = chain_against_checkpoints(result, signed, source="The stored checkpoint")
    result = chain_against_checkpoints(result, kept, source="The kept checkpoint")
    return TrailVerification(
        result.ok,
        result.checked,
        result.problem,
        result.broken_seq,
        checkpoints=len(signed) + len(kept),
        v1_events=result.v1_events,
    )


def _against_head(result: ChainResult) -> ChainResult:
    """The chain's end must be where the head row says, with the same hash."""
    if not result.ok:
        return result
    head = TrailHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if head_seq != result.checked:
        problem = f"The trail should end at event #{head_seq} but ends at #{result.checked}: " + (
            "the newest rows were deleted."
            if head_seq > result.checked
            else "the head row was changed."
        )
    elif head_hash != result.head_hash:
        problem = (
            f"The trail head says event #{head_seq} has hash {head_hash[:12]}… but it has "
            f"{result.head_hash[:12]}…: the newest event was rewritten."
        )
    else:
        return result
    return ChainResult(
        False,
        result.checked,
        problem,
        result.checked + 1,
        result.head_hash,
        result.v1_events,
        result.hashes,
    )


def _public_keys() -> dict[str, Any]:
    try:
        return signing_keyring().public_keys()
    except SigningKeyError as error:
        raise CheckpointError(f"the signing keys cannot be loaded to check it: {error}") from error


def checkpoint_create() -> Checkpoint | None:
    """Sign the current head; None when no event was added since the last
    checkpoint (or the trail is empty). Raises SigningKeyError without a key."""
    keyring = signing_keyring()
    with transaction.atomic():
        # The head lock keeps a concurrent append from moving it while signing.
        head = TrailHead.objects.select_for_update().filter(id=1).first()
        if head is None or head.last_seq == 0:
            return None
        last = Checkpoint.objects.order_by("-seq").first()
        if last is not None and last.seq >= head.last_seq:
            return None
        _check_since(last, head, keyring.public_keys())
        created = timezone.now().astimezone(UTC)
        statement = checkpoint_statement(
            seq=head.last_seq, head_hash=head.last_hash, created=created.isoformat()
        )
        document = checkpoint_sign(statement, keyring.current)
        return Checkpoint.objects.create(
            seq=head.last_seq,
            head_hash=head.last_hash,
            created=created,
            kid=document["signature"]["kid"],
            signature=document["signature"]["value"],
            canonicalization=statement["canonicalization"],
        )


class TrailBrokenError(Exception):
    """The trail does not verify: a checkpoint must not vouch for it."""


def _check_since(last: Checkpoint | None, head: TrailHead, public_keys: Mapping[str, Any]) -> None:
    """Before signing the head: the events since the last checkpoint follow it
    and end at the head (so a rewrite is never signed). Checking only those
    keeps the hourly task short; a rewrite before the last checkpoint changes
    the hash it signed, which is checked here too."""
    after = (0, GENESIS_HASH, 1)
    if last is not None:
        try:
            checkpoint_check(last.document(), public_keys)
        except CheckpointError as error:
            raise TrailBrokenError(f"The newest checkpoint is refused: {error}.") from error
        event = Event.objects.filter(seq=last.seq).first()
        if event is None or event.hash != last.head_hash:
            raise TrailBrokenError(
                f"Event #{last.seq} no longer has the hash its checkpoint signed: not signing."
            )
        after = (event.seq, event.hash, event.hash_version)
    records = (e.as_record() for e in Event.objects.filter(seq__gt=after[0]).order_by("seq"))
    result = _against_head(chain_walk(records, after=after))
    if not result.ok:
        raise TrailBrokenError(f"{result.problem} Not signing a checkpoint.")
