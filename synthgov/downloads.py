"""Every download: its name (Content-Disposition), its bytes (whole or a range,
with the SHA-256 in headers) and who may fetch it (a session or an API token).

A dataset's name may hold any character. In a header it must not: CR or LF would
end the header (Django refuses with ``BadHeaderError``, a 500) and a non-ASCII name
sent raw arrives garbled. :func:`attachment` removes control and invisible
formatting characters (including bidirectional overrides that disguise a
file's extension) and path separators, then writes the name as RFC 6266 asks: an
ASCII ``filename`` for old clients and, when the name is not ASCII, a UTF-8
``filename*`` that current browsers prefer.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage, default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

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


# --- Serving a stored file -------------------------------------------------------
#
# Every download of a stored file (the pages, the API and the public /open/ URLs)
# answers through ``file_response``: HTTP range requests (RFC 9110 section 14),
# conditional requests on a strong ETag that is the file's SHA-256, and the SHA-256
# itself in ``Repr-Digest`` (RFC 9530) and the older ``Digest`` (RFC 3230, which
# aria2 reads to verify what it fetched). A range is read by seeking in the file that
# ``storage.open`` returns, in chunks, so any Django storage backend works and the
# file is never read whole into memory.

CHUNK_BYTES = 64 * 1024
# Public files: the bytes of a version never change, but a publication can be
# withdrawn. Five minutes bounds how long a shared cache may go on serving a withdrawn
# file without asking; asking again costs a 304 thanks to the ETag.
PUBLIC_CACHE_CONTROL = "public, max-age=300"
# Files behind a sign-in: never in a shared cache, and not kept on the reader's disk
# either (a restricted file on a shared computer).
PRIVATE_CACHE_CONTROL = "private, no-store"
# A number longer than this is larger than any file we store: compared as infinite,
# never handed to int() (which refuses strings over 4300 digits).
_MAX_DIGITS = 18
_RANGE = re.compile(r"bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)", re.ASCII | re.IGNORECASE)
_UNSATISFIABLE = object()


@dataclass(frozen=True)
class StoredFile:
    """What a download needs to know about a file kept in a storage backend."""

    name: str  # the storage name, as ``storage.open`` takes it
    sha256: str  # 64 lowercase hex digits, computed when the file was stored
    modified: datetime
    content_type: str
    filename: str  # what the reader's computer saves it as


def _number(digits: str) -> int | None:
    """``digits`` as a number; None when too long to be a position in any file."""
    return int(digits) if len(digits) <= _MAX_DIGITS else None


def byte_range(header: str, size: int) -> tuple[int, int] | object | None:
    """The inclusive (first, last) byte positions a ``Range`` header asks for in a
    representation of ``size`` bytes; ``_UNSATISFIABLE`` when it asks only for bytes
    past the end (answered 416); None when the header is not one range of bytes we
    serve: malformed, another unit or several ranges (RFC 9110 lets a server ignore
    Range and send the whole file, which is what then happens)."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first_digits, last_digits = match.groups()
    if not first_digits:  # bytes=-n: the last n bytes
        if not last_digits:
            return None
        suffix = _number(last_digits)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        length = size if suffix is None else min(suffix, size)
        return size - length, size - 1
    first = _number(first_digits)
    last = _number(last_digits) if last_digits else None
    if last_digits and first is not None and last is not None and last < first:
        return None  # "bytes=5-2" is invalid, not unsatisfiable
    if last_digits and first is None and last is not None:
        return None  # first has more digits than last: first > last
    if first is None or first >= size:
        return _UNSATISFIABLE
    end = size - 1 if last is None else min(last, size - 1)
    return first, end


def _if_range_allows(request: HttpRequest, etag: str, last_modified: str) -> bool:
    """RFC 9110 section 13.1.5: a Range counts only if If-Range (when sent) names
    the current file: our strong ETag exactly, or exactly our Last-Modified date."""
    if_range = request.headers.get("If-Range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    return if_range in (etag, last_modified)


class _Chunks:
    """The bytes ``first``..``first + length - 1`` of an open file, read in chunks
    after one seek; closing it closes the file (Django closes the response's
    iterator when the response ends, whether or not it was read)."""

    def __init__(self, handle: Any, first: int, length: int) -> None:
        self.handle, self.first, self.length = handle, first, length

    def __iter__(self) -> Iterator[bytes]:
        if self.first:
            self.handle.seek(self.first)
        remaining = self.length
        while remaining > 0:
            chunk = self.handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.handle.close()


def file_response(
    request: HttpRequest, stored: StoredFile, *, public: bool, storage: Storage | None = None
) -> HttpResponseBase | None:
    """The stored file as a download, whole or the one byte range asked for; a 304
    when the reader's copy is current; None when the storage no longer has it."""
    storage = storage or default_storage
    try:
        handle = storage.open(stored.name, "rb")
    except FileNotFoundError:
        return None
    size = handle.size
    etag = f'"{stored.sha256}"'
    modified = int(stored.modified.timestamp())  # HTTP dates have whole seconds
    last_modified = http_date(modified)
    digest = base64.b64encode(bytes.fromhex(stored.sha256)).decode("ascii")
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": last_modified,
        "Repr-Digest": f"sha-256=:{digest}:",
        "Digest": f"SHA-256={digest}",
        "Cache-Control": PUBLIC_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL,
    }
    validators = HttpResponse(headers=headers)
    conditional = get_conditional_response(
        request, etag=etag, last_modified=modified, response=validators
    )
    if conditional is not validators:  # 304 Not Modified or 412 Precondition Failed
        handle.close()
        return conditional

    wanted = None
    # Range means something for GET only (RFC 9110 section 14.2): HEAD describes the
    # whole file.
    ranged = request.method == "GET" and "Range" in request.headers
    if ranged and _if_range_allows(request, etag, last_modified):
        wanted = byte_range(request.headers["Range"], size)
    if wanted is _UNSATISFIABLE:
        handle.close()
        response = HttpResponse(
            f"The range asked for starts past the end of the file, which has {size} bytes.",
            status=416,
            content_type="text/plain; charset=utf-8",
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
        return response
    first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = last - first + 1 if size else 0

    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(headers=headers, content_type=stored.content_type)
    else:
        response = StreamingHttpResponse(
            _Chunks(handle, first, length), headers=headers, content_type=stored.content_type
        )
    response["Content-Length"] = str(length)
    if isinstance(wanted, tuple):
        response.status_code = 206
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return as_attachment(response, stored.filename)


# --- Token authentication on pages that serve files ------------------------------


def token_or_login_required(view: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
    """``login_required`` that also accepts ``Authorization: Token <key>``, the API's
    token, so a script or a tool can fetch a file page with the key it uses for the
    API. A token that is wrong, or whose user is inactive, answers 401 (never the login
    page, which a script would save as the file). Only for GET/HEAD views: a token
    request has no session, no cookie and so nothing for CSRF to protect."""
    needs_login = login_required(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            found = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            response = HttpResponse(
                f"{exc.detail} Send 'Authorization: Token <key>' with a valid API token.",
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            response["WWW-Authenticate"] = "Token"
            return response
        if found is None:  # no token sent: the browser's session, or the login page
            return needs_login(request, *args, **kwargs)
        request.user = found[0]
        return view(request, *args, **kwargs)

    return wrapped
