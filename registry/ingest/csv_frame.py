"""Read a validated CSV file (all rows, the first rows, or chosen rows) into a DataFrame.

Arrow's streaming CSV reader parses the file in small blocks; only the rows
wanted are kept, copied into one compact text buffer per column (the bytes
plus an offset per value), so memory follows the rows kept rather than the
file or the block count. The columns then become pandas columns one at a time:
numbers (checked by ``registry.ingest.numbers``, never by pandas' parser) as
int64/float64, everything else as Python strings, equal strings sharing one
object, with NaN for missing values.

The result matches what ``pd.read_csv(dtype=str)`` followed by numeric
coercion gave: the same missing-value tokens, blank and whitespace-only lines
skipped (as the validator skips them), quoted values kept verbatim. Should
Arrow refuse the file (a row longer than a block, anything else it cannot
parse), pandas' C reader reads it instead, in small chunks, into the same
buffers.
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pandas._libs.parsers import STR_NA_VALUES

from registry.ingest.numbers import WHITESPACE, numbers_from_strings

logger = logging.getLogger(__name__)

READ_BLOCK_BYTES = 256 * 1024
"""Arrow parses this much of the file at a time, and reads up to 32 blocks ahead:
memory for reading is a few times 32 blocks. Files with long rows get larger
blocks (``_block_bytes``); a row longer than a block makes Arrow refuse the
file, and pandas reads it."""

MAX_READ_BLOCK_BYTES = 4 * 1024 * 1024

FALLBACK_CHUNK_ROWS = 10_000
"""Rows per chunk, at most, when pandas reads a file Arrow refused..."""

FALLBACK_CHUNK_BYTES = 8 * 1024 * 1024
"""... and about this many bytes of the file per chunk, so long rows mean fewer."""

NA_VALUES = frozenset(STR_NA_VALUES)
"""Cells read as missing: pandas' default tokens ("", "NA", "null", "NaN", ...)."""

_NA_SET = pa.array(sorted(NA_VALUES), type=pa.string())


class _ArrowRefusedError(Exception):
    """Arrow read the file differently from the validator; pandas reads it instead."""


def read_csv_frame(
    path: Path,
    *,
    header: Sequence[str],
    encoding: str | None,
    delimiter: str | None,
    columns: Sequence[str] | None = None,
    nrows: int | None = None,
    rows: np.ndarray | None = None,
    expected_rows: int = 0,
    missing_markers: Sequence[str] = (),
) -> pd.DataFrame:
    """Read ``path``, a validated CSV file whose header is ``header``.

    ``columns`` selects columns (kept in file order, as pandas' ``usecols``
    does); ``nrows`` keeps the first rows; ``rows`` (sorted, distinct data-row
    indices from 0) keeps exactly those rows. ``expected_rows`` (the validator's
    row count) sizes the buffers and, with the file size, the blocks read.
    ``missing_markers`` are values the curator declared to mean "missing" (UCI
    Adult's ``?``): a cell equal to one, ignoring surrounding spaces, is NaN.
    """
    options = _Options(
        path,
        list(header),
        _selected(header, columns) if columns is not None else None,
        encoding or "utf-8",
        delimiter or ",",
        expected_rows,
    )
    if rows is not None:
        capacity = len(rows)
    elif nrows is not None:
        capacity = min(nrows, expected_rows) if expected_rows else nrows
    else:
        capacity = expected_rows
    try:
        names, texts = _collect(_arrow_batches(options), rows, nrows, capacity)
    except (pa.ArrowException, _ArrowRefusedError) as error:
        logger.warning("Arrow could not read %s (%s); reading it with pandas", path, error)
        names, texts = _collect(_pandas_batches(options), rows, nrows, capacity)
    if names is None:  # no data rows at all
        names = options.names if options.names is not None else list(header)
        texts = [TextColumn().finish() for _ in names]
    _release_arrow_memory()
    data: dict[str, np.ndarray] = {}
    for name in names:
        # free each column's text once converted
        data[name] = column_values(texts.pop(0), missing_markers=missing_markers)
    _release_arrow_memory()
    # copy=False: the arrays are ours alone, so pandas need not copy them into blocks.
    return pd.DataFrame(data, columns=names, copy=False)


