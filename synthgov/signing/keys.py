"""Ed25519 keys: loading PEM, key ids, keyrings and the public keys document.

A keyring (file or text) holds PEM blocks: exactly one ``PRIVATE KEY`` (the
current signing key) and any number of ``PUBLIC KEY`` blocks (retired keys,
kept so what they signed still verifies). Where a deployment's keyring comes
from is decided by ``synthgov.signing_keys`` (Django settings).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_BLOCK = re.compile(r"-----BEGIN (?P<kind>[A-Z ]+)-----\s.*?-----END (?P=kind)-----", re.DOTALL)


class SigningKeyError(ValueError):
    """A key could not be loaded (bad PEM, wrong key type, encrypted, mismatched kid)."""


# --- encoding ---------------------------------------------------------------


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


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(raw_public_bytes(public_key)).hexdigest()[:16]


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


# --- keyrings ---------------------------------------------------------------


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
                    "public_key": b64url_encode(raw_public_bytes(key)),
                    "status": "current" if kid == current_kid else "retired",
                }
                for kid, key in self.public_keys().items()
            ]
        }


def public_keys_document(keyring: Keyring) -> dict[str, Any]:
    """Same as ``keyring.public_keys_document()``."""
    return keyring.public_keys_document()


def keyring_from_text(text: str) -> Keyring:
    """Parse a keyring: one PRIVATE KEY block (current), PUBLIC KEY blocks (retired)."""
    blocks = [(m.group("kind"), m.group(0)) for m in _BLOCK.finditer(text)]
    private = [pem for kind, pem in blocks if kind == "PRIVATE KEY"]
    public = [pem for kind, pem in blocks if kind == "PUBLIC KEY"]
    others = sorted({kind for kind, _ in blocks} - {"PRIVATE KEY", "PUBLIC KEY"})
    if others:
        raise SigningKeyError(
            f"the keyring holds {', '.join(others)} blocks; only unencrypted PKCS#8 "
            "'PRIVATE KEY' and 'PUBLIC KEY' blocks are accepted"
        )
    if len(private) != 1:
        raise SigningKeyError(
            f"the keyring must hold exactly one PRIVATE KEY block (found {len(private)}): "
            "the current signing key"
        )
    return Keyring.from_pem(private[0], retired_public_pems=public)


def keyring_text(keyring_private_pem: str, retired_public_pems: list[str]) -> str:
    return "".join(
        pem.strip() + "\n" for pem in [keyring_private_pem, *retired_public_pems] if pem.strip()
    )


def rotated_keyring_text(text: str) -> str:
    """A new keyring: a fresh current key, the old current key's public half and
    every previously retired key kept as retired."""
    old = keyring_from_text(text)
    retired = [public_key_pem(old.current.public_key())]
    retired += [public_key_pem(key) for key in old.retired]
    return keyring_text(generate_key_pem(), retired)
