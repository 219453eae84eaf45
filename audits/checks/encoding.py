"""Column values made comparable across frames, and the mixed-type distance encoding.

Distance between two records (the same as SDMetrics' DCR metrics use):

- numbers and dates (dates as seconds) are scaled by the *reference* range to 0..1, so a
  column contributes ``|a - b| / range``; values outside the reference range count as the
  nearest edge; a missing value against a present one counts 1, two missing values 0;
- categories and booleans count 0 when equal and 1 when different (missing is a category);
- identifiers and free text are left out;
- the sum is divided by the number of columns used, so distances lie in 0..1.

A number ``x`` (scaled) is stored as the two coordinates ``(x/2, (1-x)/2)`` and a missing
value as ``(-1/4, -1/4)``: the L1 distance between these points is exactly the rule above,
so the search needs no special case for missing values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from audits.checks.base import ColumnSpec
from registry.ingest.numbers import to_numbers

MISSING_POINT = -0.25
# Rows encoded at a time (bounds the float64 temporaries of the coordinates).
ENCODE_BLOCK = 1 << 20


def numeric_values(series: pd.Series, col_type: str) -> np.ndarray:
    """float64 values with NaN for missing; dates become seconds since 1970."""
    if col_type == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, errors="coerce", format="mixed")
        # The dtype, not ``series.dt.tz``: the accessor is cached on the series and
        # refers back to it, a cycle that keeps the column's values (Arrow's buffer, when
        # read from Parquet) alive until the garbage collector next runs.
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
        values[series.isna().to_numpy()] = np.nan
        values /= 1e9  # in place: the same numbers, one column-sized temporary fewer
        return values
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy()
    # Never pd.to_numeric on text: values like "2e08311970879c88" crash pandas 2.x.
    numbers = to_numbers(series)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def category_strings(series: pd.Series, whole: bool | None = None) -> pd.Series:
    """Values as strings that compare equal across frames (1, 1.0 and "1" agree;
    True and "True" agree); missing values stay missing.

    Numbers print as whole numbers when every present value is whole and below 2**53.
    ``whole`` overrides that decision when it was made over more rows than ``series``
    holds (a piece of a file, decided over the whole file: ``partitioned``)."""
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series):
        out = series.astype("object").map({True: "True", False: "False"})
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if whole is None:
            present = values[~missing]
            whole = bool(
                present.size
                and np.all(present == np.round(present))
                and np.all(np.abs(present) < 2**53)
            )
        if whole:
            out = pd.Series(np.where(missing, 0, values).astype(np.int64), index=series.index)
            out = out.astype(str)
        else:
            out = pd.Series(values, index=series.index).astype(str)
    else:
        out = series.astype(str)
    return out.mask(pd.Series(missing, index=series.index))


MISSING_CODE = -1


@dataclass(frozen=True)
class PreparedColumn:
    """One column's values in every frame, made comparable.

    Numeric columns (numerical, datetime) hold float64 arrays with NaN for missing.
    Other columns hold int32 codes into ``categories``: the reference's values come
    first (codes ``0 .. n_reference_categories - 1``), then values seen only in the
    holdout, then values seen only in the synthetic data; missing is ``MISSING_CODE``.
    """

    spec: ColumnSpec
    real: np.ndarray
    synthetic: np.ndarray
    holdout: np.ndarray | None
    categories: list[str] | None = None
    n_reference_categories: int = 0
    n_real_categories: int = 0

    @property
    def is_numeric(self) -> bool:
        return self.categories is None

    def read_rows(self, frame: str, rows: np.ndarray | slice) -> np.ndarray:
        """``rows`` (indices, or a slice: a range) of ``frame``'s array: the same values
        as indexing the whole array, which a column stored narrow gives without
        decoding the other rows (``compact.CompactColumn``)."""
        return getattr(self, frame)[rows]

    @cached_property
    def reference_range(self) -> tuple[float, float]:
        """(min, max) of the reference's present values: the distance's scaling."""
        return present_range(self.real) or (0.0, 0.0)


def _all_converted(spec: ColumnSpec) -> PreparedColumn:
    raise AssertionError(f"column {spec.name!r} asked for after every column was converted")


class PreparedColumns(Mapping[str, PreparedColumn]):
    """The audited columns by name, each converted on first use and kept: a check that
    reads a few columns (an attack on the quasi-identifiers) pays for those alone.
    Iterating names converts nothing; ``values()`` and ``items()`` convert every column."""

    def __init__(
        self, specs: Sequence[ColumnSpec], convert: Callable[[ColumnSpec], PreparedColumn]
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._convert = convert
        self._done: dict[str, PreparedColumn] = {}

    def __getitem__(self, name: str) -> PreparedColumn:
        column = self._done.get(name)
        if column is None:
            column = self._done[name] = self._convert(self._specs[name])
            if len(self._done) == len(self._specs):
                # Every column is converted: let go of the converter and, with it, the
                # raw frames it reads (the runner releases them after preparing).
                self._convert = _all_converted
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def spec(self, name: str) -> ColumnSpec:
        return self._specs[name]

    def converted(self) -> list[str]:
        """Names of the columns converted so far."""
        return list(self._done)

    def convert_all(self) -> None:
        for name in self._specs:
            self[name]


@dataclass(frozen=True)
class PreparedData:
    """The audited columns of the three frames in comparable form (identifiers left out)."""

    columns: PreparedColumns
    n_real: int
    n_synthetic: int
    n_holdout: int

    def distance_names(self) -> list[str]:
        """Columns the mixed-type distance uses (no identifiers, no free text), in schema
        order, without converting any."""
        return [n for n in self.columns if not self.columns.spec(n).excluded_from_distances]


def prepare(
    columns: Sequence[ColumnSpec],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    *,
    include_identifiers: bool = False,
    eager: bool = False,
) -> PreparedData:
    """The audited columns, each converted once, on first use (all of them now with
    ``eager``); all checks read these arrays."""

    def convert(spec: ColumnSpec) -> PreparedColumn:
        if spec.is_numeric:
            return PreparedColumn(
                spec=spec,
                real=numeric_values(real[spec.name], spec.type),
                synthetic=numeric_values(synthetic[spec.name], spec.type),
                holdout=None if holdout is None else numeric_values(holdout[spec.name], spec.type),
            )
        return _prepare_categories(spec, real, synthetic, holdout)

    prepared = PreparedColumns(audited_specs(columns, include_identifiers), convert)
    if eager:
        prepared.convert_all()
    return PreparedData(
        columns=prepared,
        n_real=len(real),
        n_synthetic=len(synthetic),
        n_holdout=0 if holdout is None else len(holdout),
    )


def audited_specs(
    columns: Sequence[ColumnSpec], include_identifiers: bool = False
) -> list[ColumnSpec]:
    """The columns ``prepare`` converts: all but identifiers (free text is kept for the
    checks that read it), or every column with ``include_identifiers``."""
    return [
        spec
        for spec in columns
        if include_identifiers or not spec.excluded_from_distances or spec.type == "text"
    ]


def _prepare_categories(
    spec: ColumnSpec, real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None
) -> PreparedColumn:
    frames = [real, synthetic] if holdout is None else [real, holdout, synthetic]
    # Factorise first and canonicalise only the distinct values: millions of rows, few
    # categories.
    factorised = [factorise(f[spec.name]) for f in frames]
    vocab = pd.Index(pd.unique(factorised[0][1].dropna()))
    n_reference = n_real = len(vocab)
    for i, (_, uniques) in enumerate(factorised[1:], start=1):
        new = pd.Index(pd.unique(uniques.dropna())).difference(vocab, sort=False)
        vocab = vocab.append(new)
        if holdout is not None and i == 1:
            n_real = len(vocab)
    codes = []
    for row_codes, uniques in factorised:
        lookup = vocab.get_indexer(uniques.to_numpy(dtype=object, na_value=None))
        lookup = np.append(lookup, MISSING_CODE).astype(np.int32)  # index -1: missing
        lookup[:-1][uniques.isna().to_numpy()] = MISSING_CODE
        codes.append(lookup[row_codes])
    return PreparedColumn(
        spec=spec,
        real=codes[0],
        synthetic=codes[-1],
        holdout=codes[1] if holdout is not None else None,
        categories=[str(v) for v in vocab],
        n_reference_categories=n_reference,
        n_real_categories=n_real,
    )


def factorise(series: pd.Series, whole: bool | None = None) -> tuple[np.ndarray, pd.Series]:
    """Per-row codes (-1 for missing) and the canonical string of each code: only the
    distinct values are made strings (``category_strings``; ``whole`` as there). The
    codes are kept in the narrowest type that holds them (the same numbers): pandas gives
    int64, eight bytes a row for each frame until the vocabulary of all three is known."""
    row_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return row_codes.astype(code_dtype(len(uniques)), copy=False), category_strings(
        pd.Series(uniques), whole=whole
    )


@dataclass(frozen=True)
class EncodedTable:
    """Records encoded for the distance: category codes and two coordinates per number.

    ``encode_rows`` stores both arrays column by column (Fortran order), so the search's
    column-major views of a large reference are not copies, and the codes in the
    smallest signed integer type that holds every code of their columns (the search
    only compares codes for equality and hashes them as int64)."""

    codes: np.ndarray
    numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, rows: np.ndarray) -> EncodedTable:
        return EncodedTable(self.codes[rows], self.numbers[rows])


@dataclass(frozen=True)
class DistanceEncoding:
    """Frames encoded alike for distances: one vocabulary, the reference's scaling."""

    reference: EncodedTable | EncodedRows
    synthetic: EncodedTable
    holdout: EncodedTable | None
    categorical: list[str]
    numeric: list[str]

    @property
    def n_columns(self) -> int:
        return len(self.categorical) + len(self.numeric)