def _release_arrow_memory() -> None:
    """Hand memory Arrow's allocator keeps after the reader and kernels freed it
    back to the system, so the rest of the request (Python objects) can use it."""
    pa.default_memory_pool().release_unused()


class _Options:
    def __init__(
        self,
        path: Path,
        header: list[str],
        names: list[str] | None,
        encoding: str,
        delimiter: str,
        expected_rows: int,
    ) -> None:
        self.path = path
        self.header = header
        self.expected_rows = expected_rows
        self.names = names  # None: every column
        self.encoding = encoding
        self.delimiter = delimiter


def _selected(header: Sequence[str], columns: Sequence[str]) -> list[str]:
    known = set(header)
    missing = [name for name in columns if name not in known]
    if missing:
        raise ValueError(f"Usecols do not match columns, columns expected but not found: {missing}")
    wanted = set(columns)
    return [name for name in header if name in wanted]


# --- Reading batches of text -------------------------------------------------


def _arrow_batches(options: _Options) -> Iterator[pa.RecordBatch]:
    codec = codecs.lookup(options.encoding).name
    # Arrow skips a UTF-8 byte-order mark itself; other encodings are decoded by
    # Python's codec on the way in.
    encoding = "utf8" if codec in ("utf-8", "utf-8-sig") else codec
    reader = pacsv.open_csv(
        options.path,
        read_options=pacsv.ReadOptions(
            block_size=_block_bytes(options), use_threads=True, encoding=encoding
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=options.delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=_blank_row_skipper(options.delimiter),
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in options.header},
            include_columns=options.names or [],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            check_utf8=True,
        ),
    )
    with reader:
        # Columns not named in column_types (a header unlike ``header``) would have
        # their types inferred; only text is wanted here.
        if not all(pa.types.is_string(field.type) for field in reader.schema):
            raise _ArrowRefusedError("the header is not the validated one")
        for batch in reader:
            yield _without_blank_single_values(batch, options)


