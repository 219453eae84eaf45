"""The figures computed from every row with exactly mergeable state (``KEYS_COMPUTED``:
duplicate rows, exact copies, quasi-identifier linkage, values outside the reference's
domain, category and range coverage) computed from the stored files in pieces, so the
pieces can run anywhere (in this process, or as Dask tasks on other machines) and only
small partial states travel.

A *piece* is a range of one stored table: rows of a Parquet file, or bytes of a CSV file
cut at record boundaries (``plan``). The work on a piece is a pure function of the piece
and the column specs:

1. ``piece_facts``: what decides each column's values over the *whole* file (a CSV column
   is numeric only when every value in the file is a number; a numeric category column
   prints as whole numbers only when every value is whole). Merged with ``merge_facts``,
   then ``decide`` turns them into one ``ColumnKind`` per column.
2. ``piece_counts``: each row's hash under those decisions, counted
   (``streaming.partial``), for all hashed columns and for the quasi-identifiers; from
   the same values, the reference pieces' *domain* (each compared column's categories in
   order of first appearance, or its numbers' range), and then, given the reference's
   merged domain, the synthetic pieces' rows outside it (per column and in any column),
   their ranges and the reference categories they hold. The reference's pieces run
   first, the synthetic pieces after them: each piece is still read once in the round.

``merge_counts`` adds the pieces' states (``merge_domains`` joins the reference's
domains in the pieces' order); ``figures`` gives the three row-hash figures, as
``integrity.duplicate_rate``, ``privacy.exact_match_rate`` and ``privacy.linkage_risk``
give them from the frames in memory, and ``domain_figures`` the other three, as
``integrity.out_of_domain_rate`` and ``quality.coverage`` give them: values compare as
they do there (the same reader, the same whole-column decisions, the same strings for
categories, the same numbers and dates), so the counts, and so the figures, are the
same.

``supported`` names what this path does not read exactly as the in-memory path (a
category column of dates or times in a Parquet file, whose printed form pandas chooses
over the whole column); the caller then computes those figures in memory.

Nothing here imports Django: a Dask worker needs only this package on its path.
"""

from __future__ import annotations

import codecs
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from audits.checks import streaming
from audits.checks.base import ColumnSpec, MetricResult
from audits.checks.encoding import (
    MISSING_CODE,
    category_strings,
    combine_hashes,
    factorise,
    hash_values,
    numeric_values,
    present_range,
)
from audits.checks.integrity import duplicate_result, out_of_domain_result
from audits.checks.privacy import exact_match_result, linkage_result
from audits.checks.quality import ABSENT_SHOWN, coverage_results
from audits.checks.shapes import category_coverage_of, range_coverage_of
from registry.ingest.csv_frame import read_csv_text, text_values
from registry.ingest.csv_scan import ascii_safe
from registry.ingest.numbers import numbers_from_strings

PIECE_ROWS = 1_000_000
"""Rows per piece unless told otherwise: a piece's frame and hashes stay well under a
GiB on a worker for tables of up to a few dozen columns."""

