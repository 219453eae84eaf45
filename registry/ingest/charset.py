"""Which text encoding a file is in, when it is not UTF-8.

SynthGov stores tables as uploaded and reads them as UTF-8 unless the curator
picks another encoding. When UTF-8 fails, ``guess_encodings`` ranks the
encodings the bytes plausibly are, so the page can offer them. The ranking is a
heuristic (no encoding can be proven from bytes alone): each candidate must
decode the sample without error, and its text is scored on whether the
non-ASCII characters form words of one script, as real text does.
"""

from __future__ import annotations

import codecs
import itertools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from registry.ingest.errors import ErrorCode, IngestError
from registry.ingest.stream import READ_CHUNK_BYTES

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"

ENCODING_LABELS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "utf-16": "UTF-16 (with byte-order mark)",
    "utf-16-le": "UTF-16 little-endian",
    "utf-16-be": "UTF-16 big-endian",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)",
    "iso8859-1": "ISO-8859-1 / Latin-1 (Western European)",
    "iso8859-15": "ISO-8859-15 / Latin-9 (Western European with euro sign)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "mac-roman": "Mac OS Roman",
    "shift_jis": "Shift JIS (Japanese)",
    "gb18030": "GB18030 (Chinese)",
    "big5": "Big5 (Traditional Chinese)",
    "euc_kr": "EUC-KR (Korean)",
}

# Order is the prior: when two candidates read the sample equally well, the
# one listed first is offered first.
_SINGLE_AND_MULTI_BYTE = (
    "cp1252",
    "iso8859-1",
    "iso8859-15",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "mac-roman",
    "shift_jis",
    "gb18030",
    "big5",
    "euc_kr",
)

_MULTI_BYTE = frozenset({"shift_jis", "gb18030", "big5", "euc_kr"})

MAX_CHOICES = 3
_MIN_PLAUSIBILITY = 0.6


def normalize_encoding(name: str) -> str:
    """The canonical Python codec name for ``name``; refuses unknown or non-text codecs."""
    try:
        canonical = codecs.lookup(name.strip()).name
        # LookupError for bytes-to-bytes codecs such as base64 (empty input would pass).
        b"\n".decode(canonical, errors="ignore")
    except LookupError:
        raise IngestError(
            ErrorCode.BAD_ENCODING,
            f"SynthGov does not know the text encoding {name!r}.",
            "Pick one of the encodings offered, or save the file as UTF-8.",
        ) from None
    return canonical


def encoding_label(name: str) -> str:
    """A human label for a codec name ("cp1252" -> "Windows-1252 (Western European)")."""
    canonical = codecs.lookup(name).name
    return ENCODING_LABELS.get(canonical, canonical)


