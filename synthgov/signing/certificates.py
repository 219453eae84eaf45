"""Certificate files: Ed25519 signatures over a certificate payload.

A signed certificate file is ``{"certificate": {...payload...}, "signature":
{...}}`` (see ``synthgov.signing.envelope``); ``python -m synthgov.verify``
checks one offline.

A certificate of a version made of linked tables names every table with its
SHA-256 (``dataset_version.tables``: ``[{"name", "sha256"}]``, by name); the
verifier recomputes the version's hash from them (``tables_sha256``, the rule
``registry.relational.names.version_sha256`` implements) and refuses a
certificate whose tables do not give its ``dataset_version.sha256``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
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


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def tables_sha256(tables: Sequence[Mapping[str, str]]) -> str:
    """A version's SHA-256 from its tables: one table's own hash; for several, the
    SHA-256 of the UTF-8 text of one line ``<name>\t<table sha256>\n`` per table,
    in ascending name (byte) order."""
    if len(tables) == 1:
        return tables[0]["sha256"]
    ordered = sorted(tables, key=lambda t: t["name"].encode("utf-8"))
    text = "".join(f"{t['name']}\t{t['sha256']}\n" for t in ordered)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tables_problem(payload: Mapping[str, Any]) -> str:
    """Why the tables a certificate names do not give its version's hash ("" when
    they do, or when it names none: a single-table version's certificate)."""
    version = payload.get("dataset_version")
    if not isinstance(version, Mapping) or "tables" not in version:
        return ""
    tables = version["tables"]
    if not isinstance(tables, list) or not tables:
        return "the certificate's dataset_version.tables is not a list of tables"
    names = []
    for table in tables:
        if not (
            isinstance(table, Mapping)
            and isinstance(table.get("name"), str)
            and isinstance(table.get("sha256"), str)
            and _SHA256.match(table["sha256"])
        ):
            return (
                "each of the certificate's dataset_version.tables must have a name and a "
                "SHA-256 (64 lowercase hex digits)"
            )
        names.append(table["name"])
    if len(set(names)) != len(names):
        return "the certificate's dataset_version.tables names a table twice"
    computed = tables_sha256(tables)
    if computed != version.get("sha256"):
        return (
            f"the tables the certificate names give the version hash {computed}, not the "
            f"certified {version.get('sha256')}: a table's hash was changed"
        )
    return ""


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
    """``signature_valid``: the payload is exactly what key ``kid`` signed (and the
    tables it names, if any, give its version hash).
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
    """Check the signature with the key named by the document's kid, then that the
    tables it names (if any) give its version hash, then expiry. Tables that do not
    give the hash make the certificate invalid, as a bad signature does."""
    problem, kid = signature_problem(document, public_keys, body="certificate", what="certificate")
    if problem:
        return VerificationResult(signature_valid=False, kid=kid, expired=False, reason=problem)
    payload = document["certificate"]
    problem = tables_problem(payload)
    if problem:
        return VerificationResult(signature_valid=False, kid=kid, expired=False, reason=problem)

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
