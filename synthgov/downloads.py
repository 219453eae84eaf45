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

# Control (Cc), format (Cf: bidi overrides, zero-width), unassigned/private/surrogate
# (Cn, Co, Cs) and line/paragraph separators (Zl, Zp) never belong in a file name.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
_MAX_NAME_CHARS = 200


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a character :func:`safe_filename` would drop for being
    a control, invisible formatting or line-separating character (tabs included)."""
    return any(unicodedata.category(ch) in _DROPPED_CATEGORIES for ch in text)


def safe_filename(name: str, *, default: str = "download") -> str:
    """``name`` without characters that cannot appear in a file name or a header."""
    kept = (
        "-" if ch in "/\\" else ch
        for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES and ch != '"'
    )
    cleaned = " ".join("".join(kept).split()).strip(" .")
    return cleaned[:_MAX_NAME_CHARS] or default


def attachment(filename: str) -> str:
    """The Content-Disposition value that downloads the body as ``filename``."""
    name = safe_filename(filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    if not fallback.strip(" .-_"):
        fallback = "download"
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def as_attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """Mark ``response`` as a download named ``filename``; returns it."""
    response["Content-Disposition"] = attachment(filename)
    return response