SCAN_CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes of a CSV file held at a time while looking for record boundaries."""

_MISSING_CATEGORY = np.uint64(0x7FF8000000000002)  # a missing category

ROWS = "rows"
KEYS = "keys"
DOMAIN = "domain"
OUTSIDE = "outside"
FRAMES = ("synthetic", "real")


def hashed_columns(specs: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """The columns the row hash covers: what ``encoding.prepare`` keeps (identifiers are
    left out, free text is kept)."""
    return [s for s in specs if not (s.excluded_from_distances and s.type != "text")]


# --- Where a table is and how it is cut -----------------------------------------


@dataclass(frozen=True)
class Source:
    """A stored table: ``location`` is a path on the machine that reads it (a shared
    folder mounted at the same path everywhere) or ``s3://bucket/key``; ``s3`` holds the
    object store's endpoint and region (credentials come from the reader's own
    environment, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, never from the task)."""

    location: str
    format: str
    header: tuple[str, ...]
    row_count: int
    encoding: str | None = None
    delimiter: str | None = None
    missing_markers: tuple[str, ...] = ()
    s3: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Piece:
    """Part of a table. Parquet: rows ``start`` to ``stop``. CSV: the bytes ``start`` to
    ``stop`` after the header bytes ``0`` to ``header_end`` (a piece of the whole file
    when the file cannot be cut: ``header_end`` 0, ``start`` 0)."""

    source: Source
    frame: str
    start: int
    stop: int
    header_end: int = 0


def _filesystem(source: Source):
    from pyarrow import fs

    if source.location.startswith("s3://"):
        options = dict(source.s3)
        return fs.S3FileSystem(**options), source.location[len("s3://") :]
    return fs.LocalFileSystem(), os.fspath(source.location)


def _size(source: Source) -> int:
    filesystem, path = _filesystem(source)
    return filesystem.get_file_info(path).size


def _read_bytes(source: Source, start: int, stop: int) -> bytes:
    filesystem, path = _filesystem(source)
    with filesystem.open_input_file(path) as handle:
        return handle.read_at(stop - start, start) if stop > start else b""


def plan(source: Source, frame: str, rows_per_piece: int = PIECE_ROWS) -> list[Piece]:
    """Cut ``source`` into pieces of about ``rows_per_piece`` rows."""
    if source.format == "parquet":
        count = source.row_count
        bounds = [*range(0, count, max(1, rows_per_piece)), count]
        return [Piece(source, frame, a, b) for a, b in pairwise(bounds)]
    size = _size(source)
    encoding = codecs.lookup(source.encoding or "utf-8").name
    pieces = max(1, -(-source.row_count // max(1, rows_per_piece)))
    if pieces == 1 or not ascii_safe(encoding):
        # One piece: the file as the in-memory reader reads it.
        return [Piece(source, frame, 0, size)]
    header_end, cuts = _csv_cuts(source, size, encoding, pieces)
    bounds = [header_end, *cuts, size]
    bounds = sorted(set(bounds))
    return [Piece(source, frame, a, b, header_end) for a, b in pairwise(bounds)]


def _csv_cuts(source: Source, size: int, encoding: str, pieces: int) -> tuple[int, list[int]]:
    """(the end of the header record, record boundaries near every ``size/pieces``
    bytes). A record ends at a line feed outside quotes: before it the file holds an
    even number of ``"`` (doubled quotes inside a value keep the count even). The
    encodings allowed here write ``"`` and line feeds as those single bytes only."""
    filesystem, path = _filesystem(source)
    header_end = None
    cuts: list[int] = []
    targets: list[int] = []
    quotes = 0
    offset = 0
    seen_content = False
    with filesystem.open_input_file(path) as handle:
        while offset < size:
            chunk = np.frombuffer(
                handle.read_at(min(SCAN_CHUNK_BYTES, size - offset), offset), np.uint8
            )
            if not len(chunk):
                break
            counted = np.cumsum(chunk == ord('"')) + quotes
            feeds = np.flatnonzero(chunk == ord("\n"))
            ends = feeds[counted[feeds] % 2 == 0] + offset + 1  # the next record starts here
            if header_end is None:
                body = chunk
                if offset == 0 and bytes(chunk[:3]) == codecs.BOM_UTF8:
                    body = chunk.copy()
                    body[:3] = ord(" ")
                content = np.flatnonzero(~np.isin(body, np.frombuffer(b" \t\r\n", np.uint8)))
                if seen_content or len(content):
                    first = offset if seen_content else offset + int(content[0])
                    seen_content = True
                    after = ends[ends > first]
                    if len(after):
                        header_end = int(after[0])
                        step = (size - header_end) / pieces
                        targets = [int(header_end + step * k) for k in range(1, pieces)]
            if header_end is not None and targets:
                at = np.searchsorted(ends, targets[0], side="left")
                while targets and at < len(ends):
                    cuts.append(int(ends[at]))
                    targets.pop(0)
                    if targets:
                        at = np.searchsorted(ends, max(targets[0], cuts[-1] + 1), side="left")
            quotes = int(counted[-1])
            offset += len(chunk)
            if header_end is not None and not targets:
                break
    if header_end is None:
        return 0, []
    return header_end, [c for c in cuts if header_end < c < size]


# --- Reading a piece -------------------------------------------------------------


@dataclass(frozen=True)
class ColumnFacts:
    """What a piece says about one column, merged over pieces with ``merge_facts``."""

    present: bool = False  # some value is not missing
    numeric: bool = True  # stored as numbers, or every present value is number text
    integers: bool = True  # numbers: int64 in the whole frame (no missing, all integers)
    whole: bool = True  # every present number is whole and below 2**53
    text: bool = False  # read as text (CSV; Parquet text with missing markers hit)
    strings: bool = True  # every present value of a text column is a str
    marked: bool = False  # Parquet: a declared missing marker was found


@dataclass(frozen=True)
class ColumnKind:
    """How every piece presents a column: ``numeric`` (float64, or int64 when
    ``integers``) or as read; ``whole`` says how numbers print as categories."""

    numeric: bool
    integers: bool
    whole: bool


