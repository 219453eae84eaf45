"""Benchmark: which encoding detector reads real-looking CSV files right more often.

Generates CSV files (people registers, addresses, remarks) in many scripts and
encodings, at several sizes down to a three-row file where detection is hard, and
asks each detector which encoding a file is in *under the conditions ingest uses*:

- a byte-order mark decides (``charset.bom_encoding``), then a file that decodes
  strictly as UTF-8 is UTF-8, then BOM-less UTF-16 is recognised from its NULs
  (``sniff.bom_less_utf16``): those files never reach a detector;
- otherwise the detector sees what ``csv_table._encoding_error`` gives it: the
  first 64 KiB (``stream.HEAD_BYTES``) plus about 32 KiB around the first byte
  that is not UTF-8 (``charset.sample_around``).

A detector's answer is right when the whole file decodes strictly with it to the
original text (so cp1252 for a Latin-1 file without bytes 0x80-0x9F is right:
the text is the same). Both detectors' first choice is scored; the table shows
accuracy per encoding and the time per file spent in the detector.

    .venv/bin/python bench/charset_detection.py
    .venv/bin/python bench/charset_detection.py --raw    # detectors see every whole file
    .venv/bin/python bench/charset_detection.py --wrong  # the files each detector got wrong

"ours (heuristic)" is ``registry.ingest.charset.guess_encodings`` as it was
before issue 14 (kept verbatim in ``bench/charset_heuristic.py``);
"charset-normalizer" is ``charset_normalizer.from_bytes(sample).best()`` with its
defaults; "shipped" is ``registry.ingest.charset.guess_encodings`` now
(charset-normalizer limited to the encodings the upload form offers, exact ties
broken by that list's order).
"""

from __future__ import annotations

import argparse
import codecs
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import charset_normalizer  # noqa: E402
from charset_heuristic import heuristic_guess_encodings  # noqa: E402

from registry.ingest import charset  # noqa: E402
from registry.ingest.sniff import bom_less_utf16  # noqa: E402
from registry.ingest.stream import HEAD_BYTES  # noqa: E402

# --- Text in many languages -------------------------------------------------
# Each language: header, first names, surnames, towns, remarks (real words).


@dataclass(frozen=True)
class Language:
    header: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    towns: tuple[str, ...]
    remarks: tuple[str, ...]


