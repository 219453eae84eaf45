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
from typing import Any

from synthgov.signing.checkpoints import CheckpointError, checkpoint_check, checkpoint_documents
from synthgov.signing.cli import UsageError, read_public_keys, usage_failed, verifier_parser
from synthgov.signing.strict_json import loads_strict
from synthgov.trail.chain import chain_against_checkpoints, chain_walk

EXIT_INTACT = 0
EXIT_BROKEN = 1
# 3, usage error, is synthgov.signing.cli.EXIT_USAGE: the same for every verifier.
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


def _parser() -> argparse.ArgumentParser:
    parser = verifier_parser("synthgov.verify_trail", __doc__.split("\n")[0])
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


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = loads_strict(line)
            except ValueError as error:
                raise UsageError(f"{path} line {number} is not JSON: {error}") from error
            if not isinstance(record, dict) or set(record) != RECORD_FIELDS:
                raise UsageError(f"{path} line {number} is not an exported trail event")
            yield record


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = read_public_keys(args.public_key)
        kept = []
        for path in args.checkpoint:
            try:
                documents = checkpoint_documents(loads_strict(path.read_bytes()))
            except (OSError, ValueError) as error:
                raise UsageError(f"cannot read the checkpoint file {path}: {error}") from error
            kept += [checkpoint_check(document, keys) for document in documents]
        result = chain_walk(_records(args.trail), keep_hashes_at={seq for seq, _ in kept})
    except (UsageError, CheckpointError, OSError) as error:
        return usage_failed(error)
    result = chain_against_checkpoints(result, kept, source="The kept checkpoint")
    if not result.ok:
        print(f"BROKEN after {result.checked} intact event(s): {result.problem}")
        return EXIT_BROKEN
    print(f"INTACT: {result.checked} event(s), matching {len(kept)} signed checkpoint(s).")
    return EXIT_INTACT


if __name__ == "__main__":
    sys.exit(main())
