"""What a validated table is (``TableInfo``) and how to read it back with pandas.

``read_frame`` and ``sample_frame`` read a stored, already validated file.
CSV cells are read as text first (``registry.ingest.csv_frame``) and a column
becomes numeric only when every non-missing value is a number
(``registry.ingest.numbers``), so a mostly numeric column with a few words
stays text instead of raising or mixing types, and codes with leading zeros
(postcodes, ids) keep their zeros. Everything else stays as text; booleans and
dates are recognised by ``infer_schema``.
"""

from __future__ import annotations

import gc
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from registry.ingest.csv_frame import read_csv_frame
from registry.ingest.csv_scan import RowIndex, gather_rows
from registry.ingest.numbers import numbers_from_strings

DEFAULT_SAMPLE_ROWS = 100_000
"""Rows read by ``sample_frame`` unless told otherwise: enough for schema
inference and profiles to be stable, small enough to stay fast on any file."""

SAMPLE_MAX_CELLS = 2_500_000
"""Cells (rows x columns) a sample holds at most: with more than 25 columns the
100,000-row default shrinks (40 columns: 62,500 rows; 100: 25,000), so the
memory a sample, its schema inference and its profile need stays about the same
however wide the table is. The profile's ``sample_rows`` says how many rows
were used."""

SAMPLE_MIN_ROWS = 5_000
"""A sample keeps at least this many rows (when asked for as many) even for the
widest tables, so inference still sees enough values."""


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
    missing_markers: tuple[str, ...] = ()
    """Values the curator declared to mean "missing" (e.g. ``?``): read as NaN in
    text cells, besides the usual blank and ``NA`` tokens. Not a property of the
    bytes: validation leaves it empty and the registry sets it per version."""

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
            "missing_markers": list(self.missing_markers),
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
            missing_markers=tuple(data.get("missing_markers", ())),
        )


def read_frame(
    path: Path | str,
    info: TableInfo,
    *,
    nrows: int | None = None,
    columns: Sequence[str] | None = None,
    categories: Sequence[str] | bool = (),
) -> pd.DataFrame:
    """Read the stored table (all rows, or the first ``nrows``) into a DataFrame.

    Reads everything into memory: for large tables pass ``nrows`` or use
    ``sample_frame``. ``categories``: text columns of a Parquet file to read as pandas
    ``category`` columns, or True for every text column (``read_parquet_frame``: the
    same values and missing cells, a fraction of the memory and time of one Python
    string per cell). Only for a whole table without declared missing markers (markers
    are matched on the strings); CSV stays strings.
    """
    path = Path(path)
    if info.format == TableFormat.PARQUET:
        if categories and not info.missing_markers and nrows is None:
            return read_parquet_frame(path, columns=columns, categories=categories)
        frame = _read_parquet(path, nrows=nrows, columns=columns)
        return mark_missing(frame, info.missing_markers)
    return read_csv_frame(
        path,
        header=info.columns,
        encoding=info.encoding,
        delimiter=info.delimiter,
        columns=columns,
        nrows=nrows,
        expected_rows=info.row_count,
        missing_markers=info.missing_markers,
    )


def categories_as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every pandas ``category`` column back to Python strings and None for
    a missing cell: what ``read_frame`` gives without ``categories``, for checks that
    have only been verified on such frames."""
    converted = {
        name: values.astype(object).where(values.notna(), None)
        for name, values in frame.items()
        if isinstance(values.dtype, pd.CategoricalDtype)
    }
    return frame.assign(**converted) if converted else frame


def sample_rows(
    info: TableInfo, rows: int = DEFAULT_SAMPLE_ROWS, *, columns: Sequence[str] | None = None
) -> int:
    """How many rows ``sample_frame(..., rows=rows, columns=columns)`` returns.

    At most ``rows``, the table's row count, and ``SAMPLE_MAX_CELLS`` divided
    by the number of columns read, but never fewer than ``SAMPLE_MIN_ROWS`` (or
    the whole table, or ``rows``, when those are smaller).
    """
    width = max(len(columns) if columns is not None else info.column_count, 1)
    by_cells = max(SAMPLE_MAX_CELLS // width, SAMPLE_MIN_ROWS)
    return max(0, min(rows, by_cells, info.row_count))


def sample_frame(
    path: Path | str,
    info: TableInfo,
    *,
    rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    index: RowIndex | None = None,
) -> pd.DataFrame:
    """The whole table if it fits the sample, else a uniform random sample of
    rows (same seed, same rows), in file order.

    The sample has ``sample_rows(info, rows)`` rows: ``rows``, fewer for wide
    tables so that rows x columns stays near ``SAMPLE_MAX_CELLS`` (memory
    follows cells, not rows). The file is streamed and only the sampled rows
    are kept, so memory is bounded by the sample, not the file.

    ``index`` (a CSV file's ``RowIndex`` from its validation, as
    ``IngestedFile.index``) lets the sampled rows be cut out of the file as bytes
    into a small CSV file next to it, which is then read instead of the whole
    file: the same rows, read by the same reader, so the same frame.
    """
    path = Path(path)
    size = sample_rows(info, rows, columns=columns)
    if info.row_count <= size:
        return read_frame(path, info, columns=columns)
    rng = np.random.default_rng(seed)
    wanted = np.sort(rng.choice(info.row_count, size=size, replace=False))
    if info.format == TableFormat.PARQUET:
        return mark_missing(_sample_parquet(path, wanted, columns=columns), info.missing_markers)
    if index is not None:
        frame = _sample_indexed_csv(path, info, index, wanted, columns=columns)
        del wanted, rng
        gc.collect()  # as below: the reader's garbage goes before the frame is used
        return frame
    frame = read_csv_frame(
        path,
        header=info.columns,
        encoding=info.encoding,
        delimiter=info.delimiter,
        columns=columns,
        rows=wanted,
        expected_rows=info.row_count,
        missing_markers=info.missing_markers,
    )
    del wanted, rng
    gc.collect()
    return frame


def _sample_indexed_csv(
    path: Path,
    info: TableInfo,
    index: RowIndex,
    wanted: np.ndarray,
    *,
    columns: Sequence[str] | None,
) -> pd.DataFrame:
    with tempfile.NamedTemporaryFile(
        prefix="sample-", suffix=".csv", dir=path.parent, delete=False
    ) as out:
        rows_path = Path(out.name)
        try:
            gather_rows(path, index, wanted, out)
        except BaseException:
            rows_path.unlink(missing_ok=True)
            raise
    try:
        return read_csv_frame(
            rows_path,
            header=info.columns,
            encoding=info.encoding,
            delimiter=info.delimiter,
            columns=columns,
            expected_rows=len(wanted),
            missing_markers=info.missing_markers,
        )
    finally:
        rows_path.unlink(missing_ok=True)


def coerce_numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every non-missing value is a number into numbers.

    Columns with a value such as "007" or a digit string longer than 15
    characters stay text: they are codes, and numbers would lose the zeros or
    the precision. What counts as a number is decided by
    ``registry.ingest.numbers`` (never by pandas' parser, which can crash on
    text like ``2e08311970879c88``).
    """
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object:
            continue
        present = values.dropna()
        if present.empty or not all(isinstance(value, str) for value in present):
            continue
        text = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        numbers = numbers_from_strings(text)
        if numbers is not None:
            frame[name] = numbers.to_numpy(zero_copy_only=False, writable=True)
    return frame


