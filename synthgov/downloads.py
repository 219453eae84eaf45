"""Content-Disposition for every download, from names users chose.

A dataset's name may hold any character. In a header it must not: CR or LF would
end the header (Django refuses with ``BadHeaderError``, a 500) and a non-ASCII name
sent raw arrives garbled. :func:`attachment` removes control and invisible
formatting characters (including bidirectional overrides that disguise a
file's extension) and path separators, then writes the name as RFC 6266 asks: an
ASCII ``filename`` for old clients and, when the name is not ASCII, a UTF-8
``filename*`` that current browsers prefer.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from django.http import HttpResponseBase

# Control (Cc), format (Cf: bidi overrides, zero-width), surrogate (Cs) and
# line/paragraph separator (Zl, Zp) characters never belong in a file name.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MAX_NAME_CHARS = 200


# Characters a name of something users download may not hold: controls (tabs and
# line breaks included), line/paragraph separators, lone surrogates, and the
# bidirectional controls that make "data\u202ecsv.exe" read as "dataexe.csv".
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control, line-separating or bidirectional control
    character (emoji joiners and other formatting characters are allowed)."""
    return any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS for ch in text
    )


def safe_filename(name: str, *, default: str = "download") -> str:
    """``name`` without characters that cannot appear in a file name or a header."""
    kept = []
    for ch in unicodedata.normalize("NFC", name):
        category = unicodedata.category(ch)
        if ch in "/\\":
            kept.append("-")
        elif category in ("Cc", "Zl", "Zp"):
            kept.append(" ")  # a line break or tab separates words
        elif category not in _DROPPED_CATEGORIES and ch != '"':
            kept.append(ch)
    cleaned = " ".join("".join(kept).split()).strip(" .")
    return cleaned[:_MAX_NAME_CHARS] or default


def attachment(filename: str) -> str:
    """The Content-Disposition value that downloads the body as ``filename``."""
    name = safe_filename(filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = fallback.rpartition(".")
    if not (stem if dot else extension).strip(" .-_"):
        fallback = f"download.{extension}" if dot else "download"
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def as_attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """Mark ``response`` as a download named ``filename``; returns it."""
    response["Content-Disposition"] = attachment(filename)
    return response
