"""Verify a SynthGov provenance manifest offline.

    python -m synthgov.verify_manifest MANIFEST.json --public-key KEY [--data FILE.csv]
    python -m synthgov.verify_manifest FILE.parquet --public-key KEY

MANIFEST.json is the sidecar downloaded for a version; a Parquet file downloaded
"with manifest" carries it in its metadata. KEY is the organisation's PEM public
key or the JSON published at ``/organisations/<slug>/manifest-key.json``. With
``--data`` the data file's SHA-256 must equal the manifest's; for a Parquet file
its rows and column names must match the manifest (its bytes differ from the
registered file's by design, since the manifest was written into it).

No database, network or Django settings are used. Exit status: 0 valid, 1 invalid
(signature, or data not matching), 3 usage error (bad arguments or key file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthgov.signing.cli import UsageError, usage_failed, verifier_parser
from synthgov.signing.keys import SigningKeyError, key_id, load_public_key_pem
from synthgov.signing.manifests import (
    ManifestError,
    file_sha256,
    manifest_verify,
    parquet_matches_manifest,
    parquet_read_manifest,
    parse_manifest,
)
from synthgov.signing.strict_json import loads_strict

EXIT_VALID = 0
EXIT_INVALID = 1
# 3, usage error, is synthgov.signing.cli.EXIT_USAGE: the same for every verifier.
_PARQUET_MAGIC = b"PAR1"


def _load_key(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the key file: {error}") from error
    if raw.lstrip().startswith(b"{"):
        try:
            raw = loads_strict(raw)["manifest_signing_key"]["public_key_pem"].encode("ascii")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise UsageError(
                'the JSON key file has no "manifest_signing_key" → "public_key_pem"'
            ) from error
    try:
        key = load_public_key_pem(raw)
    except SigningKeyError as error:
        raise UsageError(str(error)) from error
    return {key_id(key): key}


def _parser() -> argparse.ArgumentParser:
    parser = verifier_parser(
        "synthgov.verify_manifest",
        "Verify a SynthGov provenance manifest (sidecar JSON or Parquet) offline.",
    )
    parser.add_argument("manifest", type=Path, help="MANIFEST.json or FILE.parquet")
    parser.add_argument("--public-key", type=Path, required=True, help="PEM or JSON key file")
    parser.add_argument("--data", type=Path, help="the CSV (or other) file the sidecar describes")
    return parser


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == _PARQUET_MAGIC


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = _load_key(args.public_key)
        parquet = _is_parquet(args.manifest)
        document = (
            parquet_read_manifest(args.manifest)
            if parquet
            else parse_manifest(args.manifest.read_bytes())
        )
    except UsageError as error:
        return usage_failed(error)
    except OSError as error:
        return usage_failed(UsageError(f"cannot read {args.manifest}: {error}"))
    except ManifestError as error:
        print(f"INVALID: {error}")
        return EXIT_INVALID
    check = manifest_verify(document, keys)
    if not check.valid:
        print(f"INVALID: {check.reason}")
        return EXIT_INVALID
    payload = document["manifest"]
    if parquet:
        problem = parquet_matches_manifest(args.manifest, payload)
        if problem:
            print(f"INVALID: {problem}")
            return EXIT_INVALID
    if args.data is not None:
        try:
            digest = file_sha256(args.data)
        except OSError as error:
            return usage_failed(UsageError(f"cannot read {args.data}: {error}"))
        if digest != payload.get("version", {}).get("sha256"):
            print("INVALID: the data file's SHA-256 differs from the manifest's")
            return EXIT_INVALID
    version = payload.get("version", {})
    mark = payload.get("watermark")
    print(
        f"VALID signature (key {check.kid}): {payload.get('dataset', {}).get('name')} "
        f"v{version.get('number')} of {payload.get('organisation', {}).get('name')}, "
        f"sha256 {version.get('sha256')}"
        + (f", watermark key {mark['key_id']}" if isinstance(mark, dict) else ", no watermark")
    )
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(main())
