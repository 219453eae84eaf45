from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from registry.ingest import IngestError

from .conftest import Ingest


def table_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_row_count_from_footer_across_row_groups(ingest: Ingest) -> None:
    table = pa.table({"a": list(range(10_000)), "b": ["x"] * 10_000})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=1_000)

    result = ingest(buffer.getvalue())

    assert result.info.row_count == 10_000
    assert result.info.column_types == ("int64", "string")


def test_nested_columns_are_refused(ingest: Ingest) -> None:
    data = table_bytes(pa.table({"id": [1, 2], "tags": [["a"], ["b", "c"]]}))

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.code == "unsupported_column_type"
    assert "'tags'" in caught.value.message


def test_duplicate_parquet_columns_are_refused(ingest: Ingest) -> None:
    data = table_bytes(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"]))

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.code == "duplicate_columns"


def test_empty_parquet_column_name_is_refused(ingest: Ingest) -> None:
    data = table_bytes(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", ""]))

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.code == "empty_column_name"


def test_parquet_without_rows_is_header_only(ingest: Ingest) -> None:
    data = table_bytes(pa.table({"a": pa.array([], pa.int64())}))

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.code == "header_only"
