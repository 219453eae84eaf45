"""Where stored files live: the local folder (the default) or an S3 bucket.

``SYNTHGOV_STORAGE=s3`` (``storage_from_env``) stores uploaded tables in a
bucket through django-storages, so web servers and workers on other machines
share them. Everything that reads a stored file goes through
``default_storage``:

- ``default_storage.open(name)`` on S3 returns a seekable reader that streams
  the object with HTTP range requests (``S3Reader``): reading the whole file
  holds ``READ_BUFFER_BYTES`` at a time, seeking costs a new request, never a
  download of the object. (django-storages' own ``S3File`` downloads the whole
  object into memory first, unless told to spool.)
- ``local_copy(name)`` gives readers that need a real path (Arrow's CSV and
  Parquet readers, pandas) one: the file itself on local storage, otherwise a
  temporary copy in ``FILE_UPLOAD_TEMP_DIR`` streamed ``COPY_CHUNK_BYTES`` at a time
  and deleted afterwards.
- ``stored_hash(name)`` hashes a stored file while streaming it.

A store that does not answer (connection refused, timeout, a 5xx) raises
``StorageUnavailable``, an ``OSError``: tasks retry it like any storage error
(``synthgov.queue.TRANSIENT``) and ``StorageUnavailableMiddleware`` answers 503
with what happened instead of a 500 page. A missing object raises
``FileNotFoundError``, as on local disk. Stored files have no public URL:
``S3Storage.url`` refuses, downloads go through SynthGov's views.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from boto3.exceptions import S3TransferFailedError, S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from storages.backends.s3 import S3Storage as _S3Storage

READ_BUFFER_BYTES = 1024 * 1024
"""Bytes an ``S3Reader`` buffers: each read of the response body is at most this."""

COPY_CHUNK_BYTES = 1024 * 1024
"""Bytes ``local_copy`` and ``stored_hash`` hold at a time."""

STORE_UNAVAILABLE = (
    "The file store is not answering, so nothing was read or stored. "
    "Try again in a few minutes; if it persists, ask an administrator to check the "
    "object storage (SYNTHGOV_STORAGE and AWS_* settings)."
)

T = TypeVar("T")


class StorageUnavailable(OSError):
    """The object store did not answer (network, timeout, a 5xx): a transient error."""


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _translated(name: str, call: Callable[[], T]) -> T:
    """Run ``call``; S3 errors become the OSErrors the rest of SynthGov handles."""
    try:
        return call()
    except ClientError as error:
        status = _status(error)
        code = str(error.response.get("Error", {}).get("Code", ""))
        if status == 404 or code in ("NoSuchKey", "404", "NotFound"):
            raise FileNotFoundError(f"File does not exist in the bucket: {name}") from None
        if status in (401, 403):
            # A configuration fault, not the user's: answered like an outage (503).
            raise StorageUnavailable(
                f"The object store refused access to {name} ({code or status}): check "
                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy."
            ) from None
        raise StorageUnavailable(f"The object store failed on {name}: {error}") from None
    except (BotoCoreError, S3TransferFailedError, S3UploadFailedError) as error:
        raise StorageUnavailable(f"The object store is not answering ({error}).") from None


class S3Reader(io.RawIOBase):
    """A stored object read with HTTP range requests: ``seek`` only moves the
    position; the next read asks for the bytes from there on."""

    def __init__(self, storage: S3Storage, key: str, name: str, size: int, etag: str) -> None:
        super().__init__()
        self._storage, self._key, self._name = storage, key, name
        self._size, self._etag = size, etag
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._position + offset
        elif whence == os.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self._position:
            self._drop_body()
            self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size:
            return 0
        wanted = min(len(buffer), READ_BUFFER_BYTES, self._size - self._position)
        if self._body is None:
            # IfMatch: a reader never mixes the bytes of two versions of the object.
            response = _translated(
                self._name,
                lambda: self._storage.connection.meta.client.get_object(
                    Bucket=self._storage.bucket_name,
                    Key=self._key,
                    Range=f"bytes={self._position}-",
                    IfMatch=self._etag,
                ),
            )
            self._body = response["Body"]
        data = _translated(self._name, lambda: self._body.read(wanted))
        if not data:
            raise StorageUnavailable(
                f"The object store ended {self._name} at byte {self._position} of {self._size}."
            )
        count = len(data)
        memoryview(buffer)[:count] = data
        self._position += count
        return count

    def _drop_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


class S3ReadFile(File):
    """What ``S3Storage.open(name, "rb")`` returns: a Django ``File`` over an
    ``S3Reader`` with a ``READ_BUFFER_BYTES`` buffer."""

    def __init__(self, reader: S3Reader, name: str, size: int) -> None:
        super().__init__(io.BufferedReader(reader, buffer_size=READ_BUFFER_BYTES), name=name)
        self.size = size

    def open(self, mode: str | None = None) -> S3ReadFile:
        self.seek(0)
        return self


class S3Storage(_S3Storage):
    """django-storages' S3 backend, with streaming reads, no public URLs and
    S3 errors turned into ``FileNotFoundError`` / ``StorageUnavailable``."""

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            return _translated(name, lambda: super(S3Storage, self)._open(name, mode))
        key = self._normalize_name(name)
        head = _translated(
            name,
            lambda: self.connection.meta.client.head_object(Bucket=self.bucket_name, Key=key),
        )
        size = int(head["ContentLength"])
        reader = S3Reader(self, key, name, size, head["ETag"])
        return S3ReadFile(reader, name, size)

    def _save(self, name: str, content: Any) -> str:
        return _translated(name, lambda: super(S3Storage, self)._save(name, content))

    def exists(self, name: str) -> bool:
        return _translated(name, lambda: super(S3Storage, self).exists(name))

    def delete(self, name: str) -> None:
        _translated(name, lambda: super(S3Storage, self).delete(name))

    def size(self, name: str) -> int:
        return _translated(name, lambda: super(S3Storage, self).size(name))

    def url(self, name: str, *args: Any, **kwargs: Any) -> str:
        raise NotImplementedError(
            "Stored files have no public URL: downloads go through SynthGov's views, "
            "which check who may read them."
        )

    def ping(self) -> None:
        """Ask the bucket whether it is there (for ``/healthz``)."""
        _translated(
            self.bucket_name,
            lambda: self.connection.meta.client.head_bucket(Bucket=self.bucket_name),
        )


def is_local() -> bool:
    """Whether stored files are on this machine's disk (``default_storage.path`` works)."""
    try:
        default_storage.path("probe")
    except NotImplementedError:
        return False
    return True


