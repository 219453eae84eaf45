"""Validate a CSV file in one vectorised pass over its bytes, hashing it on the way.

``csv_table``'s scan with Python's ``csv`` module (strict mode) stays the reference:
it decides what a well-formed file is, counts its rows and words every error. It
reads about 35 MB/s. This module reaches the same answer from the bytes with NumPy
(quotes, delimiters and line ends found a block at a time, a row's fields counted
between its line ends) and answers only when it is certain; whenever it is not (a
quote inside an unquoted value, a row of the wrong width, an invalid byte, a very
long line or value, no data) it raises ``Unsure`` and the caller runs the
reference scan, which then accepts the file or words the error exactly as before.

It works for encodings in which the bytes of ``"``, the delimiter, ``\\r`` and ``\\n``
only ever stand for those characters (UTF-8 and the single-byte encodings); for the
others (UTF-16, Shift JIS, ...) it is unsure at once.

While it reads, it notes where each block of rows starts (``RowIndex``), so the rows
of a random sample can later be cut straight out of the file without parsing the
rest of it again (``sample_csv_rows``).
"""

from __future__ import annotations

import codecs
import csv
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

CHUNK_BYTES = 2 * 1024 * 1024
"""Bytes read at a time; the working memory is a few times this."""

MAX_CARRY_BYTES = 64 * 1024 * 1024
"""A row (with its quoted line breaks) longer than this is left to the reference scan."""

MAX_HEADER_BYTES = 4 * 1024 * 1024
"""A header record longer than this is not kept for a ``RowIndex`` (no index then)."""

MAX_SKIPPED_RECORDS = 1_000_000
"""Blank lines the index remembers at most (beyond that no index is kept)."""

MAX_INDEXED_RECORD_BYTES = 2**16 - 1
"""The index keeps each record's length in two bytes: with a longer record no index
is kept (and the sample is read by streaming the whole file)."""

_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D


class Unsure(Exception):
    """The vectorised scan cannot vouch for the file: run the reference scan."""


@dataclass(frozen=True)
class Segment:
    """A run of whole records: ``length`` bytes from ``offset``, holding data rows
    ``first_row`` to ``first_row + rows - 1``. ``skipped`` are the positions (among
    the segment's records) of records that are not data rows: the header and blank
    lines."""

    offset: int
    length: int
    first_row: int
    rows: int
    skipped: tuple[int, ...]
    lengths: np.ndarray = field(compare=False, repr=False)
    """Each record's length in bytes, with its line end (uint16: 2 bytes a row)."""


@dataclass(frozen=True)
class RowIndex:
    """Where the data rows of a validated CSV file are: the file's first ``bom``
    bytes are its byte-order mark, and its header record is the bytes from
    ``header_start`` to ``header_end`` (blank lines may come before it)."""

    bom: int
    header_start: int
    header_end: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class ScanResult:
    header: list[str]
    rows: int
    index: RowIndex | None


@functools.lru_cache(maxsize=64)
def ascii_safe(encoding: str) -> bool:
    """Whether ``"``, the delimiters, CR and LF are single bytes that never occur inside
    another character: UTF-8, and encodings with one byte per character."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        return True
    for byte in range(128):
        try:
            if bytes([byte]).decode(name) != chr(byte):
                return False
        except UnicodeDecodeError:
            return False
    for byte in range(128, 256):
        decoder = codecs.getincrementaldecoder(name)()
        try:
            text = decoder.decode(bytes([byte]), final=False)
        except UnicodeDecodeError:
            continue  # undefined in this encoding: an error either way
        if len(text) != 1:
            return False  # the start of a character of several bytes
    return True


def _records(
    a: np.ndarray, *, final: bool, inside: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The whole records at the start of ``a`` (which starts a record, outside quotes),
    assuming every quote opens or closes a quoted value (checked by ``_check_quotes``);
    ``inside`` tells which bytes are inside quotes (None: there are no quotes).

    Returns each record's start and end (exclusive, with its line end), the length of
    its line end (0 for a last record without one) and where the records end (the
    rest belongs to a record that continues in the next block). Without ``final`` a
    CR in the last byte may be half of a CR LF, so it is not taken as a line end.
    """
    n = len(a)
    lf = np.flatnonzero(a == _LF)
    cr = np.flatnonzero(a == _CR) if np.any(a == _CR) else np.empty(0, dtype=np.intp)
    if inside is not None:
        lf = lf[~inside[lf]]
        cr = cr[~inside[cr]]
    if cr.size:
        if not final and cr[-1] == n - 1:
            cr = cr[:-1]
        following = a[np.minimum(cr + 1, n - 1)]
        lone = (cr + 1 >= n) | (following != _LF)
        ends = np.union1d(lf, cr[lone]) + 1
    else:
        ends = lf + 1
    if final and (ends.size == 0 or ends[-1] != n) and n > 0:
        ends = np.append(ends, n)
    cut = int(ends[-1]) if ends.size else 0
    starts = np.empty_like(ends)
    if ends.size:
        starts[0] = 0
        starts[1:] = ends[:-1]
    last = a[np.maximum(ends - 1, 0)] if ends.size else ends
    terminated = (last == _LF) | (last == _CR)
    ending = terminated.astype(np.int64)
    crlf = terminated & (last == _LF) & (ends - 2 >= starts)
    if crlf.any():
        before = a[np.maximum(ends - 2, 0)]
        ending += crlf & (before == _CR)
    return starts, ends, ending, cut


