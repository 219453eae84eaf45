"""Verify a downloaded SynthGov certificate offline.

    python -m synthgov.verify CERT.json --public-key KEY

KEY is a PEM public key file or the JSON keys document published at
``/.well-known/synthgov-keys.json``. No database, no network and no Django
settings are used. Exit status: 0 valid and unexpired, 1 invalid signature or
unreadable certificate, 2 expired, 3 usage error (bad arguments or key file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audits.certificates.signing import (
    CertificateFormatError,
    SigningKeyError,
    key_id,
    load_public_key_pem,
    parse_certificate_file,
    public_keys_from_document,
    verify_certificate,
)

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_EXPIRED = 2
EXIT_USAGE = 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse exits 2 by default, which here means "expired".
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m synthgov.verify", description=__doc__.split("\n")[0])
    parser.add_argument("certificate", type=Path, help="the downloaded certificate JSON file")
    parser.add_argument(
        "--public-key",
        required=True,
        type=Path,
        help="PEM public key file, or the JSON public keys document",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="check expiry as of this date (YYYY-MM-DD); default today in UTC",
    )
    return parser


def _load_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the public key file: {error}") from error
    try:
        if data.lstrip().startswith(b"{"):
            return public_keys_from_document(json.loads(data))
        key = load_public_key_pem(data)
    except (SigningKeyError, ValueError) as error:
        raise UsageError(f"{path} is not a PEM public key or keys document: {error}") from error
    return {key_id(key): key}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = _load_keys(args.public_key)
        data = args.certificate.read_bytes()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: cannot read the certificate file: {error}", file=sys.stderr)
        return EXIT_USAGE

    try:
        document = parse_certificate_file(data)
    except CertificateFormatError as error:
        print(f"INVALID: {error}")
        return EXIT_INVALID
    result = verify_certificate(document, keys, today=args.today)
    if not result.signature_valid or result.expires is None:
        print(f"INVALID: {result.reason}")
        return EXIT_INVALID
    if result.expired:
        print(f"EXPIRED on {result.expires.isoformat()} (signature valid, key {result.kid})")
        return EXIT_EXPIRED
    print(
        f"VALID signature (key {result.kid}), "
        f"certificate unexpired until {result.expires.isoformat()}"
    )
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(main())
