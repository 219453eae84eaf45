"""Table names and the hash of a version made of several tables.

**Table names.** A table name is 1 to 63 characters of ASCII letters, digits and
underscores, starting with a letter (``^[A-Za-z][A-Za-z0-9_]{0,62}$``), and no two
tables of a version have names that differ only in case. The rule is deliberately
narrow: a name is part of download URLs, file names, Croissant identifiers and
SDMetrics metadata, so it may hold no path separator, dot, space or non-ASCII
letter (which also rules out look-alike "confusable" names such as a Cyrillic
U+0430 in "patients"). A name that breaks the rule is refused with the rule, never
rewritten silently.

**Version hash.** A version with one table has the SHA-256 of that table's stored
file, exactly as before relational versions existed, so existing certificates and
manifests verify. A version with several tables has the SHA-256 of the UTF-8 text
made of one line per table, ``<name>\\t<sha256 of the stored file>\\n``, tables in
ascending order of name (byte order; names are ASCII). ``version_sha256`` computes
it; an offline verifier can recompute it from the files and their names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from registry.relational.errors import RelationalError

MAX_TABLE_NAME_LENGTH = 63
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
TABLE_NAME_RULE = (
    "A table name is 1 to 63 characters: ASCII letters, digits and underscores, starting "
    "with a letter (for example 'patients' or 'tumours_2024')."
)
# Suffixes taken off a file name to find the table name it suggests.
_COMPRESSIONS = (".gz", ".gzip", ".bz2", ".xz", ".zip")
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def check_table_name(name: str) -> str:
    """``name`` when it follows the rule; RelationalError saying the rule otherwise."""
    if not isinstance(name, str) or not name:
        raise RelationalError(f"A table has no name. {TABLE_NAME_RULE}", field="names")
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 80 else name[:77] + "…"
        raise RelationalError(f"{shown!r} cannot be a table name. {TABLE_NAME_RULE}", field="names")
    return name


def table_name_from_file(file_name: str) -> str:
    """The table name a file suggests: its name without folders, compression and
    table extensions (``patients.csv.gz`` → ``patients``). Checked by the rule; a
    file whose stem breaks it must be named explicitly."""
    stem = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    lowered = stem.lower()
    for suffix in _COMPRESSIONS:
        if lowered.endswith(suffix):
            stem, lowered = stem[: -len(suffix)], lowered[: -len(suffix)]
            break
    for suffix in _TABLE_SUFFIXES:
        if lowered.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    try:
        return check_table_name(stem)
    except RelationalError:
        raise RelationalError(
            f"The file {file_name[:80]!r} does not suggest a table name. {TABLE_NAME_RULE} "
            "Name the table explicitly, or rename the file.",
            field="names",
        ) from None


def check_distinct(names: list[str]) -> None:
    """RelationalError when two names are equal, ignoring case."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.get(name.lower())
        if other is not None:
            same = "twice" if other == name else f"as both {other!r} and {name!r}"
            raise RelationalError(
                f"The table name {name!r} is used {same}; table names must differ "
                "(ignoring case). Rename one of the tables.",
                field="names",
            )
        seen[name.lower()] = name


def version_sha256(table_hashes: Mapping[str, str]) -> str:
    """The version's SHA-256 from its tables' (name → SHA-256); see the module text."""
    if not table_hashes:
        raise ValueError("a version has at least one table")
    if len(table_hashes) == 1:
        return next(iter(table_hashes.values()))
    text = "".join(f"{name}\t{table_hashes[name]}\n" for name in sorted(table_hashes))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
