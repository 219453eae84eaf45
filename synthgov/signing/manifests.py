"""Signed provenance manifests and the per-organisation key file (no Django).

A manifest file is::

    {"manifest": {...payload...},
     "signature": {"alg": "Ed25519", "kid": "<16 hex>", "value": "<base64url>"}}

The signature covers the payload's canonical bytes exactly as a certificate's does
(``synthgov.signing.envelope``): RFC 8785 for manifests that say
``"canonicalization": "RFC8785"`` (all signed now), the legacy form for older
ones. So a re-indented file still verifies and any changed value does not.
For CSV versions the manifest travels as a sidecar JSON file; for Parquet it is
embedded in the file's schema metadata under ``synthgov.provenance``.
``python -m synthgov.verify_manifest`` checks both offline.

An organisation's key file holds a watermark secret (HMAC key) and an Ed25519
manifest signing key. It lives outside the database (``SYNTHGOV_ORG_KEYS_DIR``) so a
database dump reveals neither; production mounts the folder from a secret store.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthgov.signing.canonical import document_bytes, signed_bytes, with_rfc8785
from synthgov.signing.envelope import SIGNATURE_KEYS, signature_for
from synthgov.signing.keys import (
    ALGORITHM,
    b64url_decode,
    generate_key_pem,
    key_id,
    load_private_key_pem,
    public_key_pem,
)
from synthgov.signing.strict_json import load_json_object

MANIFEST_TYPE = "synthgov.provenance-manifest"
MANIFEST_FORMAT = 1
PARQUET_METADATA_KEY = b"synthgov.provenance"
_DOCUMENT_KEYS = frozenset({"manifest", "signature"})


class ManifestError(ValueError):
    """A manifest or key file cannot be read; the message says why."""


# --- organisation keys --------------------------------------------------------


@dataclass(frozen=True)
class OrganisationKeys:
    """One organisation's secrets. ``watermark_key_id`` names the watermark secret
    without revealing it (it is recorded on watermarked versions); ``signing_kid`` is
    the Ed25519 key id of the manifest signing key."""

    organisation: str
    watermark_secret: bytes
    signing_key: Ed25519PrivateKey

    @property
    def watermark_key_id(self) -> str:
        digest = hashlib.sha256(b"synthgov-watermark-key-id\x00" + self.watermark_secret)
        return "wm-" + digest.hexdigest()[:16]

    @property
    def signing_kid(self) -> str:
        return key_id(self.signing_key.public_key())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    def public_document(self) -> dict[str, Any]:
        """What may be published: the manifest verifying key and the key ids."""
        return {
            "organisation": self.organisation,
            "manifest_signing_key": {
                "kid": self.signing_kid,
                "alg": ALGORITHM,
                "public_key_pem": self.public_key_pem(),
            },
            "watermark_key_id": self.watermark_key_id,
        }


def organisation_keys_load(folder: Path, organisation: str, *, create: bool) -> OrganisationKeys:
    """The key file ``<folder>/<organisation>.json``; with ``create`` a missing file is
    generated (0600, created exclusively so a web process and a worker never write two
    different keys). Raises ``ManifestError`` when it is missing or unreadable."""
    if not organisation or "/" in organisation or organisation.startswith("."):
        raise ManifestError(f"'{organisation}' cannot name a key file")
    path = Path(folder) / f"{organisation}.json"
    if not path.exists():
        if not create:
            raise ManifestError(f"no key file for organisation '{organisation}' in {folder}")
        _create_key_file(path, organisation)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        secret = bytes.fromhex(data["watermark_secret_hex"])
        signing_key = load_private_key_pem(data["manifest_signing_key_pem"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"the key file {path} cannot be read: {error}") from error
    if len(secret) < 16:
        raise ManifestError(f"the watermark secret in {path} is shorter than 16 bytes")
    return OrganisationKeys(organisation, secret, signing_key)


def _create_key_file(path: Path, organisation: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps(
        {
            "organisation": organisation,
            "watermark_secret_hex": secrets.token_hex(32),
            "manifest_signing_key_pem": generate_key_pem(),
        },
        indent=2,
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first: use theirs
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)


# --- signing and verifying ----------------------------------------------------


def manifest_sign(payload: Mapping[str, Any], keys: OrganisationKeys) -> dict[str, Any]:
    """The signed manifest document for ``payload``, signed over its RFC 8785
    bytes (the payload gains ``"canonicalization"``)."""
    body = with_rfc8785(payload)
    return {"manifest": body, "signature": signature_for(body, keys.signing_key)}


def manifest_bytes(document: Mapping[str, Any]) -> bytes:
    """The sidecar file: indented for people; verification re-canonicalises."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class ManifestCheck:
    """``valid``: the payload is exactly what key ``kid`` signed. ``reason``: one
    sentence a person can act on."""

    valid: bool
    kid: str | None
    reason: str


