"""What a validated table is (``TableInfo``) and how to read it back with pandas.

``read_frame`` and ``sample_frame`` read a stored, already validated file.
CSV cells are read as text first and a column becomes numeric only when every
non-missing value is a number, so a mostly numeric column with a few words
stays text instead of raising or mixing types, and codes with leading zeros
(postcodes, ids) keep their zeros. Everything else stays as text; booleans and
dates are recognised by ``infer_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_SAMPLE_ROWS = 100_000
"""Rows read by ``sample_frame`` unless told otherwise: enough for schema
inference and profiles to be stable, small enough to stay fast on any file."""

_READ_CHUNK_ROWS = 100_000
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_LONG_DIGITS = re.compile(r"^[+-]?\d{16,}$")


class TableFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True)
class TableInfo:
    """A table that passed validation.

    ``row_count`` is exact (counted while streaming for CSV, blank lines not
    counted; from the footer for Parquet). ``encoding`` and ``delimiter`` are set
    for CSV only; ``encoding`` is a Python codec name ("utf-8", "utf-8-sig" when
    the file starts with a byte-order mark, "cp1252", ...). ``compressed`` and
    ``compression`` describe the upload; the stored table is uncompressed.
    """

    format: TableFormat
    row_count: int
    columns: tuple[str, ...]
    encoding: str | None = None
    delimiter: str | None = None
    compressed: bool = False
    compression: str | None = None
    column_types: tuple[str, ...] = field(default=(), compare=False)
    """Parquet only: the Arrow type of each column, as text."""

    @property
    def column_count(self) -> int:
        return len(self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": str(self.format),
            "row_count": self.row_count,
            "column_count": self.column_count,
            "columns": list(self.columns),
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "compressed": self.compressed,
            "compression": self.compression,
            "column_types": list(self.column_types),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableInfo:
        return cls(
            format=TableFormat(data["format"]),
            row_count=int(data["row_count"]),
            columns=tuple(data["columns"]),
            encoding=data.get("encoding"),
            delimiter=data.get("delimiter"),
            compressed=bool(data.get("compressed", False)),
            compression=data.get("compression"),
            column_types=tuple(data.get("column_types", ())),
        )


def read_frame(
    path: Path | str,
    info: TableInfo,
    *,
    nrows: int | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read the stored table (all rows, or the first ``nrows``) into a DataFrame.

    Reads everything into memory: for large tables pass ``nrows`` or use
    ``sample_frame``.
    """
    path = Path(path)
    if info.format == TableFormat.PARQUET:
        return _read_parquet(path, nrows=nrows, columns=columns)
    frame = pd.read_csv(path, nrows=nrows, **_csv_options(info, columns))
    return coerce_numeric_columns(frame)


def sample_frame(
    path: Path | str,
    info: TableInfo,
    *,
    rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 0,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The whole table if it has at most ``rows`` rows, else a uniform random
    sample of ``rows`` rows (same seed, same rows), in file order, read in
    chunks so memory is bounded by the sample size."""
    path = Path(path)
    if info.row_count <= rows:
        return read_frame(path, info, columns=columns)
    rng = np.random.default_rng(seed)
    wanted = np.sort(rng.choice(info.row_count, size=rows, replace=False))
    if info.format == TableFormat.PARQUET:
        return _sample_parquet(path, wanted, columns=columns)
    parts: list[pd.DataFrame] = []
    start = 0
    with pd.read_csv(path, chunksize=_READ_CHUNK_ROWS, **_csv_options(info, columns)) as reader:
        for chunk in reader:
            end = start + len(chunk)
            lo, hi = np.searchsorted(wanted, [start, end])
            if hi > lo:
                parts.append(chunk.iloc[wanted[lo:hi] - start])
            start = end
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return coerce_numeric_columns(frame)


def _csv_options(info: TableInfo, columns: Sequence[str] | None) -> dict[str, Any]:
    return {
        "sep": info.delimiter or ",",
        "encoding": info.encoding or "utf-8",
        "encoding_errors": "strict",
        "dtype": str,
        "index_col": False,
        "usecols": list(columns) if columns is not None else None,
        "skip_blank_lines": True,
        "quotechar": '"',
        "doublequote": True,
        "engine": "c",
    }


def coerce_numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every non-missing value is a number into numbers.

    Columns with a value such as "007" or a digit string longer than 15
    characters stay text: they are codes, and numbers would lose the zeros or
    the precision.
    """
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object:
            continue
        present = values.dropna()
        if present.empty or not all(isinstance(value, str) for value in present):
            continue
        stripped = present.str.strip()
        if stripped.str.match(_LEADING_ZERO).any() or stripped.str.match(_LONG_DIGITS).any():
            continue
        numbers = pd.to_numeric(stripped, errors="coerce")
        if numbers.isna().any():
            continue
        frame[name] = pd.to_numeric(values.str.strip())
    return frame


def _read_parquet(path: Path, *, nrows: int | None, columns: Sequence[str] | None) -> pd.DataFrame:
    selected = list(columns) if columns is not None else None
    parquet = pq.ParquetFile(path)
    if nrows is None:
        return _to_pandas(parquet.read(columns=selected))
    batches: list[pa.RecordBatch] = []
    total = 0
    for batch in parquet.iter_batches(batch_size=max(1, min(nrows, 65_536)), columns=selected):
        batches.append(batch)
        total += batch.num_rows
        if total >= nrows:
            break
    schema = parquet.schema_arrow
    if selected is not None:
        schema = pa.schema([schema.field(name) for name in selected])
    table = pa.Table.from_batches(batches, schema=schema).slice(0, nrows)
    return _to_pandas(table)


def _sample_parquet(
    path: Path, wanted: np.ndarray, *, columns: Sequence[str] | None
) -> pd.DataFrame:
    selected = list(columns) if columns is not None else None
    parquet = pq.ParquetFile(path)
    taken: list[pa.RecordBatch] = []
    start = 0
    for batch in _batches(parquet, selected):
        end = start + batch.num_rows
        lo, hi = np.searchsorted(wanted, [start, end])
        if hi > lo:
            taken.append(batch.take(pa.array(wanted[lo:hi] - start)))
        start = end
    schema = taken[0].schema if taken else parquet.schema_arrow
    return _to_pandas(pa.Table.from_batches(taken, schema=schema))


def _batches(parquet: pq.ParquetFile, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    yield from parquet.iter_batches(batch_size=65_536, columns=columns)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Dates become datetime64 rather than Python date objects, like timestamps.
    return table.to_pandas(date_as_object=False)
