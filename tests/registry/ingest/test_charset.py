from __future__ import annotations

from pathlib import Path

import pytest

from registry.ingest import encoding_label, guess_encodings
from registry.ingest.charset import ENCODING_LABELS, find_decode_failure, sample_around

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


# Files the home-made heuristic read wrong (bench/charset_detection.py): it did
# not know these encodings, or ranked them below another that decodes the
# bytes without error into different text.
KOREAN = (
    "번호,이름,성,도시,비고,금액\n1,민준,김,서울,결제 완료,120.50\n"
    "2,서연,이,부산,서명 없음,80.00\n3,지훈,박,인천,신청 접수됨,45.10\n"
)
KOREAN_SHORT = "이름,도시,비고\n민준,서울,결제 완료\n서연,부산,서명 없음\n지훈,인천,신청 접수됨\n"
ARABIC = "الاسم,المدينة,ملاحظة\nمحمد,القاهرة,تم الدفع\nفاطمة,الرياض,التوقيع مفقود\n"
HEBREW = "שם פרטי,עיר,הערה\nדוד,ירושלים,שולם\nשרה,חיפה,חסרה חתימה\nמשה,נתניה,להתקשר מחר\n"
THAI = "ชื่อ,เมือง,หมายเหตุ\nสมชาย,เชียงใหม่,ชำระแล้ว\nวิไล,ภูเก็ต,รับคำขอแล้ว\n"
CZECH = "jméno;město;poznámka\nJiří;Plzeň;čeká na schválení\nŠárka;Ústí nad Labem;žádost přijata\n"
RUSSIAN_LONG = RUSSIAN + "Сергей,Новосибирск\nНаталья,Екатеринбург\nДмитрий,Казань\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (RUSSIAN_LONG, "koi8-r"),
        (JAPANESE, "euc_jp"),
        (KOREAN, "euc_kr"),
        (ARABIC, "cp1256"),
        (HEBREW, "cp1255"),
        (THAI, "tis-620"),
        (CZECH, "cp1250"),
    ],
)
def test_encodings_the_old_heuristic_missed(text: str, encoding: str) -> None:
    data = text.encode(encoding)

    choices = guess_encodings(data)

    assert data.decode(choices[0]) == text
    assert all(choice in ENCODING_LABELS for choice in choices)  # the form offers them


def test_very_short_korean_is_still_offered() -> None:
    # Known limit: on four short lines charset-normalizer rates TIS-620 (Thai)
    # above EUC-KR; the right encoding is among the choices the page offers.
    assert "euc_kr" in guess_encodings(KOREAN_SHORT.encode("euc_kr"))


def test_a_tie_goes_to_windows_1252() -> None:
    # charset-normalizer rates this French text the same in cp1250 and cp1252.
    data = FRENCH.encode("cp1252")

    assert guess_encodings(data)[0] == "cp1252"


def test_a_multibyte_character_cut_by_the_byte_budget(tmp_path: Path) -> None:
    # The sample ends inside a two-byte character: the right encoding must not
    # be ruled out for it (the last, incomplete line is left out).
    text = "名前,都市\n" + "山田,東京\n" * 5000
    data = text.encode("shift_jis")
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    head = data[:65_535]  # odd length: ends between the two bytes of a character

    sample = sample_around(path, 11, head=head)
    choices = guess_encodings(sample)

    assert choices[0] in ("shift_jis", "cp932")
    assert data.decode(choices[0]) == text


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