def _mean_row_bytes(options: _Options) -> int:
    size = options.path.stat().st_size
    return max(1, size // max(options.expected_rows, 1))


def _block_bytes(options: _Options) -> int:
    """A block holds at least 64 average rows, within the bounds above."""
    return max(READ_BLOCK_BYTES, min(64 * _mean_row_bytes(options), MAX_READ_BLOCK_BYTES))


def _chunk_rows(options: _Options) -> int:
    return max(1, min(FALLBACK_CHUNK_ROWS, FALLBACK_CHUNK_BYTES // _mean_row_bytes(options)))


def _blank_row_skipper(delimiter: str) -> Callable[[pacsv.InvalidRow], str]:
    def skip_blank_rows(row: pacsv.InvalidRow) -> str:
        # A line of spaces (or just "") is blank to the validator, which does not
        # count it; Arrow sees a row with too few values. Anything else is an error
        # (and pandas gets to read the file).
        record = next(csv.reader([row.text or ""], delimiter=delimiter, quotechar='"'), [])
        return "skip" if len(record) <= 1 and not "".join(record).strip() else "error"

    return skip_blank_rows


def _without_blank_single_values(batch: pa.RecordBatch, options: _Options) -> pa.RecordBatch:
    """In a one-column file a line of spaces (or ``""``) is blank to the validator,
    so it is no row here either."""
    if len(options.header) != 1 or batch.num_columns != 1 or batch.num_rows == 0:
        return batch
    values = batch.column(0)
    if values.null_count:
        values = pc.fill_null(values, "")
    keep = pc.not_equal(pc.utf8_trim(values, characters=WHITESPACE), "")
    if pc.all(keep).as_py():
        return batch
    return batch.filter(keep)


def _pandas_batches(options: _Options) -> Iterator[pa.RecordBatch]:
    with pd.read_csv(
        options.path,
        sep=options.delimiter,
        encoding=options.encoding,
        encoding_errors="strict",
        dtype=str,  # no type inference: pandas never parses a number here
        na_filter=False,
        keep_default_na=False,
        index_col=False,
        usecols=options.names,
        skip_blank_lines=True,
        quotechar='"',
        doublequote=True,
        engine="c",
        chunksize=_chunk_rows(options),
    ) as reader:
        for chunk in reader:
            names = [str(name) for name in chunk.columns]
            arrays = [
                pa.array(chunk[name].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
                for name in chunk.columns
            ]
            del chunk
            batch = pa.RecordBatch.from_arrays(arrays, names=names)
            yield _without_blank_single_values(batch, options)


# --- Keeping the wanted rows ---------------------------------------------------


class TextColumn:
    """A growing column of text: the UTF-8 bytes back to back and where each
    value ends. Far smaller than Arrow batches or Python strings per value."""

    def __init__(self, capacity: int = 0) -> None:
        self._data = bytearray()
        # 32-bit ends (Arrow's string offsets) until the text outgrows them.
        self._ends: np.ndarray = np.empty(max(capacity, 16), dtype=np.int32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, values: pa.Array) -> None:
        count = len(values)
        if count == 0:
            return
        if values.null_count:
            values = pc.fill_null(values, "")
        offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
        _, offsets_buffer, data_buffer = values.buffers()
        offsets = np.frombuffer(
            offsets_buffer,
            dtype=offset_type,
            count=count + 1,
            offset=values.offset * np.dtype(offset_type).itemsize,
        ).astype(np.int64)
        first, last = int(offsets[0]), int(offsets[-1])
        base = len(self._data)
        if last > first and data_buffer is not None:
            self._data += memoryview(data_buffer)[first:last]
        if len(self._data) > _INT32_MAX and self._ends.dtype != np.int64:
            self._ends = self._ends.astype(np.int64)
        if self._size + count > len(self._ends):
            grown = np.empty(max(2 * len(self._ends), self._size + count), dtype=self._ends.dtype)
            grown[: self._size] = self._ends[: self._size]
            self._ends = grown
        self._ends[self._size : self._size + count] = offsets[1:] - (first - base)
        self._size += count

    def finish(self) -> pa.Array:
        """The values as one Arrow string array (no nulls); empties the column."""
        large = self._ends.dtype == np.int64
        offsets = np.empty(self._size + 1, dtype=self._ends.dtype)
        offsets[0] = 0
        offsets[1:] = self._ends[: self._size]
        array = pa.Array.from_buffers(
            pa.large_string() if large else pa.string(),
            self._size,
            [None, pa.py_buffer(offsets), pa.py_buffer(self._data)],
        )
        self._data, self._ends, self._size = bytearray(), np.empty(0, dtype=np.int32), 0
        return array


_INT32_MAX = 2**31 - 1


def _collect(
    batches: Iterator[pa.RecordBatch],
    rows: np.ndarray | None,
    nrows: int | None,
    capacity: int,
) -> tuple[list[str] | None, list[pa.Array]]:
    """Keep the wanted rows of ``batches``; their column names and text."""
    names: list[str] | None = None
    columns: list[TextColumn] = []
    # Sampling keeps a few rows of each batch. Appending those per batch and
    # column costs Python time, holding many small batches costs memory: merge a
    # few thousand rows, then append.
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    start = 0
    try:
        for batch in batches:
            if names is None:
                names = list(batch.schema.names)
                columns = [TextColumn(capacity) for _ in names]
            end = start + batch.num_rows
            if rows is None:
                if nrows is not None:
                    batch = batch.slice(0, max(0, min(batch.num_rows, nrows - start)))
                _append(columns, [batch])
                done = nrows is not None and end >= nrows
            else:
                lo, hi = np.searchsorted(rows, [start, end])
                if hi > lo:
                    pending.append(batch.take(pa.array(rows[lo:hi] - start)))
                    pending_rows += int(hi - lo)
                done = hi == len(rows)
                if pending and (
                    done or pending_rows >= _MERGE_ROWS or len(pending) >= _MERGE_BATCHES
                ):
                    _append(columns, pending)
                    pending, pending_rows = [], 0
            del batch
            start = end
            if done:
                break
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stop the reader (and its read-ahead) now, not when collected
    if pending:
        _append(columns, pending)
    return names, [column.finish() for column in columns]


_MERGE_ROWS = 8_192
_MERGE_BATCHES = 64


def _append(columns: list[TextColumn], parts: list[pa.RecordBatch]) -> None:
    merged = parts[0] if len(parts) == 1 else pa.Table.from_batches(parts).combine_chunks()
    for column, values in zip(columns, merged.columns, strict=True):
        if isinstance(values, pa.ChunkedArray):
            for chunk in values.chunks:
                column.append(chunk)
        else:
            column.append(values)


# --- Text to pandas ------------------------------------------------------------


def read_csv_text(
    path: Path,
    *,
    header: Sequence[str],
    encoding: str | None,
    delimiter: str | None,
    columns: Sequence[str] | None = None,
    missing_markers: Sequence[str] = (),
) -> dict[str, pa.Array]:
    """Each column of ``path`` as Arrow text, missing values (the tokens and
    ``missing_markers``) as nulls: what ``read_csv_frame`` reads before it decides
    whether a column is numeric. For readers of a file in parts (an audit's
    partitioned work, ``audits.checks.partitioned``), which decide each column's type
    over every part as ``read_csv_frame`` decides it over the whole file."""
    options = _Options(
        path,
        list(header),
        _selected(header, columns) if columns is not None else None,
        encoding or "utf-8",
        delimiter or ",",
        0,
    )
    try:
        names, texts = _collect(_arrow_batches(options), None, None, 0)
    except (pa.ArrowException, _ArrowRefusedError) as error:
        logger.warning("Arrow could not read %s (%s); reading it with pandas", path, error)
        names, texts = _collect(_pandas_batches(options), None, None, 0)
    if names is None:  # no data rows at all
        names = options.names if options.names is not None else list(header)
        texts = [TextColumn().finish() for _ in names]
    return {
        name: missing_as_null(text, missing_markers)
        for name, text in zip(names, texts, strict=True)
    }


def missing_as_null(text: pa.Array, missing_markers: Sequence[str] = ()) -> pa.Array:
    """``text`` with the missing-value tokens, and cells equal to one of
    ``missing_markers`` once surrounding whitespace is trimmed, as nulls."""
    missing = pc.is_in(text, value_set=_NA_SET.cast(text.type))
    if missing_markers:
        markers = pa.array(sorted(set(missing_markers)), type=text.type)
        trimmed = pc.utf8_trim(text, characters=WHITESPACE)
        missing = pc.or_(missing, pc.is_in(trimmed, value_set=markers))
        del trimmed
    if pc.any(missing).as_py():
        text = pc.if_else(missing, pa.scalar(None, text.type), text)
    return text


def text_values(text: pa.Array) -> np.ndarray:
    """Arrow text (nulls for missing) as the object array of ``str`` pandas gets,
    with NaN where a value is missing."""
    values = text.to_pandas(deduplicate_objects=True).to_numpy(dtype=object)
    if text.null_count:
        values[pc.is_null(text).to_numpy(zero_copy_only=False)] = np.nan
    return values


def column_values(text: pa.Array, *, missing_markers: Sequence[str] = ()) -> np.ndarray:
    """One column of raw cell text as a NumPy array for pandas.

    Missing-value tokens become NaN, and so do cells that equal one of
    ``missing_markers`` once surrounding whitespace is trimmed. A column whose
    every present value is a number (and none a code) becomes int64 or float64;
    any other column is an object array of ``str`` with NaN where a value is missing.
    """
    text = missing_as_null(text, missing_markers)
    numbers = numbers_from_strings(text)
    if numbers is not None:
        return numbers.to_numpy(zero_copy_only=False, writable=True)
    return text_values(text)
