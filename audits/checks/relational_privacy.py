"""Privacy of a version of linked tables: copies of parent rows and of whole families, and
the re-identification figures on the table that holds individuals.

Plain pandas/numpy in, ``MetricResult`` out; the tables are ``{name: DataFrame}`` and their
keys a ``RelationalSchema`` (see ``relational``).

*Compared columns.* A row is compared on every column of its table except keys (its
primary key and the foreign keys it holds), identifiers and free text: key values are
invented by the generator and say nothing about a person. Values are made comparable as
the single-table checks make them (``encoding.prepare``): 1, 1.0 and "1" agree.

*Family.* A parent row with all its child rows in every table that points at it (direct
children; grandchildren belong to the child's own family).

- ``privacy.parent_exact_copy_rate``: share of synthetic parent rows equal to some real
  parent row on the compared columns.
- ``privacy.family_exact_copy_rate``: share of synthetic parent rows whose row *and*
  multiset of child rows (per child table) equal a real family's. Families are compared by
  64-bit hashes (the row hash of ``encoding.row_hashes``; a family adds its children's
  mixed hashes, so their order does not matter): two different families collide with
  chance about 2**-64 per pair.
- ``privacy.parent_near_copy_rate``: share of (a seeded sample of) synthetic parent rows
  nearer their nearest real parent row than 99% of the holdout's parent rows are to
  theirs: the yardstick of ``privacy.near_copy_rate`` (``attacks.near_copy_yardstick``),
  per parent table.
- ``privacy.family_near_copy_rate``: a synthetic family is a near copy when its parent row
  is a near copy of its nearest real parent row, that real parent has the same number of
  children in every child table, and each synthetic child row is a near copy (by its own
  table's yardstick) of one of that real parent's child rows.

Each figure is one of the whole version (``MetricResult.table`` stays None: rules without
``table:`` read it), computed on one table named in ``details["table"]``. With several
parent tables each figure is the worst parent table's; details give every parent table.
Examples are never shown: the figures count rows.

*Individuals.* ``individuals_frame`` joins the table the curator marks as holding
individuals with per-individual aggregates of its child tables: the number of children in
each (``count(child)``), the mean of each numerical child column (``mean(child.column)``)
and the most frequent value of each categorical or boolean child column
(``mode(child.column)``). The single-table re-identification checks then run on it
unchanged (``privacy.linkage_risk``, ``privacy.attribute_disclosure``,
``privacy.singling_out_risk``, ``privacy.linkability_risk``, ``privacy.inference_risk``),
reported as ``privacy.individuals_*`` with ``details["table"]`` the individuals table; the
aggregates can be named as quasi-identifiers or sensitive columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from audits.checks import attacks, privacy
from audits.checks.base import (
    AuditConfig,
    AuditInputError,
    ColumnSpec,
    MetricResult,
    proportion_ci,
    seeded_rows,
    share_text,
    skipped,
)
from audits.checks.context import AuditContext
from audits.checks.encoding import (
    DistanceEncoding,
    PreparedData,
    combine_hashes,
    encode_for_distance,
    prepare,
    row_hashes,
)
from audits.checks.hashcount import count_members
from audits.checks.neighbours import nearest
from audits.checks.privacy_distance import lower_bounds
from audits.checks.relational import RelationalSchema, Relationship

COPY_KEYS = (
    "privacy.parent_exact_copy_rate",
    "privacy.parent_near_copy_rate",
    "privacy.family_exact_copy_rate",
    "privacy.family_near_copy_rate",
)
# Each figure on the individuals frame and the single-table check it runs.
INDIVIDUAL_CHECKS: dict[str, Callable[[AuditContext], list[MetricResult]]] = {
    "privacy.individuals_linkage_risk": privacy.linkage_risk,
    "privacy.individuals_attribute_disclosure": privacy.attribute_disclosure,
    "privacy.individuals_singling_out_risk": attacks.singling_out_risk,
    "privacy.individuals_linkability_risk": attacks.linkability_risk,
    "privacy.individuals_inference_risk": attacks.inference_risk,
}
KEYS = (*COPY_KEYS, *INDIVIDUAL_CHECKS)
DIRECTIONS = {
    key: "higher" if key == "privacy.individuals_attribute_disclosure" else "lower" for key in KEYS
}
NEAR_SAMPLE_ROWS = 100_000
# Child pairs compared at once when checking near-copied families.
PAIR_CHUNK = 2_000_000
NO_HOLDOUT = "needs real holdout tables (their distances to the reference set the near-copy bar)"
NO_INDIVIDUALS = "no table is marked as holding individuals"
_TYPE_OF_SDTYPE = {
    "numerical": "numerical",
    "datetime": "datetime",
    "categorical": "categorical",
    "ordinal": "categorical",
    "boolean": "boolean",
    "id": "id",
}
_MIX = np.uint64(0x9E3779B97F4A7C15)


def base_key(key: str) -> str:
    """The single-table figure an individuals figure runs (``privacy.individuals_x`` ->
    ``privacy.x``)."""
    return key.replace("privacy.individuals_", "privacy.", 1)


# ---------------------------------------------------------------------------- columns


def key_columns(schema: RelationalSchema, table: str) -> set[str]:
    """The table's primary key and every foreign key it holds."""
    keys = {schema.primary_keys.get(table)} - {None}
    keys |= {r.child_key for r in schema.relationships if r.child_table == table}
    return keys


