"""Hash and validate an upload while it is still being received.

Django's upload handler writes each chunk of an uploaded file to a temporary file;
``Prescan`` is handed the same chunks (``feed``) and, in a thread of its own, hashes
them and runs ``csv_scan``'s vectorised scan over them as they arrive. When the
upload is complete, ``ingest_upload`` links the temporary file into its working
folder and, instead of reading the file again, takes the SHA-256 and the scan's
answer from here (``PrescanResult``) — provided they describe exactly that file
(same size and first bytes) and the scan ran with the parameters the validation
chooses (encoding, delimiter, line limit). Anything else, and the file is read again
as before, so the answers and error messages do not change:

- the scan assumes what ``validate_csv_indexed`` assumes without a curator's choice
  (UTF-8, with or without a byte-order mark, and the delimiter sniffed from the
  first ``HEAD_BYTES``); a file in another encoding is only hashed here;
- the header is kept as sent and checked later, with the limits of the request;
- Parquet, compressed and binary uploads are only hashed.

Memory is bounded: at most ``QUEUED_CHUNKS`` chunks wait for the thread (the
receiving side waits when they are full), and the scan holds a few blocks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from registry.ingest import csv_scan
from registry.ingest.csv_scan import CsvPrescan
from registry.ingest.csv_table import DEFAULT_MAX_LINE_CHARS, sniff_parameters
from registry.ingest.errors import IngestError
from registry.ingest.sniff import ContentKind, detect_content
from registry.ingest.stream import HEAD_BYTES

logger = logging.getLogger(__name__)

QUEUED_CHUNKS = 8
"""Chunks (Django's are 1 MiB with ``LimitedTemporaryFileUploadHandler``) waiting at most."""

IDLE_SECONDS = 300.0
"""A prescan that gets no chunk for this long gives up (the request died)."""

_END = object()
_ABANDON = object()


class _Abandoned(Exception):
    pass


@dataclass(frozen=True)
class PrescanResult:
    """What the prescan saw: ``size`` bytes starting with ``head`` (its first
    ``HEAD_BYTES``), their SHA-256, and the CSV scan's answer (None: not scanned)."""

    size: int
    head: bytes
    sha256: str
    csv: CsvPrescan | None


class _ChunkReader:
    """A binary stream over the chunks another thread hands over (``readinto``,
    ``read``), with the first bytes available to peek at."""

    def __init__(self, chunks: queue.Queue[Any]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")
        self._ended = False
        self.delivered = 0

    def _more(self) -> bool:
        if self._ended:
            return False
        try:
            item = self._chunks.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            self._ended = True  # nothing more will be taken
            raise _Abandoned from None
        if item is _ABANDON:
            self._ended = True
            raise _Abandoned
        if item is _END:
            self._ended = True
            return False
        self._pending = memoryview(item)
        return True

    def peek(self, size: int) -> bytes:
        """Up to ``size`` first bytes, without consuming them."""
        held = bytes(self._pending)
        while len(held) < size and self._more():
            held += bytes(self._pending)
        self._pending = memoryview(held)
        return held[:size]

    def readinto(self, target: memoryview) -> int:
        filled = 0
        while filled < len(target):
            if not self._pending and not self._more():
                break
            take = min(len(target) - filled, len(self._pending))
            target[filled : filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        self.delivered += filled
        return filled

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise ValueError("read the stream with a size")
        buffer = bytearray(size)
        got = self.readinto(memoryview(buffer))
        return bytes(buffer[:got])

    def rest(self) -> Any:
        """The chunks not read yet, as they come."""
        while self._pending or self._more():
            chunk, self._pending = self._pending, memoryview(b"")
            self.delivered += len(chunk)
            yield chunk


def csv_parameters(head: bytes) -> tuple[str, str] | None:
    """The encoding and delimiter ``validate_csv_indexed`` chooses for a text file
    starting with ``head`` when the curator names no encoding (None: it would refuse
    the file, or it is no text)."""
    if detect_content(head, b"") != ContentKind.TEXT:
        return None
    try:
        return sniff_parameters(head, None)
    except IngestError:
        return None


class Prescan:
    """Hashes (and, for a CSV file, scans) an upload's chunks in a thread while the
    upload is received: ``feed`` each chunk in order, then ``finish`` (or ``abandon``
    when the upload is dropped); ``result`` waits for the answer."""

    def __init__(self, *, max_line_chars: int | None = None) -> None:
        self.max_line_chars = max_line_chars or DEFAULT_MAX_LINE_CHARS
        self._chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._done = threading.Event()
        self._result: PrescanResult | None = None
        self._open = True
        self._thread = threading.Thread(target=self._run, name="upload-prescan", daemon=True)
        self._thread.start()

    def feed(self, chunk: bytes) -> None:
        if not self._open or not chunk:
            return
        try:
            self._chunks.put(bytes(chunk), timeout=IDLE_SECONDS)
        except queue.Full:
            self._open = False  # the thread is gone: the file is read again later

    def finish(self) -> None:
        self._close(_END)

    def abandon(self) -> None:
        self._close(_ABANDON)

    def _close(self, marker: object) -> None:
        if not self._open:
            return
        self._open = False
        with contextlib.suppress(queue.Full):
            self._chunks.put(marker, timeout=IDLE_SECONDS)

    def result(self, timeout: float | None = None) -> PrescanResult | None:
        """The answer once every chunk is hashed and scanned (None: abandoned, or it
        failed; then the file is read as if there had been no prescan)."""
        if not self._done.wait(timeout):
            return None
        return self._result

    def _run(self) -> None:
        reader = _ChunkReader(self._chunks)
        try:
            self._result = self._scan(reader)
        except _Abandoned:
            pass
        except Exception:
            logger.exception("upload prescan failed; the file will be read again")
        finally:
            self._done.set()
            self._drain(reader)

    def _scan(self, reader: _ChunkReader) -> PrescanResult:
        digest = hashlib.sha256()
        head = reader.peek(HEAD_BYTES)
        found: CsvPrescan | None = None
        parameters = csv_parameters(head)
        if parameters is not None:
            encoding, delimiter = parameters
            try:
                result: csv_scan.ScanResult | None = csv_scan.scan_csv_stream(
                    reader,
                    encoding=encoding,
                    delimiter=delimiter,
                    max_line_chars=self.max_line_chars,
                    check_header=list,  # checked later, with the request's limits
                    digest=digest,
                )
            except csv_scan.Unsure:
                result = None
            found = CsvPrescan(encoding, delimiter, self.max_line_chars, result)
        for chunk in reader.rest():
            digest.update(chunk)
        return PrescanResult(reader.delivered, head, digest.hexdigest(), found)

    def _drain(self, reader: _ChunkReader) -> None:
        """Keep taking chunks until the end, so ``feed`` never waits on a dead thread."""
        try:
            while reader._more():
                pass
        except _Abandoned:
            pass
