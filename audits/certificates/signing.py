"""Ed25519 signatures over a canonical JSON form of a certificate payload.

A signed certificate file is::

    {"certificate": {...payload...},
     "signature": {"alg": "Ed25519", "kid": "<16 hex>", "value": "<base64url>"}}

The signature covers ``canonical_json(payload)``. Verification parses the file and
recomputes the canonical form, so a re-indented file with equal values still
verifies, while any changed value, key, kid or signature byte does not.

Nothing here imports Django: ``python -m synthgov.verify`` uses it offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
_SIGNATURE_KEYS = frozenset({"alg", "kid", "value"})
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_KID = re.compile(r"[0-9a-f]{16}")


class SigningKeyError(ValueError):
    """A key could not be loaded (bad PEM, wrong key type, encrypted, mismatched kid)."""


class CertificateFormatError(ValueError):
    """A certificate file is not a well-formed signed certificate."""


# --- encoding helpers -------------------------------------------------------


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8, no NaN."""
    if not isinstance(payload, Mapping):
        raise TypeError("a certificate payload must be a JSON object")
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding.

    The standard decoder ignores stray characters and the unused low bits of the
    last character; either would let a changed byte decode to the same signature.
    """
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error
    if b64url_encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(_raw_public_bytes(public_key)).hexdigest()[:16]


# --- loading keys -----------------------------------------------------------


def generate_key_pem() -> str:
    """A fresh unencrypted PKCS#8 PEM private key, for setup scripts and tests."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _as_bytes(pem: str | bytes) -> bytes:
    return pem.encode("ascii") if isinstance(pem, str) else pem