LANGUAGES: dict[str, Language] = {
    "french": Language(
        "id;prénom;nom;ville;remarque;montant",
        ("Élodie", "Zoé", "Loïc", "Hélène", "François", "Gaëlle", "Jérôme", "Cécile", "André"),
        ("Lefèvre", "Gaudin", "Béranger", "Mercier", "Dupré", "Lemaître", "Chevalier", "Garçon"),
        ("Orléans", "Nîmes", "Besançon", "Saint-Étienne", "Montréal", "Lyon", "Périgueux"),
        (
            "très bien",
            "à revoir",
            "reçu le 12 févr.",
            "dossier complété",
            "cœur de métier",
            "déjà payé",
            "à rappeler après 18 h",
        ),
    ),
    "german": Language(
        "Nr,Vorname,Nachname,Ort,Bemerkung,Betrag",
        ("Jürgen", "Özlem", "Bärbel", "Jörg", "Käthe", "Günther", "Sören", "Anna", "Lukas"),
        ("Müller", "Schäfer", "Größmann", "Weiß", "Köhler", "Schröder", "Braun", "Fuß"),
        ("München", "Köln", "Düsseldorf", "Nürnberg", "Lübeck", "Gießen", "Berlin"),
        (
            "Überweisung erhalten",
            "Straße unbekannt",
            "Rückfrage nötig",
            "größer als erwartet",
            "schließt um 17 Uhr",
            "in Ordnung",
        ),
    ),
    "spanish": Language(
        "id,nombre,apellido,ciudad,observación,importe",
        ("José", "María", "Íñigo", "Begoña", "Raúl", "Inés", "Sofía", "Martín", "Pilar"),
        ("Núñez", "Peña", "Gómez", "Muñoz", "Martínez", "Ibáñez", "Ortega", "Sánchez"),
        ("Cádiz", "León", "Málaga", "Córdoba", "A Coruña", "Logroño", "Ávila"),
        (
            "pagó en efectivo",
            "¿dirección correcta?",
            "año fiscal cerrado",
            "revisión pendiente",
            "señal recibida",
            "¡urgente!",
        ),
    ),
    "portuguese": Language(
        "id;nome;apelido;cidade;observação;valor",
        ("João", "Conceição", "Estêvão", "Inês", "Tomé", "Graça", "Simão", "Lúcia"),
        ("Gonçalves", "Araújo", "Patrício", "Simões", "Magalhães", "Brandão", "Lopes"),
        ("Setúbal", "Évora", "Braga", "Guimarães", "Portimão", "Viseu"),
        ("pagamento em atraso", "contribuição anual", "não respondeu", "situação regular"),
    ),
    "turkish": Language(
        "no,ad,soyad,şehir,açıklama,tutar",
        ("Ayşe", "Çağrı", "Gülşen", "İsmail", "Özgür", "Şükrü", "Ümit", "Yağmur"),
        ("Yılmaz", "Öztürk", "Şahin", "Çelik", "Doğan", "Aydın", "Güneş"),
        ("İstanbul", "İzmir", "Eskişehir", "Muğla", "Şanlıurfa", "Çanakkale"),
        ("ödeme alındı", "adres eksik", "görüşme yapıldı", "belge teslim edildi"),
    ),
    "polish": Language(
        "id;imię;nazwisko;miasto;uwagi;kwota",
        ("Łukasz", "Małgorzata", "Paweł", "Żaneta", "Grzegorz", "Agnieszka", "Wojciech", "Ewa"),
        ("Wiśniewski", "Wójcik", "Kamiński", "Lewandowska", "Zieliński", "Szymańska", "Dąbrowski"),
        ("Łódź", "Kraków", "Gdańsk", "Poznań", "Wrocław", "Białystok", "Częstochowa"),
        ("zapłacono przelewem", "brak podpisu", "wniosek złożony", "środa po południu"),
    ),
    "czech": Language(
        "č.;jméno;příjmení;město;poznámka;částka",
        ("Jiří", "Květa", "Přemysl", "Zdeňka", "Tomáš", "Růžena", "Ondřej", "Šárka"),
        ("Dvořák", "Novotná", "Černý", "Procházka", "Kučerová", "Růžička", "Veselý"),
        ("Brno", "Plzeň", "České Budějovice", "Ústí nad Labem", "Hradec Králové", "Olomouc"),
        ("zaplaceno hotově", "čeká na schválení", "žádost přijata", "špatná adresa"),
    ),
    "hungarian": Language(
        "sorszám;keresztnév;vezetéknév;város;megjegyzés;összeg",
        ("Ödön", "Erzsébet", "Győző", "Zsófia", "Lőrinc", "Ildikó", "Bálint", "Tünde"),
        ("Kovács", "Szűcs", "Horváth", "Tóth", "Fülöp", "Németh", "Bíró"),
        ("Győr", "Pécs", "Szeged", "Debrecen", "Székesfehérvár", "Nyíregyháza"),
        ("befizetve", "hiányzó aláírás", "kérelem elfogadva", "őszi időszak"),
    ),
    "russian": Language(
        "номер,имя,фамилия,город,примечание,сумма",
        ("Иван", "Ольга", "Сергей", "Наталья", "Дмитрий", "Екатерина", "Алексей", "Юлия"),
        ("Иванов", "Петрова", "Смирнов", "Кузнецова", "Соколов", "Попова", "Лебедев"),
        ("Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Нижний Новгород"),
        ("оплачено", "нет подписи", "заявка принята", "перезвонить вечером", "адрес уточнить"),
    ),
    "ukrainian": Language(
        "№;ім'я;прізвище;місто;примітка;сума",
        ("Олексій", "Ганна", "Богдан", "Оксана", "Юрій", "Ірина", "Тарас", "Леся"),
        ("Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравчук", "Мельник"),
        ("Київ", "Львів", "Харків", "Одеса", "Дніпро", "Житомир"),
        ("сплачено", "підпис відсутній", "заява прийнята", "їхати завтра"),
    ),
    "bulgarian": Language(
        "№,име,фамилия,град,бележка,сума",
        ("Георги", "Мария", "Димитър", "Йорданка", "Петър", "Цветелина", "Стоян"),
        ("Иванов", "Георгиева", "Димитров", "Петкова", "Стоянов", "Николова"),
        ("София", "Пловдив", "Варна", "Бургас", "Русе", "Стара Загора"),
        ("платено", "липсва подпис", "заявлението е прието", "да се обади"),
    ),
    "greek": Language(
        "α/α,όνομα,επώνυμο,πόλη,σχόλιο,ποσό",
        ("Γιώργος", "Μαρία", "Δημήτρης", "Ελένη", "Νίκος", "Αικατερίνη", "Κώστας", "Σοφία"),
        ("Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Παπαδοπούλου", "Νικολάου", "Βασιλείου"),
        ("Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο", "Λάρισα", "Βόλος"),
        ("πληρώθηκε", "λείπει η υπογραφή", "η αίτηση εγκρίθηκε", "επικοινωνία αύριο"),
    ),
    "japanese": Language(
        "番号,名前,姓,都市,備考,金額",
        ("太郎", "花子", "健太", "さくら", "翔太", "美咲", "大輔", "ゆい"),
        ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村"),
        ("東京", "大阪", "名古屋", "札幌", "福岡", "横浜", "京都"),
        ("支払い済み", "署名なし", "申請を受理しました", "明日に再連絡", "住所を確認してください"),
    ),
    "chinese_simplified": Language(
        "编号,名,姓,城市,备注,金额",
        ("伟", "芳", "娜", "秀英", "敏", "静", "磊", "洋"),
        ("王", "李", "张", "刘", "陈", "杨", "赵", "黄"),
        ("北京", "上海", "广州", "深圳", "成都", "杭州", "武汉"),
        ("已付款", "缺少签名", "申请已受理", "明天再联系", "地址需要核实"),
    ),
    "chinese_traditional": Language(
        "編號,名,姓,城市,備註,金額",
        ("志明", "春嬌", "淑芬", "家豪", "怡君", "俊傑", "雅婷"),
        ("陳", "林", "黃", "張", "李", "王", "吳"),
        ("臺北", "高雄", "臺中", "新竹", "臺南", "香港"),
        ("已付款", "缺少簽名", "申請已受理", "明天再聯絡", "地址需要確認"),
    ),
    "korean": Language(
        "번호,이름,성,도시,비고,금액",
        ("민준", "서연", "지훈", "하은", "도윤", "지아", "현우"),
        ("김", "이", "박", "최", "정", "강", "조"),
        ("서울", "부산", "인천", "대구", "광주", "대전", "수원"),
        ("결제 완료", "서명 없음", "신청 접수됨", "내일 다시 연락", "주소 확인 필요"),
    ),
    "arabic": Language(
        "رقم,الاسم,اللقب,المدينة,ملاحظة,المبلغ",
        ("محمد", "فاطمة", "أحمد", "مريم", "علي", "خديجة", "يوسف", "سارة"),
        ("العلي", "الحسن", "المصري", "الخطيب", "النجار", "الحداد"),
        ("القاهرة", "الرياض", "عمّان", "بيروت", "تونس", "الدار البيضاء"),
        ("تم الدفع", "التوقيع مفقود", "تم قبول الطلب", "الاتصال غدا"),
    ),
    "hebrew": Language(
        "מס,שם פרטי,שם משפחה,עיר,הערה,סכום",
        ("דוד", "שרה", "יוסף", "רחל", "משה", "מיכל", "אברהם", "נועה"),
        ("כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם"),
        ("ירושלים", "תל אביב", "חיפה", "באר שבע", "אשדוד", "נתניה"),
        ("שולם", "חסרה חתימה", "הבקשה התקבלה", "להתקשר מחר"),
    ),
    "thai": Language(
        "ลำดับ,ชื่อ,นามสกุล,เมือง,หมายเหตุ,จำนวนเงิน",
        ("สมชาย", "สมหญิง", "ประเสริฐ", "วิไล", "สุรชัย", "มาลี", "อนันต์"),
        ("ใจดี", "สุขสวัสดิ์", "ทองคำ", "ศรีสุข", "แสงทอง", "บุญมา"),
        ("กรุงเทพมหานคร", "เชียงใหม่", "ขอนแก่น", "ภูเก็ต", "หาดใหญ่", "นครราชสีมา"),
        ("ชำระแล้ว", "ไม่มีลายเซ็น", "รับคำขอแล้ว", "ติดต่อพรุ่งนี้"),
    ),
    "mixed": Language(
        "id,name,city,remark,amount",
        ("Zoë", "Иван", "山田", "Γιώργος", "Łukasz", "محمد", "José", "민준"),
        ("Brontë", "Петров", "太郎", "Παπαδόπουλος", "Wójcik", "Núñez"),
        ("Zürich", "Москва", "東京", "Αθήνα", "Kraków", "São Paulo"),
        ("ok ✓", "naïve café", "größer", "€ 12", "—"),
    ),
}

