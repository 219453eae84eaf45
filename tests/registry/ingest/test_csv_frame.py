"""Reading validated CSV files back: the Arrow reader gives what pandas gave.

The reference is the reader this layer used before (``pd.read_csv`` with
``dtype=str``, then numbers coerced with ``pd.to_numeric``), run on inputs that
cannot crash it. Random files full of quoting, blank lines, missing-value
tokens and number-like text must read the same through both.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from registry.ingest import IngestError, TableInfo, read_frame, sample_frame
from registry.ingest import csv_frame as csv_frame_module
from registry.ingest.csv_frame import TextColumn

from .conftest import Ingest

# --- The reader this layer used before, as the reference ---------------------

_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_LONG_DIGITS = re.compile(r"^[+-]?\d{16,}$")


def reference_read(
    path: Path, info: TableInfo, *, nrows: int | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        nrows=nrows,
        sep=info.delimiter or ",",
        encoding=info.encoding or "utf-8",
        encoding_errors="strict",
        dtype=str,
        index_col=False,
        usecols=columns,
        skip_blank_lines=True,
        quotechar='"',
        doublequote=True,
        engine="c",
    )
    for name in frame.columns:
        values = frame[name]
        present = values.dropna()
        if present.empty or not all(isinstance(value, str) for value in present):
            continue
        stripped = present.str.strip()
        if stripped.str.match(_LEADING_ZERO).any() or stripped.str.match(_LONG_DIGITS).any():
            continue
        if pd.to_numeric(stripped, errors="coerce").isna().any():
            continue
        frame[name] = pd.to_numeric(values.str.strip())
    return frame


def assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        frame.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True
    )
    for name in frame.columns:
        if frame[name].dtype == object:
            kinds = {type(v) for v in frame[name] if not (isinstance(v, float) and np.isnan(v))}
            assert kinds <= {str}, (name, kinds)
            missing = [v for v in frame[name] if not isinstance(v, str)]
            assert all(isinstance(v, float) and np.isnan(v) for v in missing), missing


# --- Random files ----------------------------------------------------------------

TOKENS = [
    "",
    " ",
    "NA",
    "N/A",
    "None",
    "null",
    "<NA>",
    "nan",
    "NaN",
    "-nan",
    "1",
    "01",
    "007",
    "-2",
    "+3",
    " 4 ",
    "1.5",
    ".5",
    "5.",
    "1e5",
    "2E-3",
    "-1.25e+2",
    "inf",
    "-Infinity",
    "1e400",
    "1e-400",
    "12345678901234567",
    "123456789012345",
    "0",
    "-0",
    "abc",
    "a b",
    "x,y",
    "tab\there",
    'say "hi"',
    '"',
    "line\nbreak",
    "cr\r\nlf",
    "é",
    "Łódź",
    "日本",
    "2024-01-01",
    "true",
    "#N/A",
    "0x1A",
    "1_000",
]


def quoted(value: str, delimiter: str, rng: random.Random) -> str:
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    if value and rng.random() < 0.1:
        return '"' + value + '"'
    return value


def random_csv(rng: random.Random) -> bytes:
    delimiter = rng.choice([",", ";", "\t", "|"])
    width = rng.randint(1, 4)
    newline = rng.choice(["\n", "\r\n"])
    # Columns lean towards one kind of value, so numeric columns happen often.
    pools = [
        rng.choice([TOKENS, TOKENS[:30], ["1", "2", "-3", " 4", "", "NA"], ["1.5", "2", "inf"]])
        for _ in range(width)
    ]
    lines = [delimiter.join(f"c{i}" for i in range(width))]
    for _ in range(rng.randint(1, 25)):
        if rng.random() < 0.08:
            lines.append(rng.choice(["", "   ", "\t"]))  # blank lines, skipped
        cells = [quoted(rng.choice(pool), delimiter, rng) for pool in pools]
        if width == 1 and not cells[0].strip(' "\t'):
            cells = ["x"]  # a blank single value is a blank line: see the test below
        lines.append(delimiter.join(cells))
    text = newline.join(lines) + (newline if rng.random() < 0.8 else "")
    return text.encode()


def test_random_files_read_as_pandas_read_them(ingest: Ingest) -> None:
    rng = random.Random(20240611)  # noqa: S311 - test data, not secrets
    compared = numeric = 0
    for _ in range(150):
        data = random_csv(rng)
        try:
            table = ingest(data)
        except IngestError:
            continue
        expected = reference_read(table.path, table.info)
        frame = read_frame(table.path, table.info)
        assert len(frame) == table.info.row_count, data
        try:
            assert_same(frame, expected)
            last = table.info.columns[-1:]
            assert_same(
                read_frame(table.path, table.info, nrows=3, columns=list(last)),
                reference_read(table.path, table.info, nrows=3, columns=list(last)),
            )
        except AssertionError as error:
            raise AssertionError(f"{data!r}\n{error}") from None
        compared += 1
        numeric += sum(dtype.kind in "if" for dtype in frame.dtypes)
        table.path.unlink()
    assert compared > 90
    assert numeric > 30


def test_samples_are_the_same_rows_as_before(ingest: Ingest) -> None:
    lines = ["id,code,score,word"]
    lines += [f"{i},{i % 97:03d},{i / 4},w{i % 13}" for i in range(20_000)]
    table = ingest(("\n".join(lines) + "\n").encode())
    whole = reference_read(table.path, table.info)
    wanted = np.sort(np.random.default_rng(5).choice(20_000, size=700, replace=False))

    sample = sample_frame(table.path, table.info, rows=700, seed=5)

    expected = whole.iloc[wanted].reset_index(drop=True)
    expected["score"] = expected["score"].astype(float)
    assert_same(sample, expected)
    assert sample["code"].iloc[0].startswith("0")


# --- What the validator counts, the reader reads ------------------------------------


def test_lines_of_spaces_are_skipped_like_the_validator_skips_them(ingest: Ingest) -> None:
    table = ingest(b'a,b\n1,2\n   \n\t\n""\n3,4\n')

    frame = read_frame(table.path, table.info)

    assert table.info.row_count == 2
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_single_column_blank_values_are_blank_lines(ingest: Ingest) -> None:
    table = ingest(b'word\nx\n   \n""\ny\nNA\n')

    frame = read_frame(table.path, table.info)

    assert table.info.row_count == 3
    assert frame["word"].tolist()[:2] == ["x", "y"]
    assert frame["word"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("cp1252", "name;price\nCafé;1,5\nNaïve;2\n".encode("cp1252")),
        ("utf-16", "name,n\nŁódź,1\n日本,2\n".encode("utf-16")),
        (None, "\ufeffname,n\nZürich,1\nKraków,2\n".encode()),
    ],
)
def test_other_encodings(ingest: Ingest, encoding: str | None, data: bytes) -> None:
    table = ingest(data, encoding=encoding)

    frame = read_frame(table.path, table.info)

    assert_same(frame, reference_read(table.path, table.info))
    assert frame.columns[0] == "name"


def test_selected_columns_keep_file_order_and_unknown_ones_are_refused(ingest: Ingest) -> None:
    table = ingest(b"a,b,c\n1,x,3\n")

    assert list(read_frame(table.path, table.info, columns=["c", "a"]).columns) == ["a", "c"]
    with pytest.raises(ValueError, match="not found"):
        read_frame(table.path, table.info, columns=["a", "zz"])


def test_numeric_columns_are_writable_numpy_arrays(ingest: Ingest) -> None:
    table = ingest(b"id,x\n1,1.5\n2,2.5\n")

    frame = read_frame(table.path, table.info)
    frame.loc[0, "id"] = 10
    frame["x"].to_numpy()[1] = 9.0

    assert frame["id"].tolist() == [10, 2]
    assert frame["x"].tolist() == [1.5, 9.0]


def test_equal_strings_share_one_object(ingest: Ingest) -> None:
    table = ingest(("city\n" + "Leeds\nOslo\n" * 50).encode())

    values = read_frame(table.path, table.info)["city"]

    assert len({id(value) for value in values}) == 2


# --- When Arrow refuses the file, pandas reads it ------------------------------------


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(csv_frame_module, name)

    def counted(*args: object) -> object:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(csv_frame_module, name, counted)
    return calls


def test_blocks_and_fallback_chunks_follow_the_row_length(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"x" * 10_000_000)
    options = csv_frame_module._Options(path, ["a"], None, "utf-8", ",", 1_000)  # 10 kB rows

    assert csv_frame_module._block_bytes(options) == 640_000
    assert csv_frame_module._chunk_rows(options) == 838
    options.expected_rows = 100_000_000
    assert csv_frame_module._block_bytes(options) == csv_frame_module.READ_BLOCK_BYTES
    assert csv_frame_module._chunk_rows(options) == csv_frame_module.FALLBACK_CHUNK_ROWS


def test_rows_longer_than_a_block_are_read_by_pandas(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_frame_module, "READ_BLOCK_BYTES", 4096)
    monkeypatch.setattr(csv_frame_module, "MAX_READ_BLOCK_BYTES", 4096)
    monkeypatch.setattr(csv_frame_module, "FALLBACK_CHUNK_ROWS", 7)
    pandas_reads = count_calls(monkeypatch, "_pandas_batches")
    long_text = "word " * 3000
    lines = ["id,text,n"] + [f'{i},"{long_text if i == 30 else "short"}",{i}' for i in range(60)]
    table = ingest(("\n".join(lines) + "\n").encode())

    frame = read_frame(table.path, table.info)
    sample = sample_frame(table.path, table.info, rows=20, seed=2)

    assert_same(frame, reference_read(table.path, table.info))
    assert frame.loc[30, "text"] == long_text
    assert pandas_reads == [1, 1]
    assert len(sample) == 20
    assert sample["n"].tolist() == sorted(sample["n"].tolist())


def test_pandas_fallback_reads_the_same(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["a,b,c"] + [f"{i},{'NA' if i % 5 == 0 else f'v{i}'},{i * 0.25}" for i in range(300)]
    table = ingest(("\n".join(lines) + "\n").encode())
    arrow = sample_frame(table.path, table.info, rows=50, seed=4)

    def refuse(options: object) -> object:
        raise pa.ArrowInvalid("refused for the test")

    monkeypatch.setattr(csv_frame_module, "_arrow_batches", refuse)
    monkeypatch.setattr(csv_frame_module, "FALLBACK_CHUNK_ROWS", 13)
    pandas_reads = count_calls(monkeypatch, "_pandas_batches")

    assert_same(read_frame(table.path, table.info), reference_read(table.path, table.info))
    assert_same(sample_frame(table.path, table.info, rows=50, seed=4), arrow)
    assert pandas_reads == [1, 1]


# --- The text buffer --------------------------------------------------------------


def test_text_column_appends_slices_and_grows() -> None:
    column = TextColumn(capacity=1)
    column.append(pa.array(["a", "bb", None, "ccc"]).slice(1))
    column.append(pa.array([], type=pa.string()))
    column.append(pa.array(["", "é"], type=pa.large_string()))
    column.append(pa.array([""]))

    array = column.finish()

    assert array.to_pylist() == ["bb", "", "ccc", "", "é", ""]
    assert len(column) == 0