def column_specs(
    schema: RelationalSchema, table: str, declared: list[ColumnSpec] | None = None
) -> list[ColumnSpec]:
    """The table's columns as the single-table checks take them: ``declared`` (the
    registry's types and roles) when given, else the schema's sdtypes (anything SynthGov
    does not model, as free text); keys always as identifiers."""
    keys = key_columns(schema, table)
    by_name = {spec.name: spec for spec in declared or []}
    specs = []
    for name, sdtype in schema.columns[table].items():
        spec = by_name.get(name) or ColumnSpec(name, _TYPE_OF_SDTYPE.get(sdtype, "text"))
        if name in keys:
            spec = ColumnSpec(name, "id", "identifier")
        specs.append(spec)
    return specs


def parent_tables(schema: RelationalSchema) -> list[str]:
    """Tables some foreign key points at, in schema order."""
    parents = {r.parent_table for r in schema.relationships}
    return [t for t in schema.columns if t in parents]


def _children_of(schema: RelationalSchema, table: str) -> list[Relationship]:
    rels = [r for r in schema.relationships if r.parent_table == table]
    return sorted(rels, key=lambda r: (r.child_table, r.child_key))


def parent_position(parent_keys: pd.Series, child_keys: pd.Series) -> np.ndarray:
    """Row of the parent each child row belongs to (-1: none; a repeated parent key
    counts for its first row)."""
    index = pd.Index(parent_keys.reset_index(drop=True))
    if not index.is_unique:
        first = ~index.duplicated(keep="first")
        kept = np.flatnonzero(first)
        found = pd.Index(index[first]).get_indexer(child_keys)
        return np.where(found >= 0, kept[np.maximum(found, 0)], -1)
    return index.get_indexer(child_keys)


# ---------------------------------------------------------------------------- copies


@dataclass
class _Prepared:
    """One table's compared columns in the three roles."""

    data: PreparedData
    columns: list[str]

    def hashes(self, frame: str) -> np.ndarray:
        cols = [self.data.columns[n] for n in self.columns]
        n = {"real": self.data.n_real, "synthetic": self.data.n_synthetic}.get(
            frame, self.data.n_holdout
        )
        return row_hashes(cols, frame) if cols else np.zeros(n, dtype=np.uint64)


def _prepare_table(real, synthetic, holdout, schema, table, declared) -> _Prepared:
    specs = column_specs(schema, table, declared.get(table))
    compared = [s for s in specs if not s.excluded_from_distances]
    data = prepare(
        compared, real[table], synthetic[table], None if holdout is None else holdout[table]
    )
    return _Prepared(data, [s.name for s in compared])


