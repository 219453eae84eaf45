"""One call from an upload's chunks to a validated table on disk.

``ingest_upload`` is what ``dataset_version_create`` uses: it stores the upload
in the caller's working directory while hashing it, expands it if it is
compressed, validates the table and returns where the table is and its hash.
On any refusal the files it made are removed, so nothing is half stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.ingest.csv_scan import RowIndex
from registry.ingest.csv_table import validate_csv_indexed
from registry.ingest.errors import ErrorCode, IngestError, too_many_rows
from registry.ingest.parquet_table import validate_parquet
from registry.ingest.prescan import CsvPrescan, PrescanResult
from registry.ingest.sniff import (
    COMPRESSED_KINDS,
    ContentKind,
    decompress_to_file,
    detect_content,
    refuse_binary,
)
from registry.ingest.stream import (
    FileChunks,
    empty_file,
    file_ends,
    hash_file,
    stream_to_file,
    too_large,
)
from registry.ingest.tables import TableInfo

PRESCAN_WAIT_SECONDS = 600.0
"""How long to wait for an upload's prescan to finish its last chunks (it is done a
moment after the upload is; past this, the file is read again instead)."""


@dataclass(frozen=True)
class IngestedFile:
    """A validated table ready to be stored.

    ``path`` is the table to keep (the upload itself, or the table expanded from
    a compressed upload) and ``sha256``/``size`` describe exactly those bytes, so
    the stored file can be checked against its hash later. ``upload_sha256`` and
    ``upload_size`` describe the bytes as uploaded (equal unless compressed).
    """

    path: Path
    sha256: str
    size: int
    upload_sha256: str
    upload_size: int
    info: TableInfo
    index: RowIndex | None = field(default=None, compare=False, repr=False)
    """Where a CSV table's rows are, from its validation: lets ``sample_frame`` cut a
    sample's rows out of the file instead of parsing all of it (None: not known)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "upload_sha256": self.upload_sha256,
            "upload_size": self.upload_size,
            "info": self.info.to_dict(),
        }


def ingest_upload(
    chunks: Iterable[bytes],
    *,
    work_dir: Path,
    max_bytes: int,
    max_columns: int,
    max_rows: int | None = None,
    max_parquet_rows: int | None = None,
    encoding: str | None = None,
) -> IngestedFile:
    """Stream ``chunks`` into ``work_dir``, validate them as a table, and return it.

    ``max_bytes`` limits both the upload and, for compressed uploads, the
    expanded table (and for Parquet, the uncompressed size its metadata declares);
    ``max_rows`` limits the rows of a CSV table, and of a Parquet one unless
    ``max_parquet_rows`` is given (an audit reads Parquet column by column, a CSV
    whole, so Parquet may be allowed more rows). ``encoding`` is the curator's
    explicit choice for a CSV that is not UTF-8. The caller owns ``work_dir`` (typically a temporary
    directory next to the final storage) and moves ``path`` into storage.
    Raises ``IngestError``; on error no file made here is left behind.

    ``chunks`` may be a ``FileChunks`` (an upload already complete on disk): the
    file is then hard-linked into ``work_dir`` instead of copied (when the file
    system allows it) and hashed while it is validated, in the same read.
    """
    token = uuid.uuid4().hex
    upload_path = work_dir / f"upload-{token}"
    table_path = work_dir / f"table-{token}"
    try:
        upload = _receive(chunks, upload_path, max_bytes)
        kind = detect_content(upload.head, upload.tail)
        if kind not in COMPRESSED_KINDS:
            digest = hashlib.sha256() if upload.sha256 is None else None
            info, index, hashed = _validate(
                upload_path,
                head=upload.head,
                tail=upload.tail,
                max_columns=max_columns,
                max_rows=max_rows,
                max_parquet_rows=max_parquet_rows,
                max_table_bytes=max_bytes,
                encoding=encoding,
                digest=digest,
                prescanned=upload.prescanned,
            )
            sha256 = upload.sha256
            if sha256 is None:
                sha256 = digest.hexdigest() if hashed and digest else hash_file(upload_path)
            return IngestedFile(
                path=upload_path,
                sha256=sha256,
                size=upload.size,
                upload_sha256=sha256,
                upload_size=upload.size,
                info=info,
                index=index,
            )
        upload_sha256 = upload.sha256 or hash_file(upload_path)
        with table_path.open("xb") as dest:
            table = decompress_to_file(upload_path, kind, dest, max_bytes=max_bytes)
        upload_path.unlink()
        info, index, _ = _validate(
            table_path,
            head=table.head,
            tail=table.tail,
            max_columns=max_columns,
            max_rows=max_rows,
            max_parquet_rows=max_parquet_rows,
            max_table_bytes=max_bytes,
            encoding=encoding,
        )
        return IngestedFile(
            path=table_path,
            sha256=table.sha256,
            size=table.size,
            upload_sha256=upload_sha256,
            upload_size=upload.size,
            info=dataclasses.replace(info, compressed=True, compression=str(kind)),
            index=index,
        )
    except BaseException:
        upload_path.unlink(missing_ok=True)
        table_path.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class _Received:
    size: int
    head: bytes
    tail: bytes
    sha256: str | None
    """None when the upload was linked rather than copied: not hashed yet."""
    prescanned: CsvPrescan | None = None
    """The CSV scan of these bytes made while they were received, if any."""


