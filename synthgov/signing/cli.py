"""What the offline verifiers (``python -m synthgov.verify``, ``verify_manifest``,
``verify_trail``) share: argument errors exit with the usage status (argparse's
own 2 means "expired" for certificates), and reading public keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthgov.signing.keys import (
    SigningKeyError,
    key_id,
    load_public_key_pem,
    public_keys_from_document,
)
from synthgov.signing.strict_json import loads_strict

EXIT_USAGE = 3


class UsageError(Exception):
    """The verifier cannot run as asked (arguments, key file); exits EXIT_USAGE."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def verifier_parser(module: str, description: str) -> argparse.ArgumentParser:
    """An argument parser for ``python -m <module>`` whose errors exit EXIT_USAGE."""
    return _Parser(prog=f"python -m {module}", description=description)


def usage_failed(error: Exception) -> int:
    """Say why the verifier cannot run, on stderr; the exit status for it."""
    print(f"error: {error}", file=sys.stderr)
    return EXIT_USAGE


def read_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Keys by kid from a PEM public key file or a JSON public keys document;
    UsageError when the file cannot be read or is neither."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the public key file: {error}") from error
    try:
        if data.lstrip().startswith(b"{"):
            return public_keys_from_document(loads_strict(data))
        key = load_public_key_pem(data)
    except (SigningKeyError, ValueError) as error:
        raise UsageError(f"{path} is not a PEM public key or keys document: {error}") from error
    return {key_id(key): key}
