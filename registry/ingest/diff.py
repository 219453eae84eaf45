"""What changed between two schemas (version 1 and version 2 of a dataset), and
whether a table's schema matches a reference closely enough to audit against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.ingest.schema import ColumnSchema


@dataclass(frozen=True)
class ColumnChange:
    """A column present in both schemas whose ``attribute`` ("type" or "role") changed."""

    name: str
    attribute: str
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "attribute": self.attribute, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class SchemaDiff:
    """Columns added and removed (in their schema's order), and type and role
    changes of columns kept. ``reordered`` is true when the kept columns are in
    a different order."""

    added: tuple[ColumnSchema, ...] = ()
    removed: tuple[ColumnSchema, ...] = ()
    type_changed: tuple[ColumnChange, ...] = ()
    role_changed: tuple[ColumnChange, ...] = ()
    nullable_changed: tuple[str, ...] = field(default=())
    reordered: bool = False

    @property
    def is_empty(self) -> bool:
        """True when nothing a curator would care about changed."""
        return not (
            self.added
            or self.removed
            or self.type_changed
            or self.role_changed
            or self.nullable_changed
            or self.reordered
        )

    def summary(self) -> list[str]:
        """The changes as short sentences for a page or an error message."""
        lines: list[str] = []
        if self.added:
            lines.append("Added: " + _names(column.name for column in self.added) + ".")
        if self.removed:
            lines.append("Removed: " + _names(column.name for column in self.removed) + ".")
        for change in self.type_changed:
            lines.append(f"{change.name!r} changed type from {change.old} to {change.new}.")
        for change in self.role_changed:
            lines.append(f"{change.name!r} changed role from {change.old} to {change.new}.")
        if self.nullable_changed:
            lines.append("Missing values changed in: " + _names(self.nullable_changed) + ".")
        if self.reordered:
            lines.append("The columns are in a different order.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [column.to_dict() for column in self.added],
            "removed": [column.to_dict() for column in self.removed],
            "type_changed": [change.to_dict() for change in self.type_changed],
            "role_changed": [change.to_dict() for change in self.role_changed],
            "nullable_changed": list(self.nullable_changed),
            "reordered": self.reordered,
            "is_empty": self.is_empty,
            "summary": self.summary(),
        }


def schema_diff(old: Sequence[ColumnSchema], new: Sequence[ColumnSchema]) -> SchemaDiff:
    """Compare two schemas column by column, matching columns by name."""
    old_by_name = {column.name: column for column in old}
    new_by_name = {column.name: column for column in new}
    kept = [column.name for column in new if column.name in old_by_name]
    type_changed: list[ColumnChange] = []
    role_changed: list[ColumnChange] = []
    nullable_changed: list[str] = []
    for name in kept:
        before, after = old_by_name[name], new_by_name[name]
        if before.type != after.type:
            type_changed.append(ColumnChange(name, "type", str(before.type), str(after.type)))
        if before.role != after.role:
            role_changed.append(ColumnChange(name, "role", str(before.role), str(after.role)))
        if before.nullable != after.nullable:
            nullable_changed.append(name)
    old_order = [column.name for column in old if column.name in new_by_name]
    return SchemaDiff(
        added=tuple(column for column in new if column.name not in old_by_name),
        removed=tuple(column for column in old if column.name not in new_by_name),
        type_changed=tuple(type_changed),
        role_changed=tuple(role_changed),
        nullable_changed=tuple(nullable_changed),
        reordered=old_order != kept,
    )


def schema_matches(reference: Sequence[ColumnSchema], other: Sequence[ColumnSchema]) -> bool:
    """True when ``other`` has exactly the reference's columns with the same
    types. Order, roles and missing values may differ: roles are set on the
    reference, and synthetic data may legitimately have fewer missing values."""
    diff = schema_diff(reference, other)
    return not (diff.added or diff.removed or diff.type_changed)


def _names(names: Any) -> str:
    listed = [repr(name) for name in names]
    if len(listed) > 10:
        return ", ".join(listed[:10]) + f" and {len(listed) - 10} more"
    return ", ".join(listed)
