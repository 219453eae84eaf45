from __future__ import annotations

import pandas as pd
import pytest

from registry.ingest import (
    DEFAULT_SAMPLE_ROWS,
    TableFormat,
    TableInfo,
    infer_schema,
    profile_frame,
    read_frame,
    sample_frame,
    tables,
)
from registry.ingest.tables import SAMPLE_MAX_CELLS, SAMPLE_MIN_ROWS, sample_rows

from .conftest import Ingest, parquet_bytes


def test_mixed_csv_columns_are_read_without_warnings_or_mixed_types(ingest: Ingest) -> None:
    # pytest turns warnings (such as pandas' DtypeWarning) into errors.
    rows = [f"{i},{i if i % 50 else 'unknown'},0{i % 9}123,{i * 0.5}" for i in range(1, 300_001)]
    data = ("id,age,postcode,score\n" + "\n".join(rows) + "\n").encode()
    table = ingest(data, max_bytes=50_000_000)

    frame = read_frame(table.path, table.info)

    assert frame["id"].dtype == "int64"
    assert frame["score"].dtype == "float64"
    assert frame["age"].dtype == object  # numbers and words: kept as text, all of it
    assert {type(value) for value in frame["age"]} == {str}
    assert frame["postcode"].iloc[0] == "01123"  # leading zero kept


def test_missing_values_in_numeric_column(ingest: Ingest) -> None:
    table = ingest(b"a,b\n1,x\n,y\n3,NA\n")

    frame = read_frame(table.path, table.info)

    assert frame["a"].dtype == "float64"
    assert frame["a"].isna().tolist() == [False, True, False]
    assert frame["b"].isna().tolist() == [False, False, True]


def test_long_digit_strings_stay_exact(ingest: Ingest) -> None:
    table = ingest(b"card\n1234567890123456789\n9876543210987654321\n")

    assert read_frame(table.path, table.info)["card"].tolist() == [
        "1234567890123456789",
        "9876543210987654321",
    ]


def test_read_first_rows_and_columns(ingest: Ingest) -> None:
    table = ingest(b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n")

    frame = read_frame(table.path, table.info, nrows=2, columns=["c", "a"])

    assert frame.to_dict("list") == {"a": [1, 4], "c": [3, 6]}


def test_parquet_first_rows(ingest: Ingest) -> None:
    table = ingest(parquet_bytes(pd.DataFrame({"a": range(100), "b": ["x"] * 100})))

    frame = read_frame(table.path, table.info, nrows=7, columns=["a"])

    assert frame["a"].tolist() == list(range(7))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_is_uniform_seeded_and_in_file_order(ingest: Ingest, fmt: str) -> None:
    source = pd.DataFrame({"n": range(250_000)})
    data = source.to_csv(index=False).encode() if fmt == "csv" else parquet_bytes(source)
    table = ingest(data)

    first = sample_frame(table.path, table.info, rows=1_000, seed=7)
    again = sample_frame(table.path, table.info, rows=1_000, seed=7)
    other = sample_frame(table.path, table.info, rows=1_000, seed=8)

    values = first["n"].tolist()
    assert len(values) == 1_000 == len(set(values))
    assert values == sorted(values)
    assert values == again["n"].tolist()
    assert values != other["n"].tolist()
    # Spread over the whole file, not the first rows: both halves are sampled.
    assert sum(v < 125_000 for v in values) in range(400, 600)


def test_small_table_sample_is_the_whole_table(ingest: Ingest) -> None:
    table = ingest(b"a\n1\n2\n")

    assert sample_frame(table.path, table.info, rows=10)["a"].tolist() == [1, 2]


def test_table_info_round_trips_through_json_form() -> None:
    info = TableInfo(
        format="csv",  # type: ignore[arg-type]
        row_count=3,
        columns=("a", "b"),
        encoding="utf-8",
        delimiter=";",
        compressed=True,
        compression="gzip",
    )

    assert TableInfo.from_dict(info.to_dict()) == info


def wide_info(columns: int, rows: int) -> TableInfo:
    names = tuple(f"c{i}" for i in range(columns))
    return TableInfo(format=TableFormat.CSV, row_count=rows, columns=names, delimiter=",")


@pytest.mark.parametrize(
    ("columns", "rows", "asked", "expected"),
    [
        (19, 10**7, DEFAULT_SAMPLE_ROWS, DEFAULT_SAMPLE_ROWS),  # narrow: all rows asked for
        (25, 10**7, DEFAULT_SAMPLE_ROWS, DEFAULT_SAMPLE_ROWS),
        (50, 10**7, DEFAULT_SAMPLE_ROWS, 50_000),  # wide: cells capped
        (57, 10**7, DEFAULT_SAMPLE_ROWS, 43_859),
        (500, 10**7, DEFAULT_SAMPLE_ROWS, 5_000),
        (5_000, 10**7, DEFAULT_SAMPLE_ROWS, SAMPLE_MIN_ROWS),  # never below the floor
        (50, 30_000, DEFAULT_SAMPLE_ROWS, 30_000),  # small table: all of it
        (50, 10**7, 1_000, 1_000),
    ],
)
def test_sample_size_follows_cells_not_rows(
    columns: int, rows: int, asked: int, expected: int
) -> None:
    assert sample_rows(wide_info(columns, rows), asked) == expected
    assert SAMPLE_MAX_CELLS == 2_500_000


def test_selected_columns_count_towards_the_cap() -> None:
    info = wide_info(100, 10**7)

    assert sample_rows(info, columns=["c1", "c2"]) == DEFAULT_SAMPLE_ROWS
    assert sample_rows(info) == 25_000


def test_wide_table_sample_is_capped_and_the_profile_says_so(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "SAMPLE_MAX_CELLS", 2_000)
    monkeypatch.setattr(tables, "SAMPLE_MIN_ROWS", 50)
    header = ",".join(f"c{i}" for i in range(10))
    lines = [header] + [",".join(str(r * 10 + c) for c in range(10)) for r in range(1_000)]
    table = ingest(("\n".join(lines) + "\n").encode())

    sample = sample_frame(table.path, table.info, seed=3)
    again = sample_frame(table.path, table.info, seed=3)
    profile = profile_frame(sample, infer_schema(sample), total_rows=table.info.row_count)

    assert len(sample) == 200  # 2,000 cells / 10 columns, not the 100,000 rows asked for
    assert sample.equals(again)
    assert sample["c0"].is_monotonic_increasing
    assert profile["sample_rows"] == 200
    assert profile["total_rows"] == 1_000
    assert profile["sampled"] is True
