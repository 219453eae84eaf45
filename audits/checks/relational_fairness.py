"""Fairness on a child table joined to its parents' columns (a person's sex on the
treatments table), for a version of linked tables.

Plain pandas/numpy in, ``MetricResult`` out. ``joined_frame`` gives each row of the child
table the chosen columns of the parent row its foreign key points at (named
``<parent table>.<column>``; empty for a row whose parent does not exist); the
single-table fairness figures (``fairness.fairness``) then run on it unchanged, reported
as ``fairness.joined_*``: figures of the whole version (``MetricResult.table`` stays None,
so rules without ``table:`` read them) computed on the child table, named in
``details["table"]``. Every figure counts child rows: a group's share is its share of
treatments, not of patients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audits.checks import fairness
from audits.checks.base import AuditConfig, AuditInputError, ColumnSpec, MetricResult, skipped
from audits.checks.context import AuditContext
from audits.checks.encoding import category_strings, prepare
from audits.checks.relational import RelationalSchema, Relationship
from audits.checks.relational_privacy import LinkedChoices, column_specs, parent_position

PREFIX = "fairness.joined_"
# Each figure on the joined table and the single-table figure it is.
KEYS = {PREFIX + key.removeprefix("fairness."): key for key in fairness.DIRECTIONS}
DIRECTIONS = {key: fairness.DIRECTIONS[base] for key, base in KEYS.items()}
NO_TABLE = "no table is chosen for fairness on joined tables"


def base_key(key: str) -> str:
    return KEYS[key]


def parent_relationship(schema: RelationalSchema, table: str, parent: str) -> Relationship:
    """The foreign key of ``table`` pointing at ``parent``; ``AuditInputError`` saying what
    to choose when there is none or more than one."""
    if table not in schema.columns:
        raise AuditInputError(f"There is no table {table}: choose one of {_names(schema.columns)}.")
    parents = [r for r in schema.relationships if r.child_table == table]
    if not parents:
        raise AuditInputError(
            f"Table {table} has no parent table (no foreign key of it points at another "
            "table): choose a table that has one."
        )
    found = [r for r in parents if r.parent_table == parent]
    if not found:
        raise AuditInputError(
            f"Table {parent} is not a parent of {table}; its parents are "
            f"{_names({r.parent_table for r in parents})}."
        )
    if len(found) > 1:
        raise AuditInputError(
            f"Table {table} has {len(found)} foreign keys pointing at {parent} "
            f"({_names({r.child_key for r in found})}); joining on one of them is not supported."
        )
    return found[0]


def _names(names) -> str:
    return ", ".join(sorted(names))


def split_column(schema: RelationalSchema, table: str, qualified: str) -> tuple[str, str]:
    """``parent.column`` -> (parent, column), checked against the schema."""
    parent, dot, column = qualified.partition(".")
    if not dot or not column:
        raise AuditInputError(
            f"Name the parent's column as <parent table>.<column>, not '{qualified}'."
        )
    rel = parent_relationship(schema, table, parent)
    if column not in schema.columns[parent]:
        raise AuditInputError(f"Table {parent} has no column {column}.")
    if column == rel.parent_key:
        raise AuditInputError(f"{qualified} is the key the tables are joined on, not a group.")
    return parent, column


def check_choice(schema: RelationalSchema, table: str, parent_columns: list[str]) -> None:
    """The table must be a child table and each ``parent.column`` a column of one of its
    parents; ``AuditInputError`` saying what to fix."""
    if table not in schema.columns:
        raise AuditInputError(f"There is no table {table}: choose one of {_names(schema.columns)}.")
    if not any(r.child_table == table for r in schema.relationships):
        raise AuditInputError(
            f"Table {table} has no parent table (no foreign key of it points at another "
            "table): choose a table that has one."
        )
    if not parent_columns:
        raise AuditInputError(
            f"Choose the parent column(s) to join to {table}, as <parent table>.<column>."
        )
    for qualified in parent_columns:
        split_column(schema, table, qualified)


def joined_specs(
    schema: RelationalSchema,
    table: str,
    parent_columns: list[str],
    declared: dict[str, list[ColumnSpec]] | None = None,
) -> list[ColumnSpec]:
    """The joined frame's columns: the child's own, then each ``parent.column``."""
    check_choice(schema, table, parent_columns)
    declared = declared or {}
    specs = column_specs(schema, table, declared.get(table))
    for qualified in parent_columns:
        parent, column = split_column(schema, table, qualified)
        spec = next(
            s for s in column_specs(schema, parent, declared.get(parent)) if s.name == column
        )
        specs.append(ColumnSpec(qualified, spec.type, spec.role))
    return specs


def joined_frame(
    tables: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    table: str,
    parent_columns: list[str],
    declared: dict[str, list[ColumnSpec]] | None = None,
) -> tuple[pd.DataFrame, list[ColumnSpec]]:
    """The child ``table`` with each ``parent.column`` of ``parent_columns`` joined through
    its foreign key, and the joined frame's column specs."""
    specs = joined_specs(schema, table, parent_columns, declared)
    frame = tables[table].reset_index(drop=True)
    added: dict[str, Any] = {}
    for qualified in parent_columns:
        parent, column = split_column(schema, table, qualified)
        rel = parent_relationship(schema, table, parent)
        position = parent_position(tables[parent][rel.parent_key], frame[rel.child_key])
        values = tables[parent][column].reset_index(drop=True)
        if len(values) == 0:  # no parent row: every child row is an orphan
            added[qualified] = pd.Series([None] * len(frame), dtype=object)
            continue
        taken = values.iloc[np.maximum(position, 0)].reset_index(drop=True)
        added[qualified] = taken.where(pd.Series(position >= 0), None)
    if added:
        frame = pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
    return frame, specs