def manifest_verify(document: Any, public_keys: Mapping[str, Ed25519PublicKey]) -> ManifestCheck:
    """Check a manifest document's structure and signature against ``public_keys``."""
    if not isinstance(document, Mapping) or set(document) != _DOCUMENT_KEYS:
        return ManifestCheck(
            False, None, 'the document must have exactly "manifest" and "signature"'
        )
    payload, signature = document["manifest"], document["signature"]
    if not isinstance(payload, Mapping) or payload.get("type") != MANIFEST_TYPE:
        return ManifestCheck(False, None, f'"manifest" is not a {MANIFEST_TYPE}')
    if not isinstance(signature, Mapping) or set(signature) != SIGNATURE_KEYS:
        return ManifestCheck(False, None, '"signature" must have exactly "alg", "kid" and "value"')
    kid = signature["kid"] if isinstance(signature["kid"], str) else None
    if signature["alg"] != ALGORITHM:
        return ManifestCheck(False, kid, f"unsupported signature algorithm {signature['alg']!r}")
    public_key = public_keys.get(kid or "")
    if public_key is None:
        return ManifestCheck(False, kid, f"no public key given for signing key {kid}")
    if key_id(public_key) != kid:
        return ManifestCheck(False, kid, f"the key given for {kid} has a different key id")
    try:
        public_key.verify(b64url_decode(signature["value"]), signed_bytes(payload))
    except (TypeError, ValueError) as error:
        return ManifestCheck(False, kid, f"malformed signature or manifest: {error}")
    except InvalidSignature:
        return ManifestCheck(
            False,
            kid,
            f"the signature does not match the manifest (key {kid}): the manifest was "
            "changed or signed by another key",
        )
    return ManifestCheck(True, kid, f"signature valid (key {kid})")


def parse_manifest(data: bytes | str) -> dict[str, Any]:
    """The document in a manifest; ManifestError if it is not JSON or repeats a key
    in an object (readers differ on which value counts, so it cannot be trusted)."""
    return load_json_object(data, error=ManifestError, subject="the manifest", kind="one")


# --- Parquet ------------------------------------------------------------------


def parquet_embed(source: Path, target: Path, document: Mapping[str, Any]) -> None:
    """Copy the Parquet file ``source`` to ``target`` with ``document`` in its schema
    metadata (other metadata kept). Row groups are copied one at a time."""
    with pq.ParquetFile(source) as reader:
        metadata = dict(reader.schema_arrow.metadata or {})
        metadata[PARQUET_METADATA_KEY] = document_bytes(document, "manifest")
        schema = reader.schema_arrow.with_metadata(metadata)
        with pq.ParquetWriter(target, schema) as writer:
            for index in range(reader.num_row_groups):
                writer.write_table(reader.read_row_group(index).replace_schema_metadata(metadata))


def parquet_read_manifest(path: Path) -> dict[str, Any]:
    """The manifest embedded in a Parquet file; ``ManifestError`` when there is none."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path} is not a readable Parquet file: {error}") from error
    raw = metadata.get(PARQUET_METADATA_KEY)
    if raw is None:
        raise ManifestError(f"{path} carries no SynthGov provenance manifest")
    return parse_manifest(raw)


def parquet_matches_manifest(path: Path, payload: Mapping[str, Any]) -> str | None:
    """Why the Parquet file's table does not match the manifest, or None when its rows
    and column names do. (Its bytes differ from the registered file's hash by design:
    the manifest was written into it.)"""
    version = payload.get("version") if isinstance(payload, Mapping) else None
    if not isinstance(version, Mapping):
        return "the manifest has no version facts"
    meta = pq.read_metadata(path)
    names = pq.read_schema(path).names
    if meta.num_rows != version.get("rows"):
        return f"the file has {meta.num_rows} rows; the manifest says {version.get('rows')}"
    if names != version.get("column_names"):
        return "the file's columns differ from the manifest's"
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