def mark_missing(frame: pd.DataFrame, markers: Sequence[str]) -> pd.DataFrame:
    """Parquet: text cells equal to a declared marker (surrounding spaces ignored)
    become NaN, and a text column whose other values are all numbers then becomes
    numeric, as the same CSV would (typed columns are left alone)."""
    if not markers:
        return frame
    wanted = set(markers)
    touched = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object:
            continue
        hit = values.map(lambda v: isinstance(v, str) and v.strip() in wanted).to_numpy(bool)
        if hit.any():
            values = values.copy()
            values[hit] = np.nan
            frame[name] = values
            touched.append(name)
    if touched:
        coerced = coerce_numeric_columns(frame[touched].copy())
        for name in touched:
            frame[name] = coerced[name]
    return frame


def read_parquet_frame(
    path: Path | str,
    *,
    columns: Sequence[str] | None = None,
    categories: Sequence[str] | bool = True,
) -> pd.DataFrame:
    """The whole Parquet table at ``path`` (only ``columns`` when given, in that order)
    with its text columns named in ``categories`` (True: every text column) as pandas
    ``category`` built from Parquet's dictionaries: one small code per cell and each
    distinct string once, instead of one Python string per cell (10M rows of the
    scale benchmark: 2.4 GiB after loading instead of 4.5 GiB). A missing cell is NaN
    instead of None; every other column reads as ``read_frame`` reads it (dates as
    datetime64). The audits read stored versions through this (``audits.runs.services``,
    ``bench/audit_scale.py``); ``categories_as_strings`` turns the result back into the
    plain read. No declared missing markers are applied here (``read_frame`` does)."""
    fields = {f.name: f.type for f in pq.read_schema(path)}
    named = list(fields) if categories is True else list(categories or ())
    chosen = set(columns) if columns is not None else set(fields)
    text = [
        c
        for c in named
        if c in fields
        and c in chosen
        and (pa.types.is_string(fields[c]) or pa.types.is_large_string(fields[c]))
    ]
    parquet = pq.ParquetFile(path, read_dictionary=text or None)
    names = list(columns) if columns is not None else list(fields)
    if not names:
        return parquet.read(columns=[]).to_pandas()
    # One column at a time, each added to the frame as its own block and its Arrow
    # buffers handed back before the next is read: the file's decoded table is never
    # held beside the frame (three tables of 2M / 2M / 200k rows of the scale
    # benchmark: peak 633 -> 466 MiB while reading, the same frames).
    frame = None
    with warnings.catch_warnings():
        # One block per column, as to_pandas(split_blocks=True) gave before.
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for name in names:
            table = parquet.read(columns=[name])
            part = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
            del table
            if frame is None:
                frame = part
            else:
                frame[name] = part[name]
            del part
            pa.default_memory_pool().release_unused()
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
    yield from row_group_batches(parquet, columns=columns)


def row_group_batches(
    parquet: pq.ParquetFile, *, columns: list[str] | None = None, batch_size: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Every row of the file in batches, one row group at a time. One ``iter_batches``
    over the whole file keeps every row group's raw pages it has read in Arrow's pool
    until the iterator ends (the file's size: 224 MB held after reading the 10M-row
    benchmark table, 1.1 GB at 50M, in the web process during an upload); a row
    group's reader lets go of its pages when the group is done."""
    for group in range(parquet.num_row_groups):
        yield from parquet.iter_batches(
            batch_size=batch_size, row_groups=[group], columns=columns, use_threads=False
        )


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Dates become datetime64 rather than Python date objects, like timestamps.
    return table.to_pandas(date_as_object=False)