# (encoding as written, language). Encodings that are the same bytes under
# another name in Python (latin-1 = iso8859-1) appear once.
CASES: tuple[tuple[str, str], ...] = (
    ("utf-8", "mixed"),
    ("utf-8", "japanese"),
    ("utf-8-sig", "french"),
    ("utf-16", "russian"),
    ("utf-16-le", "german"),
    ("cp1252", "french"),
    ("cp1252", "german"),
    ("cp1252", "spanish"),
    ("latin-1", "portuguese"),
    ("latin-1", "german"),
    ("iso8859-15", "french"),
    ("cp1254", "turkish"),
    ("iso8859-2", "polish"),
    ("iso8859-2", "czech"),
    ("cp1250", "polish"),
    ("cp1250", "czech"),
    ("cp1250", "hungarian"),
    ("cp1251", "russian"),
    ("cp1251", "ukrainian"),
    ("cp1251", "bulgarian"),
    ("koi8-r", "russian"),
    ("iso8859-7", "greek"),
    ("cp1253", "greek"),
    ("shift_jis", "japanese"),
    ("euc_jp", "japanese"),
    ("gb18030", "chinese_simplified"),
    ("gbk", "chinese_simplified"),
    ("big5", "chinese_traditional"),
    ("euc_kr", "korean"),
    ("cp1256", "arabic"),
    ("iso8859-6", "arabic"),
    ("cp1255", "hebrew"),
    ("tis-620", "thai"),
)

