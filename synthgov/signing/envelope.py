"""The form every signed SynthGov file shares::

    {"<body>": {...}, "signature": {"alg": "Ed25519", "kid": "<16 hex>", "value": "<base64url>"}}

The signature covers ``context + signed_bytes(body)``: the RFC 8785 bytes when
the body says ``"canonicalization": "RFC8785"`` (every document signed now), the
legacy canonical form when it names none (documents signed before). The name
sits inside the signed body, so it cannot be changed without breaking the
signature. Verification parses
the file and recomputes the canonical form, so a re-indented file with equal
values still verifies, while any changed value, key, kid or signature byte does
not. A context prefix (trail checkpoints have one) keeps a signature of one
kind from ever verifying as another made with the same key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthgov.signing.canonical import signed_bytes
from synthgov.signing.keys import ALGORITHM, b64url_decode, b64url_encode, key_id

SIGNATURE_KEYS = frozenset({"alg", "kid", "value"})
_KID = re.compile(r"[0-9a-f]{16}")


def signature_for(
    body: Mapping[str, Any], private_key: Ed25519PrivateKey, *, context: bytes = b""
) -> dict[str, str]:
    """The ``"signature"`` member for ``body`` signed by ``private_key``, over
    the canonicalisation ``body`` names (see ``synthgov.signing.canonical``)."""
    return {
        "alg": ALGORITHM,
        "kid": key_id(private_key.public_key()),
        "value": b64url_encode(private_key.sign(context + signed_bytes(body))),
    }


def _structure_problem(document: Any, body: str) -> str | None:
    """Why the document is not a signed ``body``, or None when it is one."""
    if not isinstance(document, Mapping) or set(document) != {body, "signature"}:
        return f'the document must have exactly "{body}" and "signature"'
    if not isinstance(document[body], Mapping):
        return f'"{body}" is not a JSON object'
    signature = document["signature"]
    if not isinstance(signature, Mapping) or set(signature) != SIGNATURE_KEYS:
        return '"signature" must have exactly "alg", "kid" and "value"'
    if signature["alg"] != ALGORITHM:
        return f"unsupported signature algorithm {signature['alg']!r}"
    if not isinstance(signature["kid"], str) or not _KID.fullmatch(signature["kid"]):
        return f"malformed key id {signature['kid']!r}"
    return None


def signature_problem(
    document: Any,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    body: str,
    what: str,
    context: bytes = b"",
) -> tuple[str | None, str | None]:
    """(why the signature over ``document[body]`` does not verify, or None; the kid)."""
    problem = _structure_problem(document, body)
    if problem:
        return problem, None
    kid = document["signature"]["kid"]
    public_key = public_keys.get(kid)
    if public_key is None:
        return f"unknown signing key {kid}", kid
    if key_id(public_key) != kid:
        return f"the key given for {kid} has a different key id", kid
    try:
        signature_bytes = b64url_decode(document["signature"]["value"])
        message = context + signed_bytes(document[body])
    except (TypeError, ValueError) as error:
        return f"malformed signature or payload: {error}", kid
    try:
        public_key.verify(signature_bytes, message)
    except InvalidSignature:
        return (
            f"the signature does not match the {what} content (key {kid}); "
            "the file was changed or signed by another key"
        ), kid
    return None, kid