def encode_for_distance(
    data: PreparedData,
    synthetic_rows: np.ndarray,
    holdout_rows: np.ndarray | None = None,
    *,
    reference_on_demand: bool = False,
) -> DistanceEncoding:
    """Encode the whole reference, the chosen synthetic rows and the chosen holdout rows.

    A category seen only in the synthetic data gets its own code, so it matches no real
    record (categories seen only in the holdout still match each other).
    ``reference_on_demand``: the reference is an ``EncodedRows``, encoded a range of rows
    at a time when the search reads it, instead of held whole.
    """
    names = data.distance_names()
    categorical = [n for n in names if not data.columns.spec(n).is_numeric]
    numeric = [n for n in names if data.columns.spec(n).is_numeric]
    holdout = None
    if holdout_rows is not None:
        holdout = encode_rows(data, "holdout", holdout_rows, categorical, numeric)
    reference: EncodedTable | EncodedRows
    if reference_on_demand:
        reference = EncodedRows(data, "real", tuple(categorical), tuple(numeric))
    else:
        reference = encode_rows(data, "real", None, categorical, numeric)
    return DistanceEncoding(
        reference=reference,
        synthetic=encode_rows(data, "synthetic", synthetic_rows, categorical, numeric),
        holdout=holdout,
        categorical=categorical,
        numeric=numeric,
    )


