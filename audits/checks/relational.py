"""Relational figures: referential integrity, cardinality and inter-table trends.

Plain pandas/numpy in, ``MetricResult`` out. The tables of a version are a dict
``{table name: DataFrame}``; its keys and column types a ``RelationalSchema`` (built from
SDMetrics multi-table metadata with ``RelationalSchema.from_sdmetrics``).

The quality figures follow SDMetrics' multi-table ``QualityReport`` (0.32) definition by
definition, vectorised so they run on every row of millions-row tables:

* Column Shapes: per column of every table, KSComplement (numbers, dates) or TVComplement
  (categories, booleans), missing values dropped; mean over all columns of all tables.
* Column Pair Trends: per pair of columns inside each table. Two numbers/dates: Pearson
  correlation similarity ``1 - |r_real - r_syn| / 2`` on rows where both are present,
  counted only when ``|r_real| > 0.5``. Otherwise ContingencySimilarity ``1 - TVD`` of the
  joint frequencies (missing is a category), counted only when the real table's Cramér's V
  exceeds 0.3; a number or date beside a category is first cut into 10 equal-width bins
  whose edges each dataset takes from its own values (as SDMetrics does).
* Cardinality: per relationship, 1 - KS statistic between the real and synthetic numbers of
  children per parent row (parents with no child count 0; orphans count nowhere).
* Intertable Trends: per relationship, the child joined to its parent on the key (inner
  join), then the pair rule above for every (parent column, child column) pair.
* Overall: the mean of the four property scores that could be computed.

SDMetrics scores contingency pairs on a random 50,000-row sample when a table is larger;
here every row counts, so on large tables the two differ by that sample's noise only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from audits.checks.base import AuditInputError, MetricResult, share_text, skipped

CONTINUOUS = frozenset({"numerical", "datetime"})
DISCRETE = frozenset({"categorical", "boolean", "ordinal"})
# SynthGov column types map onto SDMetrics sdtypes; ids and free text are not scored.
_SDTYPES = {
    "numerical": "numerical",
    "datetime": "datetime",
    "categorical": "categorical",
    "boolean": "boolean",
    "ordinal": "ordinal",
}
REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
PAIR_BINS = 10
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Relationship:
    parent_table: str
    parent_key: str
    child_table: str
    child_key: str

    @property
    def label(self) -> str:
        return f"{self.child_table}.{self.child_key} -> {self.parent_table}.{self.parent_key}"

    def to_json(self) -> dict[str, str]:
        return {
            "parent_table": self.parent_table,
            "parent_key": self.parent_key,
            "child_table": self.child_table,
            "child_key": self.child_key,
        }


@dataclass(frozen=True)
class RelationalSchema:
    """Each table's columns with their SDMetrics sdtype, primary keys and relationships.

    ``columns[table]`` maps column name to sdtype (``numerical``, ``datetime``,
    ``categorical``, ``boolean``, ``ordinal``; anything else, such as ``id`` or ``text``,
    is not scored). ``datetime_formats`` maps (table, column) to a strftime format.
    """

    columns: dict[str, dict[str, str]]
    primary_keys: dict[str, str | None]
    relationships: list[Relationship] = field(default_factory=list)
    datetime_formats: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_sdmetrics(cls, metadata: dict[str, Any]) -> RelationalSchema:
        columns, keys, formats = {}, {}, {}
        for table, meta in metadata.get("tables", {}).items():
            columns[table] = {c: m.get("sdtype", "") for c, m in meta.get("columns", {}).items()}
            keys[table] = meta.get("primary_key")
            for col, m in meta.get("columns", {}).items():
                if m.get("datetime_format"):
                    formats[(table, col)] = m["datetime_format"]
        relationships = [
            Relationship(
                r["parent_table_name"],
                r["parent_primary_key"],
                r["child_table_name"],
                r["child_foreign_key"],
            )
            for r in metadata.get("relationships", [])
        ]
        return cls(columns, keys, relationships, formats)

    def check(self, tables: dict[str, pd.DataFrame], which: str) -> None:
        """Refuse tables that do not match the schema, naming what is missing."""
        missing = sorted(set(self.columns) - set(tables))
        if missing:
            raise AuditInputError(f"The {which} data has no table {', '.join(missing)}.")
        for table, cols in self.columns.items():
            absent = [c for c in cols if c not in tables[table].columns]
            if absent:
                raise AuditInputError(
                    f"Table '{table}' of the {which} data has no column {', '.join(absent)}."
                )


# ---------------------------------------------------------------------------- integrity


def _examples(values: pd.Series) -> list[Any]:
    # A key column with empty cells reads as floats: show 4, not 4.0.
    return [
        int(v) if isinstance(v, float) and v.is_integer() else v
        for v in values.drop_duplicates().head(MAX_EXAMPLES).tolist()
    ]


def _orphans(tables: dict[str, pd.DataFrame], rel: Relationship) -> dict[str, Any]:
    child = tables[rel.child_table][rel.child_key]
    parent = tables[rel.parent_table][rel.parent_key]
    span, wanted = _consecutive(parent), child.to_numpy()
    if span is not None and wanted.dtype.kind == "i":
        # Integer keys (never empty) against consecutive parent keys: a comparison.
        empty, orphan = 0, _outside(wanted, *span)
    else:
        present = child.notna()
        position = _consecutive_positions(parent.reset_index(drop=True), child)
        if position is not None:
            orphan = (present & (position < 0)).to_numpy()
        else:
            orphan = (present & ~child.isin(parent.dropna())).to_numpy()
        empty = int((~present).sum())
    rows = len(child)
    count = int(np.count_nonzero(orphan))
    # The orphans' keys without their index (taking a RangeIndex would write it out).
    dangling = pd.Series(child.to_numpy()[orphan] if count else child.to_numpy()[:0])
    return {
        **rel.to_json(),
        "child_rows": rows,
        "empty_key_rows": empty,
        "orphan_rows": count,
        "orphan_rate": count / rows if rows else 0.0,
        "dangling_keys": int(dangling.nunique()),
        "examples": _examples(dangling),
    }


def orphan_rate(
    tables: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    reference: dict[str, pd.DataFrame] | None = None,
) -> MetricResult:
    """Per relationship: child rows whose key is present but matches no parent primary key,
    over all child rows. The value is the worst relationship's rate; details list every
    relationship with up to 5 of the unmatched key values (from ``tables`` only; the
    reference contributes its rates, never its values)."""
    key = "integrity.orphan_rate"
    if not schema.relationships:
        return skipped(key, "lower", "the version declares no foreign keys")
    per = [_orphans(tables, rel) for rel in schema.relationships]
    if reference is not None:
        for item, rel in zip(per, schema.relationships, strict=True):
            ref = _orphans(reference, rel)
            item["reference_orphan_rate"] = ref["orphan_rate"]
    worst = max(per, key=lambda p: p["orphan_rate"])
    rows = sum(p["child_rows"] for p in per)
    finding = None
    if worst["orphan_rows"]:
        finding = (
            f"{share_text(worst['orphan_rate'])} of {worst['child_table']} rows "
            f"({worst['orphan_rows']}) point at a {worst['parent_table']} that does not "
            f"exist ({worst['child_table']}.{worst['child_key']}), for example "
            f"{', '.join(str(v) for v in worst['examples'])}."
        )
    return MetricResult(
        key=key,
        value=float(worst["orphan_rate"]),
        direction="lower",
        details={
            "relationships": per,
            "worst": Relationship(
                worst["parent_table"], worst["parent_key"], worst["child_table"], worst["child_key"]
            ).label,
        },
        sample_size=rows,
        population=rows,
        finding=finding,
    )


def _increasing_integers(values: pd.Series) -> bool:
    # Integer keys in increasing order (the usual generated ids): none empty, none repeated.
    array = values.to_numpy()
    return array.dtype.kind in "iu" and bool(np.all(array[1:] > array[:-1]))


def _key_violations(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    values = frame[column]
    if _increasing_integers(values):
        rows = len(values)
        return {
            "primary_key": column,
            "rows": rows,
            "empty_key_rows": 0,
            "duplicate_key_rows": 0,
            "violation_rate": 0.0,
            "examples": [],
        }
    empty = values.isna()
    repeated = values.duplicated(keep="first") & ~empty
    rows = len(values)
    bad = int(empty.sum() + repeated.sum())
    return {
        "primary_key": column,
        "rows": rows,
        "empty_key_rows": int(empty.sum()),
        "duplicate_key_rows": int(repeated.sum()),
        "violation_rate": bad / rows if rows else 0.0,
        "examples": _examples(values[repeated]),
    }


def key_violations(tables: dict[str, pd.DataFrame], schema: RelationalSchema) -> MetricResult:
    """Per table with a primary key: rows whose key is empty plus rows repeating a key an
    earlier row holds, over the table's rows. The value is the worst table's rate."""
    key = "integrity.key_violations"
    per = {
        table: _key_violations(tables[table], pk)
        for table, pk in schema.primary_keys.items()
        if pk is not None
    }
    if not per:
        return skipped(key, "lower", "the version declares no primary keys")
    worst_table = max(per, key=lambda t: per[t]["violation_rate"])
    worst = per[worst_table]
    rows = sum(p["rows"] for p in per.values())
    finding = None
    if worst["violation_rate"] > 0:
        parts = []
        if worst["duplicate_key_rows"]:
            examples = ", ".join(str(v) for v in worst["examples"])
            parts.append(f"{worst['duplicate_key_rows']} repeat a key (for example {examples})")
        if worst["empty_key_rows"]:
            parts.append(f"{worst['empty_key_rows']} have no key")
        finding = (
            f"In table {worst_table}, {share_text(worst['violation_rate'])} of rows break its "
            f"primary key {worst['primary_key']}: {' and '.join(parts)}."
        )
    return MetricResult(
        key=key,
        value=float(worst["violation_rate"]),
        direction="lower",
        details={"tables": per, "worst": worst_table},
        sample_size=rows,
        population=rows,
        finding=finding,
    )


# ---------------------------------------------------------------------------- quality


# Long columns are worked through in blocks of this many rows, so that each step's
# temporary arrays stay small (in cache, and no fresh memory to fault in for each step).
BLOCK = 1 << 18
# The pair counts of a table (or of a parent-child join) come from one count of every
# column's codes together when that table of counts has at most this many cells;
# otherwise each pair is counted on its own.
JOINT_CELLS = 1 << 18
# The KS statistic of two long samples is bounded between this many quantiles of the
# real sample first; only the stretches where it may peak are then compared point by point.
KS_BUCKETS = 1 << 16
MISSING_BIN = PAIR_BINS + 1  # a number's pair code when missing (np.digitize past the end)


def _blocks(size: int):
    return (slice(start, start + BLOCK) for start in range(0, size, BLOCK))


def _block_bincount(codes: np.ndarray, minlength: int) -> np.ndarray:
    counts = np.zeros(minlength, dtype=np.int64)
    for block in _blocks(codes.size):
        counts += np.bincount(codes[block], minlength=minlength)
    return counts


def _small_dtype(width: int) -> type:
    return np.uint8 if width <= 1 << 8 else np.uint16 if width <= 1 << 16 else np.int64


def _value_range(values: np.ndarray) -> tuple[float, float] | None:
    """The smallest and largest present value; None when no value is present."""
    low = np.fmin.reduce(values) if values.size else np.nan
    return None if np.isnan(low) else (float(low), float(np.fmax.reduce(values)))


def _edges(span: tuple[float, float] | None) -> np.ndarray | None:
    # np.histogram_bin_edges reads only the smallest and largest value: the same edges as
    # from every present value, without copying them.
    return None if span is None else np.histogram_bin_edges(np.array(span), PAIR_BINS)


def _bins(values: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    """SDMetrics' pair bins of a number: ``np.digitize`` against the 10 equal-width bin
    edges (how many edges are at most the value; a missing value, and the largest, land
    past the last edge: code PAIR_BINS + 1), as uint8, block by block.

    Each value's bin is guessed by arithmetic, g = floor((x - low) * scale) clipped to
    0..9, then its code counted exactly as g plus whether x reaches edge g and edge g + 1.
    That count is right whenever the guess is at most one bin off, and it is: the guess is
    a monotone function of x, so a value between two edges gets a guess between theirs,
    and the edges' own guesses are checked (edge k's guess is k - 1 or k) before any
    value is binned. Edges that fail the check (never seen) are searched with np.digitize.
    """
    out = np.empty(values.size, dtype=np.uint8)
    if edges is None:
        out.fill(MISSING_BIN)
        return out
    low, scale = edges[0], PAIR_BINS / (edges[-1] - edges[0])

    def guess(x: np.ndarray) -> np.ndarray:
        position = x - low
        position *= scale
        np.fmax(position, 0.0, out=position)
        np.fmin(position, PAIR_BINS - 1.0, out=position)
        return position.astype(np.intp)

    steps = np.arange(PAIR_BINS + 1)
    with np.errstate(invalid="ignore", over="ignore"):
        own = guess(edges)
        if not (np.all(own >= steps - 1) and np.all(own <= steps)):
            for block in _blocks(values.size):
                out[block] = np.digitize(values[block], edges)
            return out
        following = edges[1:]
        for block in _blocks(values.size):
            x = values[block]
            g = guess(x)
            code = g + (edges[g] <= x)
            code += following[g] <= x
            missing = np.isnan(x)
            if missing.any():
                code[missing] = MISSING_BIN
            out[block] = code
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # np.einsum rather than BLAS: OpenBLAS's threads spin on the other core for a
    # product that takes a millisecond.
    return float(np.einsum("i,i->", a, b))


def _centred_sum(x: np.ndarray, mean_x: float, y: np.ndarray | None = None, mean_y=0.0) -> float:
    """The sum of (x - mean_x) * (y - mean_y) (y None: of (x - mean_x) ** 2), by blocks."""
    total = 0.0
    for block in _blocks(x.size):
        a = x[block] - mean_x
        total += _dot(a, a if y is None else y[block] - mean_y)
    return total


class _Facts:
    """Facts computed once per side ("real" or "synthetic"), when first asked."""

    def __init__(self) -> None:
        self._facts: dict[tuple[str, str], Any] = {}

    def cached(self, name: str, which: str, compute):
        key = (name, which)
        if key not in self._facts:
            self._facts[key] = compute()
        return self._facts[key]


class _Column(_Facts):
    """One scored column of a real/synthetic pair, encoded once.

    Numbers and dates hold floats (NaN = missing); categories and booleans hold small
    integer codes with 0 = missing and 1, 2, ... the categories (the codes every pair's
    contingency table needs, so no pair recodes them). What the figures ask of a side
    (whether it has missing values, its range, its pair bins, its mean and centred square
    sum) is computed once, when first asked."""

    def __init__(
        self, sdtype: str, real: np.ndarray, synthetic: np.ndarray, categories: int | None = None
    ):
        self.sdtype = sdtype
        self.categories = categories  # a category column: how many it has
        self.continuous = sdtype in CONTINUOUS
        self.real = real
        self.synthetic = synthetic
        super().__init__()

    def values(self, which: str) -> np.ndarray:
        return self.real if which == "real" else self.synthetic

    def code_width(self) -> int:
        """One more than the largest code the column's pair codes can take."""
        return PAIR_BINS + 2 if self.continuous else self.categories + 1

    def has_missing(self, which: str) -> bool:
        # np.min propagates NaN: one reduction, no array of flags.
        def compute():
            values = self.values(which)
            return bool(values.size) and bool(np.isnan(np.min(values)))

        return self.cached("has_missing", which, compute)

    def value_range(self, which: str) -> tuple[float, float] | None:
        return self.cached("value_range", which, lambda: _value_range(self.values(which)))

    def edges(self, which: str) -> np.ndarray | None:
        return self.cached("edges", which, lambda: _edges(self.value_range(which)))

    def codes(self, which: str) -> np.ndarray:
        """Categories: the codes. Numbers and dates: the pair bins on every row."""
        if not self.continuous:
            return self.values(which)
        return self.cached("codes", which, lambda: _bins(self.values(which), self.edges(which)))

    def counts(self, which: str) -> np.ndarray:
        """Categories: how many rows hold each code."""
        return self.cached(
            "counts", which, lambda: _block_bincount(self.values(which), self.code_width())
        )

    def moments(self, which: str) -> tuple[float, float]:
        """The mean and the sum of squared deviations from it (no value missing)."""

        def compute():
            values = self.values(which)
            mean = float(values.mean())
            return mean, _centred_sum(values, mean)

        return self.cached("moments", which, compute)


