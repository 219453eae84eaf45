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
from audits.checks.shapes import ks_complement

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


def _key_violations(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    values = frame[column]
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


@dataclass
class _Column:
    """One scored column of a real/synthetic pair, encoded once."""

    sdtype: str
    real: np.ndarray  # float values (continuous) or int codes with -1 = missing (discrete)
    synthetic: np.ndarray
    real_bins: np.ndarray | None = None  # continuous only: codes of SDMetrics' pair bins
    synthetic_bins: np.ndarray | None = None
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # discrete codes, once


def _continuous(series: pd.Series, sdtype: str, fmt: str | None) -> np.ndarray:
    if sdtype == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, format=fmt, errors="coerce")
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _pair_bins(values: np.ndarray) -> np.ndarray:
    # SDMetrics: np.digitize against np.histogram_bin_edges of the present values (10
    # equal-width bins); a missing value lands past the last edge, code PAIR_BINS + 1.
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.full(values.shape, PAIR_BINS + 1, dtype=np.int64)
    edges = np.histogram_bin_edges(present, bins=PAIR_BINS)
    return np.digitize(values, edges).astype(np.int64)


def _encode(real: pd.Series, synthetic: pd.Series, sdtype: str, fmt: str | None) -> _Column:
    if sdtype in CONTINUOUS:
        r, s = _continuous(real, sdtype, fmt), _continuous(synthetic, sdtype, fmt)
        return _Column(sdtype, r, s, _pair_bins(r), _pair_bins(s))
    codes, _ = pd.factorize(pd.concat([real, synthetic], ignore_index=True), sort=False)
    codes = codes.astype(np.int64)
    return _Column(sdtype, codes[: len(real)], codes[len(real) :])


def _encoded_table(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: dict[str, str], formats
) -> dict[str, _Column]:
    return {
        name: _encode(real[name], synthetic[name], sdtype, formats.get(name))
        for name, sdtype in columns.items()
        if sdtype in _SDTYPES
    }


def _shape(col: _Column) -> float | None:
    if col.sdtype in CONTINUOUS:
        return ks_complement(col.real, col.synthetic)
    real, synthetic = col.real[col.real >= 0], col.synthetic[col.synthetic >= 0]
    if real.size == 0 or synthetic.size == 0:
        return None
    size = int(max(real.max(), synthetic.max())) + 1
    p = np.bincount(real, minlength=size) / real.size
    q = np.bincount(synthetic, minlength=size) / synthetic.size
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _discrete_codes(col: _Column, which: str) -> np.ndarray:
    if col.sdtype in CONTINUOUS:
        return getattr(col, f"{which}_bins")
    # Missing (-1) becomes its own category 0; kept, as every pair of the column needs it.
    if which not in col.codes:
        col.codes[which] = getattr(col, which) + 1
    return col.codes[which]


def _cramers_v(table: np.ndarray) -> float:
    from scipy.stats.contingency import association

    return float(association(table, method="cramer"))


def _contingency(a: _Column, b: _Column) -> dict[str, Any]:
    ra, rb = _discrete_codes(a, "real"), _discrete_codes(b, "real")
    sa, sb = _discrete_codes(a, "synthetic"), _discrete_codes(b, "synthetic")
    width = int(max(rb.max(initial=0), sb.max(initial=0))) + 1
    height = int(max(ra.max(initial=0), sa.max(initial=0))) + 1
    real = np.bincount(ra * width + rb, minlength=width * height).reshape(height, width)
    out = {"metric": "ContingencySimilarity", "real_association": None}
    # Cramér's V on the real table's observed categories only, as SDMetrics' unstack does.
    observed = real[real.sum(axis=1) > 0][:, real.sum(axis=0) > 0]
    if observed.sum() == 0 or min(observed.shape) < 2:
        return {**out, "score": None, "meets_threshold": False}
    association = _cramers_v(observed)
    out["real_association"] = association
    if not association > REAL_ASSOCIATION_THRESHOLD:
        return {**out, "score": None, "meets_threshold": False}
    synthetic = np.bincount(sa * width + sb, minlength=width * height)
    p = real.ravel() / max(len(ra), 1)
    q = synthetic / max(len(sa), 1)
    return {**out, "score": float(1.0 - 0.5 * np.abs(p - q).sum()), "meets_threshold": True}


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    both = ~(np.isnan(x) | np.isnan(y))
    x, y = x[both], y[both]
    if x.size < 2:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denominator if denominator > 0 else math.nan


