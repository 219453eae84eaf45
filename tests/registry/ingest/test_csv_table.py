from __future__ import annotations

import pytest

from registry.ingest import IngestError, read_frame
from registry.ingest.csv_table import sniff_delimiter

from .conftest import Ingest


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"a,b,c\n1,2,3\n4,5,6\n", ","),
        (b"a;b;c\n1,5;2,5;3\n4;5;6\n", ";"),
        (b"a\tb\tc\n1\t2\t3\n", "\t"),
        (b"a|b\n1|2\n", "|"),
    ],
)
def test_delimiter_is_detected(ingest: Ingest, data: bytes, delimiter: str) -> None:
    table = ingest(data)

    assert table.info.delimiter == delimiter
    assert table.info.columns[0] == "a"


def test_semicolon_file_with_decimal_commas_keeps_its_values(ingest: Ingest) -> None:
    table = ingest(b"name;price\nx;1,50\ny;2,75\n")

    frame = read_frame(table.path, table.info)
    assert frame["price"].tolist() == ["1,50", "2,75"]


def test_single_column_file(ingest: Ingest) -> None:
    table = ingest(b"city\nParis\nLyon\n\n")

    assert table.info.columns == ("city",)
    assert table.info.row_count == 2


def test_quoted_fields_with_newlines_and_delimiters(ingest: Ingest) -> None:
    data = b'id,comment\r\n1,"first line\r\nsecond, with comma"\r\n2,"say ""hi"""\r\n'

    table = ingest(data)

    assert table.info.row_count == 2
    frame = read_frame(table.path, table.info)
    assert frame["comment"].tolist() == ["first line\r\nsecond, with comma", 'say "hi"']


def test_utf8_bom_is_accepted_and_not_part_of_the_first_name(ingest: Ingest) -> None:
    table = ingest("\ufeffnom,âge\nÉlise,30\n".encode())

    assert table.info.encoding == "utf-8-sig"
    assert table.info.columns == ("nom", "âge")
    assert read_frame(table.path, table.info).columns.tolist() == ["nom", "âge"]


def test_row_count_ignores_blank_lines_like_pandas(ingest: Ingest) -> None:
    data = b"\n\na,b\n1,2\n\n   \n3,4\n\n"

    table = ingest(data)

    assert table.info.row_count == 2 == len(read_frame(table.path, table.info))


def test_old_mac_line_endings(ingest: Ingest) -> None:
    table = ingest(b"a,b\r1,2\r3,4\r")

    assert table.info.row_count == 2


def test_unclosed_quote_is_reported_where_it_starts(ingest: Ingest) -> None:
    with pytest.raises(IngestError) as caught:
        ingest(b'a,b\n1,2\n3,"never closed\n4,5\n6,7\n')

    assert caught.value.code == "bad_csv"
    assert "starts on line 3" in caught.value.message


def test_overlong_line_is_refused_without_reading_it_whole(ingest: Ingest) -> None:
    from registry.ingest.csv_table import validate_csv

    path = ingest.work_dir / "long.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"x" * 5000 + b",3\n")

    with pytest.raises(IngestError) as caught:
        validate_csv(path, head=path.read_bytes()[:100], max_columns=10, max_line_chars=1000)

    assert caught.value.code == "line_too_long"
    assert caught.value.message.startswith("Line 3 ")


def test_explicit_encoding_that_does_not_fit_is_refused_with_choices(ingest: Ingest) -> None:
    data = "id,city\n1,Москва\n".encode()

    with pytest.raises(IngestError) as caught:
        ingest(data, encoding="ascii")

    assert caught.value.code == "bad_encoding"
    assert "cannot be read as ascii" in caught.value.message
    assert "line 2" in caught.value.message


def test_unknown_encoding_name_is_refused(ingest: Ingest) -> None:
    with pytest.raises(IngestError) as caught:
        ingest(b"a\n1\n", encoding="base64")

    assert caught.value.code == "bad_encoding"


def test_cyrillic_windows_file_is_recognised(ingest: Ingest) -> None:
    data = "имя,город\nИван,Москва\nОльга,Санкт-Петербург\n".encode("cp1251")

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.choices[0] == "cp1251"
    frame = read_frame(ingest(data, encoding="cp1251").path, ingest(data, encoding="cp1251").info)
    assert frame.columns.tolist() == ["имя", "город"]


def test_utf16_without_bom_is_recognised(ingest: Ingest) -> None:
    data = "a,b\n1,2\n".encode("utf-16-le")

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert caught.value.code == "bad_encoding"
    assert caught.value.choices == ("utf-16-le",)
    assert ingest(data, encoding="utf-16-le").info.columns == ("a", "b")


def test_bad_byte_deep_in_a_large_file_is_located(ingest: Ingest) -> None:
    rows = b"".join(b"%d,plain ascii\n" % i for i in range(200_000))
    data = b"id,text\n" + rows + "999,Fran\u00e7ois\n".encode("latin-1")

    with pytest.raises(IngestError) as caught:
        ingest(data)

    assert "line 200002" in caught.value.message
    assert "cp1252" in caught.value.choices


def test_sniffing_prefers_the_consistent_delimiter() -> None:
    assert sniff_delimiter("name,notes\nA,x;y\nB,z\n") == ","
    assert sniff_delimiter("a;b\n1,5;2\n") == ";"
    assert sniff_delimiter("just one column\nvalue\n") == ","