def joined_metrics(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    table: str | None,
    parent_columns: list[str] | None = None,
    *,
    protected: list[str] | None = None,
    target: str | None = None,
    positive_outcome: Any = None,
    seed: int = 0,
    declared: dict[str, list[ColumnSpec]] | None = None,
) -> list[MetricResult]:
    """The fairness figures (``KEYS``) on ``table`` joined to ``parent_columns``;
    ``protected`` and ``target`` name columns of the joined frame (the child's own or a
    joined ``parent.column``). ``AuditInputError`` naming what to fix."""
    if not table:
        return [skipped(key, DIRECTIONS[key], NO_TABLE) for key in KEYS]
    parent_columns = list(parent_columns or [])
    real_frame, specs = joined_frame(real, schema, table, parent_columns, declared)
    syn_frame, _ = joined_frame(synthetic, schema, table, parent_columns, declared)
    by_name = {s.name: s for s in specs}
    for role, names in (
        ("protected attribute", protected or []),
        ("target", [target] if target else []),
    ):
        for name in names:
            spec = by_name.get(name)
            if spec is None:
                raise AuditInputError(
                    f"The {role} {name} is not a column of {table} or a joined parent column "
                    f"({_names(by_name)})."
                )
            if spec.excluded_from_distances:
                raise AuditInputError(
                    f"The {role} {name} is a key, identifier or free-text column; choose another."
                )
    if positive_outcome not in (None, "") and target:
        wanted = category_strings(pd.Series([positive_outcome])).iloc[0]
        if wanted not in set(category_strings(real_frame[target]).dropna()):
            raise AuditInputError(
                f"The positive outcome '{positive_outcome}' does not occur in the target "
                f"column '{target}' of the reference's {table}."
            )
    config = AuditConfig(
        columns=specs,
        protected=list(protected or []),
        target=target or None,
        positive_outcome=positive_outcome or None,
        families={"fairness"},
        seed=seed,
    )
    data = prepare(specs, real_frame, syn_frame, None)
    ctx = AuditContext(config, real_frame, syn_frame, None, data, {})
    joined = {"table": table, "parent_columns": parent_columns}
    results = []
    for result in fairness.fairness(ctx):
        result.key = PREFIX + result.key.removeprefix("fairness.")
        result.details = {"table": table, **result.details, "joined": joined}
        if result.finding:
            joined_to = ", ".join(parent_columns)
            result.finding = f"On {table} rows joined to {joined_to}: {result.finding}"
        results.append(result)
    return results


def metrics(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: RelationalSchema,
    choices: LinkedChoices | None = None,
) -> list[MetricResult]:
    """The joined-table fairness figures (``KEYS``) for the curator's ``choices``."""
    choices = choices or LinkedChoices()
    return joined_metrics(
        real,
        synthetic,
        schema,
        choices.fairness_table,
        choices.fairness_parent_columns,
        protected=choices.protected,
        target=choices.target,
        positive_outcome=choices.positive_outcome,
        seed=choices.seed,
        declared=choices.declared,
    )