def read_raw(piece: Piece, names: Sequence[str]) -> dict[str, pa.Array | pd.Series]:
    """The piece's columns as read before any whole-column decision: Arrow text with
    nulls (CSV), or pandas columns as the Parquet reader gives them."""
    source = piece.source
    if source.format == "parquet":
        filesystem, path = _filesystem(source)
        with filesystem.open_input_file(path) as handle:
            table = _parquet_rows(pq.ParquetFile(handle), piece.start, piece.stop, names)
        frame = table.to_pandas(date_as_object=False)
        return {name: frame[name] for name in names}
    data = _read_bytes(source, 0, piece.header_end) + _read_bytes(source, piece.start, piece.stop)
    # The piece, behind its header, in a temporary file (TMPDIR) for the CSV reader.
    handle, temporary = tempfile.mkstemp(prefix="piece-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        del data
        return read_csv_text(
            Path(temporary),
            header=source.header,
            encoding=source.encoding,
            delimiter=source.delimiter,
            columns=list(names),
            missing_markers=source.missing_markers,
        )
    finally:
        Path(temporary).unlink(missing_ok=True)


def _parquet_rows(parquet: pq.ParquetFile, start: int, stop: int, names: Sequence[str]) -> pa.Table:
    """Rows ``start`` to ``stop`` of the named columns, streamed from the row groups that
    hold them: memory is the piece and one batch, even when a row group is far larger
    than a piece (its rows before ``start`` are decoded and dropped)."""
    groups, first, row = [], None, 0
    for i in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(i).num_rows
        if row + rows > start and row < stop:
            groups.append(i)
            first = row if first is None else first
        row += rows
    schema = pa.schema([parquet.schema_arrow.field(n) for n in names])
    if not groups:
        return schema.empty_table()
    kept, at = [], first
    batches = parquet.iter_batches(
        batch_size=_PARQUET_BATCH_ROWS, row_groups=groups, columns=list(names)
    )
    for batch in batches:
        end = at + batch.num_rows
        if end > start:
            kept.append(batch.slice(max(0, start - at), min(end, stop) - max(at, start)))
        at = end
        if at >= stop:
            break
    return pa.Table.from_batches(kept, schema=schema)


_PARQUET_BATCH_ROWS = 65_536


def _marked(series: pd.Series, markers: Sequence[str]) -> np.ndarray:
    wanted = set(markers)
    return series.map(lambda v: isinstance(v, str) and v.strip() in wanted).to_numpy(bool)


def _number_facts(values: np.ndarray, integers: bool) -> tuple[bool, bool]:
    present = values[~np.isnan(values)]
    whole = bool(np.all(present == np.round(present)) and np.all(np.abs(present) < 2**53))
    return integers, whole


def _text_facts(text: pa.Array) -> ColumnFacts:
    present = len(text) > text.null_count
    numbers = numbers_from_strings(text) if present else None
    if not present:
        # Only missing values: the frame's numbers, if any, are float64.
        return ColumnFacts(present=False, integers=len(text) == 0, text=True)
    if numbers is None:
        return ColumnFacts(present=True, numeric=False, text=True)
    integers, whole = _number_facts(
        numbers.to_numpy(zero_copy_only=False).astype(np.float64),
        pa.types.is_integer(numbers.type),
    )
    return ColumnFacts(present=True, numeric=True, integers=integers, whole=whole, text=True)


def _series_facts(series: pd.Series, markers: Sequence[str]) -> ColumnFacts:
    """Facts of a Parquet column (read typed)."""
    if series.dtype == object:
        hit = _marked(series, markers) if markers else np.zeros(len(series), bool)
        values = series.copy()
        values[hit] = np.nan
        present = values.dropna()
        strings = all(isinstance(v, str) for v in present)
        facts = ColumnFacts(
            present=len(present) > 0,
            numeric=False,
            text=True,
            strings=strings,
            marked=bool(hit.any()),
        )
        if facts.present and strings:
            text = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
            numbers = numbers_from_strings(text)
            if numbers is not None:
                integers, whole = _number_facts(
                    numbers.to_numpy(zero_copy_only=False).astype(np.float64),
                    pa.types.is_integer(numbers.type),
                )
                facts = ColumnFacts(
                    present=True,
                    numeric=True,
                    integers=integers,
                    whole=whole,
                    text=True,
                    marked=bool(hit.any()),
                )
        return facts
    missing = series.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        _, whole = _number_facts(values, False)
        return ColumnFacts(present=not missing.all(), numeric=True, whole=whole)
    return ColumnFacts(present=not missing.all(), numeric=False)


def piece_facts(piece: Piece, specs: Sequence[ColumnSpec]) -> dict[str, ColumnFacts]:
    """Step 1: each hashed column's facts in this piece."""
    columns = hashed_columns(specs)
    raw = read_raw(piece, [s.name for s in columns])
    facts = {}
    for spec in columns:
        values = raw.pop(spec.name)
        if isinstance(values, pd.Series):
            facts[spec.name] = _series_facts(values, piece.source.missing_markers)
        else:
            facts[spec.name] = _text_facts(values)
    return facts


def merge_facts(a: dict[str, ColumnFacts], b: dict[str, ColumnFacts]) -> dict[str, ColumnFacts]:
    merged = {}
    for name in a.keys() | b.keys():
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            merged[name] = x or y
            continue
        # A piece with no present value says nothing about numbers.
        merged[name] = ColumnFacts(
            present=x.present or y.present,
            numeric=(x.numeric or not x.present) and (y.numeric or not y.present),
            integers=x.integers and y.integers,
            whole=x.whole and y.whole,
            text=x.text or y.text,
            strings=x.strings and y.strings,
            marked=x.marked or y.marked,
        )
    return merged


def decide(facts: dict[str, ColumnFacts], source: Source) -> dict[str, ColumnKind]:
    """Each column's kind in the whole frame, as ``registry.ingest.read_frame`` decides
    it (CSV: numbers when every present value is a number; Parquet: as stored, a text
    column with a missing marker becoming numbers when the rest are)."""
    kinds = {}
    for name, f in facts.items():
        if source.format == "parquet" and f.text:
            numeric = f.marked and f.present and f.strings and f.numeric
        elif f.text:
            numeric = f.present and f.numeric
        else:
            numeric = f.numeric
        integers = numeric and f.text and f.integers
        kinds[name] = ColumnKind(numeric=numeric, integers=integers, whole=f.whole)
    return kinds


def _values(raw: pa.Array | pd.Series, kind: ColumnKind, markers: Sequence[str]) -> pd.Series:
    """A piece's column as the whole-frame reader would give those rows."""
    if isinstance(raw, pd.Series):
        if raw.dtype != object or not markers:
            return raw.reset_index(drop=True)
        values = raw.copy().reset_index(drop=True)
        values[_marked(values, markers)] = np.nan
        if not kind.numeric:
            return values
        raw = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    if not kind.numeric:
        return pd.Series(text_values(raw))
    numbers = numbers_from_strings(raw) if len(raw) > raw.null_count else None
    if numbers is None:
        return pd.Series(np.full(len(raw), np.nan))
    values = numbers.to_numpy(zero_copy_only=False).astype(np.float64)
    return pd.Series(values.astype(np.int64) if kind.integers else values)


def _column_values(spec: ColumnSpec, series: pd.Series, kind: ColumnKind) -> np.ndarray | pd.Series:
    """The column as ``encoding.prepare`` compares it: float64 numbers (dates in seconds)
    with NaN for missing, or category strings with missing values left missing."""
    if spec.is_numeric:
        return numeric_values(series, spec.type)
    return category_strings(series, whole=kind.whole)


def piece_series(raw: pa.Array | pd.Series, kind: ColumnKind, markers: Sequence[str]) -> pd.Series:
    """A piece's column (as ``read_raw`` gives it) as the whole-frame reader gives those
    rows (before ``encoding.prepare`` makes them comparable)."""
    return _values(raw, kind, markers)


def piece_codes(
    spec: ColumnSpec,
    raw: pa.Array | pd.Series,
    kind: ColumnKind,
    markers: Sequence[str],
    categories: Sequence[str],
) -> np.ndarray:
    """A piece's category column as the worker's prepared codes: each value's index in
    the worker's ``categories`` (``MISSING_CODE`` for missing), factorised first as the
    worker prepares a column (``encoding.factorise``). A value ``categories`` lacks (the
    file changed after the worker read it) is an error, never a silent mismatch."""
    row_codes, strings = factorise(piece_series(raw, kind, markers), whole=kind.whole)
    lookup = pd.Index(list(categories)).get_indexer(strings.to_numpy(dtype=object, na_value=None))
    if (lookup < 0).any():
        raise ValueError(f"column {spec.name!r} holds a value the worker's encoding does not know")
    return np.append(lookup, MISSING_CODE)[row_codes]  # -1: missing


def piece_values(
    spec: ColumnSpec, raw: pa.Array | pd.Series, kind: ColumnKind, markers: Sequence[str]
) -> np.ndarray | pd.Series:
    """A piece's column (as ``read_raw`` gives it) as ``encoding.prepare`` compares the
    same rows of the whole frame."""
    return _column_values(spec, _values(raw, kind, markers), kind)


def _column_bits(spec: ColumnSpec, values: np.ndarray | pd.Series) -> np.ndarray:
    if spec.is_numeric:  # as the in-memory row hash (``encoding.row_hashes``)
        return hash_values(values, numeric=True)
    missing = values.isna().to_numpy()
    bits = pd.util.hash_array(values.fillna("").to_numpy(dtype=object))
    bits[missing] = _MISSING_CATEGORY
    return bits


def audited_columns(specs: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """The columns the domain and coverage figures compare (``AuditContext.audited_
    columns``: no identifiers, no free text); all of them are hashed columns."""
    return [s for s in specs if not s.excluded_from_distances]


Range = tuple[float, float] | None
"""A numeric column's (min, max) over its present values; None when none is present."""


def _merge_range(a: Range, b: Range) -> Range:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


@dataclass(frozen=True)
class Outside:
    """A synthetic piece measured against the reference's domain (``Domain``): its
    rows, the rows outside the domain in each column and in any column, each column's
    range (numbers) and the reference categories it holds (categories)."""

    rows: int
    columns: dict[str, int]
    any_column: int
    ranges: dict[str, Range]
    seen: dict[str, set[str]]


Domain = dict[str, "list[str] | Range"]
"""A reference table's domain by column: its categories in order of first appearance
(the order ``encoding.prepare`` codes them), or its numbers' range."""


def _domain(spec: ColumnSpec, values: np.ndarray | pd.Series) -> list[str] | Range:
    if spec.is_numeric:
        return present_range(values)
    return list(pd.unique(values.dropna().to_numpy(dtype=object)))


def _outside(
    spec: ColumnSpec, values: np.ndarray | pd.Series, domain: list[str] | Range
) -> tuple[np.ndarray | None, Range | set[str]]:
    """(rows outside the reference's ``domain``, or None when the in-memory check skips
    the column; this piece's range, or the reference categories it holds)."""
    if spec.is_numeric:
        if domain is None:
            return None, present_range(values)
        low, high = domain
        with np.errstate(invalid="ignore"):
            return (values < low) | (values > high), present_range(values)
    known = values.isin(domain).to_numpy()
    bad = ~known & values.notna().to_numpy()
    return bad, set(pd.unique(values[known].to_numpy(dtype=object)))


def piece_counts(
    piece: Piece,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, ColumnKind],
    keys: Sequence[str],
    bits: int = streaming.PARTITION_BITS,
    domain: Domain | None = None,
) -> dict[str, Any]:
    """Step 2: the piece's row hashes counted, over every hashed column (``ROWS``) and
    over the quasi-identifiers ``keys`` (``KEYS``, when named); from the same values,
    a reference piece's ``Domain`` (``DOMAIN``, without ``domain``) or, given the
    merged reference ``domain``, a synthetic piece's ``Outside`` (``OUTSIDE``)."""
    columns = hashed_columns(specs)
    compared = {s.name for s in audited_columns(specs)}
    raw = read_raw(piece, [s.name for s in columns])
    parts = {}
    found: Domain = {}
    outside = None
    counts, ranges, seen = {}, {}, {}
    n = 0
    for spec in columns:
        series = _values(raw.pop(spec.name), kinds[spec.name], piece.source.missing_markers)
        n = len(series)
        values = _column_values(spec, series, kinds[spec.name])
        del series
        parts[spec.name] = _column_bits(spec, values)
        if spec.name not in compared:
            continue
        if domain is None:
            found[spec.name] = _domain(spec, values)
            continue
        bad, own = _outside(spec, values, domain[spec.name])
        if spec.is_numeric:
            ranges[spec.name] = own
        else:
            seen[spec.name] = own
        if bad is not None:
            counts[spec.name] = int(bad.sum())
            outside = bad if outside is None else outside | bad
    out: dict[str, Any] = {
        ROWS: streaming.partial(combine_hashes([parts[s.name] for s in columns], n), bits)
    }
    if keys:
        out[KEYS] = streaming.partial(combine_hashes([parts[k] for k in keys], n), bits)
    if domain is None:
        out[DOMAIN] = found
    else:
        any_column = 0 if outside is None else int(outside.sum())
        out[OUTSIDE] = Outside(n, counts, any_column, ranges, seen)
    return out


def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two pieces' states added (a reference piece's ``DOMAIN`` is not merged here: its
    order is the pieces' order, ``merge_domains``)."""
    merged: dict[str, Any] = {
        name: streaming.merge(a[name], b[name]) for name in (ROWS, KEYS) if name in a
    }
    if OUTSIDE in a:
        x, y = a[OUTSIDE], b[OUTSIDE]
        merged[OUTSIDE] = Outside(
            rows=x.rows + y.rows,
            columns={k: x.columns[k] + y.columns[k] for k in x.columns},
            any_column=x.any_column + y.any_column,
            ranges={k: _merge_range(x.ranges[k], y.ranges[k]) for k in x.ranges},
            seen={k: x.seen[k] | y.seen[k] for k in x.seen},
        )
    return merged


def merge_domains(domains: Sequence[Domain]) -> Domain:
    """The reference's domain from its pieces' domains, given in the pieces' order (so
    categories keep the order of their first appearance in the file)."""
    ranges: dict[str, Range] = {}
    categories: dict[str, dict[str, None]] = {}  # a dict keeps the order of insertion
    for domain in domains:
        for name, found in domain.items():
            if isinstance(found, list):
                categories.setdefault(name, {}).update(dict.fromkeys(found))
            else:
                ranges[name] = _merge_range(ranges.get(name), found)
    return {**ranges, **{name: list(c) for name, c in categories.items()}}


# --- The figures ----------------------------------------------------------------------


KEYS_COMPUTED = (
    "integrity.duplicate_rate",
    "privacy.exact_match_rate",
    "privacy.linkage_risk",
    "integrity.out_of_domain_rate",
    "quality.category_coverage",
    "quality.range_coverage",
)


def supported(specs: Sequence[ColumnSpec], sources: dict[str, Source]) -> str | None:
    """Why this path cannot give the in-memory figures exactly (None: it can)."""
    names = [s.name for s in hashed_columns(specs)]
    if not names:
        return "no column is hashed (every column is an identifier)"
    for frame, source in sources.items():
        missing = [n for n in names if n not in source.header]
        if missing:
            return f"the {frame} table has no column {', '.join(missing)}"
        if source.row_count == 0:
            return f"the {frame} table has no rows"
        if source.format == "parquet":
            filesystem, path = _filesystem(source)
            with filesystem.open_input_file(path) as handle:
                schema = pq.ParquetFile(handle).schema_arrow
            for spec in hashed_columns(specs):
                kind = schema.field(spec.name).type
                temporal = pa.types.is_temporal(kind)
                if not spec.is_numeric and temporal:
                    return f"the category column {spec.name} holds dates or times"
                if not (
                    pa.types.is_string(kind)
                    or pa.types.is_large_string(kind)
                    or pa.types.is_integer(kind)
                    or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)
                    or temporal
                ):
                    return f"column {spec.name} is stored as {kind}"
    return None


