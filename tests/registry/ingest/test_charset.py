from __future__ import annotations

from pathlib import Path

import pytest

from registry.ingest import encoding_label, guess_encodings
from registry.ingest.charset import find_decode_failure, plausibility

FRENCH = "nom;ville;remarque\nÉlodie;Orléans;très « bien » — à revoir\nZoé;Nîmes;€ 12\n"
GERMAN = "Name,Straße,Größe\nJürgen,Hauptstraße,1,80\nÖzlem,Äußere Weg,1,65\n"
RUSSIAN = "имя,город\nИван,Москва\nОльга,Санкт-Петербург\n"
GREEK = "όνομα,πόλη\nΓιώργος,Αθήνα\nΜαρία,Θεσσαλονίκη\n"
JAPANESE = "名前,都市\n山田,東京\n佐藤,大阪\n"


@pytest.mark.parametrize(
    ("text", "encoding", "expected_first"),
    [
        (FRENCH, "cp1252", "cp1252"),
        (GERMAN, "cp1252", "cp1252"),
        (GERMAN, "iso8859-1", "cp1252"),  # identical bytes here: Windows-1252 is offered
        (RUSSIAN, "cp1251", "cp1251"),
        (GREEK, "cp1253", "cp1253"),
        (JAPANESE, "shift_jis", "shift_jis"),
    ],
)
def test_guess_ranks_the_right_encoding_first(
    text: str, encoding: str, expected_first: str
) -> None:
    choices = guess_encodings(text.encode(encoding))

    assert choices[0] == expected_first
    assert len(choices) <= 3
    assert text.encode(encoding).decode(choices[0]) == text


def test_byte_order_marks_are_authoritative() -> None:
    assert guess_encodings("a,b".encode("utf-16")) == ["utf-16"]
    assert guess_encodings("a,b".encode("utf-32")) == ["utf-32"]


def test_latin_text_read_as_cyrillic_is_implausible() -> None:
    assert plausibility("Größe") == 1.0
    assert plausibility("Ïðèâåò ìèðîâîé") == 0.0  # Russian read as Windows-1252
    assert plausibility("Ïðèâåò ìèð") < 0.6
    assert plausibility("Grцяe") == 0.0  # German read as Windows-1251
    assert plausibility("a\x85b") == 0.0  # a C1 control: Latin-1 misreading Windows-1252


def test_decode_failure_position(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + b"x,y\n" * 300_000 + b"\xff,z\n")

    failure = find_decode_failure(path, "utf-8")

    assert failure is not None
    assert failure.line == 300_002
    assert failure.offset == 4 + 4 * 300_000
    assert failure.bad_bytes == b"\xff"
    assert find_decode_failure(path, "latin-1") is None


def test_labels() -> None:
    assert encoding_label("windows-1252") == "Windows-1252 (Western European)"
    assert encoding_label("latin_1") == "ISO-8859-1 / Latin-1 (Western European)"