def _inside_quotes(is_quote: np.ndarray) -> np.ndarray:
    """For each byte, whether an odd number of quotes precede it or are it (a prefix
    XOR, done 64 bytes at a time on the bits: NumPy has no fast scan of its own)."""
    n = len(is_quote)
    bits = np.packbits(is_quote, bitorder="little")
    pad = (-len(bits)) % 8
    if pad:
        bits = np.concatenate((bits, np.zeros(pad, dtype=np.uint8)))
    words = bits.view("<u8").copy()
    for shift in (1, 2, 4, 8, 16, 32):
        words ^= words << np.uint64(shift)
    odd = words >> np.uint64(63)  # an odd number of quotes in the word
    carry = np.bitwise_xor.accumulate(odd) ^ odd
    words ^= np.uint64(0) - carry  # flip every bit of words after an odd count
    return np.unpackbits(words.view(np.uint8), bitorder="little", count=n).view(bool)


def _check_quotes(a: np.ndarray, quotes: np.ndarray, cut: int, separators: np.ndarray) -> None:
    """Unsure unless each quote in ``quotes`` (those before ``cut``) opens a value (at
    a value's start, or right after a closing quote as the second of a doubled
    quote) or closes one (followed by a delimiter, a line end, another quote or the
    end). ``separators`` marks those bytes (a table of 256)."""
    if not quotes.size:
        return
    if quotes.size % 2:
        raise Unsure("a quoted value is not closed")
    openers = quotes[0::2]
    if not separators[a[openers[openers > 0] - 1]].all():
        raise Unsure("a quote inside an unquoted value")
    closers = quotes[1::2]
    if not separators[a[closers[closers + 1 < cut] + 1]].all():
        raise Unsure("text after a closing quote")