def figures(
    specs: Sequence[ColumnSpec],
    quasi_identifiers: Sequence[str],
    counts: dict[str, dict[str, streaming.HashCounts]],
) -> dict[str, MetricResult]:
    """The three figures from the merged states of the synthetic and real frames."""
    synthetic, real = counts["synthetic"], counts["real"]
    duplicates, real_rate = streaming.finish_duplicates(synthetic[ROWS], real[ROWS])
    n = synthetic[ROWS].rows
    out = {}
    (out["integrity.duplicate_rate"],) = duplicate_result(n, duplicates, real_rate)
    copies = streaming.finish_copies(synthetic[ROWS], real[ROWS])
    names = [s.name for s in hashed_columns(specs)]
    (out["privacy.exact_match_rate"],) = exact_match_result(n, copies, names)
    if quasi_identifiers:
        linked, people, unique_share = streaming.finish_linkage(synthetic[KEYS], real[KEYS])
        (out["privacy.linkage_risk"],) = linkage_result(
            list(quasi_identifiers), n, linked, people, float(unique_share)
        )
    return out


def domain_figures(
    specs: Sequence[ColumnSpec], domain: Domain, outside: Outside
) -> dict[str, MetricResult]:
    """``integrity.out_of_domain_rate``, ``quality.category_coverage`` and
    ``quality.range_coverage`` from the reference's merged domain and the synthetic
    pieces' merged ``Outside``, as ``integrity.out_of_domain_rate`` and
    ``quality.coverage`` give them from the prepared columns."""
    n = outside.rows
    per_column: dict[str, float] = {}
    per_category: dict[str, float | None] = {}
    absent_by_column: dict[str, list[str]] = {}
    per_range: dict[str, float | None] = {}
    for spec in audited_columns(specs):
        name = spec.name
        if name in outside.columns:
            per_column[name] = outside.columns[name] / n if n else 0.0
        if spec.is_numeric:
            real, synthetic = domain[name], outside.ranges[name]
            per_range[name] = (
                None if real is None or synthetic is None else range_coverage_of(*real, *synthetic)
            )
        else:
            per_category[name], absent = category_coverage_of(domain[name], outside.seen[name])
            absent_by_column[name] = absent[:ABSENT_SHOWN]
    rate = outside.any_column / n if n else 0.0
    (out_of_domain,) = out_of_domain_result(n, per_column, rate)
    category, ranges = coverage_results(n, per_category, absent_by_column, per_range)
    return {m.key: m for m in (out_of_domain, category, ranges)}


