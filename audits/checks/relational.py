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
    present = child.notna()
    position = _consecutive_positions(parent.reset_index(drop=True), child)
    if position is not None:
        orphan = present & (position < 0)
    else:
        orphan = present & ~child.isin(parent.dropna())
    rows = len(child)
    count = int(orphan.sum())
    return {
        **rel.to_json(),
        "child_rows": rows,
        "empty_key_rows": int((~present).sum()),
        "orphan_rows": count,
        "orphan_rate": count / rows if rows else 0.0,
        "dangling_keys": int(child[orphan].nunique()),
        "examples": _examples(child[orphan]),
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


class _Column:
    """One scored column of a real/synthetic pair, encoded once.

    Numbers and dates hold floats (NaN = missing); categories and booleans hold codes with
    0 = missing and 1, 2, ... the categories (the codes every pair's contingency table
    needs, so no pair recodes them). What the pairs ask of a side (whether it has missing
    values, its range, its pair bins) is computed once, when first asked. A column taken on
    the rows of a parent-child join keeps its table's column as ``base``; a side taken on
    every row in order (``rows`` None) is the base's, facts included."""

    def __init__(
        self,
        sdtype: str,
        real: np.ndarray,
        synthetic: np.ndarray,
        base: _Column | None = None,
        rows: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
        categories: int | None = None,
    ):
        self.sdtype = sdtype
        self.categories = categories  # a table's category column: how many it has
        self.continuous = sdtype in CONTINUOUS
        self.real = real
        self.synthetic = synthetic
        self._base = base
        self._rows = {"real": rows[0], "synthetic": rows[1]}
        self._facts: dict[tuple[str, str], Any] = {}

    def values(self, which: str) -> np.ndarray:
        return self.real if which == "real" else self.synthetic

    def taken(self, real_rows: np.ndarray | None, synthetic_rows: np.ndarray | None) -> _Column:
        """The column on the joined rows (None: every row, in order)."""
        real = self.real if real_rows is None else self.real[real_rows]
        synthetic = self.synthetic if synthetic_rows is None else self.synthetic[synthetic_rows]
        return _Column(self.sdtype, real, synthetic, self, (real_rows, synthetic_rows))

    def _cached(self, name: str, which: str, compute):
        if self._base is not None and self._rows[which] is None:
            return getattr(self._base, name)(which)
        key = (name, which)
        if key not in self._facts:
            self._facts[key] = compute()
        return self._facts[key]

    def has_missing(self, which: str) -> bool:
        # np.min propagates NaN: one reduction, no array of flags.
        def compute():
            values = self.values(which)
            return bool(values.size) and bool(np.isnan(np.min(values)))

        return self._cached("has_missing", which, compute)

    def centred(self, which: str) -> tuple[np.ndarray, float]:
        """The values minus their mean, and the sum of their squares (no value missing)."""

        def compute():
            values = self.values(which)
            centred = values - values.mean() if values.size else values
            return centred, float(centred @ centred)

        return self._cached("centred", which, compute)

    def value_range(self, which: str) -> tuple[float, float] | None:
        """The smallest and largest present value; None when no value is present."""

        def compute():
            values = self.values(which)
            low = np.fmin.reduce(values) if values.size else np.nan
            return None if np.isnan(low) else (float(low), float(np.fmax.reduce(values)))

        return self._cached("value_range", which, compute)

    def constant(self, which: str) -> bool:
        span = self.value_range(which)
        return span is not None and span[0] == span[1]

    def edges(self, which: str) -> np.ndarray | None:
        # np.histogram_bin_edges reads only the smallest and largest value: the same edges
        # as from every present value, without copying them.
        def compute():
            span = self.value_range(which)
            return None if span is None else np.histogram_bin_edges(np.array(span), PAIR_BINS)

        return self._cached("edges", which, compute)

    def pair_codes(self, which: str) -> np.ndarray:
        """Categories: the codes. Numbers and dates: SDMetrics' pair bins, np.digitize
        against the 10 equal-width bin edges of the present values (cut on these rows); a
        missing value lands past the last edge, code PAIR_BINS + 1."""
        if not self.continuous:
            return self.values(which)

        def compute():
            values, edges = self.values(which), self.edges(which)
            if edges is None:
                return np.full(values.shape, PAIR_BINS + 1, dtype=np.int64)
            if self._base is not None:  # taken on joined rows: cut the base, then take
                rows = self._rows[which]
                if np.array_equal(edges, self._base.edges(which)):
                    return self._base.pair_codes(which)[rows]
                base = self._base.values(which)
                if base.size < values.size:
                    return _digitize(base, edges)[rows]
            return _digitize(values, edges)

        return self._cached("pair_codes", which, compute)

    def code_max(self, which: str) -> int:
        return self._cached("code_max", which, lambda: int(self.pair_codes(which).max(initial=0)))

    def pair_width(self) -> int:
        """One more than the largest pair code of either side."""
        if self.categories is not None:  # codes 1..categories, both sides coded together
            return self.categories + 1
        return max(self.code_max("real"), self.code_max("synthetic")) + 1


def _digitize(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.digitize(values, edges).astype(np.int64, copy=False)


def _continuous(series: pd.Series, sdtype: str, fmt: str | None) -> np.ndarray:
    if sdtype == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, format=fmt, errors="coerce")
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _category_codes(real: pd.Series, synthetic: pd.Series) -> tuple[np.ndarray, int] | None:
    """Both sides' codes as ``pd.factorize`` gives them for the concatenated values (in
    order of first appearance, -1 missing), from the category codes of two pandas
    ``category`` columns: integers are hashed instead of strings. The synthetic side's
    categories are first put on the real side's (the union: same value, same number), so
    equal values share a number; factorizing those numbers then numbers each value by its
    first appearance, exactly as factorizing the values does. None when a side is not a
    category column."""
    if not (
        isinstance(real.dtype, pd.CategoricalDtype)
        and isinstance(synthetic.dtype, pd.CategoricalDtype)
    ):
        return None
    real_categories, synthetic_categories = real.cat.categories, synthetic.cat.categories
    if real_categories.equals(synthetic_categories):
        synthetic_codes = synthetic.cat.codes.to_numpy()
    else:
        union = real_categories.append(synthetic_categories.difference(real_categories, sort=False))
        mapping = union.get_indexer(synthetic_categories)
        codes = synthetic.cat.codes.to_numpy()
        synthetic_codes = np.where(codes >= 0, mapping[codes], -1)
    joined = np.concatenate([real.cat.codes.to_numpy(), synthetic_codes]).astype(np.int64)
    # Number the categories by first appearance: every category present appears within
    # some prefix of the rows (usually the first few hundred), and pd.unique keeps the
    # order of appearance; then one table lookup recodes every row.
    shifted = joined + 1  # missing: 0
    present = np.flatnonzero(np.bincount(shifted)[1:]) + 1
    prefix = 1024
    while True:
        seen = pd.unique(shifted[:prefix])
        seen = seen[seen > 0]
        if seen.size == present.size or prefix >= shifted.size:
            break
        prefix *= 16
    lookup = np.full(int(shifted.max(initial=0)) + 1, -1, dtype=np.int64)
    lookup[seen] = np.arange(seen.size)
    return lookup[shifted], int(seen.size)


def _encode(real: pd.Series, synthetic: pd.Series, sdtype: str, fmt: str | None) -> _Column:
    if sdtype in CONTINUOUS:
        return _Column(sdtype, _continuous(real, sdtype, fmt), _continuous(synthetic, sdtype, fmt))
    coded = _category_codes(real, synthetic)
    if coded is not None:
        codes, count = coded
        codes += 1  # missing (-1) becomes category 0
        return _Column(sdtype, codes[: len(real)], codes[len(real) :], categories=count)
    codes, uniques = pd.factorize(pd.concat([real, synthetic], ignore_index=True), sort=False)
    codes = codes.astype(np.int64, copy=False) + 1  # missing (-1) becomes category 0
    return _Column(sdtype, codes[: len(real)], codes[len(real) :], categories=len(uniques))


def _encoded_table(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: dict[str, str], formats
) -> dict[str, _Column]:
    return {
        name: _encode(real[name], synthetic[name], sdtype, formats.get(name))
        for name, sdtype in columns.items()
        if sdtype in _SDTYPES
    }


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
    if not (
        np.array_equal(real, np.floor(real)) and np.array_equal(synthetic, np.floor(synthetic))
    ):
        return None
    width = int(span) + 1
    real_cdf = np.cumsum(np.bincount((real - low).astype(np.int64), minlength=width)) / real.size
    synthetic_cdf = (
        np.cumsum(np.bincount((synthetic - low).astype(np.int64), minlength=width)) / synthetic.size
    )
    return float(1.0 - float(np.max(np.abs(real_cdf - synthetic_cdf))))


def _ks(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    if np.isnan(real).any():
        real = real[~np.isnan(real)]
    if np.isnan(synthetic).any():
        synthetic = synthetic[~np.isnan(synthetic)]
    if real.size == 0 or synthetic.size == 0:
        return None
    counted = _whole_numbers_ks(real, synthetic)
    return counted if counted is not None else _sorted_ks(real, synthetic)


def _sorted_ks(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``ks_complement`` of two non-empty samples without missing values, with one binary
    search where it makes two. Both ECDFs are evaluated at each distinct value of either
    sample, as there. ``below[k]``, how many synthetic values are smaller than the k-th
    distinct real value, gives both: the synthetic ECDF at that value (plus the synthetic
    values equal to it), and the real ECDF at the j-th synthetic value (the real values
    whose ``below`` is at most j)."""
    real, synthetic = np.sort(real), np.sort(synthetic)
    n, m = real.size, synthetic.size
    last = np.flatnonzero(np.append(real[1:] != real[:-1], True))
    distinct = real[last]
    below = np.searchsorted(synthetic, distinct, side="left")
    at_most = below.copy()
    tied = below < m
    tied[tied] = synthetic[below[tied]] == distinct[tied]
    if tied.any():
        at_most[tied] = np.searchsorted(synthetic, distinct[tied], side="right")
    gap = float(np.max(np.abs((last + 1) / n - at_most / m)))
    repeats = np.diff(last, prepend=-1)  # how many real values each distinct one stands for
    real_upto = np.cumsum(np.bincount(below, weights=repeats, minlength=m + 1))[:m]
    own = np.flatnonzero(np.append(synthetic[1:] != synthetic[:-1], True))
    gap = max(gap, float(np.max(np.abs((own + 1) / m - real_upto[own] / n))))
    return float(1.0 - gap)


def _shape(col: _Column) -> float | None:
    if col.continuous:
        return _ks(col.real, col.synthetic)
    real, synthetic = np.bincount(col.real), np.bincount(col.synthetic)
    real_present = col.real.size - (real[0] if real.size else 0)
    synthetic_present = col.synthetic.size - (synthetic[0] if synthetic.size else 0)
    if real_present == 0 or synthetic_present == 0:
        return None
    size = max(real.size, synthetic.size)
    p = np.pad(real, (0, size - real.size))[1:] / real_present
    q = np.pad(synthetic, (0, size - synthetic.size))[1:] / synthetic_present
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _cramers_v(table: np.ndarray) -> float:
    from scipy.stats.contingency import association

    return float(association(table, method="cramer"))


def _combined(rows: np.ndarray, width: int, columns: np.ndarray) -> np.ndarray:
    # rows * width + columns, with one temporary array instead of two
    out = np.multiply(rows, width)
    out += columns
    return out


def _contingency(a: _Column, b: _Column) -> dict[str, Any]:
    ra, rb = a.pair_codes("real"), b.pair_codes("real")
    width, height = b.pair_width(), a.pair_width()
    real = np.bincount(_combined(ra, width, rb), minlength=width * height).reshape(height, width)
    out = {"metric": "ContingencySimilarity", "real_association": None}
    # Cramér's V on the real table's observed categories only, as SDMetrics' unstack does.
    observed = real[real.sum(axis=1) > 0][:, real.sum(axis=0) > 0]
    if observed.sum() == 0 or min(observed.shape) < 2:
        return {**out, "score": None, "meets_threshold": False}
    association = _cramers_v(observed)
    out["real_association"] = association
    if not association > REAL_ASSOCIATION_THRESHOLD:
        return {**out, "score": None, "meets_threshold": False}
    sa, sb = a.pair_codes("synthetic"), b.pair_codes("synthetic")
    synthetic = np.bincount(_combined(sa, width, sb), minlength=width * height)
    p = real.ravel() / max(len(ra), 1)
    q = synthetic / max(len(sa), 1)
    return {**out, "score": float(1.0 - 0.5 * np.abs(p - q).sum()), "meets_threshold": True}


def _pearson(a: _Column, b: _Column, which: str) -> float:
    if a.has_missing(which) or b.has_missing(which):
        x, y = a.values(which), b.values(which)
        both = ~(np.isnan(x) | np.isnan(y))
        x, y = x[both], y[both]
        if x.size < 2:
            return math.nan
        x, y = x - x.mean(), y - y.mean()
        denominator = math.sqrt(float(x @ x) * float(y @ y))
        return float(x @ y) / denominator if denominator > 0 else math.nan
    # Every row counts: each column's centred values and their square sum serve all of
    # its pairs.
    (x, xx), (y, yy) = a.centred(which), b.centred(which)
    if x.size < 2:
        return math.nan
    denominator = math.sqrt(xx * yy)
    return float(x @ y) / denominator if denominator > 0 else math.nan


def _correlation(a: _Column, b: _Column) -> dict[str, Any]:
    out = {"metric": "CorrelationSimilarity", "score": None, "meets_threshold": False}
    if any(c.constant(which) for which in ("real", "synthetic") for c in (a, b)):
        return {**out, "real_correlation": None, "synthetic_correlation": None}
    real = _pearson(a, b, "real")
    if math.isnan(real) or abs(real) <= REAL_CORRELATION_THRESHOLD:
        return {**out, "real_correlation": None if math.isnan(real) else real}
    synthetic = _pearson(a, b, "synthetic")
    score = None if math.isnan(synthetic) else 1.0 - abs(real - synthetic) / 2.0
    return {
        **out,
        "score": score,
        "meets_threshold": True,
        "real_correlation": real,
        "synthetic_correlation": None if math.isnan(synthetic) else synthetic,
    }


def _pair(a: _Column, b: _Column) -> dict[str, Any]:
    if a.continuous and b.continuous:
        return _correlation(a, b)
    return _contingency(a, b)


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


def _consecutive_positions(parent: pd.Series, child: pd.Series) -> np.ndarray | None:
    """Each child key's parent row number (-1: none) when the parent keys are consecutive
    integers in order (the usual generated ids: k, k + 1, ...): a subtraction instead of
    a hash table. None when the keys are not such."""
    keys, wanted = parent.to_numpy(), child.to_numpy()
    if keys.dtype.kind != "i" or keys.size == 0 or wanted.dtype.kind not in "if":
        return None
    first, last = int(keys[0]), int(keys[-1])
    if last - first != keys.size - 1 or not bool(np.all(keys[1:] > keys[:-1])):
        return None
    if wanted.dtype.kind == "i":
        position = wanted.astype(np.int64) - first
        position[(position < 0) | (position >= keys.size)] = -1
        return position
    if max(abs(first), abs(last)) >= 2**53:
        return None  # past 2**53 a float key no longer compares exactly with an integer
    offset = wanted - first  # exact: both are whole numbers below 2**53 when they match
    with np.errstate(invalid="ignore"):
        found = (offset >= 0) & (offset < keys.size) & (offset == np.floor(offset))
    return np.where(found, np.nan_to_num(offset), -1).astype(np.int64)


def _link(tables: dict[str, pd.DataFrame], rel: Relationship) -> _Link:
    parent = tables[rel.parent_table][rel.parent_key].reset_index(drop=True)
    child = tables[rel.child_table][rel.child_key].reset_index(drop=True)
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
        return _Link(child_rows, parent_rows, _children_per_parent(tables, rel))
    child_rows = np.flatnonzero(position >= 0)
    parent_rows = position[child_rows]
    if parent.hasnans:  # a parent with an empty key counts the children with none
        children = _children_per_parent(tables, rel)
    else:
        children = np.bincount(parent_rows, minlength=len(parent)).astype(float)
    return _Link(None if child_rows.size == len(child) else child_rows, parent_rows, children)


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
        for a, b in itertools.combinations(cols, 2):
            pairs.append({"table": table, "column_1": a, "column_2": b, **_pair(cols[a], cols[b])})
    for rel in schema.relationships:
        real_link, synthetic_link = _link(real, rel), _link(synthetic, rel)
        real_counts, synthetic_counts = real_link.children, synthetic_link.children
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
        intertable += _intertable(encoded, rel, real_link, synthetic_link)
    return RelationalQuality(shapes, pairs, cardinality, intertable)


def _intertable(
    encoded: dict[str, dict[str, _Column]], rel: Relationship, real: _Link, synthetic: _Link
) -> list[dict[str, Any]]:
    # A number's pair bins are recut on the joined values, as SDMetrics cuts them on the
    # denormalised table (``_Column.pair_codes``).
    parent_cols = {
        n: c.taken(real.parent_rows, synthetic.parent_rows)
        for n, c in encoded[rel.parent_table].items()
    }
    child_cols = {
        n: c.taken(real.child_rows, synthetic.child_rows)
        for n, c in encoded[rel.child_table].items()
    }
    return [
        {
            **rel.to_json(),
            "parent_column": a,
            "child_column": b,
            **_pair(parent_cols[a], child_cols[b]),
        }
        for a, b in itertools.product(parent_cols, child_cols)
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