def _utf8_valid(data: memoryview) -> bool:
    """Whether ``data`` is UTF-8 as Python's strict decoder sees it (Arrow's SIMD check
    refuses the same bytes: overlong forms, surrogates, beyond U+10FFFF, cut short)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _field_counts(
    a: np.ndarray, delimiter: int, inside: np.ndarray | None, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """How many values each record has: its delimiters outside quotes, plus one."""
    delimiters = np.flatnonzero(a == delimiter)
    if inside is not None:
        delimiters = delimiters[~inside[delimiters]]
    return np.searchsorted(delimiters, ends) - np.searchsorted(delimiters, starts) + 1


# Bytes that are never whitespace: printable ASCII but the quote, and the control
# characters str.isspace() does not count (0x00-0x08, 0x0e-0x1b).
_DEFINITE = np.zeros(256, dtype=bool)
_DEFINITE[0x21:0x80] = True
_DEFINITE[_QUOTE] = False
_DEFINITE[0x00:0x09] = True
_DEFINITE[0x0E:0x1C] = True


class _Scanner:
    def __init__(
        self,
        *,
        encoding: str,
        delimiter: str,
        max_line_chars: int,
        check_header: Callable[[list[str]], list[str]],
    ) -> None:
        self.codec = "utf-8" if codecs.lookup(encoding).name == "utf-8-sig" else encoding
        self.delimiter = delimiter
        self.delim = ord(delimiter)
        self.separators = np.zeros(256, dtype=bool)
        self.separators[[self.delim, _LF, _CR, _QUOTE]] = True
        self.max_line_chars = max_line_chars
        self.check_header = check_header
        self.field_limit = csv.field_size_limit()
        self.header: list[str] | None = None
        self.width = 0
        self.rows = 0
        self.header_start = 0
        self.header_end = 0
        self.bom = 0
        self.segments: list[Segment] = []
        self.skipped_total = 0
        self.indexable = True

    def _parse(self, data: memoryview) -> list[str]:
        try:
            text = codecs.decode(data, self.codec)
            return next(
                csv.reader(
                    [text],
                    delimiter=self.delimiter,
                    quotechar='"',
                    doublequote=True,
                    strict=True,
                ),
                [],
            )
        except (UnicodeDecodeError, csv.Error) as error:
            raise Unsure(str(error)) from None

    def block(self, buf: memoryview, offset: int, *, final: bool) -> int:
        """Check the whole records at the start of ``buf`` (at file ``offset``); return
        how many bytes they take (the rest is carried into the next block)."""
        a = np.frombuffer(buf, dtype=np.uint8)
        is_quote = a == _QUOTE
        inside = _inside_quotes(is_quote) if is_quote.any() else None
        starts, ends, ending, cut = _records(a, final=final, inside=inside)
        if cut == 0:
            return 0
        a = a[:cut]
        data = memoryview(buf)[:cut]
        if inside is not None:
            inside = inside[:cut]
            _check_quotes(a, np.flatnonzero(is_quote[:cut]), cut, self.separators)
        del is_quote
        # The characters are whole: the block ends after a line end.
        if self.codec == "utf-8":
            if not _utf8_valid(data):
                raise Unsure("not UTF-8")
        else:
            try:
                codecs.decode(data, self.codec)
            except UnicodeDecodeError as error:
                raise Unsure(str(error)) from None
        lengths = ends - starts
        if int(lengths.max()) >= self.max_line_chars - 1:
            raise Unsure("a line may be longer than the limit")
        content = lengths - ending
        if int(content.max()) > self.field_limit:
            raise Unsure("a value may be longer than the csv module's limit")
        fields = _field_counts(a, self.delim, inside, starts, ends)
        records = len(starts)
        skipped: list[int] = []
        first = 0
        while self.header is None and first < records:
            record = self._parse(data[starts[first] : starts[first] + content[first]])
            skipped.append(first)
            if not _is_blank(record):
                self.header = self.check_header(record)
                self.width = len(self.header)
                self.header_start = offset + int(starts[first])
                self.header_end = offset + int(ends[first])
            first += 1
        rest = slice(first, records)
        if self.width > 1:
            odd = np.flatnonzero(fields[rest] != self.width) + first
        else:
            if (fields[rest] != 1).any():
                raise Unsure("a row of the wrong width")
            # A row is blank when its value is spaces (or nothing): rows with a byte that
            # is never a space are not; the others are parsed one by one.
            definite = np.logical_or.reduceat(_DEFINITE[a[:cut]], starts)
            odd = np.flatnonzero(~definite[rest]) + first
        for position in odd.tolist():
            if fields[position] != 1:
                raise Unsure("a row of the wrong width")
            record = self._parse(data[starts[position] : starts[position] + content[position]])
            if _is_blank(record):
                skipped.append(position)
            elif self.width > 1:
                raise Unsure("a row of the wrong width")
        data_rows = records - len(skipped)
        self.skipped_total += len(skipped)
        if self.indexable and int(lengths.max()) > MAX_INDEXED_RECORD_BYTES:
            self.indexable = False
            self.segments = []
        if self.indexable:
            self.segments.append(
                Segment(
                    offset, cut, self.rows, data_rows, tuple(skipped), lengths.astype(np.uint16)
                )
            )
        self.rows += data_rows
        return cut


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def scan_csv(
    path: Path,
    *,
    encoding: str,
    delimiter: str,
    max_line_chars: int,
    check_header: Callable[[list[str]], list[str]],
    digest: Any = None,
) -> ScanResult:
    """Validate ``path`` as ``csv_table``'s scan would, or raise ``Unsure``.

    ``check_header`` turns the header record into the header (or raises Unsure);
    ``digest`` (a hashlib object) is updated with every byte of the file, in order.
    """
    with path.open("rb") as handle:
        return scan_csv_stream(
            handle,
            encoding=encoding,
            delimiter=delimiter,
            max_line_chars=max_line_chars,
            check_header=check_header,
            digest=digest,
        )


def scan_csv_stream(
    handle: BinaryIO,
    *,
    encoding: str,
    delimiter: str,
    max_line_chars: int,
    check_header: Callable[[list[str]], list[str]],
    digest: Any = None,
) -> ScanResult:
    """``scan_csv`` over an open binary stream (``read`` and ``readinto``), read to its
    end: a file, or an upload's bytes as they arrive (``registry.ingest.prescan``).
    When it raises ``Unsure``, ``digest`` holds every byte read so far, in order."""
    if not ascii_safe(encoding):
        raise Unsure(f"{encoding} is not read byte by byte")
    scanner = _Scanner(
        encoding=encoding,
        delimiter=delimiter,
        max_line_chars=max_line_chars,
        check_header=check_header,
    )
    _scan_blocks(handle, scanner, encoding, digest)
    if scanner.header is None or scanner.rows == 0:
        raise Unsure("no header or no data rows")
    keep = (
        scanner.indexable
        and scanner.header_end - scanner.header_start <= MAX_HEADER_BYTES
        and scanner.skipped_total <= MAX_SKIPPED_RECORDS
    )
    index = None
    if keep:
        index = RowIndex(
            scanner.bom, scanner.header_start, scanner.header_end, tuple(scanner.segments)
        )
    return ScanResult(scanner.header, scanner.rows, index)


def _scan_blocks(handle: BinaryIO, scanner: _Scanner, encoding: str, digest: Any) -> None:
    update = digest.update if digest is not None else None
    offset = 0
    carry = b""
    if codecs.lookup(encoding).name == "utf-8-sig":
        carry = handle.read(len(codecs.BOM_UTF8))
        if update is not None:
            update(carry)
        if carry == codecs.BOM_UTF8:
            carry, offset = b"", len(carry)
            scanner.bom = offset
    buffer = bytearray(CHUNK_BYTES)
    # hashlib lets go of the GIL, as NumPy does: a block is hashed in a second
    # thread while it is scanned.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-hash") as hasher:
        while True:
            if len(buffer) < len(carry) + CHUNK_BYTES:
                buffer = bytearray(len(carry) + CHUNK_BYTES)
            buffer[: len(carry)] = carry
            view = memoryview(buffer)
            read = handle.readinto(view[len(carry) : len(carry) + CHUNK_BYTES])
            hashing = None
            if read and update is not None:
                hashing = hasher.submit(update, view[len(carry) : len(carry) + read])
            filled = len(carry) + read
            try:
                used = scanner.block(view[:filled], offset, final=read == 0) if filled else 0
            finally:
                if hashing is not None:
                    hashing.result()  # before the buffer is read into again
            if not _carry_on(view, used, filled, read):
                return
            carry = bytes(view[used:filled])
            view.release()
            offset += used


def _carry_on(view: memoryview, used: int, filled: int, read: int) -> bool:
    """Whether another block is to be read after ``used`` of ``filled`` bytes."""
    if read == 0:
        if used != filled:
            raise Unsure("bytes left after the last record")
        return False
    if filled - used > MAX_CARRY_BYTES:
        raise Unsure("a record longer than the carry limit")
    return True


def gather_rows(path: Path, index: RowIndex, wanted: np.ndarray, out: BinaryIO) -> None:
    """Write the byte-order mark and header record of ``path``, then its data rows
    numbered ``wanted`` (sorted, distinct), each ending with a line end, to ``out``.

    Blank lines before the header are left out: the reader would take a line of
    spaces for the header, where the validation skipped it."""
    with path.open("rb") as handle:
        out.write(handle.read(index.bom))
        handle.seek(index.header_start)
        out.write(handle.read(index.header_end - index.header_start))
        for segment in index.segments:
            lo, hi = np.searchsorted(wanted, [segment.first_row, segment.first_row + segment.rows])
            if hi <= lo:
                continue
            handle.seek(segment.offset)
            buf = handle.read(segment.length)
            ends = np.cumsum(segment.lengths, dtype=np.int64)
            if len(buf) != segment.length or int(ends[-1]) != segment.length:
                raise RuntimeError("the file changed since it was scanned")
            data = np.delete(np.arange(len(ends)), list(segment.skipped))
            chosen = data[wanted[lo:hi] - segment.first_row]
            last = ends[chosen]
            first = last - segment.lengths[chosen]
            parts = [buf[a:b] for a, b in zip(first.tolist(), last.tolist(), strict=True)]
            if not parts[-1].endswith((b"\n", b"\r")):
                parts[-1] += b"\n"  # the last line of the file, without a line end
            out.write(b"".join(parts))


@dataclass(frozen=True)
class CsvPrescan:
    """The vectorised scan's answer for one set of parameters: ``result`` (with the
    header as sent) or, when the scan was unsure, None."""

    encoding: str
    delimiter: str
    max_line_chars: int
    result: ScanResult | None

    def matches(self, *, encoding: str, delimiter: str, max_line_chars: int) -> bool:
        return (
            self.encoding == encoding
            and self.delimiter == delimiter
            and self.max_line_chars == max_line_chars
        )
