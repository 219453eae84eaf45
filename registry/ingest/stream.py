"""Store an upload chunk by chunk, hashing it on the way and refusing it early.

Nothing here reads a whole file into memory: the caller passes an iterable of
byte chunks (Django's ``UploadedFile.chunks()``, a file read in blocks, a
decompressor) and a destination opened for binary writing.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from registry.ingest.errors import ErrorCode, IngestError, human_size

HEAD_BYTES = 64 * 1024
"""How much of the start of a file is kept for sniffing its format and delimiter."""

TAIL_BYTES = 8
"""How much of the end is kept: enough for Parquet's footer magic."""

READ_CHUNK_BYTES = 1024 * 1024

MAX_FILENAME_CHARS = 255

# Characters that change how a name is displayed without being visible
# (right-to-left override turns "txt.csv" into something that reads differently).
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class StreamResult:
    """What was written: the SHA-256 (hex) and size of exactly the bytes stored,
    and the first ``HEAD_BYTES`` / last ``TAIL_BYTES`` for format sniffing."""

    sha256: str
    size: int
    head: bytes
    tail: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


def stream_to_file(chunks: Iterable[bytes], dest: BinaryIO, *, max_bytes: int) -> StreamResult:
    """Copy ``chunks`` into ``dest`` while hashing them.

    Raises ``IngestError("too_large")`` as soon as the bytes received exceed
    ``max_bytes``: the chunk that crossed the limit is not written and no further
    chunk is requested. Raises ``IngestError("empty_file")`` for zero bytes. On
    error ``dest`` may hold a partial copy; the caller discards it.
    """
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    tail = b""
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"chunks must be bytes, got {type(chunk).__name__}")
        if not chunk:
            continue
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
        dest.write(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        tail = (tail + bytes(chunk[-TAIL_BYTES:]))[-TAIL_BYTES:]
    if size == 0:
        raise empty_file()
    return StreamResult(sha256=digest.hexdigest(), size=size, head=bytes(head), tail=tail)


def too_large(max_bytes: int) -> IngestError:
    return IngestError(
        ErrorCode.TOO_LARGE,
        f"The file is larger than the limit of {human_size(max_bytes)}.",
        "Upload a smaller file: remove rows or columns you do not need, "
        "or split the table into several datasets.",
    )


def empty_file() -> IngestError:
    return IngestError(
        ErrorCode.EMPTY_FILE,
        "The file is empty (0 bytes).",
        "Check that you picked the right file and that it was saved, then upload it again.",
    )


class FileChunks:
    """An upload that is already a complete file on disk (Django's temporary upload).

    Iterating it gives its bytes in blocks, like any other chunks; ``ingest_upload``
    instead links the file into its working folder (no copy) and hashes it while it
    validates it. The file must not change afterwards. ``prescan`` (a
    ``registry.ingest.prescan.Prescan``) hashed and scanned the same bytes while they
    were received: its answer spares reading the file again."""

    def __init__(self, path: Path, prescan: Any = None) -> None:
        self.path = Path(path)
        self.prescan = prescan

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as source:
            yield from iter_chunks(source)


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter_chunks(source, 8 * READ_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def file_ends(path: Path, size: int) -> tuple[bytes, bytes]:
    """The first ``HEAD_BYTES`` and the last ``TAIL_BYTES`` of a file of ``size`` bytes."""
    with path.open("rb") as source:
        head = source.read(HEAD_BYTES)
        source.seek(max(0, size - TAIL_BYTES))
        tail = source.read(TAIL_BYTES)
    return head, tail


def iter_chunks(source: BinaryIO, chunk_size: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
    """Read an open binary file in blocks; the adapter for ``stream_to_file``."""
    while block := source.read(chunk_size):
        yield block


def safe_original_name(name: str) -> str:
    """Return ``name`` (NFC-normalised) if it is a plain file name, else refuse it.

    The original name is only ever kept as metadata; refusing anything path-like
    means no later code can be tricked into using it as one.
    """
    bad_filename = ErrorCode.BAD_FILENAME
    rename = "Rename the file to a plain name such as 'patients_2024.csv' and upload it again."
    name = unicodedata.normalize("NFC", name)
    if not name.strip():
        raise IngestError(bad_filename, "The file has no name.", rename)
    if len(name) > MAX_FILENAME_CHARS:
        raise IngestError(
            bad_filename,
            f"The file name is {len(name)} characters long; the limit is {MAX_FILENAME_CHARS}.",
            "Shorten the file name and upload it again.",
        )
    if "/" in name or "\\" in name or ".." in name or (len(name) >= 2 and name[1] == ":"):
        raise IngestError(
            bad_filename,
            "The file name looks like a path (it contains '/', '\\', '..' or a drive letter).",
            rename,
        )
    for char in name:
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            raise IngestError(
                bad_filename,
                f"The file name contains an invisible control character (U+{ord(char):04X}).",
                rename,
            )
    if name.strip(". ") == "":
        raise IngestError(bad_filename, "The file name is only dots and spaces.", rename)
    return name
