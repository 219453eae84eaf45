"""Every bad input issue 3 lists, through the real upload path (``ingest_upload``),
plus the happy paths. A refusal must name the problem, say what to do, and
leave nothing behind in the working directory."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from registry.ingest import IngestError, ingest_upload, read_frame, sniff
from registry.ingest.stream import READ_CHUNK_BYTES

from .conftest import Ingest, parquet_bytes


def refused(ingest: Ingest, data: bytes, **options: object) -> IngestError:
    with pytest.raises(IngestError) as caught:
        ingest(data, **options)  # type: ignore[arg-type]
    assert caught.value.message and caught.value.hint
    assert ingest.leftovers() == [], "a refused upload left files behind"
    return caught.value


# --- Bad input, one test per item of issue 3 -------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t\n \r\n", b"\xef\xbb\xbf\n\n"])
def test_empty_file(ingest: Ingest, data: bytes) -> None:
    error = refused(ingest, data)

    assert error.code == "empty_file"


def test_over_size_limit_is_refused_while_streaming(ingest: Ingest) -> None:
    chunk = b"a,b\n" * 16_384  # 64 KiB of valid CSV
    limit = 1_000_000
    served = 0

    def upload() -> Iterator[bytes]:
        nonlocal served
        while True:
            if served * len(chunk) > limit:
                raise AssertionError("the upload was read past the size limit")
            served += 1
            yield chunk

    with pytest.raises(IngestError) as caught:
        ingest_upload(upload(), work_dir=ingest.work_dir, max_bytes=limit, max_columns=10)

    assert caught.value.code == "too_large"
    assert caught.value.message == "The file is larger than the limit of 1 MB."
    assert served == limit // len(chunk) + 1
    assert ingest.leftovers() == []


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"\x00\x01" * 100, "a PDF"),
        (bytes(range(256)) * 40, None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Microsoft Office"),
    ],
)
def test_not_csv_or_parquet_whatever_its_name(ingest: Ingest, data: bytes, named: str) -> None:
    # ingest_upload never sees the name or content type: content decides alone.
    error = refused(ingest, data)

    assert error.code == "not_tabular"
    if named:
        assert named in error.message


def test_json_text_is_not_a_csv(ingest: Ingest) -> None:
    error = refused(ingest, b'[{"a": 1, "b": 2}, {"a": 3, "b": 4}]\n')

    assert error.code == "not_tabular"
    assert "JSON" in error.message


def test_spreadsheet_workbook_is_not_tabular(ingest: Ingest) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")

    error = refused(ingest, buffer.getvalue())

    assert error.code == "not_tabular"
    assert "CSV UTF-8" in error.hint


def test_non_utf8_encoding_is_named_offered_and_accepted(ingest: Ingest) -> None:
    text = "name,city,note\nAna,Lisboa,ok\nJosé,München,“quoted”\n"
    data = text.encode("cp1252")

    error = refused(ingest, data)

    assert error.code == "bad_encoding"
    assert "line 3" in error.message
    assert "0xE9" in error.message  # the é of José
    assert error.choices[0] == "cp1252"
    assert "Windows-1252" in error.message

    table = ingest(data, encoding=error.choices[0])

    assert table.info.encoding == "cp1252"
    frame = read_frame(table.path, table.info)
    assert frame["name"].tolist() == ["Ana", "José"]
    assert frame["note"].tolist() == ["ok", "“quoted”"]


def test_utf16_is_detected_by_its_byte_order_mark(ingest: Ingest) -> None:
    data = "a,b\n1,2\n".encode("utf-16")

    error = refused(ingest, data)

    assert error.code == "bad_encoding"
    assert error.choices == ("utf-16",)
    assert ingest(data, encoding="utf-16").info.row_count == 1


def test_ragged_rows_name_the_first_bad_line(ingest: Ingest) -> None:
    data = b'id,text,score\n1,"two\nlines",3\n2,ok,4\n3,bad\n4,also,bad,5\n'

    error = refused(ingest, data)

    assert error.code == "ragged_rows"
    # Line 5 as an editor counts: the quoted newline in row 1 takes a line.
    assert error.message == "Line 5 has 2 fields but the header has 3."


def test_extra_field_hint_mentions_quoting(ingest: Ingest) -> None:
    error = refused(ingest, b"name;city\nAnn;Paris\nBob;Lyon;France\n")

    assert error.message == "Line 3 has 3 fields but the header has 2."
    assert "semicolon" in error.hint


def test_duplicate_column_names_are_named(ingest: Ingest) -> None:
    error = refused(ingest, b"id,age,name,age\n1,2,x,3\n")

    assert error.code == "duplicate_columns"
    assert "'age'" in error.message
    assert "columns 2 (b) and 4 (d)" in error.message.lower()


def test_empty_column_name_gives_its_position(ingest: Ingest) -> None:
    error = refused(ingest, b"id,,name\n1,2,x\n")

    assert error.code == "empty_column_name"
    assert error.message.startswith("Column 2 (B)")


def test_header_only(ingest: Ingest) -> None:
    error = refused(ingest, b"id,age,name\n\n\n")

    assert error.code == "header_only"
    assert "3 columns" in error.message


@pytest.mark.parametrize("kind", ["gzip", "zip"])
def test_compressed_file_expanding_past_limit_is_stopped_while_expanding(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    block = b"a,b,c\n" + b"1,2,3\n" * 170_000  # about 1 MB
    buffer = io.BytesIO()
    if kind == "gzip":
        with gzip.GzipFile(fileobj=buffer, mode="wb") as archive:
            for _ in range(100):
                archive.write(block)
    else:
        with (
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open("table.csv", "w") as member,
        ):
            for _ in range(100):
                member.write(block)
    compressed = buffer.getvalue()
    assert len(compressed) < 1_000_000 < 100 * len(block)

    expanded = 0
    original = sniff._expanded_chunks

    def counting(source: Path, content_kind: sniff.ContentKind) -> Iterator[bytes]:
        nonlocal expanded
        for piece in original(source, content_kind):
            expanded += len(piece)
            yield piece

    monkeypatch.setattr(sniff, "_expanded_chunks", counting)

    error = refused(ingest, compressed, max_bytes=5_000_000)

    assert error.code == "decompressed_too_large"
    assert expanded <= 5_000_000 + READ_CHUNK_BYTES


def test_too_many_columns(ingest: Ingest) -> None:
    header = ",".join(f"c{i}" for i in range(11))
    error = refused(ingest, f"{header}\n{','.join('1' * 11)}\n".encode(), max_columns=10)

    assert error.code == "too_many_columns"
    assert error.message == "The header on line 1 has 11 columns; the limit is 10."


def test_too_many_parquet_columns(ingest: Ingest) -> None:
    frame = pd.DataFrame({f"c{i}": [1] for i in range(11)})

    error = refused(ingest, parquet_bytes(frame), max_columns=10)

    assert error.code == "too_many_columns"


@pytest.mark.parametrize(
    "data",
    [
        b"PAR1" + b"\x15\x00garbage that is not thrift" * 10 + b"PAR1",
        b"PAR1",
        b"PAR1 just the magic then text",
    ],
)
def test_parquet_magic_but_not_parquet(ingest: Ingest, data: bytes) -> None:
    error = refused(ingest, data)

    assert error.code == "bad_parquet"


def test_truncated_parquet(ingest: Ingest) -> None:
    data = parquet_bytes(pd.DataFrame({"a": range(1000)}))

    error = refused(ingest, data[: len(data) // 2])

    assert error.code == "bad_parquet"
    assert "incomplete" in error.message


def test_parquet_with_damaged_data_pages(ingest: Ingest) -> None:
    frame = pd.DataFrame({"a": range(20_000), "b": [f"text {i}" for i in range(20_000)]})
    data = bytearray(parquet_bytes(frame))
    middle = len(data) // 3
    data[middle : middle + 200] = b"\xff" * 200  # footer intact, pages corrupt

    error = refused(ingest, bytes(data))

    assert error.code == "bad_parquet"


# --- Happy paths -----------------------------------------------------------------


def test_csv_is_stored_with_its_hash(ingest: Ingest) -> None:
    data = b"id,age\n1,30\n2,41\n"

    table = ingest(data)

    assert table.path.parent == ingest.work_dir
    assert table.path.read_bytes() == data
    assert table.sha256 == table.upload_sha256 == hashlib.sha256(data).hexdigest()
    assert table.size == len(data)
    assert table.info.to_dict()["row_count"] == 2
    assert table.to_dict()["info"]["columns"] == ["id", "age"]


def test_parquet_named_csv_is_read_as_parquet(ingest: Ingest) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5, None], "y": ["a", "b", "c"]})

    table = ingest(parquet_bytes(frame))

    assert table.info.format == "parquet"
    assert table.info.row_count == 3
    assert table.info.columns == ("x", "y")
    assert table.info.encoding is None
    pd.testing.assert_frame_equal(read_frame(table.path, table.info), frame)


@pytest.mark.parametrize(
    ("compress", "kind"),
    [(gzip.compress, "gzip"), (bz2.compress, "bzip2"), (lzma.compress, "xz")],
)
def test_compressed_csv_is_stored_expanded(ingest: Ingest, compress: object, kind: str) -> None:
    data = b"id;score\n1;0,5\n2;0,7\n"
    compressed = compress(data)  # type: ignore[operator]

    table = ingest(compressed)

    assert table.info.compressed is True
    assert table.info.compression == kind
    assert table.info.delimiter == ";"
    assert table.path.read_bytes() == data
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    assert table.upload_sha256 == hashlib.sha256(compressed).hexdigest()
    assert ingest.leftovers() == [table.path]


def test_zip_with_one_parquet_table(ingest: Ingest) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("t.parquet", parquet_bytes(pd.DataFrame({"a": [1, 2]})))

    table = ingest(buffer.getvalue())

    assert (table.info.format, table.info.compression, table.info.row_count) == (
        "parquet",
        "zip",
        2,
    )


def test_zip_with_several_files_is_refused(ingest: Ingest) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("b.csv", "b\n2\n")

    error = refused(ingest, buffer.getvalue())

    assert error.code == "not_tabular"
    assert "2 files" in error.message


def test_doubly_compressed_is_refused(ingest: Ingest) -> None:
    error = refused(ingest, gzip.compress(gzip.compress(b"a\n1\n")))

    assert error.code == "not_tabular"


def test_corrupt_gzip_is_refused(ingest: Ingest) -> None:
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 10_000)

    error = refused(ingest, data[: len(data) // 2])

    assert error.code == "bad_compression"


def test_zstd_is_named_but_not_expanded(ingest: Ingest) -> None:
    error = refused(ingest, b"\x28\xb5\x2f\xfd" + b"\x00" * 100)

    assert error.code == "unsupported_compression"
    assert "Zstandard" in error.message


def test_error_serialises_for_api(ingest: Ingest) -> None:
    error = refused(ingest, b"a,a\n1,2\n")

    assert error.to_dict() == {
        "code": "duplicate_columns",
        "message": error.message,
        "hint": error.hint,
        "choices": [],
    }
