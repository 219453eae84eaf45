"""Tell what a file is from its bytes, never from its name or declared type.

``detect_content`` looks at the first and last bytes kept by ``stream_to_file``.
Compressed input is expanded by ``decompress_to_file`` chunk by chunk under the
same size limit, so an archive that expands enormously is stopped while it
expands.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zipfile
import zlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from registry.ingest.errors import ErrorCode, IngestError, human_size
from registry.ingest.stream import READ_CHUNK_BYTES, StreamResult, stream_to_file

PARQUET_MAGIC = b"PAR1"
ENCRYPTED_PARQUET_MAGIC = b"PARE"


class ContentKind(StrEnum):
    PARQUET = "parquet"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZIP = "zip"
    ZSTD = "zstd"
    TEXT = "text"
    BINARY = "binary"


COMPRESSED_KINDS = frozenset(
    {ContentKind.GZIP, ContentKind.BZIP2, ContentKind.XZ, ContentKind.ZIP, ContentKind.ZSTD}
)

_COMPRESSION_MAGIC: tuple[tuple[bytes, ContentKind], ...] = (
    (b"\x1f\x8b\x08", ContentKind.GZIP),
    (b"\xfd7zXZ\x00", ContentKind.XZ),
    (b"PK\x03\x04", ContentKind.ZIP),
    (b"PK\x05\x06", ContentKind.ZIP),  # an empty zip archive
    (b"\x28\xb5\x2f\xfd", ContentKind.ZSTD),
)
# "BZh" + block size digit + the block or end-of-stream magic, so a CSV that
# happens to start with "BZh9" is not mistaken for bzip2.
_BZIP2_RE = re.compile(rb"\ABZh[1-9](1AY&SY|\x17rE8P\x90)", re.DOTALL)

# Formats people upload by mistake, named so the message can say what it is.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.xls or .doc)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ARROW1", "an Arrow IPC (Feather) file"),
    (b"Obj\x01", "an Avro file"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\x93NUMPY", "a NumPy array file"),
    (b"\x80\x04\x95", "a Python pickle"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
)

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

# Control bytes that do not occur in text (tab, newlines, form feed and escape
# are allowed).
_CONTROL_BYTES = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B})


def detect_content(head: bytes, tail: bytes) -> ContentKind:
    """Classify a file by its first bytes (``head``) and last bytes (``tail``).

    A file that starts with Parquet's magic is PARQUET even when its footer is
    missing (``validate_parquet`` then explains it is truncated).
    """
    if head.startswith((PARQUET_MAGIC, ENCRYPTED_PARQUET_MAGIC)):
        return ContentKind.PARQUET
    for magic, kind in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return kind
    if _BZIP2_RE.match(head):
        return ContentKind.BZIP2
    if looks_binary(head):
        return ContentKind.BINARY
    return ContentKind.TEXT


def looks_binary(head: bytes) -> bool:
    """True for bytes that are no text in any encoding SynthGov reads.

    UTF-16/32 text has NUL bytes but is text: it has a byte-order mark, or
    (without one) NULs in every other position.
    """
    if not head:
        return False
    if head.startswith(_UTF16_32_BOMS):
        return False
    if binary_format_name(head) is not None:
        return True
    if b"\x00" in head:
        return bom_less_utf16(head) is None
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(2, len(head) // 100)


def bom_less_utf16(head: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` if ``head`` looks like UTF-16 text without
    a byte-order mark (mostly ASCII with a NUL beside every character), else None."""
    sample = head[: len(head) - len(head) % 2][:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def binary_format_name(head: bytes) -> str | None:
    """A human name for well-known non-table formats ("a PDF document"), or None."""
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            return name
    return None


def refuse_binary(head: bytes) -> IngestError:
    """The error for a file that is neither CSV text nor Parquet."""
    name = binary_format_name(head)
    what = (
        f"This file is {name}, not a table." if name else "This file is not a CSV or Parquet table."
    )
    return IngestError(
        ErrorCode.NOT_TABULAR,
        f"{what} SynthGov reads CSV text and Parquet files, whatever the file is called.",
        "Export the data as CSV (UTF-8) or Parquet and upload that file.",
    )


def decompress_to_file(
    source: Path, kind: ContentKind, dest: BinaryIO, *, max_bytes: int
) -> StreamResult:
    """Expand the compressed file at ``source`` into ``dest``, hashing the output.

    Raises ``IngestError("decompressed_too_large")`` as soon as the expanded
    bytes pass ``max_bytes``, ``"unsupported_compression"`` for formats the
    standard library cannot read, and ``"bad_compression"`` for corrupt archives.
    """
    if kind == ContentKind.ZSTD:
        raise IngestError(
            ErrorCode.UNSUPPORTED_COMPRESSION,
            "This file is compressed with Zstandard, which SynthGov cannot expand.",
            "Upload the table uncompressed, or compressed with gzip, bzip2, xz or zip.",
        )
    if kind not in COMPRESSED_KINDS:
        raise ValueError(f"{kind} is not a compressed kind")
    try:
        return stream_to_file(_expanded_chunks(source, kind), dest, max_bytes=max_bytes)
    except IngestError as error:
        if error.code == ErrorCode.TOO_LARGE:
            raise IngestError(
                ErrorCode.DECOMPRESSED_TOO_LARGE,
                f"The compressed file expands to more than the limit of {human_size(max_bytes)}.",
                "Upload a smaller table; the limit applies to the table inside the archive.",
            ) from None
        if error.code == ErrorCode.EMPTY_FILE:
            raise IngestError(
                ErrorCode.EMPTY_FILE,
                f"The {kind} archive is valid but the table inside it is empty.",
                "Check that you compressed the right file, then upload it again.",
            ) from None
        raise
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as error:
        raise IngestError(
            ErrorCode.BAD_COMPRESSION,
            f"The {kind} archive is damaged or incomplete and cannot be expanded ({error}).",
            "Compress the table again (or upload it uncompressed) and upload the new file.",
        ) from None


def _expanded_chunks(source: Path, kind: ContentKind) -> Iterator[bytes]:
    if kind == ContentKind.ZIP:
        yield from _zip_member_chunks(source)
        return
    opener = {ContentKind.GZIP: gzip.open, ContentKind.BZIP2: bz2.open, ContentKind.XZ: lzma.open}
    # Each read(n) returns at most n decompressed bytes, so memory stays bounded.
    with opener[kind](source, "rb") as stream:
        while block := stream.read(READ_CHUNK_BYTES):
            yield block


def _zip_member_chunks(source: Path) -> Iterator[bytes]:
    with zipfile.ZipFile(source) as archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        names = {info.filename for info in members}
        if "[Content_Types].xml" in names or "mimetype" in names:
            raise IngestError(
                ErrorCode.NOT_TABULAR,
                "This is a spreadsheet or office document (a zip of XML files), "
                "not a CSV or Parquet table.",
                "Open it in your spreadsheet program, save the sheet as 'CSV UTF-8', "
                "and upload that file.",
            )
        if len(members) != 1:
            listed = ", ".join(repr(m.filename) for m in members[:5]) or "no files"
            raise IngestError(
                ErrorCode.NOT_TABULAR,
                f"The zip archive holds {len(members)} files ({listed}); "
                "SynthGov needs exactly one table per version.",
                "Upload each table on its own, as CSV or Parquet, zipped alone or not at all.",
            )
        member = members[0]
        if member.flag_bits & 0x1:
            raise IngestError(
                ErrorCode.UNSUPPORTED_COMPRESSION,
                "The zip archive is password-protected.",
                "Upload the table without a password; access to it is controlled in SynthGov.",
            )
        try:
            stream = archive.open(member)
        except NotImplementedError as error:
            raise IngestError(
                ErrorCode.UNSUPPORTED_COMPRESSION,
                f"The zip archive uses a compression method SynthGov cannot expand ({error}).",
                "Zip the table again with standard (deflate) compression, or use gzip.",
            ) from None
        with stream:
            while block := stream.read(READ_CHUNK_BYTES):
                yield block
