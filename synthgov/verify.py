"""Verify a downloaded SynthGov certificate offline.

    python -m synthgov.verify CERT.json --public-key KEY [--revocations LIST]

KEY is a PEM public key file or the JSON keys document published at
``/.well-known/synthgov-keys.json``. A file alone cannot say whether the
certificate was revoked or suspended after it was downloaded: LIST is the
signed revocation list published at ``/.well-known/synthgov-revocations.json``
(signed by the same keys); without it the output says revocation was not
checked. No database, no network and no Django settings are used. Exit
status: 0 valid and unexpired (and not listed), 1 invalid signature or
unreadable certificate, 2 expired, 3 usage error (bad arguments, key file or
revocation list), 4 revoked or suspended according to the list.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthgov.signing.certificates import (
    CertificateFormatError,
    parse_certificate_file,
    verify_certificate,
)
from synthgov.signing.cli import (
    UsageError,
    read_public_keys,
    usage_failed,
    verifier_parser,
)
from synthgov.signing.revocations import RevocationListResult, verify_revocation_list
from synthgov.signing.strict_json import loads_strict

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_EXPIRED = 2
# 3, usage error, is synthgov.signing.cli.EXIT_USAGE: the same for every verifier.
EXIT_REVOKED = 4

REVOCATIONS_PATH = "/.well-known/synthgov-revocations.json"
NOT_CHECKED = (
    "Revocation not checked: a certificate file cannot show a revocation or suspension "
    "made after it was downloaded. Download the signed list from the issuer's "
    f"{REVOCATIONS_PATH} and pass it with --revocations, or open the certificate's "
    "verification link."
)


def _parser() -> argparse.ArgumentParser:
    parser = verifier_parser("synthgov.verify", __doc__.split("\n")[0])
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
    parser.add_argument(
        "--revocations",
        type=Path,
        default=None,
        help=f"the signed revocation list (JSON, from {REVOCATIONS_PATH}) to check against",
    )
    return parser


def _load_revocations(
    path: Path | None, keys: dict[str, Ed25519PublicKey]
) -> RevocationListResult | None:
    if path is None:
        return None
    try:
        document = loads_strict(path.read_bytes())
    except OSError as error:
        raise UsageError(f"cannot read the revocation list: {error}") from error
    except ValueError as error:
        raise UsageError(f"the revocation list {path} is not valid JSON: {error}") from error
    result = verify_revocation_list(document, keys)
    if not result.signature_valid:
        raise UsageError(
            f"the revocation list {path} does not verify ({result.reason}); "
            "download it again from the issuer"
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = read_public_keys(args.public_key)
        revocations = _load_revocations(args.revocations, keys)
        data = args.certificate.read_bytes()
    except UsageError as error:
        return usage_failed(error)
    except OSError as error:
        return usage_failed(UsageError(f"cannot read the certificate file: {error}"))

    try:
        document = parse_certificate_file(data)
    except CertificateFormatError as error:
        print(f"INVALID: {error}")
        return EXIT_INVALID
    result = verify_certificate(document, keys, today=args.today)
    if not result.signature_valid or result.expires is None:
        print(f"INVALID: {result.reason}")
        return EXIT_INVALID
    number = document["certificate"].get("number")
    listed = revocations.entries.get(number) if revocations and isinstance(number, str) else None
    if listed is not None:
        print(
            f"{listed['status'].upper()}: certificate {number} is {listed['status']} since "
            f"{listed['since']} (signature valid, key {result.kid}; revocation list generated "
            f"{revocations.generated})"
        )
        return EXIT_REVOKED
    if result.expired:
        print(f"EXPIRED on {result.expires.isoformat()} (signature valid, key {result.kid})")
        return EXIT_EXPIRED
    print(
        f"VALID signature (key {result.kid}), "
        f"certificate unexpired until {result.expires.isoformat()}"
    )
    if revocations is None:
        print(NOT_CHECKED)
    else:
        print(
            f"Not revoked or suspended according to the revocation list generated "
            f"{revocations.generated}; a later revocation would not be in it."
        )
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(main())
