"""The SDMetrics / SDV multi-table metadata format, in and out.

The format (``METADATA_SPEC_VERSION: MULTI_TABLE_V1``)::

    {"tables": {"<table>": {"primary_key": "<column>",
                             "columns": {"<column>": {"sdtype": "...", ...}}}},
     "relationships": [{"parent_table_name": ..., "parent_primary_key": ...,
                        "child_table_name": ..., "child_foreign_key": ...}],
     "METADATA_SPEC_VERSION": "MULTI_TABLE_V1"}

Importing it declares the keys and each listed column's type (an ``sdtype``
SynthGov knows: id, numerical, categorical, boolean, datetime); every attribute
of a column (``sdtype`` included, and ``regex_format``, ``datetime_format``,
``computer_representation`` …) is kept with the column as given, so exporting
gives back the same document while the curator has not changed that column's type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from registry.relational.errors import RelationalError
from registry.relational.keys import ForeignKey, Keys

SPEC_VERSION = "MULTI_TABLE_V1"
# SynthGov's column type → sdtype, and back for the sdtypes SynthGov models.
SDTYPE_OF_TYPE = {
    "id": "id",
    "numerical": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
    "text": "unknown",
}
TYPE_OF_SDTYPE = {v: k for k, v in SDTYPE_OF_TYPE.items() if v != "unknown"}
SDMETRICS_KEY = "sdmetrics"  # where a column keeps its imported attributes


def _refuse(message: str) -> RelationalError:
    return RelationalError(
        f"The SDMetrics metadata cannot be used: {message}", field="metadata", code="bad_metadata"
    )


def keys_from_metadata(
    metadata: Any, columns: Mapping[str, Sequence[str]]
) -> tuple[Keys, dict[str, dict[str, dict[str, Any]]]]:
    """The keys an SDMetrics multi-table metadata dict declares, and each listed
    column's attributes (table → column → attributes). The tables must be exactly
    those uploaded (``columns``: table → its column names) and every column it lists
    must exist. The keys themselves are checked by ``check_keys``."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("tables"), dict):
        raise _refuse('it must be a JSON object with "tables" (and "relationships").')
    spec = metadata.get("METADATA_SPEC_VERSION", SPEC_VERSION)
    if spec != SPEC_VERSION:
        raise _refuse(f"METADATA_SPEC_VERSION is {spec!r}; SynthGov reads {SPEC_VERSION!r}.")
    tables = metadata["tables"]
    missing = [t for t in columns if t not in tables]
    extra = [str(t) for t in tables if t not in columns]
    if missing or extra:
        parts = []
        if extra:
            parts.append(f"it describes table(s) not uploaded: {', '.join(map(repr, extra))}")
        if missing:
            parts.append(f"it does not describe {', '.join(map(repr, missing))}")
        raise _refuse("; ".join(parts) + ". Its tables must be exactly the uploaded ones.")
    primary_keys: dict[str, str | None] = {}
    attributes: dict[str, dict[str, dict[str, Any]]] = {}
    for table, described in tables.items():
        if not isinstance(described, dict):
            raise _refuse(f"table {table!r} must be an object.")
        key = described.get("primary_key")
        if key is not None and not isinstance(key, str):
            raise _refuse(
                f"the primary key of {table!r} must be one column name; keys of several "
                "columns are not supported."
            )
        primary_keys[table] = key
        listed = described.get("columns", {})
        if not isinstance(listed, dict):
            raise _refuse(f'"columns" of {table!r} must be an object.')
        attributes[table] = {}
        for column, attrs in listed.items():
            if column not in columns[table]:
                raise _refuse(f"table {table!r} has no column {column!r}.")
            if not isinstance(attrs, dict) or not isinstance(attrs.get("sdtype"), str):
                raise _refuse(f'column {table}.{column} needs an object with an "sdtype".')
            attributes[table][column] = dict(attrs)
    relationships = metadata.get("relationships", [])
    if not isinstance(relationships, list):
        raise _refuse('"relationships" must be a list.')
    fields = ("parent_table_name", "parent_primary_key", "child_table_name", "child_foreign_key")
    foreign_keys = []
    for item in relationships:
        if not isinstance(item, dict) or not all(isinstance(item.get(f), str) for f in fields):
            raise _refuse("each relationship needs " + ", ".join(fields) + " (text).")
        foreign_keys.append(
            ForeignKey(
                child_table=item["child_table_name"],
                child_key=item["child_foreign_key"],
                parent_table=item["parent_table_name"],
                parent_key=item["parent_primary_key"],
            )
        )
    return Keys(primary_keys=primary_keys, foreign_keys=tuple(foreign_keys)), attributes


def column_sdmetrics(column: Mapping[str, Any], *, key: bool = False) -> dict[str, Any]:
    """A stored column (``{name, type, role, ...}``) as SDMetrics metadata: its imported
    attributes while its type still matches their sdtype, else the type's sdtype
    (``id`` for a ``key`` column, as SDV requires of primary and foreign keys)."""
    kept = column.get(SDMETRICS_KEY)
    if isinstance(kept, dict):
        sdtype = kept.get("sdtype")
        if TYPE_OF_SDTYPE.get(sdtype, column["type"]) == column["type"]:
            return dict(kept)
    if key:
        return {"sdtype": "id"}
    return {"sdtype": SDTYPE_OF_TYPE.get(column["type"], "unknown")}


def metadata_from(tables: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], keys: Keys) -> dict:
    """The SDMetrics multi-table metadata of tables (``(name, schema columns)`` in
    order) and their keys."""
    out: dict[str, Any] = {"tables": {}}
    key_columns = {(t, k) for t, k in keys.primary_keys.items() if k}
    key_columns |= {(fk.child_table, fk.child_key) for fk in keys.foreign_keys}
    for name, schema in tables:
        described: dict[str, Any] = {}
        pk = keys.primary_keys.get(name)
        if pk:
            described["primary_key"] = pk
        described["columns"] = {
            c["name"]: column_sdmetrics(c, key=(name, c["name"]) in key_columns) for c in schema
        }
        out["tables"][name] = described
    out["relationships"] = [
        {
            "parent_table_name": fk.parent_table,
            "parent_primary_key": fk.parent_key,
            "child_table_name": fk.child_table,
            "child_foreign_key": fk.child_key,
        }
        for fk in keys.foreign_keys
    ]
    out["METADATA_SPEC_VERSION"] = SPEC_VERSION
    return out


def apply_column_attributes(
    schema: Sequence[Mapping[str, Any]], attributes: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The inferred ``schema`` with the imported attributes: each listed column keeps
    them, and takes the type its sdtype names when SynthGov models that sdtype."""
    out = []
    for column in schema:
        attrs = attributes.get(column["name"])
        if attrs is None:
            out.append(dict(column))
            continue
        typed = TYPE_OF_SDTYPE.get(attrs["sdtype"], column["type"])
        out.append({**column, "type": typed, SDMETRICS_KEY: dict(attrs)})
    return out