# Rows per file: 3 (hard: a handful of non-ASCII characters), 20, 300, 3000 (> 64 KiB).
SIZES = (3, 20, 300, 3000)
SEEDS = (1, 2, 3)


def make_text(language: Language, rows: int, rng: random.Random, *, ascii_share: float) -> str:
    """A CSV table; ``ascii_share`` of the rows use plain-ASCII values (real
    registers mix both), the others the language's words."""
    delimiter = ";" if ";" in language.header else ","
    lines = [language.header]
    plain_first = ("Anna", "Marc", "Lena", "Omar", "Ken", "Sara")
    plain_last = ("Smith", "Novak", "Rossi", "Lee", "Khan", "Berg")
    for number in range(1, rows + 1):
        plain = rng.random() < ascii_share
        first = rng.choice(plain_first if plain else language.first)
        last = rng.choice(plain_last if plain else language.last)
        town = rng.choice(language.towns)
        remark = rng.choice(language.remarks)
        amount = f"{rng.randint(1, 99999) / 100:.2f}"
        values = [str(number), first, last, town, remark, amount]
        if len(language.header.split(delimiter)) == 5:
            values = [str(number), f"{first} {last}", town, remark, amount]
        lines.append(delimiter.join(values))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Sample:
    encoding: str
    language: str
    rows: int
    text: str
    data: bytes


def build_corpus() -> list[Sample]:
    corpus: list[Sample] = []
    for encoding, language_name in CASES:
        language = LANGUAGES[language_name]
        for rows in SIZES:
            for seed in SEEDS:
                rng = random.Random(f"{encoding}-{language_name}-{rows}-{seed}")
                ascii_share = (0.0, 0.5, 0.8)[seed - 1]
                text = make_text(language, rows, rng, ascii_share=ascii_share)
                if encoding == "utf-8-sig" or encoding == "utf-16":
                    data = text.encode(encoding)
                else:
                    data = text.encode(encoding)  # strict: every word must be encodable
                corpus.append(Sample(encoding, language_name, rows, text, data))
    return corpus


