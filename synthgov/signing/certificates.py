"""Certificate files: Ed25519 signatures over a certificate payload.

A signed certificate file is ``{"certificate": {...payload...}, "signature":
{...}}`` (see ``synthgov.signing.envelope``); ``python -m synthgov.verify``
checks one offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthgov.signing.canonical import document_bytes, with_rfc8785
from synthgov.signing.envelope import signature_for, signature_problem
from synthgov.signing.keys import Keyring
from synthgov.signing.strict_json import load_json_object


class CertificateFormatError(ValueError):
    """A certificate file is not a well-formed signed certificate."""


def sign_certificate(payload: Mapping[str, Any], keyring: Keyring) -> dict[str, Any]:
    """The signed certificate file content for ``payload``, signed by the current
    key over its RFC 8785 bytes (the payload gains ``"canonicalization"``)."""
    if not isinstance(payload, Mapping):
        raise TypeError("a certificate payload must be a JSON object")
    body = with_rfc8785(payload)
    return {"certificate": body, "signature": signature_for(body, keyring.current)}


def certificate_file_bytes(document: Mapping[str, Any]) -> bytes:
    """The downloadable file: canonical JSON with no whitespace at all, so every
    byte of it is significant (RFC 8785 for certificates that name it)."""
    return document_bytes(document, "certificate")


def parse_certificate_file(data: bytes | str) -> dict[str, Any]:
    """The document in a certificate file; CertificateFormatError if it is not
    JSON, repeats a key in an object, or is not an object."""
    return load_json_object(
        data, error=CertificateFormatError, subject="the file", kind="a certificate"
    )


@dataclass(frozen=True)
class VerificationResult:
    """``signature_valid``: the payload is exactly what key ``kid`` signed.
    ``expired``: the payload's ``expires`` date is on or before ``today``.
    ``expires``: that date, or None when the payload has no readable one.
    ``reason``: one sentence a person can act on."""

    signature_valid: bool
    kid: str | None
    expired: bool
    reason: str
    expires: date | None = None

    @property
    def valid(self) -> bool:
        """Signature good, expiry readable and not reached."""
        return self.signature_valid and self.expires is not None and not self.expired


def verify_certificate(
    document: Mapping[str, Any],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    today: date | None = None,
) -> VerificationResult:
    """Check the signature with the key named by the document's kid, then expiry."""
    problem, kid = signature_problem(document, public_keys, body="certificate", what="certificate")
    if problem:
        return VerificationResult(signature_valid=False, kid=kid, expired=False, reason=problem)
    payload = document["certificate"]

    try:
        expires = date.fromisoformat(payload["expires"])
    except (KeyError, TypeError, ValueError):
        return VerificationResult(
            signature_valid=True,
            kid=kid,
            expired=False,
            reason='the certificate has no readable "expires" date (YYYY-MM-DD)',
        )
    today = today or datetime.now(UTC).date()
    if today >= expires:
        return VerificationResult(
            signature_valid=True,
            kid=kid,
            expired=True,
            expires=expires,
            reason=f"the certificate expired on {expires.isoformat()}",
        )
    return VerificationResult(
        signature_valid=True,
        kid=kid,
        expired=False,
        expires=expires,
        reason=f"signature valid; unexpired until {expires.isoformat()}",
    )
