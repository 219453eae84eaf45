from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from registry.ingest import ColumnRole, ColumnSchema, ColumnType, infer_schema, profile_frame


def column(name: str, kind: ColumnType, role: ColumnRole = ColumnRole.OTHER) -> ColumnSchema:
    return ColumnSchema(name, kind, role)


def by_name(profile: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in profile["columns"]}


def test_numeric_profile_matches_hand_computed_values() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, None]})

    x = by_name(profile_frame(frame, [column("x", ColumnType.NUMERICAL)], bins=3))["x"]

    assert x["count"] == 5
    assert x["missing"] == 1
    assert x["missing_share"] == 0.2
    assert x["distinct"] == 4
    assert (x["min"], x["max"], x["mean"]) == (1.0, 4.0, 2.5)
    assert x["std"] == pytest.approx(math.sqrt(5 / 3))  # sample std of 1..4
    assert x["histogram"] == {"bin_edges": [1.0, 2.0, 3.0, 4.0], "counts": [1, 1, 2]}


def test_categorical_and_boolean_top_values_with_counts() -> None:
    frame = pd.DataFrame(
        {"c": ["b", "a", "a", "c", "b", "a", None], "flag": [True] * 5 + [False] * 2}
    )
    schema = [column("c", ColumnType.CATEGORICAL), column("flag", ColumnType.BOOLEAN)]

    profile = by_name(profile_frame(frame, schema, top=2))

    assert profile["c"]["top"] == [{"value": "a", "count": 3}, {"value": "b", "count": 2}]
    assert profile["c"]["other_count"] == 1
    assert profile["c"]["distinct"] == 3
    assert profile["flag"]["top"] == [
        {"value": "True", "count": 5},
        {"value": "False", "count": 2},
    ]


def test_datetime_profile() -> None:
    frame = pd.DataFrame({"d": ["2024-01-01", "2024-01-03", None, "not a date"]})

    d = by_name(profile_frame(frame, [column("d", ColumnType.DATETIME)]))["d"]

    assert d["min"] == "2024-01-01T00:00:00"
    assert d["max"] == "2024-01-03T00:00:00"
    assert d["mean"] == "2024-01-02T00:00:00"
    assert d["invalid"] == 1
    assert d["std_seconds"] == pytest.approx(math.sqrt(2) * 86_400)


def test_identifier_and_text_columns_do_not_repeat_values() -> None:
    frame = pd.DataFrame({"id": ["a1", "b2", "c3"], "note": ["hello there", "x", "long text"]})
    schema = [column("id", ColumnType.ID), column("note", ColumnType.TEXT)]

    profile = by_name(profile_frame(frame, schema))

    assert profile["id"]["unique_share"] == 1.0
    assert "top" not in profile["id"] and "top" not in profile["note"]
    assert (profile["note"]["min_length"], profile["note"]["max_length"]) == (1, 11)
    assert "a1" not in json.dumps(profile)


def test_profile_is_strict_json_without_numpy_types_or_nan() -> None:
    frame = pd.DataFrame(
        {
            "n": np.array([1, 2, 3], dtype=np.int64),
            "f": [np.nan, np.nan, np.nan],
            "inf": [1.0, np.inf, -np.inf],
            "single": [5.0, None, None],
            "mixed": [1, "a", None],
        }
    )
    schema = [
        column("n", ColumnType.NUMERICAL),
        column("f", ColumnType.NUMERICAL),
        column("inf", ColumnType.NUMERICAL),
        column("single", ColumnType.NUMERICAL),
        column("mixed", ColumnType.NUMERICAL),  # a curator's wrong correction must not crash
    ]

    profile = profile_frame(frame, schema)

    text = json.dumps(profile, allow_nan=False)  # raises on NaN or numpy scalars
    assert json.loads(text) == profile
    columns = by_name(profile)
    assert columns["f"]["mean"] is None and columns["f"]["histogram"]["counts"] == []
    assert columns["single"]["std"] is None
    assert columns["mixed"]["invalid"] == 1
    assert columns["inf"]["max"] == 1.0


def test_large_frames_are_profiled_on_a_seeded_sample() -> None:
    frame = pd.DataFrame({"x": np.arange(50_000, dtype=float)})
    schema = [column("x", ColumnType.NUMERICAL)]

    first = profile_frame(frame, schema, max_rows=1_000, total_rows=2_000_000)
    again = profile_frame(frame, schema, max_rows=1_000, total_rows=2_000_000)

    assert first["sample_rows"] == 1_000
    assert first["total_rows"] == 2_000_000
    assert first["sampled"] is True
    assert first == again
    assert sum(by_name(first)["x"]["histogram"]["counts"]) == 1_000


def test_small_frame_profile_is_not_sampled() -> None:
    frame = pd.DataFrame({"x": [1, 2]})

    profile = profile_frame(frame, infer_schema(frame))

    assert (profile["sample_rows"], profile["total_rows"], profile["sampled"]) == (2, 2, False)
