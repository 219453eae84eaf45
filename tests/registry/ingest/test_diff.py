from __future__ import annotations

import json

from registry.ingest import ColumnRole, ColumnSchema, ColumnType, schema_diff, schema_matches

NUM, CAT, TXT = ColumnType.NUMERICAL, ColumnType.CATEGORICAL, ColumnType.TEXT

V1 = [
    ColumnSchema("id", ColumnType.ID, ColumnRole.IDENTIFIER),
    ColumnSchema("age", NUM, ColumnRole.PROTECTED),
    ColumnSchema("city", CAT),
    ColumnSchema("notes", TXT),
]


def test_added_removed_type_and_role_changes() -> None:
    v2 = [
        ColumnSchema("id", ColumnType.ID, ColumnRole.IDENTIFIER),
        ColumnSchema("age", CAT, ColumnRole.OTHER),
        ColumnSchema("city", CAT, nullable=True),
        ColumnSchema("income", NUM, ColumnRole.SENSITIVE),
    ]

    diff = schema_diff(V1, v2)

    assert [c.name for c in diff.added] == ["income"]
    assert [c.name for c in diff.removed] == ["notes"]
    assert [(c.name, c.old, c.new) for c in diff.type_changed] == [
        ("age", "numerical", "categorical")
    ]
    assert [(c.name, c.old, c.new) for c in diff.role_changed] == [("age", "protected", "other")]
    assert diff.nullable_changed == ("city",)
    assert diff.reordered is False
    assert not diff.is_empty
    assert diff.summary() == [
        "Added: 'income'.",
        "Removed: 'notes'.",
        "'age' changed type from numerical to categorical.",
        "'age' changed role from protected to other.",
        "Missing values changed in: 'city'.",
    ]
    as_json = json.loads(json.dumps(diff.to_dict()))
    assert as_json["added"][0]["name"] == "income"
    assert as_json["type_changed"][0] == {
        "name": "age",
        "attribute": "type",
        "old": "numerical",
        "new": "categorical",
    }


def test_identical_schemas_have_an_empty_diff() -> None:
    diff = schema_diff(V1, list(V1))

    assert diff.is_empty
    assert diff.summary() == []
    assert schema_matches(V1, V1)


def test_reordering_is_reported_but_still_matches() -> None:
    reordered = [V1[1], V1[0], V1[2], V1[3]]

    diff = schema_diff(V1, reordered)

    assert diff.reordered and not diff.added and not diff.removed
    assert schema_matches(V1, reordered)


def test_matching_ignores_roles_but_not_types_or_columns() -> None:
    other_roles = [ColumnSchema(c.name, c.type, ColumnRole.OTHER) for c in V1]
    other_type = [*V1[:3], ColumnSchema("notes", CAT)]

    assert schema_matches(V1, other_roles)
    assert not schema_matches(V1, other_type)
    assert not schema_matches(V1, V1[:3])
    assert not schema_matches(V1[:3], V1)
