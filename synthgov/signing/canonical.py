"""Canonical JSON: one byte string for one value, so hashes and signatures are
reproducible.

Two canonicalisations exist, and a signed document records which one its
signature covers in its signed body (``"canonicalization": "RFC8785"``):

- ``RFC8785`` (JCS, through the ``rfc8785`` package): what every *new* signed
  document uses — certificates, manifests, revocation lists and trail
  checkpoints. Numbers are written as ECMAScript writes them (``1e-06`` is
  ``0.000001``, ``1e21`` is ``1e+21``, ``-0.0`` is ``0``), so a verifier in
  JavaScript, Go or with ``openssl`` recomputes the same bytes.
- the legacy form (``canonical_json``): keys sorted, no insignificant
  whitespace, UTF-8, numbers as Python writes them. Documents signed before
  RFC 8785 carry no ``canonicalization`` member and keep verifying with it.

Stored hashes that are not signed documents — the trail's event hash chain,
audit ``results_sha256``, evaluation and sign-off evidence hashes — stay on the
legacy form on purpose: their bytes are already recorded in the database and in
the hash-chained trail, and changing them would break every recorded hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

CANONICALIZATION_KEY = "canonicalization"
RFC8785 = "RFC8785"


def canonical_json(value: Any) -> bytes:
    """The legacy canonical bytes: hashed records (trail, audit results,
    evidence) and documents signed before RFC 8785. Refuses NaN and infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def jcs_json(value: Any) -> bytes:
    """The RFC 8785 (JCS) bytes of ``value``; ValueError for what JCS cannot
    represent (NaN, infinity, integers beyond ±2**53-1, non-string keys)."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as error:
        raise ValueError(f"not representable in RFC 8785 JSON: {error}") from error


def with_rfc8785(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` marked as signed over its RFC 8785 bytes (what new documents use)."""
    marked = dict(body)
    if marked.get(CANONICALIZATION_KEY, RFC8785) != RFC8785:
        raise ValueError(f"a new document cannot be signed as {marked[CANONICALIZATION_KEY]!r}")
    marked[CANONICALIZATION_KEY] = RFC8785
    return marked


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """The bytes a signature over ``body`` covers: RFC 8785 when the body says
    so, the legacy form when it names no canonicalisation (issued before);
    ValueError for any other name (an unknown scheme is never guessed)."""
    if not isinstance(body, Mapping) or CANONICALIZATION_KEY not in body:
        return canonical_json(body)
    scheme = body[CANONICALIZATION_KEY]
    if scheme == RFC8785:
        return jcs_json(body)
    raise ValueError(f"unknown canonicalization {scheme!r}")


def document_bytes(document: Mapping[str, Any], body: str) -> bytes:
    """A whole signed document in the canonicalisation its body names."""
    inner = document.get(body)
    if isinstance(inner, Mapping) and inner.get(CANONICALIZATION_KEY) == RFC8785:
        return jcs_json(document)
    return canonical_json(document)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