class _Member(_Facts):
    """A column as a set of compared rows reads it: every row of its table (``kind``
    "table"), a parent's column on the rows of a parent-child join (one row per child;
    "parent") or a child's column on them ("child"). Numbers are binned on these rows (the
    edges from their values, as SDMetrics cuts the denormalised table), by coding the
    table's column with those edges: codes stay one per row of the column's table, and
    ``rows(which)`` says which of them each compared row reads (None: row j reads row j)."""

    def __init__(self, column: _Column, kind: str = "table", links: dict | None = None):
        self.column = column
        self.continuous = column.continuous
        self.kind = kind
        self.links = links or {}
        super().__init__()

    def rows(self, which: str) -> np.ndarray | None:
        if self.kind == "table":
            return None
        link = self.links[which]
        return link.parent_rows if self.kind == "parent" else link.child_rows

    def _parents_read(self, which: str) -> np.ndarray | None:
        """Parent rows with at least one joined child (None: all)."""
        return self.links[which].parents_read()

    def read(self, which: str) -> np.ndarray:
        """A child's values on the joined rows, in join order (a table's: all)."""

        def compute():
            values, rows = self.column.values(which), self.rows(which)
            return values if rows is None else values[rows]

        return self.cached("read", which, compute)

    def value_range(self, which: str) -> tuple[float, float] | None:
        if self.kind == "table":
            return self.column.value_range(which)
        if self.kind == "parent":
            read = self._parents_read(which)
            if read is None:
                return self.column.value_range(which)

            def compute():  # the read parents' range, without copying their values
                values = self.column.values(which)
                low = np.fmin.reduce(values, where=read, initial=np.nan)
                high = np.fmax.reduce(values, where=read, initial=np.nan)
                return None if np.isnan(low) else (float(low), float(high))

            return self.cached("range", which, compute)
        if self.read(which) is self.column.values(which):
            return self.column.value_range(which)
        return self.cached("range", which, lambda: _value_range(self.read(which)))

    def has_missing(self, which: str) -> bool:
        if self.kind == "table" or not self.column.has_missing(which):
            return self.column.has_missing(which)

        def compute():
            if self.kind == "parent":
                read = self._parents_read(which)
                missing = np.isnan(self.column.values(which))
                return bool(missing.any() if read is None else (missing & read).any())
            values = self.read(which)
            return bool(values.size) and bool(np.isnan(np.min(values)))

        return self.cached("has_missing", which, compute)

    def constant(self, which: str) -> bool:
        span = self.value_range(which)
        return span is not None and span[0] == span[1]

    def codes(self, which: str) -> np.ndarray:
        """The pair codes of the column's table rows, numbers cut with these rows' edges."""
        if not self.continuous or self.kind == "table":
            return self.column.codes(which)

        def compute():
            edges = _edges(self.value_range(which))
            base = self.column.edges(which)
            if (edges is None and base is None) or (
                edges is not None and base is not None and np.array_equal(edges, base)
            ):
                return self.column.codes(which)
            return _bins(self.column.values(which), edges)

        return self.cached("codes", which, compute)

    def size(self, which: str) -> int:
        if self.kind == "table":
            return self.column.values(which).size
        return self.links[which].parent_rows.size

    def code_max(self, which: str) -> int:
        def compute():
            codes, rows = self.codes(which), self.rows(which)
            if self.kind == "parent":
                read = self._parents_read(which)
                codes = codes if read is None else codes[read]
            elif rows is not None:
                codes = codes[rows]
            return int(codes.max(initial=0))

        return self.cached("code_max", which, compute)

    def pair_width(self) -> int:
        """The width of its side of a contingency table: a table's category column has
        one slot per category (and missing); anything else up to its largest code."""
        if self.kind == "table" and not self.continuous:
            return self.column.categories + 1
        return max(self.code_max("real"), self.code_max("synthetic")) + 1


