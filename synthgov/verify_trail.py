"""Check an exported audit trail offline against checkpoints someone kept.

    python -m synthgov.verify_trail TRAIL.jsonl --checkpoint CP.json --public-key KEYS

TRAIL.jsonl comes from ``manage.py export_trail``; each CP.json is a checkpoint
(or a checkpoints export) downloaded earlier from ``/trail/checkpoints.json``;
KEYS is the JSON keys document from ``/.well-known/synthgov-keys.json`` or a
PEM public key. No database, no network and no Django settings are used.

Exit status: 0 intact and matching every checkpoint, 1 broken or rewritten,
3 usage error (bad arguments, unreadable or malformed files, bad checkpoint).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audits.certificates.signing import (
    SigningKeyError,
    key_id,
    load_public_key_pem,
    public_keys_from_document,
)
from synthgov.trail.chain import (
    CheckpointError,
    chain_against_checkpoints,
    chain_walk,
    checkpoint_check,
    checkpoint_documents,
    parse_json,
)

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_USAGE = 3
RECORD_FIELDS = frozenset(
    {
        "seq",
        "created",
        "actor_ref",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "organisation_ref",
        "organisation_label",
        "payload",
        "prev_hash",
        "hash",
        "hash_version",
    }
)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m synthgov.verify_trail", description=__doc__.split("\n")[0])
    parser.add_argument("trail", type=Path, help="the exported trail (manage.py export_trail)")
    parser.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        type=Path,
        metavar="FILE",
        help="a kept checkpoint or checkpoints export; may be given more than once",
    )
    parser.add_argument(
        "--public-key",
        required=True,
        type=Path,
        help="the JSON public keys document, or a PEM public key",
    )
    return parser


def _load_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        data = path.read_bytes()
        if data.lstrip().startswith(b"{"):
            return public_keys_from_document(parse_json(data))
        key = load_public_key_pem(data)
    except (OSError, SigningKeyError, ValueError) as error:
        raise UsageError(f"{path} is not a readable key file: {error}") from error
    return {key_id(key): key}


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = parse_json(line)
            except ValueError as error:
                raise UsageError(f"{path} line {number} is not JSON: {error}") from error
            if not isinstance(record, dict) or set(record) != RECORD_FIELDS:
                raise UsageError(f"{path} line {number} is not an exported trail event")
            yield record


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = _load_keys(args.public_key)
        kept = []
        for path in args.checkpoint:
            try:
                documents = checkpoint_documents(parse_json(path.read_bytes()))
            except (OSError, ValueError) as error:
                raise UsageError(f"cannot read the checkpoint file {path}: {error}") from error
            kept += [checkpoint_check(document, keys) for document in documents]
        result = chain_walk(_records(args.trail), keep_hashes_at={seq for seq, _ in kept})
    except (UsageError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    result = chain_against_checkpoints(result, kept, source="The kept checkpoint")
    if not result.ok:
        print(f"BROKEN after {result.checked} intact event(s): {result.problem}")
        return EXIT_BROKEN
    print(f"INTACT: {result.checked} event(s), matching {len(kept)} signed checkpoint(s).")
    return EXIT_INTACT


if __name__ == "__main__":
    sys.exit(main())
