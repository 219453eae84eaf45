from __future__ import annotations

import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from registry.ingest import ColumnRole, ColumnSchema, ColumnType, infer_schema, read_frame
from registry.ingest.schema import infer_role, name_words

from .conftest import Ingest


def types_of(frame: pd.DataFrame) -> dict[str, str]:
    return {column.name: str(column.type) for column in infer_schema(frame)}


def test_mixed_type_csv_columns_from_a_real_read(ingest: Ingest) -> None:
    lines = ["customer_id,age,placed,joined,comment,grade,score,notes_short"]
    for i in range(200):
        age = "unknown" if i % 20 == 0 else str(20 + i % 50)
        placed = "yes" if i % 3 else "no"
        comment = f"Customer {i} wrote a long free text remark about the service (number {i})"
        lines.append(
            f"C{i:05d},{age},{placed},2024-01-{1 + i % 28:02d},{comment},{'ABC'[i % 3]},"
            f"{i * 1.5},{'ok' if i % 2 else 'n/a'}"
        )
    table = ingest(("\n".join(lines) + "\n").encode())
    frame = read_frame(table.path, table.info)

    assert types_of(frame) == {
        "customer_id": "id",
        "age": "categorical",  # mostly numbers with a word: not numerical, and no crash
        "placed": "boolean",
        "joined": "datetime",
        "comment": "text",
        "grade": "categorical",
        "score": "numerical",
        "notes_short": "categorical",
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["yes", "no", "YES", None], "boolean"),
        (["True", "False"], "boolean"),
        ([0, 1, 1, 0], "boolean"),
        ([0.0, 1.0, None], "boolean"),
        ([True, False], "boolean"),
        (["y", "n", "maybe"], "categorical"),
        ([1, 1, 1], "numerical"),
        ([1, 2, 3.5], "numerical"),
        (["2024-01-02", "2023-12-31T10:00:00"], "datetime"),
        (["2024-01-02T10:00:00+02:00", "2024-01-02T10:00:00Z"], "datetime"),
        (["2024-13-45", "2024-01-01"], "categorical"),
        (["01234", "02345"], "categorical"),
        (["12", "7.5"], "numerical"),
        ([Decimal("1.50"), Decimal("2.25"), None], "numerical"),
        ([None, None], "categorical"),
        ([1, "a", 2.5, None], "categorical"),
    ],
)
def test_value_types(values: list[object], expected: str) -> None:
    assert types_of(pd.DataFrame({"col": values}))["col"] == expected


def test_datetime_dtype_and_uuid_columns() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "ref": [str(uuid.uuid4()), str(uuid.uuid4())],
        }
    )

    schema = {c.name: c for c in infer_schema(frame)}

    assert schema["when"].type == ColumnType.DATETIME
    assert schema["ref"].type == ColumnType.ID
    assert schema["ref"].role == ColumnRole.IDENTIFIER


def test_unique_integers_are_an_id_only_when_named_so() -> None:
    frame = pd.DataFrame({"id": range(50), "patientId": range(50), "count": range(50)})

    schema = {c.name: c for c in infer_schema(frame)}

    assert schema["id"].type == ColumnType.ID
    assert schema["patientId"].type == ColumnType.ID
    assert schema["count"].type == ColumnType.NUMERICAL


def test_repeated_values_in_an_id_named_column_are_not_an_id() -> None:
    frame = pd.DataFrame({"store_id": [1, 1, 2, 3]})

    assert infer_schema(frame)[0].type == ColumnType.NUMERICAL


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("gender", "protected"),
        ("Sex", "protected"),
        ("ethnic_group", "protected"),
        ("age", "protected"),
        ("AgeBand", "protected"),
        ("page_views", "other"),
        ("average", "other"),
        ("zip", "quasi_identifier"),
        ("postal code", "quasi_identifier"),
        ("date_of_birth", "quasi_identifier"),
        ("DOB", "quasi_identifier"),
        ("salary", "sensitive"),
        ("annual_income", "sensitive"),
        ("diagnosis_code", "sensitive"),
        ("target", "target"),
        ("Outcome", "target"),
        ("status", "target"),
        ("marital_status", "other"),
        ("email", "identifier"),
        ("last_name", "identifier"),
        ("degree_type", "other"),
    ],
)
def test_roles_from_names(name: str, role: str) -> None:
    assert infer_role(name, ColumnType.CATEGORICAL) == role


def test_id_type_means_identifier_role() -> None:
    assert infer_role("row", ColumnType.ID) == ColumnRole.IDENTIFIER


def test_name_words_split_camel_case_and_separators() -> None:
    assert name_words("patientBirthDate") == ["patient", "birth", "date"]
    assert name_words(" Zip-Code ") == ["zip", "code"]


def test_nullable_and_json_form() -> None:
    frame = pd.DataFrame({"salary": [1.0, np.nan, 3.0]})

    column = infer_schema(frame)[0]

    assert column == ColumnSchema("salary", ColumnType.NUMERICAL, ColumnRole.SENSITIVE, True)
    assert column.to_dict() == {
        "name": "salary",
        "type": "numerical",
        "role": "sensitive",
        "nullable": True,
    }
    assert ColumnSchema.from_dict(column.to_dict()) == column


def test_student_placements_like_table() -> None:
    frame = pd.DataFrame(
        {
            "student_id": range(17264, 17274),
            "gender": list("MFMFMFMFMF"),
            "work_experience": [True, False] * 5,
            "salary": [27000.0, 20000.0, None, 40000.0, None, 30000.0, 26000.0, None, 50000.0, 0],
            "placed": [True, True, False, True, False, True, True, False, True, True],
            "start_date": ["2020-07-23", "2020-05-01", None, "2020-07-01", None] * 2,
        }
    )

    schema = {c.name: (str(c.type), str(c.role)) for c in infer_schema(frame)}

    assert schema == {
        "student_id": ("id", "identifier"),
        "gender": ("categorical", "protected"),
        "work_experience": ("boolean", "other"),
        "salary": ("numerical", "sensitive"),
        "placed": ("boolean", "other"),
        "start_date": ("datetime", "other"),
    }