# --- Running the pieces -------------------------------------------------------------


class Executor(Protocol):
    """Runs calls of one function and yields their results as they finish (any order).
    ``LocalExecutor`` runs them here one after another; ``DaskExecutor`` sends them to
    a Dask cluster. Closing the iterator early stops the calls not done."""

    def map(self, function: Callable, calls: list[tuple], label: str) -> Iterator[Any]: ...

    def share(self, value: Any) -> Any:
        """``value`` as an argument of many calls, sent to where they run once (what the
        calls then receive is ``value`` itself)."""
        ...


@dataclass
class LocalExecutor:
    """The pieces in this process, one at a time (memory: one piece)."""

    done: int = field(default=0)

    def map(self, function: Callable, calls: list[tuple], label: str) -> Iterator[Any]:
        for call in calls:
            yield function(*call)
            self.done += 1

    def share(self, value: Any) -> Any:
        return value


WAIT_SECONDS = 0.5
"""Longest wait for a piece on a Dask cluster before ``DaskExecutor`` calls ``tick``."""

POLL_SECONDS = 0.02
"""How often ``DaskExecutor`` collects finished pieces while none is ready."""


class PieceFailed(Exception):
    """A piece's task failed on the cluster (its error is the cause)."""


class DaskExecutor:
    """Runs the calls as tasks on a Dask cluster (``client``, a ``distributed.Client``;
    task keys start with ``prefix``) and yields their results as they finish. While it
    waits it calls ``tick`` every ``WAIT_SECONDS`` (the audit's progress writer, which
    raises on a cancel or a lost lease); leaving early cancels the unfinished tasks.
    Dask is imported here only, when a cluster is used."""

    def __init__(self, client: Any, prefix: str, tick: Callable[[], None]) -> None:
        self.client, self.prefix, self.tick = client, prefix, tick
        self.submitted = 0

    def share(self, value: Any) -> Any:
        # On every worker once (a future the tasks receive as the value itself).
        (future,) = self.client.scatter([value], broadcast=True, hash=False)
        return future

    def map(self, function: Callable, calls: list[tuple], label: str) -> Iterator[Any]:
        from distributed import as_completed

        futures = [
            self.client.submit(function, *call, key=f"{self.prefix}-{label}-{i}", pure=False)
            for i, call in enumerate(calls)
        ]
        self.submitted += len(futures)
        finished = as_completed(futures, loop=self.client.loop)
        ticked = time.monotonic()
        try:
            while not finished.is_empty():
                done = finished.next_batch(block=False)
                if time.monotonic() - ticked >= WAIT_SECONDS:
                    self.tick()
                    ticked = time.monotonic()
                if not done:
                    time.sleep(POLL_SECONDS)
                for future in done:
                    try:
                        result = future.result()
                    except Exception as exc:  # raised by the task, or the cluster lost it
                        raise PieceFailed(f"{type(exc).__name__}: {exc}") from exc
                    yield result
        finally:
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                self.client.cancel(unfinished)