def load_private_key_pem(pem: str | bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_as_bytes(pem), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as error:
        # TypeError: the key is encrypted; signing keys come unencrypted from secrets.
        raise SigningKeyError(f"cannot load the private key: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError("the private key is not an Ed25519 key")
    return key


def load_public_key_pem(pem: str | bytes) -> Ed25519PublicKey:
    """A public key from PEM; a private key PEM is accepted and its public half used."""
    data = _as_bytes(pem)
    if b"PRIVATE KEY" in data:
        return load_private_key_pem(data).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnicodeEncodeError) as error:
        raise SigningKeyError(f"cannot load the public key: {error}") from error
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


def public_keys_from_document(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Keys from a ``public_keys_document()``; every kid is checked against its key."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise SigningKeyError('the keys document has no "keys" list')
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("alg") != ALGORITHM:
            raise SigningKeyError("the keys document has an entry that is not an Ed25519 key")
        try:
            public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(entry["public_key"]))
        except (KeyError, ValueError) as error:
            raise SigningKeyError(f"the keys document has a bad public key: {error}") from error
        kid = key_id(public_key)
        if entry.get("kid") != kid:
            raise SigningKeyError(f"the keys document lists key {kid} under kid {entry.get('kid')}")
        keys[kid] = public_key
    return keys


@dataclass(frozen=True)
class Keyring:
    """The current signing key plus the public halves of retired keys.

    The current key signs; every key (current or retired) verifies, so
    certificates issued before a rotation keep verifying.
    """

    current: Ed25519PrivateKey
    retired: tuple[Ed25519PublicKey, ...] = field(default=())

    @classmethod
    def from_pem(
        cls, private_pem: str | bytes, *, retired_public_pems: Iterable[str | bytes] = ()
    ) -> Keyring:
        current = load_private_key_pem(private_pem)
        current_kid = key_id(current.public_key())
        retired = tuple(
            key
            for key in (load_public_key_pem(pem) for pem in retired_public_pems)
            # Listing the current key as retired too must not publish it twice.
            if key_id(key) != current_kid
        )
        return cls(current=current, retired=retired)

    @classmethod
    def from_file(
        cls, path: str | Path, *, retired_public_pems: Iterable[str | bytes] = ()
    ) -> Keyring:
        try:
            pem = Path(path).read_bytes()
        except OSError as error:
            raise SigningKeyError(f"cannot read the signing key file {path}: {error}") from error
        return cls.from_pem(pem, retired_public_pems=retired_public_pems)

    @property
    def current_kid(self) -> str:
        return key_id(self.current.public_key())

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every verifying key by kid, current first."""
        keys = {self.current_kid: self.current.public_key()}
        for key in self.retired:
            keys.setdefault(key_id(key), key)
        return keys

    def public_keys_document(self) -> dict[str, Any]:
        """The JSON served at the well-known URL; the offline verifier reads it too."""
        current_kid = self.current_kid
        return {
            "keys": [
                {
                    "kid": kid,
                    "alg": ALGORITHM,
                    "public_key": b64url_encode(_raw_public_bytes(key)),
                    "status": "current" if kid == current_kid else "retired",
                }
                for kid, key in self.public_keys().items()
            ]
        }


# --- signing and verifying --------------------------------------------------


def sign_certificate(payload: Mapping[str, Any], keyring: Keyring) -> dict[str, Any]:
    """The signed certificate file content for ``payload``, signed by the current key."""
    return {"certificate": dict(payload), "signature": _signature(payload, keyring)}


def certificate_file_bytes(document: Mapping[str, Any]) -> bytes:
    """The downloadable file: canonical JSON with no whitespace at all, so every
    byte of it is significant."""
    return canonical_json(document)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a certificate")


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of repeated keys, other readers the first: a
    # file with both could show a person one value while the signature covers
    # another. Such a file is refused, not interpreted.
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKeyError(f'the file repeats the key "{key}" in one object')
        document[key] = value
    return document


def loads_strict(data: bytes | str) -> Any:
    """JSON with no repeated keys and no NaN/Infinity; ValueError otherwise
    (DuplicateKeyError for a repeated key)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def parse_certificate_file(data: bytes | str) -> dict[str, Any]:
    """The document in a certificate file; CertificateFormatError if it is not
    JSON, repeats a key in an object, or is not an object."""
    try:
        document = loads_strict(data)
    except DuplicateKeyError as error:
        raise CertificateFormatError(f"{error}; it cannot be trusted") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise CertificateFormatError(f"the file is not valid UTF-8 JSON: {error}") from error
    except RecursionError:
        raise CertificateFormatError("the file is nested too deeply to be a certificate") from None
    if not isinstance(document, dict):
        raise CertificateFormatError("the file is not a JSON object")
    return document


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


def _invalid(reason: str, kid: str | None = None) -> VerificationResult:
    return VerificationResult(signature_valid=False, kid=kid, expired=False, reason=reason)


def _check_structure(document: Any, body: str = "certificate") -> str | None:
    """Why the document is not a signed ``body``, or None when it is one."""
    if not isinstance(document, Mapping) or set(document) != {body, "signature"}:
        return f'the document must have exactly "{body}" and "signature"'
    if not isinstance(document[body], Mapping):
        return f'"{body}" is not a JSON object'
    signature = document["signature"]
    if not isinstance(signature, Mapping) or set(signature) != _SIGNATURE_KEYS:
        return '"signature" must have exactly "alg", "kid" and "value"'
    if signature["alg"] != ALGORITHM:
        return f"unsupported signature algorithm {signature['alg']!r}"
    if not isinstance(signature["kid"], str) or not _KID.fullmatch(signature["kid"]):
        return f"malformed key id {signature['kid']!r}"
    return None


def _signature_problem(
    document: Any, public_keys: Mapping[str, Ed25519PublicKey], *, body: str, what: str
) -> tuple[str | None, str | None]:
    """(why the signature over ``document[body]`` does not verify, or None; the kid)."""
    problem = _check_structure(document, body)
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
        message = canonical_json(document[body])
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


def _signature(body: Mapping[str, Any], keyring: Keyring) -> dict[str, str]:
    return {
        "alg": ALGORITHM,
        "kid": keyring.current_kid,
        "value": b64url_encode(keyring.current.sign(canonical_json(body))),
    }


def verify_certificate(
    document: Mapping[str, Any],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    today: date | None = None,
) -> VerificationResult:
    """Check the signature with the key named by the document's kid, then expiry."""
    problem, kid = _signature_problem(document, public_keys, body="certificate", what="certificate")
    if problem:
        return _invalid(problem, kid)
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


def public_keys_document(keyring: Keyring) -> dict[str, Any]:
    """Same as ``keyring.public_keys_document()``."""
    return keyring.public_keys_document()


# --- revocation lists -------------------------------------------------------

REVOCATIONS_FORMAT = "synthgov-revocations/1"
REVOCATION_STATUSES = frozenset({"revoked", "suspended"})
_ENTRY_KEYS = frozenset({"number", "status", "since"})


def sign_revocation_list(body: Mapping[str, Any], keyring: Keyring) -> dict[str, Any]:
    """A signed revocation list: ``{"revocations": body, "signature": {...}}``.

    ``body`` holds ``format``, ``generated`` (UTC, ISO 8601) and ``certificates``:
    one ``{"number", "status", "since"}`` per certificate not in force for a
    reason its file cannot show (revoked or suspended).
    """
    return {"revocations": dict(body), "signature": _signature(body, keyring)}


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
    problem, kid = _signature_problem(
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
