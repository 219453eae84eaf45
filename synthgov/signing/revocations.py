"""Signed revocation lists: which certificates are no longer in force for a
reason their files cannot show (revoked or suspended)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthgov.signing.canonical import with_rfc8785
from synthgov.signing.envelope import signature_for, signature_problem
from synthgov.signing.keys import Keyring

REVOCATIONS_FORMAT = "synthgov-revocations/1"
REVOCATION_STATUSES = frozenset({"revoked", "suspended"})
_ENTRY_KEYS = frozenset({"number", "status", "since"})


def sign_revocation_list(body: Mapping[str, Any], keyring: Keyring) -> dict[str, Any]:
    """A signed revocation list: ``{"revocations": body, "signature": {...}}``.

    ``body`` holds ``format``, ``generated`` (UTC, ISO 8601) and ``certificates``:
    one ``{"number", "status", "since"}`` per certificate not in force for a
    reason its file cannot show (revoked or suspended). Signed over its RFC 8785
    bytes (``body`` gains ``"canonicalization"``).
    """
    marked = with_rfc8785(body)
    return {"revocations": marked, "signature": signature_for(marked, keyring.current)}


@dataclass(frozen=True)
class RevocationListResult:
    """``signature_valid``: the list is exactly what key ``kid`` signed and is
    well formed. ``entries``: each listed certificate by number. ``reason``:
    one sentence a person can act on."""

    signature_valid: bool
    kid: str | None
    reason: str
    generated: str = ""
    entries: dict[str, dict[str, str]] = field(default_factory=dict)


def _entries_problem(body: Mapping[str, Any]) -> str | None:
    if body.get("format") != REVOCATIONS_FORMAT:
        return f'the list is not a "{REVOCATIONS_FORMAT}" list'
    if not isinstance(body.get("generated"), str):
        return 'the list has no "generated" time'
    entries = body.get("certificates")
    if not isinstance(entries, list):
        return 'the list has no "certificates" list'
    for entry in entries:
        if (
            not isinstance(entry, Mapping)
            or set(entry) != _ENTRY_KEYS
            or not all(isinstance(entry[k], str) for k in _ENTRY_KEYS)
            or entry["status"] not in REVOCATION_STATUSES
        ):
            return f"the list has a malformed entry: {entry!r}"
    return None


def verify_revocation_list(
    document: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey]
) -> RevocationListResult:
    """Check a revocation list's signature and form (not its age: the caller
    shows ``generated`` so a person can judge whether it is recent enough)."""
    problem, kid = signature_problem(
        document, public_keys, body="revocations", what="revocation list"
    )
    if problem is None:
        problem = _entries_problem(document["revocations"])
    if problem:
        return RevocationListResult(signature_valid=False, kid=kid, reason=problem)
    body = document["revocations"]
    return RevocationListResult(
        signature_valid=True,
        kid=kid,
        reason=f"signed by key {kid}, generated {body['generated']}",
        generated=body["generated"],
        entries={entry["number"]: dict(entry) for entry in body["certificates"]},
    )