def compute(
    executor: Executor,
    specs: Sequence[ColumnSpec],
    quasi_identifiers: Sequence[str],
    sources: dict[str, Source],
    *,
    rows_per_piece: int = PIECE_ROWS,
    progress: Callable[[str, float], None] | None = None,
    timings: dict[str, float] | None = None,
    decided: dict[str, dict[str, ColumnKind]] | None = None,
) -> dict[str, MetricResult]:
    """The figures of ``KEYS_COMPUTED`` through ``executor``: facts of every piece,
    then counts of every reference piece (with its domain), then counts of every
    synthetic piece (measured against the reference's merged domain), each merged as
    they arrive. ``progress(label, fraction)`` is called after every piece (an
    exception it raises stops the work and propagates). ``timings`` (when given)
    receives each round's wall seconds ("facts", "counts-real", "counts-synthetic"), and
    ``decided`` (when given) each frame's column kinds (``decide``: what a later round on
    the same files, such as ``partitioned_search``, reads the columns as)."""
    report = progress or (lambda label, fraction: None)
    timings = {} if timings is None else timings
    started = time.perf_counter()
    pieces = {frame: plan(sources[frame], frame, rows_per_piece) for frame in FRAMES}
    total = 2 * sum(len(p) for p in pieces.values())
    kinds = column_kinds(
        executor,
        specs,
        {frame: sources[frame] for frame in FRAMES},
        pieces=pieces,
        progress=lambda label, fraction: report(label, fraction / 2),
    )
    done = total // 2
    if decided is not None:
        decided.update(kinds)
    timings["facts"], started = time.perf_counter() - started, time.perf_counter()
    keys = tuple(quasi_identifiers)
    counts: dict[str, dict[str, Any]] = {}
    label = "Row hashes: counting duplicates, copies and linkage"
    # The reference's pieces first: their domains, merged in the pieces' order, are what
    # the synthetic pieces' values are then measured against (each piece is still read
    # once in this round; the synthetic pieces wait for the reference's).
    domains: dict[int, Domain] = {}
    calls = [(i, p, tuple(specs), kinds[p.frame], keys, None) for i, p in enumerate(pieces["real"])]
    with closing(executor.map(_counts_call, calls, "counts-real")) as results:
        for i, result in results:
            domains[i] = result.pop(DOMAIN)
            counts["real"] = merge_counts(counts["real"], result) if "real" in counts else result
            done += 1
            report(label, done / total)
    domain = merge_domains([domains[i] for i in sorted(domains)])
    timings["counts-real"], started = time.perf_counter() - started, time.perf_counter()
    # The reference's categories (a few hundred kB for tens of thousands) go to each
    # worker once, not with every synthetic task.
    shared = executor.share(domain)
    calls = [
        (i, p, tuple(specs), kinds[p.frame], keys, shared)
        for i, p in enumerate(pieces["synthetic"])
    ]
    with closing(executor.map(_counts_call, calls, "counts-synthetic")) as results:
        for _, result in results:
            synthetic = counts.get("synthetic")
            counts["synthetic"] = result if synthetic is None else merge_counts(synthetic, result)
            done += 1
            report(label, done / total)
    timings["counts-synthetic"] = time.perf_counter() - started
    return {
        **figures(specs, quasi_identifiers, counts),
        **domain_figures(specs, domain, counts["synthetic"][OUTSIDE]),
    }


