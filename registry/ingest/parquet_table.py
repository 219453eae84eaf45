"""Validate a Parquet file: magic at both ends, a readable footer, flat columns,
and data pages that decode, read batch by batch so memory stays bounded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from registry.ingest.errors import ErrorCode, IngestError, human_size, too_many_rows
from registry.ingest.sniff import ENCRYPTED_PARQUET_MAGIC, PARQUET_MAGIC
from registry.ingest.tables import TableFormat, TableInfo, row_group_batches

_VERIFY_BATCH_ROWS = 65_536
_SAVE_AGAIN = "Export the table to Parquet again (or as CSV) and upload the new file."


def validate_parquet(
    path: Path,
    *,
    head: bytes,
    tail: bytes,
    max_columns: int,
    max_rows: int | None = None,
    max_table_bytes: int | None = None,
) -> TableInfo:
    """Open ``path`` as Parquet, check its columns and read every row group once.

    ``row_count`` comes from the footer and is checked against the rows read. The
    rows and uncompressed size the footer declares are checked against ``max_rows``
    and ``max_table_bytes`` first, so a small file declaring a huge table is refused
    before it is read (and before an audit would load it).
    """
    _check_magic(head, tail)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as error:
        raise IngestError(
            ErrorCode.BAD_PARQUET,
            f"The file starts like Parquet but its footer cannot be read ({_short(error)}).",
            _SAVE_AGAIN,
        ) from None
    names = list(schema.names)
    _check_columns(schema, names, max_columns)
    declared_rows = parquet.metadata.num_rows
    _check_declared_size(parquet.metadata, max_rows, max_table_bytes)
    if declared_rows == 0:
        raise IngestError(
            ErrorCode.HEADER_ONLY,
            f"The Parquet file defines {len(names)} columns but holds no rows.",
            "Upload a file with at least one row of data.",
        )
    read_rows = _read_all_rows(parquet)
    if read_rows != declared_rows:
        raise IngestError(
            ErrorCode.BAD_PARQUET,
            f"The Parquet footer promises {declared_rows:,} rows but {read_rows:,} could be read.",
            _SAVE_AGAIN,
        )
    return TableInfo(
        format=TableFormat.PARQUET,
        row_count=declared_rows,
        columns=tuple(names),
        column_types=tuple(str(field.type) for field in schema),
    )


def _check_declared_size(
    metadata: pq.FileMetaData, max_rows: int | None, max_table_bytes: int | None
) -> None:
    if max_rows is not None and metadata.num_rows > max_rows:
        raise too_many_rows(
            metadata.num_rows, max_rows, "The Parquet file declares", table_format="Parquet"
        )
    if max_table_bytes is None:
        return
    uncompressed = sum(
        metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups)
    )
    if uncompressed > max_table_bytes:
        raise IngestError(
            ErrorCode.DECOMPRESSED_TOO_LARGE,
            f"The Parquet file declares {human_size(uncompressed)} of data once uncompressed; "
            f"the limit is {human_size(max_table_bytes)}.",
            "Upload a sample of the table, or split it into several datasets.",
        )


def _check_magic(head: bytes, tail: bytes) -> None:
    if head.startswith(ENCRYPTED_PARQUET_MAGIC) or tail.endswith(ENCRYPTED_PARQUET_MAGIC):
        raise IngestError(
            ErrorCode.BAD_PARQUET,
            "The Parquet file is encrypted, and SynthGov cannot read encrypted Parquet.",
            "Export it without Parquet encryption; access to it is controlled in SynthGov.",
        )
    if not head.startswith(PARQUET_MAGIC) or not tail.endswith(PARQUET_MAGIC):
        raise IngestError(
            ErrorCode.BAD_PARQUET,
            "The file starts like Parquet but does not end like one: it is incomplete "
            "or not really Parquet.",
            "If the upload or export was interrupted, export the table again; "
            + _SAVE_AGAIN[0].lower()
            + _SAVE_AGAIN[1:],
        )


def _check_columns(schema: pa.Schema, names: list[str], max_columns: int) -> None:
    if len(names) > max_columns:
        raise IngestError(
            ErrorCode.TOO_MANY_COLUMNS,
            f"The Parquet file has {len(names):,} columns; the limit is {max_columns:,}.",
            "Remove the columns you do not need (or split the table) and upload it again.",
        )
    if not names:
        raise IngestError(ErrorCode.BAD_PARQUET, "The Parquet file has no columns.", _SAVE_AGAIN)
    unnamed = [str(position) for position, name in enumerate(names, start=1) if not name.strip()]
    if unnamed:
        raise IngestError(
            ErrorCode.EMPTY_COLUMN_NAME,
            f"Column {', '.join(unnamed)} of the Parquet file has no name.",
            "Name every column and export the table again.",
        )
    repeated = [name for name, count in Counter(n.strip() for n in names).items() if count > 1]
    if repeated:
        raise IngestError(
            ErrorCode.DUPLICATE_COLUMNS,
            "Column names must be unique, but the Parquet file repeats: "
            + ", ".join(repr(name) for name in repeated[:5])
            + ".",
            "Rename the repeated columns so each name appears once, then export again.",
        )
    nested = [field.name for field in schema if pa.types.is_nested(field.type)]
    if nested:
        raise IngestError(
            ErrorCode.UNSUPPORTED_COLUMN_TYPE,
            "SynthGov needs flat tables, but these Parquet columns hold lists, structs or "
            f"maps: {', '.join(repr(name) for name in nested[:5])}.",
            "Flatten those columns (one value per cell) and export the table again.",
        )


def _read_all_rows(parquet: pq.ParquetFile) -> int:
    rows = 0
    try:
        for batch in row_group_batches(parquet, batch_size=_VERIFY_BATCH_ROWS):
            rows += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as error:
        raise IngestError(
            ErrorCode.BAD_PARQUET,
            f"The Parquet file is damaged: its data cannot be read after row {rows:,} "
            f"({_short(error)}).",
            _SAVE_AGAIN,
        ) from None
    return rows


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