def _continuous(series: pd.Series, sdtype: str, fmt: str | None) -> np.ndarray:
    if sdtype == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, format=fmt, errors="coerce")
        values = series.to_numpy(dtype="datetime64[ns]").view("int64").astype(float)
        if series.hasnans:
            values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _unsigned(codes: np.ndarray) -> np.ndarray | None:
    """Signed codes (-1 missing) as unsigned codes of the same width: -1 becomes the
    largest value, above any code. None for codes wider than 16 bits."""
    if codes.dtype == np.int8:
        return codes.view(np.uint8)
    if codes.dtype == np.int16:
        return codes.view(np.uint16)
    return None


def _first_seen(codes: np.ndarray, wanted: np.ndarray, missing: int) -> np.ndarray:
    """The codes of ``wanted`` (distinct, not ``missing``) in order of first appearance in
    ``codes``: every category present appears within some prefix of the rows (usually the
    first few hundred), and pd.unique keeps the order of appearance."""
    prefix = 1024
    while True:
        seen = pd.unique(codes[:prefix])
        seen = seen[np.isin(seen, wanted)]
        if seen.size == wanted.size or prefix >= codes.size:
            return seen
        prefix *= 16


def _shared_codes(
    real: np.ndarray, synthetic: np.ndarray, missing: int
) -> tuple[np.ndarray, np.ndarray, int, list[np.ndarray]]:
    """Codes 1, 2, ... (0 missing) numbering categories by first appearance in the real
    rows then the synthetic ones, as ``pd.factorize`` numbers the concatenated values, from
    two sides' unsigned codes on one shared list (``missing``: the code of an empty cell);
    and each side's count of rows per new code."""
    size = missing + 1
    counted = [_block_bincount(real, size), _block_bincount(synthetic, size)]
    in_real, in_synthetic = (np.flatnonzero(c[:missing]) for c in counted)
    order = _first_seen(real, in_real, missing)
    only_synthetic = np.setdiff1d(in_synthetic, in_real)
    if only_synthetic.size:
        order = np.concatenate([order, _first_seen(synthetic, only_synthetic, missing)])
    lookup = np.zeros(size, dtype=_small_dtype(order.size + 1))
    lookup[order] = np.arange(1, order.size + 1)
    out = []
    for codes in (real, synthetic):
        coded = np.empty(codes.size, dtype=lookup.dtype)
        for block in _blocks(codes.size):
            coded[block] = lookup[codes[block]]
        out.append(coded)
    # How many rows hold each new code, from the counts of the old ones.
    counts = [
        np.bincount(lookup, weights=c, minlength=order.size + 1).astype(np.int64) for c in counted
    ]
    return out[0], out[1], int(order.size), counts


