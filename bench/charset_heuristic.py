"""The encoding heuristic ``registry/ingest/charset.py`` used before issue 14,
kept verbatim (only renamed) so ``bench/charset_detection.py`` can still measure it
against what ships now. Not imported by the application."""

from __future__ import annotations

import codecs
import itertools
import unicodedata

from registry.ingest import charset

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


def heuristic_guess_encodings(sample: bytes) -> list[str]:
    """Up to ``MAX_CHOICES`` codec names that plausibly decode ``sample``, best first.

    Candidates that decode the sample to identical text are offered once (the
    first in prior order). Empty when nothing reads it plausibly.
    """
    announced = charset.bom_encoding(sample)
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
