"""An upload handler that refuses an over-size file while it streams in.

Django's temporary-file handler writes the upload to disk; this one also
counts bytes as they arrive and, the moment the count passes
``SYNTHGOV_MAX_UPLOAD_BYTES``, discards what it wrote, skips the rest of the
file and leaves a note on the request for the view to report. The request
body is checked first: a declared Content-Length far past the limit is
refused before any file byte is written.

Django strips a path from an uploaded file's name and drops characters it cannot
print before any upload handler sees it, so ``../../etc/passwd.csv`` would arrive
as ``passwd.csv``. The handler therefore parses the body itself (Django lets the
first handler do so) with a parser that tells it each name *as sent*
(``sent_name``), so the registry's file-name checks judge what the client really
sent, for pages and API alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.http.multipartparser import MultiPartParser

from registry.ingest import IngestError
from registry.ingest.errors import ErrorCode, human_size
from registry.ingest.prescan import Prescan
from registry.ingest.stream import FileChunks

REFUSAL_ATTRIBUTE = "synthgov_upload_refusal"
PRESCAN_ATTRIBUTE = "synthgov_prescan"
# Multipart framing and the form's other fields ride along with the file.
_ENVELOPE_BYTES = 1024 * 1024


def too_large_error() -> IngestError:
    limit = settings.SYNTHGOV_MAX_UPLOAD_BYTES
    return IngestError(
        ErrorCode.TOO_LARGE,
        f"The file is larger than the limit of {human_size(limit)}.",
        "Upload a smaller file: remove rows or columns you do not need, or split the table "
        "into several datasets. Compressed CSV (.csv.gz) is accepted.",
    )


def sent_name(upload: Any) -> str:
    """The file name as the client sent it, before Django stripped any path or
    unprintable character (``upload.name`` when it went through no parser here)."""
    return getattr(upload, "sent_name", None) or upload.name


def upload_chunks(upload: Any) -> Iterable[bytes]:
    """An uploaded file's bytes for ``dataset_version_create``: the file itself when
    Django wrote it to disk (``ingest_upload`` then links it instead of copying it,
    and takes its hash and CSV scan from the prescan made while it was received),
    else its chunks."""
    temporary_file_path = getattr(upload, "temporary_file_path", None)
    if temporary_file_path is None:
        return upload.chunks()
    upload.file.flush()
    return FileChunks(Path(temporary_file_path()), prescan=getattr(upload, PRESCAN_ATTRIBUTE, None))


def upload_refusal(request: Any) -> IngestError | None:
    """The refusal the handler left on ``request`` (DRF or Django), if any."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, REFUSAL_ATTRIBUTE, None)


def _read_body_in_large_pieces(request: Any) -> None:
    """Let Django's request stream read a gunicorn request body in large pieces.

    gunicorn's ``Body.read(n)`` gathers ``n`` bytes 1 KiB at a time, copying its
    buffer on each step (about 3 CPU-seconds per GB); its ``LengthReader`` returns
    ``n`` bytes in one call. When nothing is buffered in the ``Body`` (nothing has
    read the body yet), Django's ``LimitedStream`` (which still counts and limits
    what is read) is pointed at the ``LengthReader``. Any other server: no change."""
    django_request = getattr(request, "_request", request)
    stream = getattr(django_request, "_stream", None)
    body = getattr(django_request, "environ", {}).get("wsgi.input")
    reader = getattr(body, "reader", None)
    if (
        type(stream) is not LimitedStream
        or type(body).__module__ != "gunicorn.http.body"
        or type(reader).__name__ != "LengthReader"
        or getattr(stream, "_pos", None) != 0
        or body.buf.tell() != 0
    ):
        return
    stream._read = reader.read


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    # Django reads the body and hands it to the handlers in pieces of this size: 1 MiB
    # rather than 64 KiB means 16 times fewer trips through its parser per file.
    chunk_size = 1024 * 1024

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[Any, Any] | None:
        self.received = 0
        if content_length and content_length > settings.SYNTHGOV_MAX_UPLOAD_BYTES + _ENVELOPE_BYTES:
            self._refuse()
        ours = self.request is not None and input_data is not None
        if not ours or self._refused() or getattr(self, "_parsing", False):
            # Django's parser goes on: inside ours, skipping every file, or called
            # without a request body to parse.
            return None
        self._parsing = True
        _read_body_in_large_pieces(self.request)
        try:
            return SentNameMultiPartParser(
                META, input_data, self.request.upload_handlers, encoding
            ).parse()
        finally:
            self._parsing = False

    def note_sent_name(self, name: str) -> None:
        """Called by the parsers below with the next file's name as sent."""
        self.next_sent_name = name

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.received = 0
        if self._refused():
            raise SkipFile
        super().new_file(*args, **kwargs)
        # Hashed and (for CSV) validated in a thread as the chunks arrive.
        self.prescan = Prescan()
        setattr(self.file, PRESCAN_ATTRIBUTE, self.prescan)
        # UploadedFile silently cuts names to 255 characters, and Django's parser has
        # already stripped paths and unprintable characters: keep what was sent.
        self.file.sent_name = getattr(self, "next_sent_name", None) or self.file_name
        self.next_sent_name = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.SYNTHGOV_MAX_UPLOAD_BYTES:
            self.file.close()  # a NamedTemporaryFile: closing deletes it
            self.abandon_prescan()
            self._refuse()
            raise SkipFile
        super().receive_data_chunk(raw_data, start)
        self.prescan.feed(raw_data)
        return None

    def file_complete(self, file_size: int) -> Any:
        self.prescan.finish()
        return super().file_complete(file_size)

    def upload_interrupted(self) -> None:
        self.abandon_prescan()
        super().upload_interrupted()

    def abandon_prescan(self) -> None:
        prescan = getattr(self, "prescan", None)
        if prescan is not None:
            prescan.abandon()

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, REFUSAL_ATTRIBUTE, too_large_error())

    def _refused(self) -> bool:
        return self.request is not None and hasattr(self.request, REFUSAL_ATTRIBUTE)


class SentNameMultiPartParser(MultiPartParser):
    """Django's multipart parser, telling the upload handlers each file's name as sent.

    A name Django would discard entirely (``..``, ``../``) would make the file vanish
    and the form say "no file"; it is refused as a bad file name instead."""

    def parse(self) -> tuple[Any, Any]:
        try:
            return super().parse()
        except BaseException:
            # Django closes the files it received only when an upload is stopped; a
            # malformed body would leave the temporary file of the part being read open.
            self._close_files()
            for handler in self._upload_handlers:
                if isinstance(handler, LimitedTemporaryFileUploadHandler):
                    handler.abandon_prescan()
            raise

    def sanitize_file_name(self, file_name: str) -> str | None:
        for handler in self._upload_handlers:
            if isinstance(handler, LimitedTemporaryFileUploadHandler):
                handler.note_sent_name(file_name)
        cleaned = super().sanitize_file_name(file_name)
        if cleaned is None:
            for handler in self._upload_handlers:
                request = getattr(handler, "request", None)
                if request is not None and not hasattr(request, REFUSAL_ATTRIBUTE):
                    setattr(request, REFUSAL_ATTRIBUTE, _unusable_name_error(file_name))
        return cleaned


def _unusable_name_error(name: str) -> IngestError:
    return IngestError(
        ErrorCode.BAD_FILENAME,
        f"The file name {name[:100]!r} is not a file name (it is empty or a path).",
        "Rename the file to a plain name such as 'patients_2024.csv' and upload it again.",
    )
