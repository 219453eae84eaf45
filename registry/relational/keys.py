"""Primary and foreign keys of a set of tables: check what a curator declares,
and infer candidates for them to confirm or correct.

A table has at most one primary key, a single column. A foreign key links a child
table's column to a parent table's primary key (as in SDMetrics' multi-table
metadata). The keys must form no cycle (a table may not, through its foreign keys,
be its own ancestor), and a primary key must be unique and never empty. A child
value with no parent (an orphan) does not stop registration: it is what the
relational integrity audit measures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from pandas.api import types as ptypes

from registry.relational.errors import RelationalError

EXAMPLES = 3


@dataclass(frozen=True, order=True)
class ForeignKey:
    child_table: str
    child_key: str
    parent_table: str
    parent_key: str

    def to_dict(self) -> dict[str, str]:
        return {
            "parent_table": self.parent_table,
            "parent_key": self.parent_key,
            "child_table": self.child_table,
            "child_key": self.child_key,
        }

    def __str__(self) -> str:
        return f"{self.child_table}.{self.child_key} → {self.parent_table}.{self.parent_key}"


@dataclass(frozen=True)
class Keys:
    """Declared keys: table → primary key column (None: no primary key), and the
    foreign keys."""

    primary_keys: Mapping[str, str | None]
    foreign_keys: tuple[ForeignKey, ...] = ()


@dataclass(frozen=True)
class KeyCandidates:
    """What inference found. ``proposed`` is the keys offered pre-filled;
    ``primary_key_candidates`` every unique, never-empty column per table;
    ``foreign_key_candidates`` every child column whose values all occur in a
    parent's proposed primary key, ``proposed`` holding those whose name also
    matches (``user_id`` → ``users.user_id``)."""

    proposed: Keys
    primary_key_candidates: Mapping[str, tuple[str, ...]]
    foreign_key_candidates: tuple[ForeignKey, ...] = field(default_factory=tuple)


def _cycle(edges: Sequence[tuple[str, str]]) -> list[str] | None:
    """A cycle in parent→child edges as a list of tables (first repeated last)."""
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for child in children.get(node, ()):
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if child not in state:
                found = visit(child)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(children):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def check_keys(columns: Mapping[str, Sequence[str]], keys: Keys) -> None:
    """Check ``keys`` against the tables' ``columns`` (table → column names), without
    reading values: every table and column named exists, a foreign key points at its
    parent's primary key, no foreign key is declared twice, and they form no cycle."""
    for table, key in keys.primary_keys.items():
        if table not in columns:
            raise RelationalError(
                f"A primary key is declared for a table {table!r} that is not in this "
                f"version (its tables: {', '.join(columns)}).",
                field="keys",
            )
        if key is not None and key not in columns[table]:
            raise RelationalError(
                f"Table {table!r} has no column {key!r} to be its primary key "
                f"(its columns: {_list(columns[table])}).",
                field="keys",
            )
    seen: set[tuple[str, str]] = set()
    for fk in keys.foreign_keys:
        for role, table, column in (
            ("parent", fk.parent_table, fk.parent_key),
            ("child", fk.child_table, fk.child_key),
        ):
            if table not in columns:
                raise RelationalError(
                    f"The foreign key {fk} names a {role} table {table!r} that is not in this "
                    f"version (its tables: {', '.join(columns)}).",
                    field="keys",
                )
            if column not in columns[table]:
                raise RelationalError(
                    f"The foreign key {fk} names a column {column!r} that table {table!r} "
                    f"does not have (its columns: {_list(columns[table])}).",
                    field="keys",
                )
        parent_pk = keys.primary_keys.get(fk.parent_table)
        if parent_pk != fk.parent_key:
            raise RelationalError(
                f"The foreign key {fk} must point at the primary key of {fk.parent_table!r}"
                + (
                    f", which is {parent_pk!r}."
                    if parent_pk
                    else f", but {fk.parent_table!r} has none: declare its primary key first."
                ),
                field="keys",
            )
        if (fk.child_table, fk.child_key) in seen:
            raise RelationalError(
                f"Column {fk.child_table}.{fk.child_key} is declared as a foreign key twice; "
                "a column refers to one parent.",
                field="keys",
            )
        seen.add((fk.child_table, fk.child_key))
    cycle = _cycle([(fk.parent_table, fk.child_table) for fk in keys.foreign_keys])
    if cycle:
        raise RelationalError(
            "The foreign keys form a cycle ("
            + " → ".join(cycle)
            + "): a table cannot be its own ancestor. Remove one of these foreign keys.",
            field="keys",
        )