def _mixed(hashes: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return combine_hashes([hashes, np.full(len(hashes), _MIX)], len(hashes))


def _family_hashes(
    tables: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    parent: str,
    prepared: dict[str, _Prepared],
    frame: str,
) -> np.ndarray:
    """One hash per parent row over its row and, per child table, the sum of its
    children's mixed row hashes (modulo 2**64) and their number."""
    pk = schema.primary_keys[parent]
    parts = [prepared[parent].hashes(frame)]
    n = len(parts[0])
    for rel in _children_of(schema, parent):
        child = tables[rel.child_table]
        position = parent_position(tables[parent][pk], child[rel.child_key])
        belongs = position >= 0
        sums = np.zeros(n, dtype=np.uint64)
        with np.errstate(over="ignore"):
            np.add.at(
                sums, position[belongs], _mixed(prepared[rel.child_table].hashes(frame))[belongs]
            )
        counts = np.bincount(position[belongs], minlength=n).astype(np.uint64)
        parts += [sums, counts]
    return combine_hashes(parts, n)


def _near_bar(enc: DistanceEncoding) -> tuple[float, str, int]:
    """The table's near-copy yardstick from its holdout rows' distances to the
    reference (normalised), the rule in words and the holdout rows used."""
    hold = lower_bounds(nearest(enc.holdout, enc.reference, k=1)) / max(enc.n_columns, 1)
    threshold, rule = attacks.near_copy_yardstick(hold)
    return threshold, rule, len(hold)


@dataclass
class _Near:
    """Parent near copies of one parent table: the sampled synthetic rows, which are
    near copies and the nearest real row of each."""

    rows: np.ndarray
    near: np.ndarray
    nearest_real: np.ndarray
    threshold: float
    rule: str
    holdout_rows: int


def _parent_near(prep: _Prepared, seed: int, table: str, sample_rows: int) -> _Near | None:
    data = prep.data
    if not prep.columns:
        return None
    syn_rows = seeded_rows(data.n_synthetic, sample_rows, seed, f"relational.near.{table}")
    hold_rows = seeded_rows(data.n_holdout, sample_rows, seed, f"relational.near_hold.{table}")
    enc = encode_for_distance(data, syn_rows, hold_rows)
    threshold, rule, held = _near_bar(enc)
    found = nearest(enc.synthetic, enc.reference, k=1, with_index=True)
    distance = lower_bounds(found) / enc.n_columns
    near = attacks.is_near_copy(distance, threshold) & found.exact
    return _Near(syn_rows, near, found.index[:, 0], threshold, rule, held)


def _grouped(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Child rows ordered by parent row (children of no parent left out), and the parent
    row of each in that order."""
    order = np.argsort(position, kind="stable")
    order = order[position[order] >= 0]
    sorted_parents = position[order]
    return order, sorted_parents


def _children_near(
    rel: Relationship,
    tables: dict[str, pd.DataFrame],
    real: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    prep: _Prepared,
    syn_parents: np.ndarray,
    real_parents: np.ndarray,
    seed: int,
    sample_rows: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """For candidate families (synthetic parent row, real parent row): whether they have
    as many children in ``rel.child_table`` and every synthetic child is a near copy of
    one of the real parent's children."""
    pk = schema.primary_keys[rel.parent_table]
    syn_pos = parent_position(tables[rel.parent_table][pk], tables[rel.child_table][rel.child_key])
    real_pos = parent_position(real[rel.parent_table][pk], real[rel.child_table][rel.child_key])
    syn_order, syn_sorted = _grouped(syn_pos)
    real_order, real_sorted = _grouped(real_pos)
    syn_start = np.searchsorted(syn_sorted, syn_parents, side="left")
    syn_count = np.searchsorted(syn_sorted, syn_parents, side="right") - syn_start
    real_start = np.searchsorted(real_sorted, real_parents, side="left")
    real_count = np.searchsorted(real_sorted, real_parents, side="right") - real_start
    same = syn_count == real_count
    info: dict[str, Any] = {"child_table": rel.child_table, "child_key": rel.child_key}
    if not prep.columns or not same.any() or not (syn_count[same] > 0).any():
        # No compared column: children are told apart by their number alone.
        return same, info
    data = prep.data
    hold_rows = seeded_rows(
        data.n_holdout, sample_rows, seed, f"relational.near_hold.{rel.child_table}"
    )
    enc = encode_for_distance(data, np.arange(data.n_synthetic), hold_rows)
    if not len(enc.holdout):
        return np.zeros(len(same), dtype=bool), {**info, "reason": "no holdout child rows"}
    threshold, rule, held = _near_bar(enc)
    info.update({"threshold_distance": threshold, "rule": rule, "holdout_rows": held})
    ok = same.copy()
    candidates = np.flatnonzero(same & (syn_count > 0))
    sizes = syn_count[candidates].astype(np.int64) ** 2
    p = enc.n_columns
    start = 0
    while start < len(candidates):
        # Candidates whose child pairs fit in one chunk (at least one candidate).
        stop = start + max(1, int(np.searchsorted(np.cumsum(sizes[start:]), PAIR_CHUNK, "right")))
        chunk = candidates[start:stop]
        counts = syn_count[chunk].astype(np.int64)
        pairs = counts**2
        owner = np.repeat(np.arange(len(chunk)), pairs)
        within = np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs)
        a, b = within // counts[owner], within % counts[owner]
        syn_child = syn_order[syn_start[chunk][owner] + a]
        real_child = real_order[real_start[chunk][owner] + b]
        left, right = enc.synthetic.take(syn_child), enc.reference.take(real_child)
        distance = (left.codes != right.codes).sum(axis=1) + np.abs(
            left.numbers.astype(np.float64) - right.numbers
        ).sum(axis=1)
        # The nearest of the real family's children, per synthetic child.
        slot = np.repeat(np.cumsum(counts) - counts, counts * counts) + a
        best = np.full(int(counts.sum()), np.inf)
        np.minimum.at(best, slot, distance / p)
        near = attacks.is_near_copy(best, threshold)
        family_of_child = np.repeat(np.arange(len(chunk)), counts)
        failed = np.bincount(family_of_child[~near], minlength=len(chunk))
        ok[chunk] = failed == 0
        start = stop
    return ok, info


def _rate(
    key: str, copies: int, rows: int, table: str, details: dict[str, Any], population: int
) -> MetricResult:
    """One parent table's figure, a figure of the whole version: the parent table it was
    computed on is ``details["table"]`` (``table`` stays None: it marks a table's own
    figures)."""
    rate = copies / rows if rows else 0.0
    return MetricResult(
        key=key,
        value=rate,
        direction="lower",
        details={"table": table, **details},
        sample_size=rows,
        population=population,
        uncertainty=None if rows == population else proportion_ci(copies, rows),
    )


def _worst(results: list[MetricResult], key: str, reason: str) -> MetricResult:
    """The worst parent table's figure (``details["table"]`` names it), with every
    parent table's in ``details["parent_tables"]``."""
    measured = [r for r in results if r.status == "ok"]
    if not measured:
        return skipped(key, "lower", reason)
    worst = max(measured, key=lambda r: (r.value, r.details["table"]))
    parent_tables = {}
    for r in measured:
        own = {k: v for k, v in r.details.items() if k != "table"}
        parent_tables[r.details["table"]] = {"value": r.value, **own}
    worst.details = {**worst.details, "parent_tables": parent_tables}
    return worst


def copy_metrics(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    holdout: dict[str, pd.DataFrame] | None = None,
    *,
    seed: int = 0,
    declared: dict[str, list[ColumnSpec]] | None = None,
    sample_rows: int = NEAR_SAMPLE_ROWS,
) -> list[MetricResult]:
    """The four copy figures (``COPY_KEYS``, in that order) of every parent table; the
    near copies need ``holdout`` (the same tables, real data the generator never saw)."""
    parents = parent_tables(schema)
    if not parents:
        reason = "the version declares no foreign keys: it has no families"
        return [skipped(key, "lower", reason) for key in COPY_KEYS]
    declared = declared or {}
    involved = set(parents) | {r.child_table for r in schema.relationships}
    prepared = {
        t: _prepare_table(real, synthetic, holdout, schema, t, declared) for t in sorted(involved)
    }
    found: dict[str, list[MetricResult]] = {key: [] for key in (*COPY_KEYS, "unscored")}
    for parent in parents:
        prep = prepared[parent]
        n = prep.data.n_synthetic
        children = _children_of(schema, parent)
        compared = {
            "parent_columns": prep.columns,
            "child_tables": [r.child_table for r in children],
        }
        copied_rows = count_members(prep.hashes("synthetic"), prep.hashes("real"))
        # A parent table of keys alone has no row to copy (its families still differ by
        # their children).
        found["privacy.parent_exact_copy_rate" if prep.columns else "unscored"].append(
            _rate(
                "privacy.parent_exact_copy_rate",
                copied_rows,
                n,
                parent,
                {"copies": copied_rows, **compared},
                n,
            )
        )
        syn_families = _family_hashes(synthetic, schema, parent, prepared, "synthetic")
        real_families = _family_hashes(real, schema, parent, prepared, "real")
        copied = count_members(syn_families, real_families)
        with_children = _has_children(synthetic, schema, parent)
        childful = count_members(syn_families[with_children], real_families)
        found["privacy.family_exact_copy_rate"].append(
            _rate(
                "privacy.family_exact_copy_rate",
                copied,
                n,
                parent,
                {"copies": copied, "copies_with_children": childful, **compared},
                n,
            )
        )
        if holdout is None or prep.data.n_holdout == 0:
            continue
        near = _parent_near(prep, seed, parent, sample_rows)
        if near is None:
            continue
        sampled = len(near.rows)
        bar = {
            "threshold_distance": near.threshold,
            "rule": near.rule,
            "holdout_rows": near.holdout_rows,
        }
        found["privacy.parent_near_copy_rate"].append(
            _rate(
                "privacy.parent_near_copy_rate",
                int(near.near.sum()),
                sampled,
                parent,
                {"near_copies": int(near.near.sum()), **bar, **compared},
                n,
            )
        )
        family_ok = near.near.copy()
        per_child = []
        candidates = np.flatnonzero(family_ok)
        for rel in children:
            ok, info = _children_near(
                rel,
                synthetic,
                real,
                schema,
                prepared[rel.child_table],
                near.rows[candidates],
                near.nearest_real[candidates],
                seed,
                sample_rows,
            )
            per_child.append(info)
            family_ok[candidates[~ok]] = False
        count = int(family_ok.sum())
        found["privacy.family_near_copy_rate"].append(
            _rate(
                "privacy.family_near_copy_rate",
                count,
                sampled,
                parent,
                {"near_copies": count, "parent_bar": bar, "child_bars": per_child, **compared},
                n,
            )
        )
    no_columns = "no parent table has columns usable for distances"
    reasons = {
        "privacy.parent_exact_copy_rate": no_columns,
        "privacy.parent_near_copy_rate": NO_HOLDOUT if holdout is None else no_columns,
        "privacy.family_near_copy_rate": NO_HOLDOUT if holdout is None else no_columns,
    }
    results = [_worst(found[key], key, reasons.get(key, "")) for key in COPY_KEYS]
    for result in results:
        result.finding = _copy_finding(result)
    return results


def _has_children(tables, schema: RelationalSchema, parent: str) -> np.ndarray:
    pk = schema.primary_keys[parent]
    has = np.zeros(len(tables[parent]), dtype=bool)
    for rel in _children_of(schema, parent):
        position = parent_position(tables[parent][pk], tables[rel.child_table][rel.child_key])
        has[position[position >= 0]] = True
    return has


def _copy_finding(result: MetricResult) -> str | None:
    if result.status != "ok" or not result.value:
        return None
    table = result.details["table"]
    copies = result.details.get("copies", result.details.get("near_copies"))
    what = {
        "privacy.parent_exact_copy_rate": f"synthetic {table} rows are exact copies of real ones",
        "privacy.parent_near_copy_rate": f"synthetic {table} rows are near copies of real ones",
        "privacy.family_exact_copy_rate": f"synthetic {table} rows come with all their child "
        "rows exactly as a real family",
        "privacy.family_near_copy_rate": f"synthetic {table} rows and all their child rows "
        "are near copies of a real family",
    }[result.key]
    return f"{share_text(result.value)} of {what} ({copies} of {result.sample_size})."


# ---------------------------------------------------------------------------- individuals


def _aggregate_name(kind: str, rel: Relationship, column: str | None, repeated: bool) -> str:
    source = f"{rel.child_table}.{rel.child_key}" if repeated else rel.child_table
    return f"{kind}({source})" if column is None else f"{kind}({source}.{column})"


def individuals_specs(
    schema: RelationalSchema, table: str, declared: dict[str, list[ColumnSpec]] | None = None
) -> tuple[list[ColumnSpec], list[str]]:
    """The individuals frame's columns (the table's own, then each aggregate) and the
    names of the count aggregates, from the schema alone (to validate a request)."""
    if table not in schema.columns:
        raise AuditInputError(
            f"There is no table {table}: choose one of {', '.join(sorted(schema.columns))}."
        )
    declared = declared or {}
    specs = column_specs(schema, table, declared.get(table))
    children = _children_of(schema, table)
    if children and not schema.primary_keys.get(table):
        raise AuditInputError(f"Table {table} has no primary key to join its children on.")
    counted = [r.child_table for r in children]
    counts = []
    for rel in children:
        repeated = counted.count(rel.child_table) > 1
        name = _aggregate_name("count", rel, None, repeated)
        specs.append(ColumnSpec(name, "numerical"))
        counts.append(name)
        for spec in _aggregated(schema, rel.child_table, declared):
            kind = "mean" if spec.type == "numerical" else "mode"
            specs.append(
                ColumnSpec(
                    _aggregate_name(kind, rel, spec.name, repeated),
                    "numerical" if kind == "mean" else "categorical",
                )
            )
    return specs, counts


def _aggregated(schema, table: str, declared) -> list[ColumnSpec]:
    """Child columns that get a mean (numbers) or a mode (categories, booleans)."""
    return [
        spec
        for spec in column_specs(schema, table, declared.get(table))
        if not spec.excluded_from_distances and spec.type != "datetime"
    ]


def individuals_frame(
    tables: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    table: str,
    declared: dict[str, list[ColumnSpec]] | None = None,
) -> tuple[pd.DataFrame, list[ColumnSpec], list[str]]:
    """The individuals ``table`` with one column per aggregate of its child tables
    (see the module's notes), its column specs and the names of the count aggregates."""
    declared = declared or {}
    specs, counts = individuals_specs(schema, table, declared)
    frame = tables[table].reset_index(drop=True)
    pk = schema.primary_keys.get(table)
    children = _children_of(schema, table)
    counted = [r.child_table for r in children]
    added: dict[str, Any] = {}
    for rel in children:
        repeated = counted.count(rel.child_table) > 1
        child = tables[rel.child_table]
        position = parent_position(frame[pk], child[rel.child_key])
        belongs = position >= 0
        added[_aggregate_name("count", rel, None, repeated)] = np.bincount(
            position[belongs], minlength=len(frame)
        ).astype(float)
        owner = pd.Series(position[belongs])
        for spec in _aggregated(schema, rel.child_table, declared):
            values = pd.Series(child[spec.name].to_numpy()[belongs])
            if spec.type == "numerical":
                means = pd.to_numeric(values, errors="coerce").groupby(owner).mean()
                name = _aggregate_name("mean", rel, spec.name, repeated)
                added[name] = means.reindex(range(len(frame))).to_numpy(dtype=float)
            else:
                name = _aggregate_name("mode", rel, spec.name, repeated)
                added[name] = _modes(owner, values, len(frame))
    frame = pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
    return frame, specs, counts


def _modes(owner: pd.Series, values: pd.Series, n: int) -> np.ndarray:
    """The most frequent present value per owner (ties: the smallest as text); missing
    for owners with no present value."""
    present = values.notna().to_numpy()
    pairs = pd.DataFrame(
        {"owner": owner.to_numpy()[present], "value": values[present].astype(str).to_numpy()}
    )
    out = np.full(n, None, dtype=object)
    if pairs.empty:
        return out
    counted = pairs.value_counts().reset_index(name="n")
    counted = counted.sort_values(["owner", "n", "value"], ascending=[True, False, True])
    first = counted.drop_duplicates("owner")
    out[first["owner"].to_numpy()] = first["value"].to_numpy()
    return out


def individuals_metrics(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    table: str | None,
    holdout: dict[str, pd.DataFrame] | None = None,
    *,
    quasi_identifiers: list[str] | None = None,
    sensitive: list[str] | None = None,
    seed: int = 0,
    declared: dict[str, list[ColumnSpec]] | None = None,
    attack_count: int = 2_000,
    distance_sample_rows: int = 100_000,
) -> list[MetricResult]:
    """The re-identification figures (``INDIVIDUAL_CHECKS``) on the individuals frame of
    ``table``. ``quasi_identifiers`` default to the table's columns whose declared role is
    quasi-identifier plus every count aggregate; ``sensitive`` to the columns declared
    sensitive. ``AuditInputError`` naming a column the frame does not have."""
    if not table:
        return [skipped(key, DIRECTIONS[key], NO_INDIVIDUALS) for key in INDIVIDUAL_CHECKS]
    real_frame, specs, counts = individuals_frame(real, schema, table, declared)
    syn_frame, _, _ = individuals_frame(synthetic, schema, table, declared)
    hold_frame = None
    if holdout is not None:
        hold_frame, _, _ = individuals_frame(holdout, schema, table, declared)
    if quasi_identifiers is None:
        quasi_identifiers = [s.name for s in specs if s.role == "quasi_identifier"] + counts
    if sensitive is None:
        sensitive = [s.name for s in specs if s.role == "sensitive"]
    names = {s.name for s in specs if not s.excluded_from_distances}
    for role, chosen in (("quasi-identifier", quasi_identifiers), ("sensitive", sensitive)):
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise AuditInputError(
                f"The {role} {', '.join(unknown)} is not a column of the individuals table "
                f"{table} or one of its aggregates ({', '.join(sorted(names))})."
            )
    config = AuditConfig(
        columns=specs,
        quasi_identifiers=list(quasi_identifiers),
        sensitive=list(sensitive),
        families={"privacy"},
        seed=seed,
        attack_count=attack_count,
        distance_sample_rows=distance_sample_rows,
    )
    data = prepare(specs, real_frame, syn_frame, hold_frame)
    ctx = AuditContext(config, real_frame, syn_frame, hold_frame, data, {})
    frame_details = {
        "individuals_table": table,
        "aggregates": [s.name for s in specs if s.name not in real[table].columns],
        "quasi_identifiers": list(quasi_identifiers),
        "sensitive": list(sensitive),
    }
    results = []
    for key, check in INDIVIDUAL_CHECKS.items():
        for result in check(ctx):
            result.key = key
            result.details = {"table": table, **result.details, "individuals": frame_details}
            if result.finding:
                result.finding = f"On {table} with its children's aggregates: {result.finding}"
            results.append(result)
    return results


@dataclass(frozen=True)
class LinkedChoices:
    """The curator's choices for the privacy and fairness figures of linked tables.

    ``individuals_table`` holds individuals; ``quasi_identifiers`` and ``sensitive`` name
    columns of its individuals frame (None: the defaults of ``individuals_metrics``).
    ``fairness_table`` is the child table joined to ``fairness_parent_columns``
    (``parent.column``); ``protected``, ``target`` and ``positive_outcome`` refer to the
    joined frame. ``declared`` gives each table's column types and roles as registered."""

    individuals_table: str | None = None
    quasi_identifiers: list[str] | None = None
    sensitive: list[str] | None = None
    fairness_table: str | None = None
    fairness_parent_columns: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    target: str | None = None
    positive_outcome: Any = None
    seed: int = 0
    declared: dict[str, list[ColumnSpec]] = field(default_factory=dict)


def metrics(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    holdout: dict[str, pd.DataFrame] | None = None,
    choices: LinkedChoices | None = None,
) -> list[MetricResult]:
    """Every relational privacy figure (``KEYS``), in that order."""
    choices = choices or LinkedChoices()
    return [
        *copy_metrics(
            real, synthetic, schema, holdout, seed=choices.seed, declared=choices.declared
        ),
        *individuals_metrics(
            real,
            synthetic,
            schema,
            choices.individuals_table,
            holdout,
            quasi_identifiers=choices.quasi_identifiers,
            sensitive=choices.sensitive,
            seed=choices.seed,
            declared=choices.declared,
        ),
    ]
