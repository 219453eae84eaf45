from __future__ import annotations

import pandas as pd
import pytest

from registry.ingest import TableInfo, read_frame, sample_frame

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