def column_kinds(
    executor: Executor,
    specs: Sequence[ColumnSpec],
    sources: dict[str, Source],
    *,
    rows_per_piece: int = PIECE_ROWS,
    pieces: dict[str, list[Piece]] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, dict[str, ColumnKind]]:
    """Each frame's column kinds (``decide``) from the facts of every piece of its
    stored file (``sources`` by frame; round 1 of ``compute``, alone: what later rounds
    on the same files read the columns as). ``pieces``: the files already cut."""
    report = progress or (lambda label, fraction: None)
    label = "Row hashes: reading the column types"
    if pieces is None:
        pieces = {frame: plan(source, frame, rows_per_piece) for frame, source in sources.items()}
    everything = [p for frame in sources for p in pieces[frame]]
    facts: dict[str, dict[str, ColumnFacts]] = {frame: {} for frame in sources}
    report(label, 0.0)
    calls = [(p, tuple(specs)) for p in everything]
    with closing(executor.map(_facts_call, calls, "facts")) as results:
        for done, (frame, result) in enumerate(results, start=1):
            facts[frame] = merge_facts(facts[frame], result)
            report(label, done / len(everything))
    return {frame: decide(facts[frame], source) for frame, source in sources.items()}


def _facts_call(piece: Piece, specs: tuple[ColumnSpec, ...]) -> tuple[str, dict]:
    return piece.frame, piece_facts(piece, specs)


def _counts_call(
    index: int,
    piece: Piece,
    specs: tuple[ColumnSpec, ...],
    kinds: dict,
    keys: tuple[str, ...],
    domain: Domain | None,
) -> tuple[int, dict]:
    return index, piece_counts(piece, specs, kinds, keys, domain=domain)