def encode_rows(
    data: PreparedData,
    frame: str,
    rows: np.ndarray | slice | None,
    categorical: Sequence[str],
    numeric: Sequence[str],
) -> EncodedTable:
    """``rows`` of ``frame`` ("real", "synthetic" or "holdout"; None: every row; a slice:
    a range of rows) encoded on the given columns, in that order: the same values as
    the matching rows and columns of ``encode_for_distance``'s tables."""
    if isinstance(rows, slice):
        start, stop, _ = rows.indices(_size(data, frame, None))
        rows = slice(start, max(start, stop))
        size = rows.stop - rows.start
    else:
        size = _size(data, frame, rows)
    dtype = code_dtype(max((len(data.columns[n].categories or ()) for n in categorical), default=0))
    codes = np.empty((size, len(categorical)), dtype=dtype, order="F")

    def read(col: PreparedColumn) -> np.ndarray:
        # Only the chosen rows are decoded (a range of a large reference, a sample).
        return getattr(col, frame) if rows is None else col.read_rows(frame, rows)

    for j, name in enumerate(categorical):
        codes[:, j] = read(data.columns[name])
    numbers = np.empty((size, 2 * len(numeric)), dtype=np.float32, order="F")
    for j, name in enumerate(numeric):
        col = data.columns[name]
        put_coordinates(numbers, j, read(col), *col.reference_range)
    return EncodedTable(codes, numbers)


def put_coordinates(
    numbers: np.ndarray, j: int, values: np.ndarray, low: float, high: float
) -> None:
    """The j-th numeric column's two coordinates of ``values`` (scaled by the reference's
    ``low``..``high``) into ``numbers``' columns 2j and 2j+1. In blocks of rows: the
    float64 temporaries of a whole column (several times the column's float32
    coordinates) would set the step's peak; each value is computed alone, so the
    coordinates are the same."""
    for start in range(0, len(values), ENCODE_BLOCK):
        block = slice(start, min(start + ENCODE_BLOCK, len(values)))
        numbers[block, 2 * j : 2 * j + 2] = _two_coordinates(values[block], low, high)