def _list(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in list(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _examples(values: pd.Series) -> str:
    return ", ".join(repr(_plain(v)) for v in values.head(EXAMPLES).tolist())


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def check_key_values(frames: Mapping[str, pd.DataFrame], keys: Keys) -> None:
    """Check each declared primary key's values: unique and never empty."""
    for table, key in keys.primary_keys.items():
        if key is None:
            continue
        series = frames[table][key]
        missing = int(series.isna().sum())
        if missing:
            raise RelationalError(
                f"The primary key {table}.{key} is empty in {missing} row(s); a primary key "
                "needs a value in every row. Choose another column or fill the file.",
                field="keys",
                code="key_not_unique",
            )
        repeated = series[series.duplicated(keep="first")]
        if len(repeated):
            distinct = repeated.drop_duplicates()
            raise RelationalError(
                f"The primary key {table}.{key} is not unique: {len(distinct)} value(s) occur "
                f"more than once (for example {_examples(distinct)}). Choose a column whose "
                "values all differ, or correct the file.",
                field="keys",
                code="key_not_unique",
            )


def _comparable(series: pd.Series) -> pd.Series:
    """Values as compared across tables: numbers as numbers, the rest as text."""
    values = series.dropna()
    if ptypes.is_bool_dtype(values):
        return values.astype(str)
    if ptypes.is_numeric_dtype(values):
        return values.astype("float64")
    return values.astype(str)


def _singular(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith("ies"):
        return lowered[:-3] + "y"
    if lowered.endswith("s") and not lowered.endswith("ss"):
        return lowered[:-1]
    return lowered


def _pk_rank(table: str, column: str, position: int) -> tuple[int, int]:
    lowered = column.lower()
    named = {"id", f"{table.lower()}_id", f"{_singular(table)}_id"}
    if lowered in named:
        return (0, position)
    if lowered.endswith("_id") or column.endswith(("Id", "ID")):  # not "paid", "valid"
        return (1, position)
    return (2, position)


def _name_matches(child_key: str, parent_table: str, parent_key: str) -> bool:
    lowered = child_key.lower()
    parent = parent_table.lower()
    return lowered in {
        parent_key.lower(),
        f"{parent}_{parent_key.lower()}",
        f"{_singular(parent)}_{parent_key.lower()}",
        f"{_singular(parent)}_id",
    }


def infer_keys(frames: Mapping[str, pd.DataFrame]) -> KeyCandidates:
    """Candidate keys from the tables' values, for the curator to confirm or correct.

    Primary key candidates: columns with no empty cell and no repeated value (floats
    only when every value is whole; free text longer than 64 characters never). The
    proposed primary key is the candidate named ``id``, ``<table>_id`` or
    ``<singular table>_id``, else one ending in ``_id``/``Id``/``ID``, else the first
    candidate.
    Foreign key candidates: a column of another table (not its own proposed primary
    key) whose non-empty values all occur in a parent's proposed primary key; those
    whose name matches the key (``user_id``, ``users_user_id``, ``user_<key>``) are
    proposed, the rest only listed. A proposal that would close a cycle is left out.
    """
    candidates: dict[str, tuple[str, ...]] = {}
    proposed_pk: dict[str, str | None] = {}
    for table, frame in frames.items():
        found = []
        for position, column in enumerate(frame.columns):
            series = frame[column]
            if len(series) == 0 or series.isna().any() or not series.is_unique:
                continue
            if ptypes.is_float_dtype(series) and not (series % 1 == 0).all():
                continue
            if ptypes.is_bool_dtype(series) and len(series) > 2:
                continue
            if series.dtype == object and series.astype(str).str.len().max() > 64:
                continue
            found.append((_pk_rank(table, str(column), position), str(column)))
        found.sort()
        candidates[table] = tuple(c for _, c in found)
        proposed_pk[table] = found[0][1] if found else None

    parent_values: dict[str, set] = {}
    for table, key in proposed_pk.items():
        if key is not None:
            parent_values[table] = set(_comparable(frames[table][key]).tolist())
    fk_candidates: list[ForeignKey] = []
    for child, frame in frames.items():
        for column in frame.columns:
            column = str(column)
            if column == proposed_pk.get(child):
                continue
            values = _comparable(frame[column])
            if values.empty:
                continue
            distinct = set(values.tolist())
            for parent, parent_key in proposed_pk.items():
                if parent == child or parent_key is None:
                    continue
                if distinct <= parent_values[parent]:
                    fk_candidates.append(ForeignKey(child, column, parent, parent_key))
    fk_candidates.sort()
    proposed: list[ForeignKey] = []
    used: set[tuple[str, str]] = set()
    for fk in fk_candidates:
        if not _name_matches(fk.child_key, fk.parent_table, fk.parent_key):
            continue
        if (fk.child_table, fk.child_key) in used:
            continue
        edges = [(f.parent_table, f.child_table) for f in proposed]
        if _cycle([*edges, (fk.parent_table, fk.child_table)]):
            continue
        proposed.append(fk)
        used.add((fk.child_table, fk.child_key))
    return KeyCandidates(
        proposed=Keys(primary_keys=proposed_pk, foreign_keys=tuple(proposed)),
        primary_key_candidates=candidates,
        foreign_key_candidates=tuple(fk_candidates),
    )