def bom_encoding(head: bytes) -> str | None:
    """The encoding announced by a byte-order mark at the start of ``head``."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    return None


def guess_encodings(sample: bytes) -> list[str]:
    """Up to ``MAX_CHOICES`` codec names that plausibly decode ``sample``, best first.

    Candidates that decode the sample to identical text are offered once (the
    first in prior order). Empty when nothing reads it plausibly.
    """
    announced = bom_encoding(sample)
    if announced is not None:
        return [announced]
    scored: list[tuple[float, int, str, str]] = []
    for prior, encoding in enumerate(_SINGLE_AND_MULTI_BYTE):
        try:
            text = _decode_sample(sample, encoding)
        except UnicodeDecodeError:
            continue
        score = plausibility(text)
        if encoding in _MULTI_BYTE and _east_asian_share(text) >= 0.8:
            # A multi-byte encoding that decodes many high bytes strictly into
            # East Asian words is far likelier than single-byte mojibake.
            score += 0.5
        if score >= _MIN_PLAUSIBILITY:
            scored.append((-score, prior, encoding, text))
    scored.sort()
    choices: list[str] = []
    seen_texts: set[str] = set()
    for _, _, encoding, text in scored:
        if text in seen_texts:
            continue
        seen_texts.add(text)
        choices.append(encoding)
        if len(choices) == MAX_CHOICES:
            break
    return choices


def _decode_sample(sample: bytes, encoding: str) -> str:
    # The sample may end inside a multi-byte character: decode incrementally
    # and drop an incomplete final sequence rather than call it an error.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    return decoder.decode(sample, final=False)


def plausibility(text: str) -> float:
    """Share (0..1) of words with non-ASCII characters that look like real words.

    A real word is made of letters of one script, has no capital after a small
    letter, and a long Latin-script word with accents still has plain ASCII
    letters in it (Cyrillic read as Windows-1252 gives all-accented words such
    as 'Ïðèâåò'). Control characters make the whole text implausible.
    """
    if any(_is_control(char) for char in text):
        return 0.0
    words = _words_with_non_ascii(text)
    if not words:
        return 1.0
    good = sum(1 for word in words if _is_plausible_word(word))
    return good / len(words)


# Non-ASCII punctuation and symbols common in real text: they separate words.
_TYPOGRAPHIC = frozenset("€£¥¢§°±×÷«»‹›‘’‚“”„–—…•·¡¿©®™\xa0µ²³½")
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL"})


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Co", "Cn"} and char not in "\t\n\r\f"


def _is_separator(char: str) -> bool:
    if ord(char) < 128:
        return not char.isalpha()
    return char in _TYPOGRAPHIC or char.isspace()


def _words_with_non_ascii(text: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in text + " ":
        if not _is_separator(char):
            current.append(char)
            continue
        if current and any(ord(c) > 127 for c in current):
            words.append("".join(current))
        current = []
    return words


def _script(char: str) -> str:
    if ord(char) < 128:
        return "LATIN"
    name = unicodedata.name(char, "")
    if "ORDINAL INDICATOR" in name:
        return "LATIN"
    if name.startswith("HALFWIDTH"):
        return "HALFWIDTH"  # rare in real text, common in misread Chinese
    for script in ("LATIN", "CYRILLIC", "GREEK", "HIRAGANA", "KATAKANA", "HANGUL", "CJK"):
        if name.startswith(script) or f" {script} " in f" {name} ":
            return script
    return name.split(" ", 1)[0] or "OTHER"


def _is_plausible_word(word: str) -> bool:
    if any(unicodedata.category(char)[0] not in "LM" for char in word):
        return False
    if any(a.islower() and b.isupper() for a, b in itertools.pairwise(word)):
        return False
    scripts = {_script(char) for char in word}
    if scripts <= _EAST_ASIAN:
        return True
    if len(scripts) != 1:
        return False
    if scripts == {"LATIN"}:
        # A long Latin word has some plain ASCII letters ("café", "Größe").
        accented = sum(1 for char in word if ord(char) > 127)
        return len(word) <= 3 or accented < len(word)
    return True


def _east_asian_share(text: str) -> float:
    non_ascii = [char for char in text if ord(char) > 127 and not _is_separator(char)]
    if len(non_ascii) < 4:
        return 0.0
    return sum(1 for char in non_ascii if _script(char) in _EAST_ASIAN) / len(non_ascii)


@dataclass(frozen=True)
class DecodeFailure:
    """Where a file stops being valid in an encoding: byte offset (0-based),
    line (1-based, as an editor counts) and the offending bytes."""

    offset: int
    line: int
    bad_bytes: bytes

    def describe(self) -> str:
        shown = " ".join(f"0x{byte:02X}" for byte in self.bad_bytes[:4])
        return f"line {self.line} (byte {self.offset + 1}), byte {shown}"


def find_decode_failure(path: Path, encoding: str) -> DecodeFailure | None:
    """Scan ``path`` in blocks and return the first position ``encoding`` cannot decode."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    newlines = 0
    with path.open("rb") as source:
        while True:
            block = source.read(READ_CHUNK_BYTES)
            final = not block
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as error:
                start = offset - pending
                prefix = error.object[: error.start]
                line = newlines + _count_newlines(prefix, encoding) + 1
                bad = bytes(error.object[error.start : error.end])
                return DecodeFailure(offset=start + error.start, line=line, bad_bytes=bad)
            newlines += text.count("\n")
            offset += len(block)
            if final:
                return None


def _count_newlines(prefix: bytes, encoding: str) -> int:
    if "\n".encode(encoding, errors="ignore") == b"\n":
        return prefix.count(b"\n")
    return codecs.decode(prefix, encoding, errors="replace").count("\n")


def sample_around(path: Path, offset: int, *, head: bytes, window: int = 32 * 1024) -> bytes:
    """The file's head plus about ``window`` bytes around ``offset``: what
    ``guess_encodings`` looks at after a decode failure."""
    start = max(0, offset - window // 2)
    if start <= len(head):
        with path.open("rb") as source:
            return source.read(start + window)
    with path.open("rb") as source:
        source.seek(start)
        block = source.read(window)
    # Start on a line boundary so a multi-byte character is not cut in half.
    newline = block.find(b"\n", 0, offset - start)
    if newline >= 0:
        block = block[newline + 1 :]
    return head + b"\n" + block