def _category_codes(
    real: pd.Series, synthetic: pd.Series
) -> tuple[np.ndarray, np.ndarray, int, list[np.ndarray]] | None:
    """Both sides' codes as ``pd.factorize`` gives them for the concatenated values (in
    order of first appearance, 0 missing, 1.. the categories), from the category codes of
    two pandas ``category`` columns or two numpy boolean columns: small integers instead
    of hashed strings, with each side's count of rows per code. The synthetic side's
    categories are first put on the real side's (the union: same value, same number), so
    equal values share a number. None when the columns are not such."""
    if real.dtype == bool and synthetic.dtype == bool:
        as_codes = [s.to_numpy().view(np.uint8) for s in (real, synthetic)]
        return _shared_codes(as_codes[0], as_codes[1], 2)
    if not (
        isinstance(real.dtype, pd.CategoricalDtype)
        and isinstance(synthetic.dtype, pd.CategoricalDtype)
    ):
        return None
    real_categories, synthetic_categories = real.cat.categories, synthetic.cat.categories
    real_codes, synthetic_codes = real.cat.codes.to_numpy(), synthetic.cat.codes.to_numpy()
    if not real_categories.equals(synthetic_categories):
        union = real_categories.append(synthetic_categories.difference(real_categories, sort=False))
        mapping = np.append(union.get_indexer(synthetic_categories), -1)  # -1 stays missing
        dtype = np.int8 if union.size < 1 << 7 else np.int16 if union.size < 1 << 15 else np.int64
        mapping = mapping.astype(dtype)
        mapped = np.empty(synthetic_codes.size, dtype=dtype)
        for block in _blocks(synthetic_codes.size):
            mapped[block] = mapping[synthetic_codes[block]]
        synthetic_codes = mapped
        real_codes = real_codes.astype(dtype, copy=False)
    real_u, synthetic_u = _unsigned(real_codes), _unsigned(synthetic_codes)
    if real_u is None or synthetic_u is None or real_u.dtype != synthetic_u.dtype:
        return None
    return _shared_codes(real_u, synthetic_u, int(np.iinfo(real_u.dtype).max))


def _encode(real: pd.Series, synthetic: pd.Series, sdtype: str, fmt: str | None) -> _Column:
    if sdtype in CONTINUOUS:
        return _Column(sdtype, _continuous(real, sdtype, fmt), _continuous(synthetic, sdtype, fmt))
    coded = _category_codes(real, synthetic)
    if coded is not None:
        real_codes, synthetic_codes, count, counts = coded
        column = _Column(sdtype, real_codes, synthetic_codes, categories=count)
        column.cached("counts", "real", lambda: counts[0])
        column.cached("counts", "synthetic", lambda: counts[1])
        return column
    codes, uniques = pd.factorize(pd.concat([real, synthetic], ignore_index=True), sort=False)
    codes = (codes + 1).astype(_small_dtype(len(uniques) + 1))  # missing (-1) becomes 0
    return _Column(sdtype, codes[: len(real)], codes[len(real) :], categories=len(uniques))


