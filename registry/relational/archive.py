"""One zip holding a relational version's tables: which members are tables, and
their bytes as chunks, within limits.

A member is a table; the archive may hold no folders (a member whose name holds
``/`` or ``\\``; macOS's ``__MACOSX/`` resource forks and ``.DS_Store`` files are
skipped, being no data), no archive inside it, no two members suggesting the same
table name, no more than ``max_tables`` tables, and its members together expand to
no more than ``max_bytes``: the sizes the archive declares are checked before any
byte is read, and the bytes actually read are counted too (a zip can lie about
sizes).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from registry.relational.errors import RelationalError
from registry.relational.names import check_distinct, table_name_from_file

CHUNK = 1024 * 1024
_SKIPPED_PREFIXES = ("__MACOSX/",)
_SKIPPED_NAMES = (".DS_Store",)


@dataclass(frozen=True)
class Member:
    name: str  # the table name it suggests
    file_name: str  # as in the archive
    declared_size: int


def _refuse(message: str, code: str = "bad_archive") -> RelationalError:
    return RelationalError(message, field="archive", code=code)


def archive_members(path: Path, *, max_tables: int, max_bytes: int) -> list[Member]:
    """The archive's table members, checked; RelationalError saying what to fix."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse(
            "The archive is not a zip file SynthGov can read. Upload a .zip holding one "
            "CSV or Parquet file per table."
        ) from None
    members: list[Member] = []
    for info in infos:
        name = info.filename
        if name.startswith(_SKIPPED_PREFIXES) or name in _SKIPPED_NAMES:
            continue
        if info.is_dir() or "/" in name or "\\" in name:
            raise _refuse(
                f"The archive holds a folder ({name[:80]!r}); put every table file at the top "
                "level of the zip, with no folders.",
                code="archive_folders",
            )
        if name.lower().endswith(".zip"):
            raise _refuse(
                f"The archive holds another archive ({name[:80]!r}); put the tables "
                "themselves in one zip."
            )
        if info.flag_bits & 0x1:
            raise _refuse(f"{name[:80]!r} is encrypted; upload an archive without a password.")
        members.append(Member(table_name_from_file(name), name, info.file_size))
    if not members:
        raise _refuse("The archive holds no table. Put one CSV or Parquet file per table in it.")
    if len(members) > max_tables:
        raise _refuse(
            f"The archive holds {len(members)} tables; a version may have at most "
            f"{max_tables}. Split the data into several datasets.",
            code="too_many_tables",
        )
    duplicate_files = {
        m.file_name for m in members if [x.file_name for x in members].count(m.file_name) > 1
    }
    if duplicate_files:
        raise _refuse(
            f"The archive holds {sorted(duplicate_files)[0]!r} more than once; keep one copy.",
            code="archive_duplicates",
        )
    try:
        check_distinct([m.name for m in members])
    except RelationalError as exc:
        raise _refuse(exc.message, code="archive_duplicates") from None
    declared = sum(m.declared_size for m in members)
    if declared > max_bytes:
        raise _refuse(
            f"The archive's tables expand to {declared:,} bytes, more than the limit of "
            f"{max_bytes:,}. Upload fewer or smaller tables.",
            code="too_large",
        )
    return members


class _Budget:
    def __init__(self, max_bytes: int) -> None:
        self.left = max_bytes


def member_chunks(path: Path, member: Member, budget: _Budget) -> Iterator[bytes]:
    """The member's bytes in chunks, counted against ``budget`` (shared by all the
    archive's members); RelationalError when they pass it or the archive is damaged."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member.file_name) as handle:
            while chunk := handle.read(CHUNK):
                budget.left -= len(chunk)
                if budget.left < 0:
                    raise _refuse(
                        "The archive's tables expand to more than the size limit (its "
                        "declared sizes are wrong). Upload fewer or smaller tables.",
                        code="too_large",
                    )
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise _refuse(
            f"{member.file_name[:80]!r} cannot be read from the archive ({exc}). Make the zip "
            "again with a standard tool."
        ) from None


def budget(max_bytes: int) -> _Budget:
    return _Budget(max_bytes)