@dataclass(frozen=True)
class EncodedRows:
    """Every row of ``frame`` encoded on these columns as ``encode_rows`` encodes them,
    on demand: a range of rows at a time (a search over a large reference holds one
    range's encoding, see ``neighbours.nearest``) or chosen rows."""

    data: PreparedData
    frame: str
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    def __len__(self) -> int:
        return _size(self.data, self.frame, None)

    def rows(self, start: int, stop: int) -> EncodedTable:
        return encode_rows(
            self.data, self.frame, slice(start, stop), self.categorical, self.numeric
        )

    def take(self, rows: np.ndarray) -> EncodedTable:
        return encode_rows(self.data, self.frame, rows, self.categorical, self.numeric)


@dataclass(frozen=True)
class SearchLayout:
    """How a reference row is encoded for the distance: the categorical columns (each
    with its categories in code order) and the numeric columns (each with the
    reference's (min, max) of present values, the scaling), in the encoding's column
    order, and the codes' integer type."""

    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    numeric: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    code_dtype: str

    @property
    def names(self) -> tuple[str, ...]:
        return self.categorical + self.numeric


def search_layout(
    data: PreparedData, categorical: Sequence[str], numeric: Sequence[str]
) -> SearchLayout:
    """The layout of ``encoding.encode_rows`` on these columns of ``data``."""
    columns = data.columns
    categories = tuple(tuple(columns[n].categories or ()) for n in categorical)
    return SearchLayout(
        categorical=tuple(categorical),
        categories=categories,
        numeric=tuple(numeric),
        ranges=tuple(columns[n].reference_range for n in numeric),
        code_dtype=code_dtype(max((len(c) for c in categories), default=0)).name,
    )


def code_dtype(n_categories: int) -> np.dtype:
    """The smallest signed integer type holding codes ``MISSING_CODE .. n_categories - 1``."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _size(data: PreparedData, frame: str, rows: np.ndarray | None) -> int:
    if rows is not None:
        return len(rows)
    return {"real": data.n_real, "synthetic": data.n_synthetic, "holdout": data.n_holdout}[frame]


def present_range(values: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the present (non-NaN) values; None when none is present. fmin and
    fmax skip NaN without the copy of the present values that indexing makes (0.4 GB
    at 50M rows)."""
    low = np.fmin.reduce(values) if values.size else np.nan
    if np.isnan(low):
        return None
    return float(low), float(np.fmax.reduce(values))


def _two_coordinates(values: np.ndarray, low: float, high: float) -> np.ndarray:
    span = high - low
    if span > 0:
        scaled = np.clip((values - low) / span, 0.0, 1.0)
    else:
        # A constant reference column: any other value is a full difference (as SDMetrics).
        scaled = np.where(values == low, 0.0, 1.0)
    out = np.stack([scaled / 2, (1 - scaled) / 2], axis=1)
    out[np.isnan(values)] = MISSING_POINT
    return out


def row_hashes(columns: Sequence[PreparedColumn], frame: str) -> np.ndarray:
    """A 64-bit hash of each row of ``frame`` ("real", "synthetic" or "holdout") over
    ``columns``: equal rows hash equal; unequal rows collide with chance 2**-64 per pair.
    Each column is mixed in as soon as its 64-bit values are made, so one column's
    values are held at a time, not every column's."""
    n = len(getattr(columns[0], frame)) if columns else 0
    return combine_hashes((hash_values(getattr(col, frame), col.is_numeric) for col in columns), n)


# Every NaN hashes as these bits, whatever its payload.
NAN_BITS = np.uint64(0x7FF8000000000001)


def hash_values(values: np.ndarray, numeric: bool) -> np.ndarray:
    """One column's values as uint64: a number's bits (one zero, one NaN), a code."""
    if numeric:
        # A new array (-0.0 and 0.0 are the same number), its bits changed in place.
        bits = (values + 0.0).view(np.uint64)
        bits[np.isnan(values)] = NAN_BITS
        return bits
    return values.astype(np.int64).astype(np.uint64)


def combine_hashes(parts: Iterable[np.ndarray], n: int) -> np.ndarray:
    """Mix per-column uint64 values into one uint64 per row (splitmix64 finaliser), in
    the order given (a generator's parts are made one at a time)."""
    h = np.full(n, 0x243F6A8885A308D3, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            h ^= part
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(29)
    return h