def _constant(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return present.size > 0 and bool(np.all(present == present[0]))


def _correlation(a: _Column, b: _Column) -> dict[str, Any]:
    out = {"metric": "CorrelationSimilarity", "score": None, "meets_threshold": False}
    if any(_constant(v) for v in (a.real, b.real, a.synthetic, b.synthetic)):
        return {**out, "real_correlation": None, "synthetic_correlation": None}
    real = _pearson(a.real, b.real)
    if math.isnan(real) or abs(real) <= REAL_CORRELATION_THRESHOLD:
        return {**out, "real_correlation": None if math.isnan(real) else real}
    synthetic = _pearson(a.synthetic, b.synthetic)
    score = None if math.isnan(synthetic) else 1.0 - abs(real - synthetic) / 2.0
    return {
        **out,
        "score": score,
        "meets_threshold": True,
        "real_correlation": real,
        "synthetic_correlation": None if math.isnan(synthetic) else synthetic,
    }


def _pair(a: _Column, b: _Column) -> dict[str, Any]:
    if a.sdtype in CONTINUOUS and b.sdtype in CONTINUOUS:
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
                    "metric": "KSComplement" if col.sdtype in CONTINUOUS else "TVComplement",
                }
            )
        for a, b in itertools.combinations(cols, 2):
            pairs.append({"table": table, "column_1": a, "column_2": b, **_pair(cols[a], cols[b])})
    for rel in schema.relationships:
        real_counts = _children_per_parent(real, rel)
        synthetic_counts = _children_per_parent(synthetic, rel)
        real_max = float(real_counts.max(initial=0))
        cardinality.append(
            {
                **rel.to_json(),
                "score": ks_complement(real_counts, synthetic_counts),
                "real_max_children": real_max,
                "synthetic_max_children": float(synthetic_counts.max(initial=0)),
                "synthetic_parents_above_real_max": int((synthetic_counts > real_max).sum()),
                "real_mean_children": float(real_counts.mean()) if real_counts.size else None,
                "synthetic_mean_children": float(synthetic_counts.mean())
                if synthetic_counts.size
                else None,
            }
        )
        intertable += _intertable(real, synthetic, encoded, rel)
    return RelationalQuality(shapes, pairs, cardinality, intertable)


def _joined(tables: dict[str, pd.DataFrame], rel: Relationship) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the child and of its parent for each row of the inner join."""
    parent = tables[rel.parent_table][rel.parent_key].reset_index(drop=True)
    child = tables[rel.child_table][rel.child_key].reset_index(drop=True)
    index = pd.Index(parent)
    if index.is_unique:  # the usual case: one parent row per key, no join table needed
        position = index.get_indexer(child)
        matched = np.flatnonzero(position >= 0)
        return matched, position[matched]
    left = pd.DataFrame({"k": child, "c": np.arange(len(child))})
    right = pd.DataFrame({"k": parent, "p": np.arange(len(parent))})
    merged = left.merge(right, on="k", how="inner")
    return merged["c"].to_numpy(), merged["p"].to_numpy()


def _rows_of(col: _Column, real_rows: np.ndarray, synthetic_rows: np.ndarray) -> _Column:
    """The column on the joined rows; a number's pair bins are recut on the joined values,
    as SDMetrics cuts them on the denormalised table."""
    real, synthetic = col.real[real_rows], col.synthetic[synthetic_rows]
    if col.sdtype in CONTINUOUS:
        return _Column(col.sdtype, real, synthetic, _pair_bins(real), _pair_bins(synthetic))
    return _Column(col.sdtype, real, synthetic)


def _intertable(real, synthetic, encoded: dict[str, dict[str, _Column]], rel: Relationship):
    rc, rp = _joined(real, rel)
    sc, sp = _joined(synthetic, rel)
    parent_cols = {n: _rows_of(c, rp, sp) for n, c in encoded[rel.parent_table].items()}
    child_cols = {n: _rows_of(c, rc, sc) for n, c in encoded[rel.child_table].items()}
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