@contextlib.contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A path to the stored file ``name`` on this machine, for readers that need
    one: the stored file itself on local storage (FileNotFoundError when it is
    gone), else a temporary copy streamed from the store and deleted on exit."""
    if is_local():
        path = Path(default_storage.path(name))
        if not path.is_file():
            raise FileNotFoundError(f"File does not exist: {name}")
        yield path
        return
    copy = temporary_copy(name)
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def temporary_copy(name: str, digest: Any = None) -> Path:
    """The stored file ``name`` streamed into a new temporary file in
    ``FILE_UPLOAD_TEMP_DIR``, ``COPY_CHUNK_BYTES`` at a time, each chunk also fed to
    ``digest`` (a ``hashlib`` object) when given. The caller removes the copy; a copy
    that fails midway is removed here."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix="stored-", suffix=Path(name).suffix, dir=folder)
    try:
        with os.fdopen(handle, "wb") as target, default_storage.open(name, "rb") as source:
            while chunk := source.read(COPY_CHUNK_BYTES):
                if digest is not None:
                    digest.update(chunk)
                target.write(chunk)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def stored_hash(name: str) -> str:
    """The SHA-256 of the stored file ``name``, streamed; FileNotFoundError when it is gone."""
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as source:
        while chunk := source.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def storage_status() -> tuple[bool, str]:
    """For ``/healthz``: whether the file store answers."""
    ping = getattr(default_storage, "ping", None)
    try:
        if ping is not None:
            ping()
        else:
            root = Path(settings.MEDIA_ROOT)
            if not (root.is_dir() and os.access(root, os.W_OK)):
                return False, f"MEDIA_ROOT {root} is not a writable folder"
    except Exception as exc:  # any failure means "not healthy"; say which
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"


class StorageUnavailableMiddleware:
    """A request that meets a file store that does not answer gets 503 and what
    to do, never a 500 page (JSON under ``/api/`` and for the upload page's script,
    a page elsewhere)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, StorageUnavailable):
            return None
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": STORE_UNAVAILABLE}, status=503)
        elif request.headers.get("X-Requested-With") == "XMLHttpRequest":
            # The upload page's script shows these beside its button.
            response = JsonResponse({"errors": {"__all__": [STORE_UNAVAILABLE]}}, status=503)
        else:
            response = render(
                request, "storage_unavailable.html", {"message": STORE_UNAVAILABLE}, status=503
            )
        response["Retry-After"] = "60"
        return response