# --- Detectors --------------------------------------------------------------

Detector = Callable[[bytes], str | None]


def charset_normalizer_guess(sample: bytes) -> str | None:
    best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best is not None else None


def shipped_guess(sample: bytes) -> str | None:
    choices = charset.guess_encodings(sample)
    return choices[0] if choices else None


def ingest_sample(path: Path, data: bytes) -> tuple[str | None, bytes]:
    """(encoding ingest settles without a detector, or None; the detector's sample)."""
    head = data[:HEAD_BYTES]
    announced = charset.bom_encoding(head)
    if announced is not None:
        return announced, b""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        if bom_less_utf16(head) is not None:
            return bom_less_utf16(head), b""
        return None, charset.sample_around(path, error.start, head=head)
    return "utf-8", b""


def decodes_right(sample: Sample, encoding: str | None) -> bool:
    if encoding is None:
        return False
    try:
        return codecs.decode(sample.data, encoding) == sample.text
    except (UnicodeDecodeError, LookupError):
        return False


def run(detectors: dict[str, Detector], *, raw: bool, show_wrong: bool) -> None:
    corpus = build_corpus()
    right: dict[str, dict[str, int]] = {name: defaultdict(int) for name in detectors}
    seconds: dict[str, float] = defaultdict(float)
    detected_files: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    wrong: dict[str, list[str]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as folder:
        for index, sample in enumerate(corpus):
            path = Path(folder) / f"{index}.csv"
            path.write_bytes(sample.data)
            settled, detector_input = (
                (None, sample.data) if raw else ingest_sample(path, sample.data)
            )
            key = f"{sample.encoding} ({sample.language})"
            totals[key] += 1
            for name, detector in detectors.items():
                if settled is not None:
                    answer = settled
                else:
                    started = time.perf_counter()
                    answer = detector(detector_input)
                    seconds[name] += time.perf_counter() - started
                    detected_files[name] += 1
                if decodes_right(sample, answer):
                    right[name][key] += 1
                else:
                    wrong[name].append(f"{key}, {sample.rows} rows: answered {answer}")
    names = list(detectors)
    width = max(len(key) for key in totals) + 2
    print(f"{'encoding (language)':<{width}}{'files':>6}" + "".join(f"{n:>22}" for n in names))
    for key, total in totals.items():
        cells = "".join(f"{right[n][key]:>19}/{total:<2}" for n in names)
        print(f"{key:<{width}}{total:>6}{cells}")
    grand = sum(totals.values())
    print(
        f"{'all files':<{width}}{grand:>6}"
        + "".join(
            f"{sum(right[n].values()):>15}/{grand} {100 * sum(right[n].values()) / grand:3.0f}%"
            for n in names
        )
    )
    print(
        f"{'ms per detected file':<{width}}{'':>6}"
        + "".join(f"{1000 * seconds[n] / max(1, detected_files[n]):>22.1f}" for n in names)
    )
    print(f"\n{detected_files[names[0]]} of {grand} files reach the detector", end="")
    print(
        " (raw: every file)." if raw else " (the rest are settled by BOM / UTF-8 / UTF-16 checks)."
    )
    if show_wrong:
        for name in names:
            print(f"\n{name} wrong on {len(wrong[name])} files:")
            for line in wrong[name]:
                print("  ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw", action="store_true", help="detectors see every whole file")
    parser.add_argument("--wrong", action="store_true", help="list wrong answers")
    args = parser.parse_args()
    detectors: dict[str, Detector] = {
        "ours (heuristic)": heuristic_guess,
        "charset-normalizer": charset_normalizer_guess,
        "shipped": shipped_guess,
    }
    run(detectors, raw=args.raw, show_wrong=args.wrong)


def heuristic_guess(sample: bytes) -> str | None:
    choices = heuristic_guess_encodings(sample)
    return choices[0] if choices else None


if __name__ == "__main__":
    main()
