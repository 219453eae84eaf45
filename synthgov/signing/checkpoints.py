"""Signed checkpoints of the audit trail.

A checkpoint is the trail's size and head hash at a moment, signed with the
certificate signing key (Ed25519). The signature covers
``CHECKPOINT_CONTEXT + signed_bytes(statement)`` (RFC 8785 for statements that
say ``"canonicalization": "RFC8785"``, as all new ones do; the legacy form for
checkpoints signed before); the context prefix keeps a
checkpoint signature from ever verifying as a certificate signature (and the
reverse), although both come from the same key. The hash chain itself is
``synthgov.trail.chain``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthgov.signing.canonical import CANONICALIZATION_KEY, RFC8785, signed_bytes
from synthgov.signing.envelope import signature_for
from synthgov.signing.keys import ALGORITHM, b64url_decode

CHECKPOINT_TYPE = "synthgov.trail.checkpoint"
CHECKPOINT_CONTEXT = b"synthgov-trail-checkpoint-v1\n"


class CheckpointError(ValueError):
    """A checkpoint document is malformed or its signature does not verify."""


def checkpoint_statement(
    *, seq: int, head_hash: str, created: str, canonicalization: str = RFC8785
) -> dict[str, Any]:
    """What a checkpoint says: after ``seq`` events the head hash was ``head_hash``.
    ``canonicalization=""`` rebuilds a checkpoint signed before RFC 8785."""
    statement = {"type": CHECKPOINT_TYPE, "seq": seq, "head_hash": head_hash, "created": created}
    if canonicalization:
        statement[CANONICALIZATION_KEY] = canonicalization
    return statement


def checkpoint_document(statement: Mapping[str, Any], *, kid: str, value: str) -> dict[str, Any]:
    """The checkpoint document for a statement and its stored signature."""
    return {
        "checkpoint": dict(statement),
        "signature": {"alg": ALGORITHM, "kid": kid, "value": value},
    }


def checkpoint_sign(statement: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict:
    """The checkpoint document (the form exported and kept by others)."""
    signature = signature_for(statement, private_key, context=CHECKPOINT_CONTEXT)
    return {"checkpoint": dict(statement), "signature": signature}


def checkpoint_check(document: Any, public_keys: Mapping[str, Ed25519PublicKey]) -> tuple[int, str]:
    """(seq, head_hash) of a checkpoint whose signature verifies; CheckpointError otherwise."""
    if not isinstance(document, Mapping) or set(document) != {"checkpoint", "signature"}:
        raise CheckpointError('a checkpoint must have exactly "checkpoint" and "signature"')
    statement, signature = document["checkpoint"], document["signature"]
    if not isinstance(statement, Mapping) or statement.get("type") != CHECKPOINT_TYPE:
        raise CheckpointError(f'"checkpoint" is not a {CHECKPOINT_TYPE} statement')
    seq, head_hash = statement.get("seq"), statement.get("head_hash")
    if type(seq) is not int or seq < 1 or not isinstance(head_hash, str):
        raise CheckpointError('the checkpoint needs a positive integer "seq" and a "head_hash"')
    if not isinstance(signature, Mapping) or signature.get("alg") != ALGORITHM:
        raise CheckpointError("the checkpoint signature is not an Ed25519 signature")
    kid = signature.get("kid")
    public_key = public_keys.get(kid) if isinstance(kid, str) else None
    if public_key is None:
        raise CheckpointError(f"checkpoint at #{seq} is signed by unknown key {kid!r}")
    try:
        public_key.verify(
            b64url_decode(signature.get("value")), CHECKPOINT_CONTEXT + signed_bytes(statement)
        )
    except (InvalidSignature, ValueError, TypeError) as error:
        raise CheckpointError(
            f"checkpoint at #{seq}: the signature does not match (key {kid}); "
            "the checkpoint was altered or not signed by this key"
        ) from error
    return seq, head_hash


def checkpoint_documents(data: Any) -> list[Any]:
    """The checkpoints in a file: one checkpoint document or an export
    (``{"checkpoints": [...]}``)."""
    if isinstance(data, Mapping) and isinstance(data.get("checkpoints"), list):
        return list(data["checkpoints"])
    return [data]