def _encoded_table(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: dict[str, str], formats
) -> dict[str, _Column]:
    return {
        name: _encode(real[name], synthetic[name], sdtype, formats.get(name))
        for name, sdtype in columns.items()
        if sdtype in _SDTYPES
    }


def _whole(values: np.ndarray) -> bool:
    # A prefix first: most columns that are not whole numbers show it at once.
    head = values[:1024]
    if not np.array_equal(head, np.floor(head)):
        return False
    return all(np.array_equal(values[b], np.floor(values[b])) for b in _blocks(values.size))


def _whole_numbers_ks(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """``ks_complement`` of two samples of whole numbers spanning a short range (children
    per parent, ages), by counting instead of sorting: both ECDFs at every whole number
    of the range, whose largest gap is the one at the observed values. None when the
    samples are not such (the caller then sorts)."""
    low = min(np.fmin.reduce(real), np.fmin.reduce(synthetic))
    high = max(np.fmax.reduce(real), np.fmax.reduce(synthetic))
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    span = high - low
    if span > max(real.size + synthetic.size, 1 << 16) or low != math.floor(low):
        return None
    if not (_whole(real) and _whole(synthetic)):
        return None
    width = int(span) + 1
    real_cdf = np.cumsum(np.bincount((real - low).astype(np.int64), minlength=width)) / real.size
    synthetic_cdf = (
        np.cumsum(np.bincount((synthetic - low).astype(np.int64), minlength=width)) / synthetic.size
    )
    return float(1.0 - float(np.max(np.abs(real_cdf - synthetic_cdf))))


def _ks(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    if real.size and np.isnan(np.min(real)):
        real = real[~np.isnan(real)]
    if synthetic.size and np.isnan(np.min(synthetic)):
        synthetic = synthetic[~np.isnan(synthetic)]
    if real.size == 0 or synthetic.size == 0:
        return None
    counted = _whole_numbers_ks(real, synthetic)
    return counted if counted is not None else _sorted_ks(real, synthetic)


def _stretches(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Every index of the ranges [low[k], high[k]), in order."""
    lengths = high - low
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    starts = np.repeat(low - (np.cumsum(lengths) - lengths), lengths)
    return starts + np.arange(total)


def _gaps_at(own: np.ndarray, other: np.ndarray, at: np.ndarray) -> float:
    """The largest ECDF gap at the distinct values of sorted ``own`` among indices ``at``
    (whole runs of equal values): ``shapes.ks_complement``'s arithmetic at those values."""
    if at.size == 0:
        return 0.0
    following = np.minimum(at + 1, own.size - 1)
    last = at[(own[at] != own[following]) | (at == own.size - 1)]
    cdf_own = (last + 1) / own.size
    cdf_other = np.searchsorted(other, own[last], side="right") / other.size
    return float(np.max(np.abs(cdf_own - cdf_other)))


def _sorted_ks(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``ks_complement`` of two non-empty samples without missing values: the largest gap
    between the ECDFs at each distinct value of either sample, with the same arithmetic,
    so the same float. Values are first counted below KS_BUCKETS quantiles of the real
    sample (``edges``). The gap just below an edge is the gap at the largest value of
    either sample below it (or 0): it is attained, so their largest is a floor. Between
    two edges each ECDF rises by the share of its values there, which bounds the gap; only
    the stretches whose bound reaches the floor are compared value by value."""
    real, synthetic = np.sort(real), np.sort(synthetic)
    n, m = real.size, synthetic.size
    edges = real[:: max(n // KS_BUCKETS, 1)]
    real_below = np.searchsorted(real, edges, side="left")
    synthetic_below = np.searchsorted(synthetic, edges, side="left")
    floor = float(np.max(np.abs(real_below / n - synthetic_below / m)))
    real_low, real_high = np.append(0, real_below), np.append(real_below, n)
    synthetic_low, synthetic_high = np.append(0, synthetic_below), np.append(synthetic_below, m)
    bound = np.maximum(real_high / n - synthetic_low / m, synthetic_high / m - real_low / n)
    near = bound >= floor - 1e-9  # a margin far above the rounding of either side
    gap = max(
        floor,
        _gaps_at(real, synthetic, _stretches(real_low[near], real_high[near])),
        _gaps_at(synthetic, real, _stretches(synthetic_low[near], synthetic_high[near])),
    )
    return float(1.0 - gap)


def _shape(col: _Column) -> float | None:
    if col.continuous:
        return _ks(col.real, col.synthetic)
    real, synthetic = col.counts("real"), col.counts("synthetic")
    real_present = col.real.size - real[0]
    synthetic_present = col.synthetic.size - synthetic[0]
    if real_present == 0 or synthetic_present == 0:
        return None
    # Up to the largest code either side holds, as np.bincount of the codes counts them.
    size = int(max(np.flatnonzero(real)[-1], np.flatnonzero(synthetic)[-1])) + 1
    p = real[1:size] / real_present
    q = synthetic[1:size] / synthetic_present
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _cramers_v(table: np.ndarray) -> float:
    """Cramér's V of a two-way table of counts whose rows and columns all have a count:
    ``scipy.stats.contingency.association(table, method="cramer")`` operation for
    operation (the same floats), without importing SciPy (most of a second's CPU in a
    fresh worker process)."""
    observed = table.astype(np.float64)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
    expected = expected / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    phi2 = statistic / table.sum()
    return math.sqrt(phi2 / min(table.shape[0] - 1, table.shape[1] - 1))


def _mixed(streams: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Codes of several columns of the same rows as one code (first column most
    significant), block by block."""
    width = math.prod(w for _, w in streams)
    out = np.empty(streams[0][0].size, dtype=_small_dtype(width))
    for block in _blocks(out.size):
        combined = streams[0][0][block].astype(np.intp)
        for codes, w in streams[1:]:
            combined *= w
            combined += codes[block]
        out[block] = combined
    return out


def _counts(streams: list[tuple[np.ndarray, int, np.ndarray | None]], size: int) -> np.ndarray:
    """How many of the ``size`` compared rows hold each combination of the streams' codes:
    a stream is (codes, width, rows), row j reading ``codes[rows[j]]`` (``codes[j]`` when
    rows is None). Streams reading through the same rows are combined on their own
    table's rows first, so each block reads through them once."""
    widths = [w for _, w, _ in streams]
    merged: list[tuple[list[tuple[np.ndarray, int]], np.ndarray | None]] = []
    for codes, width, rows in streams:
        if merged and rows is not None and merged[-1][1] is rows:
            merged[-1][0].append((codes, width))
        else:
            merged.append(([(codes, width)], rows))
    parts = [
        (group[0][0] if len(group) == 1 else _mixed(group), math.prod(w for _, w in group), rows)
        for group, rows in merged
    ]
    cells = math.prod(widths)
    counts = np.zeros(cells, dtype=np.int64)
    for block in _blocks(size):
        combined = None
        for codes, width, rows in parts:
            part = codes[block] if rows is None else codes[rows[block]]
            if combined is None:
                combined = part.astype(np.intp)
            else:
                combined *= width
                combined += part
        counts += np.bincount(combined, minlength=cells)
    return counts.reshape(widths)


def _contingency(real: np.ndarray, synthetic, real_rows: int, synthetic_rows: int) -> dict:
    """ContingencySimilarity of a pair from its real table of counts and a function giving
    the synthetic one (only asked when the real association passes the threshold)."""
    out = {"metric": "ContingencySimilarity", "real_association": None}
    # Cramér's V on the real table's observed categories only, as SDMetrics' unstack does.
    observed = real[real.sum(axis=1) > 0][:, real.sum(axis=0) > 0]
    if observed.sum() == 0 or min(observed.shape) < 2:
        return {**out, "score": None, "meets_threshold": False}
    association = _cramers_v(observed)
    out["real_association"] = association
    if not association > REAL_ASSOCIATION_THRESHOLD:
        return {**out, "score": None, "meets_threshold": False}
    p = real.ravel() / max(real_rows, 1)
    q = synthetic().ravel() / max(synthetic_rows, 1)
    return {**out, "score": float(1.0 - 0.5 * np.abs(p - q).sum()), "meets_threshold": True}


def _pearson_present(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r on the rows where both are present."""
    if np.isnan(np.min(x, initial=0.0)) or np.isnan(np.min(y, initial=0.0)):
        both = ~(np.isnan(x) | np.isnan(y))
        x, y = x[both], y[both]
    if x.size < 2:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(_dot(x, x) * _dot(y, y))
    return _dot(x, y) / denominator if denominator > 0 else math.nan


def _table_pearson(a: _Member, b: _Member, which: str) -> float:
    x, y = a.column.values(which), b.column.values(which)
    if a.has_missing(which) or b.has_missing(which):
        return _pearson_present(x, y)
    if x.size < 2:
        return math.nan
    (mean_x, xx), (mean_y, yy) = a.column.moments(which), b.column.moments(which)
    denominator = math.sqrt(xx * yy)
    return _centred_sum(x, mean_x, y, mean_y) / denominator if denominator > 0 else math.nan


def _joined_pearson(parent: _Member, child: _Member, which: str) -> float:
    """Pearson's r of a parent's and a child's column over the joined rows. With nothing
    missing and every value finite, from sums per parent row instead of one copy of the
    parent's values per child: for parent weights n (children joined), x's mean over the
    joined rows is n·x / N, and the cross sum is the sum over parents of
    (x - mean_x) * (S - n * mean_y), S the sum of the child's values per parent."""
    link = parent.links[which]
    x, y = parent.column.values(which), child.read(which)
    finite = not parent.column.has_missing(which) and not child.has_missing(which)
    span = parent.column.value_range(which)
    finite = finite and span is not None and math.isfinite(span[0]) and math.isfinite(span[1])
    if not finite:
        rows = child.rows(which)
        joined_y = child.column.values(which) if rows is None else child.column.values(which)[rows]
        return _pearson_present(x[link.parent_rows], joined_y)
    if y.size < 2:
        return math.nan

    weights = link.weights()

    def parent_facts():
        mean = _dot(weights, x) / y.size
        total = 0.0
        for block in _blocks(x.size):
            centred = x[block] - mean
            total += _dot(weights[block] * centred, centred)
        return mean, total

    def child_facts():
        mean = float(y.mean())
        sums = np.bincount(link.parent_rows, weights=y, minlength=x.size)
        sums -= weights * mean
        return sums, _centred_sum(y, mean)

    mean_x, xx = parent.cached("joined_moments", which, parent_facts)
    sums, yy = child.cached("joined_sums", which, child_facts)
    denominator = math.sqrt(xx * yy)
    cross = sum(_dot(x[block] - mean_x, sums[block]) for block in _blocks(x.size))
    return cross / denominator if denominator > 0 else math.nan


def _correlation(a: _Member, b: _Member) -> dict[str, Any]:
    out = {"metric": "CorrelationSimilarity", "score": None, "meets_threshold": False}
    if any(c.constant(which) for which in ("real", "synthetic") for c in (a, b)):
        return {**out, "real_correlation": None, "synthetic_correlation": None}
    pearson = _joined_pearson if a.kind == "parent" else _table_pearson
    real = pearson(a, b, "real")
    if math.isnan(real) or abs(real) <= REAL_CORRELATION_THRESHOLD:
        return {**out, "real_correlation": None if math.isnan(real) else real}
    synthetic = pearson(a, b, "synthetic")
    score = None if math.isnan(synthetic) else 1.0 - abs(real - synthetic) / 2.0
    return {
        **out,
        "score": score,
        "meets_threshold": True,
        "real_correlation": real,
        "synthetic_correlation": None if math.isnan(synthetic) else synthetic,
    }


def _pairs(members: list[_Member], pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The pair-trend figures of ``pairs`` of ``members`` (read on the same rows). Pairs
    with a category are scored from tables of counts: one count of every such column's
    codes together when small enough (each pair's table is then a sum of it), else a count
    per pair."""
    counted = sorted(
        {
            k
            for i, j in pairs
            for k in (i, j)
            if not members[i].continuous or not members[j].continuous
        }
    )
    joint = math.prod(members[k].column.code_width() for k in counted) <= JOINT_CELLS
    totals: dict[str, np.ndarray] = {}

    def stream(k: int, which: str):
        member = members[k]
        return member.codes(which), member.column.code_width(), member.rows(which)

    def table(i: int, j: int, which: str) -> np.ndarray:
        size = members[i].size(which)
        if joint:
            if which not in totals:
                totals[which] = _counts([stream(k, which) for k in counted], size)
            both = totals[which]
            a, b = counted.index(i), counted.index(j)
            summed = both.sum(axis=tuple(k for k in range(both.ndim) if k not in (a, b)))
        else:
            summed = _counts([stream(i, which), stream(j, which)], size)
        return summed[: members[i].pair_width(), : members[j].pair_width()]

    out = []
    for i, j in pairs:
        a, b = members[i], members[j]
        if a.continuous and b.continuous:
            out.append(_correlation(a, b))
            continue
        out.append(
            _contingency(
                table(i, j, "real"),
                lambda i=i, j=j: table(i, j, "synthetic"),
                a.size("real"),
                a.size("synthetic"),
            )
        )
    return out


def _mean(scores: list[float | None]) -> float | None:
    kept = [s for s in scores if s is not None and not math.isnan(s)]
    return float(np.mean(kept)) if kept else None


def _counted(pairs: list[dict[str, Any]]) -> float | None:
    return _mean([p["score"] for p in pairs if p["meets_threshold"]])


def _children_per_parent(tables: dict[str, pd.DataFrame], rel: Relationship) -> np.ndarray:
    parent = tables[rel.parent_table][rel.parent_key]
    counts = tables[rel.child_table][rel.child_key].value_counts(dropna=False)
    return parent.map(counts).fillna(0).to_numpy(dtype=float)


@dataclass
class _Link:
    """A relationship's inner join on one side: for each joined row, the child's row number
    (None when every child row has its parent, in order) and the parent's; and the number
    of children of each parent row, as floats (parents without children count 0)."""

    child_rows: np.ndarray | None
    parent_rows: np.ndarray
    children: np.ndarray
    parents: int = 0
    _weights: np.ndarray | None = None
    _read: np.ndarray | bool | None = False

    def weights(self) -> np.ndarray:
        """How many joined rows each parent row is on (as floats)."""
        if self._weights is None:
            self._weights = np.bincount(self.parent_rows, minlength=self.parents).astype(float)
        return self._weights

    def parents_read(self) -> np.ndarray | None:
        """Which parent rows are on a joined row (None: every one)."""
        if self._read is False:
            read = self.weights() > 0
            self._read = None if bool(read.all()) else read
        return self._read


def _consecutive(parent: pd.Series) -> tuple[int, int] | None:
    """The first and last key when the parent keys are consecutive integers in order (the
    usual generated ids: k, k + 1, ...); None when they are not such."""
    keys = parent.to_numpy()
    if keys.dtype.kind != "i" or keys.size == 0:
        return None
    first, last = int(keys[0]), int(keys[-1])
    if last - first != keys.size - 1 or not bool(np.all(keys[1:] > keys[:-1])):
        return None
    return first, last


def _outside(wanted: np.ndarray, first: int, last: int) -> np.ndarray:
    """Integer child keys matching no consecutive parent key first..last."""
    return (wanted < first) | (wanted > last)


def _joined_rows(
    wanted: np.ndarray, joined: np.ndarray, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """The child rows marked ``joined`` and their parents' rows (key - first), block by
    block, as 32-bit integers when they fit (half the memory of a million-row join)."""
    dtype = np.int32 if max(wanted.size, int(wanted.max(initial=0)) - first) < 2**31 else np.intp
    size = int(np.count_nonzero(joined))
    child_rows, parent_rows = np.empty(size, dtype=dtype), np.empty(size, dtype=dtype)
    done = 0
    for block in _blocks(wanted.size):
        rows = np.flatnonzero(joined[block])
        end = done + rows.size
        np.subtract(wanted[block][rows], first, out=parent_rows[done:end], casting="unsafe")
        np.add(rows, block.start, out=child_rows[done:end], casting="unsafe")
        done = end
    return child_rows, parent_rows


def _consecutive_positions(parent: pd.Series, child: pd.Series) -> np.ndarray | None:
    """Each child key's parent row number (-1: none) when the parent keys are consecutive
    integers in order: a subtraction instead of a hash table. None when the keys are not
    such."""
    span, wanted = _consecutive(parent), child.to_numpy()
    if span is None or wanted.dtype.kind not in "if":
        return None
    first, last = span
    size = last - first + 1
    if wanted.dtype.kind == "i":
        position = wanted.astype(np.int64) - first
        position[(position < 0) | (position >= size)] = -1
        return position
    if max(abs(first), abs(last)) >= 2**53:
        return None  # past 2**53 a float key no longer compares exactly with an integer
    offset = wanted - first  # exact: both are whole numbers below 2**53 when they match
    with np.errstate(invalid="ignore"):
        found = (offset >= 0) & (offset < size) & (offset == np.floor(offset))
    return np.where(found, np.nan_to_num(offset), -1).astype(np.int64)


def _link(tables: dict[str, pd.DataFrame], rel: Relationship) -> _Link:
    parent = tables[rel.parent_table][rel.parent_key]
    child = tables[rel.child_table][rel.child_key]
    parents = len(parent)
    # The keys' arrays as they are (row positions are all the join needs; resetting the
    # index would copy them).
    span, wanted = _consecutive(parent), child.to_numpy()
    if span is not None and wanted.dtype.kind == "i":
        # Integer keys against consecutive parent keys: a parent's row is key - first.
        first, last = span
        outside = _outside(wanted, first, last)
        if not outside.any():
            child_rows = None
            parent_rows = wanted if first == 0 else wanted - first
        else:
            child_rows, parent_rows = _joined_rows(wanted, ~outside, first)
        link = _Link(child_rows, parent_rows, np.empty(0), parents)
        link.children = link.weights()
        return link
    parent, child = parent.reset_index(drop=True), child.reset_index(drop=True)
    position = _consecutive_positions(parent, child)
    if position is None:
        index = pd.Index(parent)
        if index.is_unique:  # one parent row per key: no join table needed
            position = index.get_indexer(child)
    if position is None:
        left = pd.DataFrame({"k": child, "c": np.arange(len(child))})
        right = pd.DataFrame({"k": parent, "p": np.arange(len(parent))})
        merged = left.merge(right, on="k", how="inner")
        child_rows, parent_rows = merged["c"].to_numpy(), merged["p"].to_numpy()
        return _Link(child_rows, parent_rows, _children_per_parent(tables, rel), parents)
    child_rows = np.flatnonzero(position >= 0)
    parent_rows = position[child_rows]
    link = _Link(
        None if child_rows.size == len(child) else child_rows, parent_rows, np.empty(0), parents
    )
    if parent.hasnans:  # a parent with an empty key counts the children with none
        link.children = _children_per_parent(tables, rel)
    else:
        link.children = link.weights()
    return link


@dataclass
class RelationalQuality:
    """The five quality figures of a multi-table comparison."""

    column_shapes: list[dict[str, Any]]
    column_pairs: list[dict[str, Any]]
    cardinality: list[dict[str, Any]]
    intertable_pairs: list[dict[str, Any]]

    def scores(self) -> dict[str, float | None]:
        return {
            "Column Shapes": _mean([c["score"] for c in self.column_shapes]),
            "Column Pair Trends": _counted(self.column_pairs),
            "Cardinality": _mean([c["score"] for c in self.cardinality]),
            "Intertable Trends": _counted(self.intertable_pairs),
        }

    def overall(self) -> float | None:
        return _mean(list(self.scores().values()))


def relational_quality(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: RelationalSchema
) -> RelationalQuality:
    """Compute every property of SDMetrics' multi-table quality report on every row."""
    schema.check(real, "reference")
    schema.check(synthetic, "synthetic")
    shapes, pairs, cardinality, intertable = [], [], [], []
    encoded: dict[str, dict[str, _Column]] = {}
    for table, columns in schema.columns.items():
        formats = {c: f for (t, c), f in schema.datetime_formats.items() if t == table}
        encoded[table] = cols = _encoded_table(real[table], synthetic[table], columns, formats)
        for name, col in cols.items():
            shapes.append(
                {
                    "table": table,
                    "column": name,
                    "score": _shape(col),
                    "metric": "KSComplement" if col.continuous else "TVComplement",
                }
            )
        names = list(cols)
        members = [_Member(cols[name]) for name in names]
        couples = list(itertools.combinations(range(len(names)), 2))
        for (i, j), result in zip(couples, _pairs(members, couples), strict=True):
            pairs.append({"table": table, "column_1": names[i], "column_2": names[j], **result})
    for rel in schema.relationships:
        links = {"real": _link(real, rel), "synthetic": _link(synthetic, rel)}
        real_counts, synthetic_counts = links["real"].children, links["synthetic"].children
        real_max = float(real_counts.max(initial=0))
        cardinality.append(
            {
                **rel.to_json(),
                "score": _ks(real_counts, synthetic_counts),
                "real_max_children": real_max,
                "synthetic_max_children": float(synthetic_counts.max(initial=0)),
                "synthetic_parents_above_real_max": int((synthetic_counts > real_max).sum()),
                "real_mean_children": float(real_counts.mean()) if real_counts.size else None,
                "synthetic_mean_children": float(synthetic_counts.mean())
                if synthetic_counts.size
                else None,
            }
        )
        intertable += _intertable(encoded, rel, links)
    return RelationalQuality(shapes, pairs, cardinality, intertable)


def _intertable(
    encoded: dict[str, dict[str, _Column]], rel: Relationship, links: dict[str, _Link]
) -> list[dict[str, Any]]:
    # A number's pair bins are recut on the joined values, as SDMetrics cuts them on the
    # denormalised table (``_Member.codes``).
    parent_names, child_names = list(encoded[rel.parent_table]), list(encoded[rel.child_table])
    members = [_Member(encoded[rel.parent_table][n], "parent", links) for n in parent_names]
    members += [_Member(encoded[rel.child_table][n], "child", links) for n in child_names]
    couples = [
        (i, len(parent_names) + j)
        for i, j in itertools.product(range(len(parent_names)), range(len(child_names)))
    ]
    return [
        {
            **rel.to_json(),
            "parent_column": parent_names[i],
            "child_column": child_names[j - len(parent_names)],
            **result,
        }
        for (i, j), result in zip(couples, _pairs(members, couples), strict=True)
    ]


def _property_result(key: str, value: float | None, details: dict, rows: int) -> MetricResult:
    if value is None:
        return skipped(key, "higher", details.pop("reason"), details=details)
    details.pop("reason", None)
    return MetricResult(
        key=key,
        value=value,
        direction="higher",
        details=details,
        sample_size=rows,
        population=rows,
    )


def _cardinality_finding(per: list[dict[str, Any]]) -> str | None:
    sentences = []
    for rel in per:
        names = f"{rel['child_table']} rows per {rel['parent_table']} row"
        if rel["synthetic_parents_above_real_max"]:
            sentences.append(
                f"{rel['synthetic_parents_above_real_max']} synthetic {rel['parent_table']} "
                f"rows have more {rel['child_table']} rows (up to "
                f"{rel['synthetic_max_children']:.0f}) than any real one "
                f"({rel['real_max_children']:.0f})."
            )
        elif rel["score"] is not None and rel["score"] < 0.8:
            sentences.append(
                f"The number of {names} is distributed unlike the reference's "
                f"(score {rel['score']:.2f})."
            )
    return " ".join(sentences) or None


def relational_quality_metrics(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: RelationalSchema
) -> list[MetricResult]:
    """``quality.cardinality_shapes``, ``quality.intertable_trends`` and
    ``quality.relational_overall`` (with the four property scores in its details)."""
    quality = relational_quality(real, synthetic, schema)
    scores = quality.scores()
    rows = sum(len(frame) for frame in synthetic.values())
    common = {
        "engine": "synthgov",
        "definition": "SDMetrics 0.32 multi-table QualityReport",
        "real_correlation_threshold": REAL_CORRELATION_THRESHOLD,
        "real_association_threshold": REAL_ASSOCIATION_THRESHOLD,
    }
    cardinality = _property_result(
        "quality.cardinality_shapes",
        scores["Cardinality"],
        {"relationships": quality.cardinality, "reason": "the version declares no foreign keys"},
        rows,
    )
    cardinality.finding = _cardinality_finding(quality.cardinality)
    intertable = _property_result(
        "quality.intertable_trends",
        scores["Intertable Trends"],
        {
            **common,
            "pairs": quality.intertable_pairs,
            "reason": "no parent-child column pair has a real correlation above 0.5 or a "
            "real association above 0.3 (or the version declares no foreign keys)",
        },
        rows,
    )
    overall = _property_result(
        "quality.relational_overall",
        quality.overall(),
        {
            **common,
            "properties": [{"property": k, "score": v} for k, v in scores.items()],
            "column_shapes": quality.column_shapes,
            "column_pairs": quality.column_pairs,
            "reason": "no property could be scored",
        },
        rows,
    )
    if overall.value is not None:
        overall.finding = (
            f"Overall multi-table quality score is {overall.value:.2f} (SDMetrics' "
            "multi-table quality report definition, 0 to 1)."
        )
    return [overall, cardinality, intertable]
