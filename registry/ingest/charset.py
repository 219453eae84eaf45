"""Which text encoding a file is in, when it is not UTF-8.

SynthGov stores tables as uploaded and reads them as UTF-8 unless the curator
picks another encoding. When UTF-8 fails, ``guess_encodings`` ranks the
encodings the bytes plausibly are, so the page can offer them. No encoding can
be proven from bytes alone: the ranking is charset-normalizer's (each candidate
must decode the sample, then its text is scored for mess and for how much it
reads like a language), which was right more often than the home-made
heuristic this module had before (``bench/charset_detection.py``).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from registry.ingest.errors import ErrorCode, IngestError
from registry.ingest.stream import READ_CHUNK_BYTES

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"

# Every encoding SynthGov offers (the upload form's choices) and detects; the
# order is the prior: when charset-normalizer rates two candidates exactly
# alike (cp1252 and cp1250 often tie on French text), the one listed first wins.
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
    "iso8859-2": "ISO-8859-2 / Latin-2 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "koi8-r": "KOI8-R (Russian)",
    "koi8-u": "KOI8-U (Ukrainian)",
    "cp1253": "Windows-1253 (Greek)",
    "iso8859-7": "ISO-8859-7 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "iso8859-9": "ISO-8859-9 / Latin-5 (Turkish)",
    "cp1257": "Windows-1257 (Baltic)",
    "mac-roman": "Mac OS Roman",
    "shift_jis": "Shift JIS (Japanese)",
    "cp932": "Windows-31J / CP932 (Japanese)",
    "euc_jp": "EUC-JP (Japanese)",
    "gb18030": "GB18030 (Chinese)",
    "big5": "Big5 (Traditional Chinese)",
    "euc_kr": "EUC-KR (Korean)",
    "cp1256": "Windows-1256 (Arabic)",
    "iso8859-6": "ISO-8859-6 (Arabic)",
    "cp1255": "Windows-1255 (Hebrew)",
    "iso8859-8": "ISO-8859-8 (Hebrew)",
    "tis-620": "TIS-620 (Thai)",
}

# What charset-normalizer may answer: UTF-8 (for a curator's wrong explicit
# choice) and the legacy encodings above. BOM-marked encodings are read from
# the byte-order mark instead.
_DETECTABLE = tuple(
    name for name in ENCODING_LABELS if not name.startswith(("utf-8-", "utf-16", "utf-32"))
)
_PRIOR = {name: position for position, name in enumerate(ENCODING_LABELS)}

MAX_CHOICES = 3


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

    A byte-order mark decides; otherwise ``charset-normalizer`` ranks the
    encodings in ``ENCODING_LABELS`` (measured against the heuristic this module
    used before: ``bench/charset_detection.py``). Candidates it rates exactly
    alike are ordered by ``ENCODING_LABELS``; candidates that decode the sample
    to identical text are offered once. Empty when nothing reads it.
    """
    announced = bom_encoding(sample)
    if announced is not None:
        return [announced]
    matches = list(
        charset_normalizer.from_bytes(_complete_lines(sample), cp_isolation=list(_DETECTABLE))
    )
    ranked: list[tuple[int, int, str, str]] = []
    group = -1
    previous: tuple[float, float] | None = None
    for match in matches:
        rating = (match.chaos, match.coherence)
        if rating != previous:
            group += 1
            previous = rating
        name = _offered_name(match.could_be_from_charset)
        if name is not None:
            ranked.append((group, _PRIOR[name], name, str(match)))
    ranked.sort()
    choices: list[str] = []
    seen_texts: set[str] = set()
    for _, _, name, text in ranked:
        if text in seen_texts:
            continue
        seen_texts.add(text)
        choices.append(name)
        if len(choices) == MAX_CHOICES:
            break
    return choices


def _offered_name(aliases: list[str]) -> str | None:
    """The first of ``aliases`` (codecs that decode the sample identically) in prior order."""
    names = []
    for alias in aliases:
        try:
            canonical = codecs.lookup(alias).name
        except LookupError:
            continue
        if canonical == "ascii":
            canonical = UTF8
        if canonical in _PRIOR:
            names.append(canonical)
    return min(names, key=_PRIOR.__getitem__, default=None)


def _complete_lines(sample: bytes) -> bytes:
    """``sample`` without a final incomplete line: the byte budget may end inside
    a multi-byte character, which would otherwise rule out the right encoding."""
    end = sample.rfind(b"\n")
    return sample[: end + 1] if end > 0 else sample


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
    # The head too may end inside a character: keep its complete lines.
    head_end = head.rfind(b"\n")
    if head_end > 0:
        return head[: head_end + 1] + block
    return head + b"\n" + block
