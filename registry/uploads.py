"""An upload handler that refuses an over-size file while it streams in.

Django's temporary-file handler writes the upload to disk; this one also
counts bytes as they arrive and, the moment the count passes
``SYNTHGOV_MAX_UPLOAD_BYTES``, discards what it wrote, skips the rest of the
file and leaves a note on the request for the view to report. The request
body is checked first: a declared Content-Length far past the limit is
refused before any file byte is written.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler

from registry.ingest import IngestError
from registry.ingest.errors import ErrorCode, human_size

REFUSAL_ATTRIBUTE = "synthgov_upload_refusal"
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
    """The file name as the client sent it (after Django strips any path)."""
    return getattr(upload, "sent_name", None) or upload.name


def upload_refusal(request: Any) -> IngestError | None:
    """The refusal the handler left on ``request`` (DRF or Django), if any."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, REFUSAL_ATTRIBUTE, None)


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        self.received = 0
        if content_length and content_length > settings.SYNTHGOV_MAX_UPLOAD_BYTES + _ENVELOPE_BYTES:
            self._refuse()

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.received = 0
        if self._refused():
            raise SkipFile
        super().new_file(*args, **kwargs)
        # UploadedFile silently cuts names to 255 characters; keep what was sent.
        self.file.sent_name = self.file_name

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.SYNTHGOV_MAX_UPLOAD_BYTES:
            self.file.close()  # a NamedTemporaryFile: closing deletes it
            self._refuse()
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, REFUSAL_ATTRIBUTE, too_large_error())

    def _refused(self) -> bool:
        return self.request is not None and hasattr(self.request, REFUSAL_ATTRIBUTE)