def _receive(chunks: Iterable[bytes], dest: Path, max_bytes: int) -> _Received:
    if isinstance(chunks, FileChunks):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        try:
            os.link(chunks.path, dest)
        except OSError:
            pass  # another file system, or links not allowed: copy it
        else:
            size = dest.stat().st_size
            if size > max_bytes:
                raise too_large(max_bytes)
            if size == 0:
                raise empty_file()
            head, tail = file_ends(dest, size)
            seen = _prescan_result(chunks, size, head)
            if seen is not None:
                return _Received(size, head, tail, seen.sha256, seen.csv)
            return _Received(size, head, tail, None)
    with dest.open("xb") as out:
        stream = stream_to_file(chunks, out, max_bytes=max_bytes)
    return _Received(stream.size, stream.head, stream.tail, stream.sha256)


def _prescan_result(chunks: FileChunks, size: int, head: bytes) -> PrescanResult | None:
    """The prescan's answer when it saw exactly this file's bytes (its size and first
    bytes agree: the bytes in between went to both from the same chunks), else None."""
    if chunks.prescan is None:
        return None
    seen = chunks.prescan.result(timeout=PRESCAN_WAIT_SECONDS)
    if seen is None or seen.size != size or seen.head != head:
        return None
    return seen


def validate_table(
    path: Path,
    *,
    head: bytes,
    tail: bytes,
    max_columns: int,
    max_rows: int | None = None,
    max_parquet_rows: int | None = None,
    max_table_bytes: int | None = None,
    encoding: str | None = None,
) -> TableInfo:
    """Validate an uncompressed file as Parquet or CSV, decided by its content.

    ``max_rows`` and ``max_table_bytes`` (None: no limit) bound the table;
    ``max_parquet_rows``, when given, replaces ``max_rows`` for Parquet. A Parquet
    file is checked against them from its metadata, before any row is read: a small
    file can declare millions of rows of one repeated value."""
    info, _, _ = _validate(
        path,
        head=head,
        tail=tail,
        max_columns=max_columns,
        max_rows=max_rows,
        max_parquet_rows=max_parquet_rows,
        max_table_bytes=max_table_bytes,
        encoding=encoding,
    )
    return info


def _validate(
    path: Path,
    *,
    head: bytes,
    tail: bytes,
    max_columns: int,
    max_rows: int | None = None,
    max_parquet_rows: int | None = None,
    max_table_bytes: int | None = None,
    encoding: str | None = None,
    digest: Any = None,
    prescanned: CsvPrescan | None = None,
) -> tuple[TableInfo, RowIndex | None, bool]:
    """``validate_table``, also returning where a CSV file's rows are (or None) and
    whether ``digest`` was updated with every byte of the file."""
    if max_columns <= 0:
        raise ValueError("max_columns must be positive")
    kind = detect_content(head, tail)
    if kind == ContentKind.PARQUET:
        info = validate_parquet(
            path,
            head=head,
            tail=tail,
            max_columns=max_columns,
            max_rows=max_rows if max_parquet_rows is None else max_parquet_rows,
            max_table_bytes=max_table_bytes,
        )
        return info, None, False
    if kind in COMPRESSED_KINDS:
        raise IngestError(
            ErrorCode.NOT_TABULAR,
            f"The table inside the archive is itself compressed ({kind}).",
            "Compress the CSV or Parquet file only once (or not at all) and upload it again.",
        )
    if kind == ContentKind.BINARY:
        raise refuse_binary(head)
    info, index, hashed = validate_csv_indexed(
        path,
        head=head,
        max_columns=max_columns,
        encoding=encoding,
        digest=digest,
        prescanned=prescanned,
    )
    if max_rows is not None and info.row_count > max_rows:
        raise too_many_rows(
            info.row_count,
            max_rows,
            "The CSV file has",
            table_format="CSV",
            parquet_limit=max_parquet_rows,
        )
    return info, index, hashed
