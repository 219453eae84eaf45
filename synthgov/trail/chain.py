"""The trail's hash chain, and how it compares with signed checkpoints, as plain data.

Nothing here imports Django: the live database check (``manage.py
verify_trail``) and the offline verifier (``python -m synthgov.verify_trail``)
walk the same records with the same code.

A *record* is a mapping with the event's fields as plain values::

    seq, created (ISO 8601), actor_ref, actor_label, action, object_type,
    object_id, object_repr, organisation_ref, organisation_label, payload,
    prev_hash, hash, hash_version

Hash formats:

- v1 (events written before issue 11): actor and organisation by their text
  labels only. Kept verifiable as they were hashed; their links to the user and
  organisation rows are not covered, and the verifier says how many there are.
- v2: every field above, including the actor's and organisation's ids and the
  format version itself. A v2 row turned into v1 (or the reverse) no longer
  matches its hash, and a v1 row after a v2 row is refused, so the newest rows
  cannot be rewritten in the weaker format.

The upgrade (migration ``trail.0003``) copied each v1 event's actor and
organisation ids into ``actor_ref``/``organisation_ref`` and appended one v2
event, ``trail.format.upgraded``, whose payload holds the number of v1 events
and a SHA-256 over their (seq, actor_ref, organisation_ref): from then on the
v1 events' links are covered by the v2 chain too. The first v2 event after v1
events must be that anchor, and it must match.

Signed checkpoints of the chain's head are ``synthgov.signing.checkpoints``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synthgov.signing.canonical import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64
CURRENT_HASH_VERSION = 2
UPGRADE_ACTION = "trail.format.upgraded"


def hashed_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the record's hash covers, in its own hash format.

    A published format never changes (rows hashed with it must keep
    verifying, and migration trail.0003 uses v2): a new field means a v3."""
    version = record["hash_version"]
    fields = {
        "seq": record["seq"],
        "created": record["created"],
        "actor": record["actor_label"],
        "action": record["action"],
        "object_type": record["object_type"],
        "object_id": record["object_id"],
        "object_repr": record["object_repr"],
        "organisation": record["organisation_label"],
        "payload": record["payload"],
        "prev_hash": record["prev_hash"],
    }
    if version == 1:
        return fields
    if version == 2:
        return {
            **fields,
            "v": 2,
            "actor_id": record["actor_ref"],
            "organisation_id": record["organisation_ref"],
        }
    raise ValueError(f"unknown hash format version {version!r}")


def record_hash(record: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(hashed_fields(record)))


class V1Links:
    """The running digest of v1 events' (seq, actor_ref, organisation_ref)."""

    def __init__(self) -> None:
        self.count = 0
        self._digest = hashlib.sha256()

    def add(self, record: Mapping[str, Any]) -> None:
        self.count += 1
        line = [record["seq"], record["actor_ref"], record["organisation_ref"]]
        self._digest.update(canonical_json(line) + b"\n")

    def payload(self) -> dict[str, Any]:
        """The ``trail.format.upgraded`` event's payload for these events."""
        return {"v1_events": self.count, "v1_links_sha256": self._digest.hexdigest()}


# --- walking the chain ----------------------------------------------------------


@dataclass
class ChainResult:
    ok: bool
    checked: int
    problem: str = ""
    broken_seq: int | None = None
    head_hash: str = GENESIS_HASH
    v1_events: int = 0
    hashes: dict[int, str] = field(default_factory=dict, repr=False)


def chain_walk(
    records: Iterable[Mapping[str, Any]],
    *,
    keep_hashes_at: set[int] | None = None,
    after: tuple[int, str, int] = (0, GENESIS_HASH, 1),
) -> ChainResult:
    """Walk records in seq order; stop at the first broken link.

    ``keep_hashes_at``: seqs whose hash to keep in the result (to compare with
    checkpoints without holding the whole chain in memory). ``after``: (seq,
    hash, hash version) of the event already trusted before the first record;
    by default the walk starts at #1.
    """
    keep = keep_hashes_at or set()
    checked, expected_prev, newest_version = after
    expected_seq, v1_events = checked + 1, 0
    hashes: dict[int, str] = {}
    # Walking from #1, the v1 events' links are summed up to check the anchor.
    v1_links = V1Links() if checked == 0 else None

    def broken(problem: str, seq: int) -> ChainResult:
        return ChainResult(False, checked, problem, seq, expected_prev, v1_events, hashes)

    for record in records:
        seq, version = record["seq"], record["hash_version"]
        where = f"Event #{seq} ({record['action']})"
        if "id" in record:  # a database row: name it as the admin shows it
            where = f"Event #{seq} (id {record['id']}, {record['action']})"
        if seq != expected_seq:
            return broken(
                f"Event #{expected_seq} is missing (next present is #{seq}): a row was deleted.",
                expected_seq,
            )
        if record["prev_hash"] != expected_prev:
            return broken(
                f"{where} does not follow the event before it: its previous-hash field was "
                "changed or a row before it was replaced.",
                seq,
            )
        if version not in (1, 2):
            return broken(f"{where} has an unknown hash format version {version!r}.", seq)
        if version < newest_version:
            return broken(
                f"{where} is in hash format v{version} after an event in v{newest_version}: "
                "events are never written in an older format, so it was rewritten.",
                seq,
            )
        if record_hash(record) != record["hash"]:
            return broken(f"{where} was edited: its contents no longer match its hash.", seq)
        if v1_links is not None and version == 1:
            v1_links.add(record)
        elif (
            v1_links is not None
            and v1_links.count
            and newest_version == 1
            and (record["action"] != UPGRADE_ACTION or record["payload"] != v1_links.payload())
        ):
            return broken(
                f"{where} should be the {UPGRADE_ACTION} event summing up the "
                f"{v1_links.count} v1 event(s) before it, and is not or does not match "
                "them: a v1 event's actor or organisation was changed.",
                seq,
            )
        newest_version = version
        v1_events += version == 1
        if seq in keep:
            hashes[seq] = record["hash"]
        expected_prev = record["hash"]
        expected_seq += 1
        checked += 1
    if v1_links is not None and v1_links.count and newest_version == 1:
        return broken(
            f"The trail ends with {v1_links.count} v1 event(s) and no {UPGRADE_ACTION} event "
            "after them: it was removed.",
            checked + 1,
        )
    return ChainResult(True, checked, "", None, expected_prev, v1_events, hashes)


def chain_against_checkpoints(
    result: ChainResult, checkpoints: Iterable[tuple[int, str]], *, source: str
) -> ChainResult:
    """The walked chain compared with signed (seq, head_hash) checkpoints: each
    must name an event that is still there with the same hash."""
    if not result.ok:
        return result
    for seq, head_hash in sorted(checkpoints):
        if seq > result.checked:
            return ChainResult(
                False,
                result.checked,
                f"{source} at #{seq} was signed when the trail had {seq} events, but it now "
                f"ends at #{result.checked}: the newest rows were deleted.",
                result.checked + 1,
                result.head_hash,
                result.v1_events,
            )
        if result.hashes.get(seq) != head_hash:
            return ChainResult(
                False,
                result.checked,
                f"{source} at #{seq} does not match the trail: events up to #{seq} were "
                "rewritten after it was signed.",
                seq,
                result.head_hash,
                result.v1_events,
            )
    return result
