"""Validate a CSV file in one streaming pass with bounded memory.

The file is decoded strictly (UTF-8 unless the curator chose an encoding),
parsed with the standard ``csv`` module (quoted fields may hold delimiters and
newlines), and every record is checked against the header. Memory is bounded by
the longest line (``max_line_chars``) and the ``csv`` module's field size limit,
never by the file size.

That scan is the reference, and it is slow (about 35 MB/s). ``csv_scan`` first
tries to reach the same answer from the bytes with NumPy (and hashes the file
and indexes its rows on the way); when it cannot vouch for the file, the
reference scan reads it and accepts it or words the error.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry.ingest import charset, csv_scan
from registry.ingest.errors import ErrorCode, IngestError
from registry.ingest.sniff import bom_less_utf16
from registry.ingest.tables import TableFormat, TableInfo

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DEFAULT_MAX_LINE_CHARS = 32 * 1024 * 1024
_SNIFF_RECORDS = 200
_TEXT_BUFFER_BYTES = 1024 * 1024


class _LineTooLongError(Exception):
    pass


def validate_csv(
    path: Path,
    *,
    head: bytes,
    max_columns: int,
    encoding: str | None = None,
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
) -> TableInfo:
    """Check that ``path`` is a well-formed CSV table and count its rows.

    ``head`` is the start of the file (``StreamResult.head``). ``encoding`` is
    the curator's explicit choice; without it the file must be UTF-8 (a
    byte-order mark is fine). Raises ``IngestError`` for every problem, naming
    the first bad line as an editor numbers lines (from 1).
    """
    info, _, _ = validate_csv_indexed(
        path, head=head, max_columns=max_columns, encoding=encoding, max_line_chars=max_line_chars
    )
    return info


def validate_csv_indexed(
    path: Path,
    *,
    head: bytes,
    max_columns: int,
    encoding: str | None = None,
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    digest: Any = None,
    prescanned: csv_scan.CsvPrescan | None = None,
) -> tuple[TableInfo, csv_scan.RowIndex | None, bool]:
    """``validate_csv``, also returning where the rows are (``csv_scan.RowIndex``, or
    None when the reference scan read the file) and whether ``digest`` (a hashlib
    object, optional) was updated with every byte of the file.

    ``prescanned`` is the vectorised scan of exactly this file's bytes, made while it
    was uploaded (``registry.ingest.prescan``): used, instead of reading the file
    again, when it was made with the encoding, delimiter and line limit chosen here."""
    chosen, delimiter = sniff_parameters(head, encoding)
    index = None
    hashed = False
    if prescanned is not None and not prescanned.matches(
        encoding=chosen, delimiter=delimiter, max_line_chars=max_line_chars
    ):
        prescanned = None
    try:
        if prescanned is not None:
            # The same scan of the same bytes: unsure again if it was unsure then.
            if prescanned.result is None:
                raise csv_scan.Unsure("unsure while the file was uploaded")
            found = prescanned.result
            header = _header_or_unsure(found.header, max_columns, delimiter)
            if len(header) != len(found.header):
                raise csv_scan.Unsure("the header changed width")
            row_count, index = found.rows, found.index
        else:
            found = csv_scan.scan_csv(
                path,
                encoding=chosen,
                delimiter=delimiter,
                max_line_chars=max_line_chars,
                check_header=lambda record: _header_or_unsure(record, max_columns, delimiter),
                digest=digest,
            )
            header, row_count, index, hashed = found.header, found.rows, found.index, True
    except csv_scan.Unsure:
        try:
            header, row_count = _scan(path, chosen, delimiter, max_columns, max_line_chars)
        except UnicodeDecodeError:
            raise _encoding_error(path, head, chosen, explicit=encoding is not None) from None
    info = TableInfo(
        format=TableFormat.CSV,
        row_count=row_count,
        columns=tuple(header),
        encoding=chosen,
        delimiter=delimiter,
    )
    return info, index, hashed and digest is not None


def sniff_parameters(head: bytes, encoding: str | None) -> tuple[str, str]:
    """The encoding and delimiter a CSV file starting with ``head`` is read with
    (``encoding``: the curator's choice, or None); raises ``IngestError`` for a file
    in another encoding or another text format."""
    chosen = _choose_encoding(head, encoding)
    head_text = _decode_head(head, chosen)
    _refuse_other_text_formats(head_text)
    return chosen, sniff_delimiter(head_text)


def _header_or_unsure(record: list[str], max_columns: int, delimiter: str) -> list[str]:
    try:
        return _check_header(record, 0, max_columns, delimiter)
    except IngestError:
        raise csv_scan.Unsure("the header is refused") from None


def _choose_encoding(head: bytes, encoding: str | None) -> str:
    if encoding is not None:
        chosen = charset.normalize_encoding(encoding)
        if chosen == charset.UTF8 and head.startswith(codecs.BOM_UTF8):
            return charset.UTF8_BOM
        return chosen
    announced = charset.bom_encoding(head)
    if announced == charset.UTF8_BOM:
        return announced
    detected = announced or bom_less_utf16(head)
    if detected is not None:
        label = charset.encoding_label(detected)
        raise IngestError(
            ErrorCode.BAD_ENCODING,
            f"The file is {label} text, not UTF-8.",
            "Save the file as 'CSV UTF-8' and upload it again, or choose "
            f"{label} below to have it read as it is.",
            choices=[detected],
        )
    return charset.UTF8


def _decode_head(head: bytes, encoding: str) -> str:
    # The head may end inside a character; only the sniffing uses this text.
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def _refuse_other_text_formats(head_text: str) -> None:
    start = head_text.lstrip("\ufeff \t\r\n")[:64].lower()
    if start.startswith("{") or (
        start.startswith("[") and start[1:].lstrip()[:1] in ("{", "[", '"')
    ):
        what = "JSON"
    elif start.startswith(("<?xml", "<!doctype", "<html", "<svg", "<table")):
        what = "XML or HTML"
    else:
        return
    raise IngestError(
        ErrorCode.NOT_TABULAR,
        f"This file is {what} text, not a CSV table.",
        "Export the data as CSV (one header line, then one line per row) or Parquet "
        "and upload that file.",
    )


def sniff_delimiter(head_text: str) -> str:
    """The delimiter (comma, semicolon, tab or pipe) that splits the first lines
    of ``head_text`` into the same number of fields (at least two), preferring
    the one listed first on a tie. A single-column file gets a comma."""
    text = head_text
    complete_lines = text.rfind("\n")
    if complete_lines > 0:
        text = text[: complete_lines + 1]
    best = (0.0, ",")
    for delimiter in DELIMITERS:
        counts = _field_counts(text, delimiter)
        if not counts or counts[0] < 2:
            continue
        consistency = sum(1 for count in counts if count == counts[0]) / len(counts)
        if consistency > best[0]:
            best = (consistency, delimiter)
    return best[1]


def _field_counts(text: str, delimiter: str) -> list[int]:
    counts: list[int] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if all(not field.strip() for field in record):
                continue
            counts.append(len(record))
            if len(counts) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return []
    return counts


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def _physical_lines(text: io.TextIOWrapper, max_chars: int) -> Iterator[str]:
    readline = text.readline
    while line := readline(max_chars):
        if len(line) >= max_chars and not line.endswith(("\n", "\r")):
            raise _LineTooLongError
        yield line


def _scan(
    path: Path, encoding: str, delimiter: str, max_columns: int, max_line_chars: int
) -> tuple[list[str], int]:
    """Stream the file; return the header and the number of data rows."""
    with (
        path.open("rb") as raw,
        io.TextIOWrapper(
            io.BufferedReader(raw, _TEXT_BUFFER_BYTES),
            encoding=encoding,
            errors="strict",
            newline="",
        ) as text,
    ):
        reader = csv.reader(
            _physical_lines(text, max_line_chars),
            delimiter=delimiter,
            quotechar='"',
            doublequote=True,
            # Strict: a quote never closed is an error here, as it is for pandas,
            # instead of silently swallowing the rest of the file into one value.
            strict=True,
        )
        header: list[str] | None = None
        width = 0
        rows = 0
        last_line = 0
        try:
            for record in reader:
                if header is None:
                    if not _is_blank(record):
                        header = _check_header(record, reader.line_num, max_columns, delimiter)
                        width = len(header)
                elif len(record) == width and (width > 1 or record[0].strip()):
                    rows += 1
                elif not _is_blank(record):
                    raise _ragged(record, width, last_line + 1, reader.line_num, delimiter)
                last_line = reader.line_num
        except _LineTooLongError:
            raise IngestError(
                ErrorCode.LINE_TOO_LONG,
                f"Line {reader.line_num + 1} is longer than {max_line_chars:,} characters.",
                "Check that the file is a table with one row per line and that every "
                "quote is closed, then upload it again.",
            ) from None
        except csv.Error as error:
            raise _csv_error(error, last_line + 1) from None
    if header is None:
        raise IngestError(
            ErrorCode.EMPTY_FILE,
            "The file holds only blank lines or spaces: there is no header and no data.",
            "Check that you picked the right file and that it was saved, then upload it again.",
        )
    if rows == 0:
        raise IngestError(
            ErrorCode.HEADER_ONLY,
            f"The file has a header ({len(header)} columns) but no data rows.",
            "Upload a file with at least one row of data below the header.",
        )
    return header, rows


def _csv_error(error: csv.Error, line: int) -> IngestError:
    text = str(error)
    if "unexpected end of data" in text:
        return IngestError(
            ErrorCode.BAD_CSV,
            f"A quoted value that starts on line {line} is never closed: the file ends inside it.",
            f'Add the missing closing quote (") on line {line} or after it, '
            "then upload the file again.",
        )
    if "expected after" in text:
        return IngestError(
            ErrorCode.BAD_CSV,
            f"Line {line} has text right after a closing quote ({text}).",
            'Inside a quoted value, write a quote as two quotes (""); '
            "fix the line and upload the file again.",
        )
    if "field larger than field limit" in text:
        return IngestError(
            ErrorCode.BAD_CSV,
            f"A value on line {line} is longer than {csv.field_size_limit():,} characters.",
            "Check that every quote is closed; very long texts do not belong in a table cell. "
            "Fix the file and upload it again.",
        )
    return IngestError(
        ErrorCode.BAD_CSV,
        f"Line {line} cannot be read as CSV ({text}).",
        "Fix that line and upload the file again.",
    )


def _check_header(record: list[str], line: int, max_columns: int, delimiter: str) -> list[str]:
    header = list(record)
    header[0] = header[0].removeprefix("\ufeff")
    if len(header) > max_columns:
        raise IngestError(
            ErrorCode.TOO_MANY_COLUMNS,
            f"The header on line {line} has {len(header):,} columns; the limit is {max_columns:,}.",
            "Remove the columns you do not need (or split the table) and upload it again.",
        )
    unnamed = [position for position, name in enumerate(header, start=1) if not name.strip()]
    if unnamed:
        where = _positions(unnamed)
        ends = " (the header line ends with a delimiter)" if unnamed[-1] == len(header) else ""
        raise IngestError(
            ErrorCode.EMPTY_COLUMN_NAME,
            f"{where} in the header on line {line} "
            f"{'has' if len(unnamed) == 1 else 'have'} no name{ends}.",
            "Give every column a name in the header line, or remove the extra "
            f"{DELIMITER_NAMES[delimiter]}, then upload the file again.",
        )
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        seen.setdefault(name.strip(), []).append(position)
    duplicates = {name: places for name, places in seen.items() if len(places) > 1}
    if duplicates:
        described = "; ".join(
            f"{name!r} ({_positions(places).lower()})"
            for name, places in list(duplicates.items())[:5]
        )
        raise IngestError(
            ErrorCode.DUPLICATE_COLUMNS,
            f"Column names must be unique, but the header on line {line} repeats: {described}.",
            "Rename the repeated columns so each name appears once, then upload the file again.",
        )
    return header


def _positions(positions: list[int]) -> str:
    described = [f"{p} ({_spreadsheet_letter(p)})" for p in positions[:10]]
    if len(described) == 1:
        return f"Column {described[0]}"
    return f"Columns {', '.join(described[:-1])} and {described[-1]}"


def _spreadsheet_letter(position: int) -> str:
    letters = ""
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _ragged(record: list[str], width: int, first: int, last: int, delimiter: str) -> IngestError:
    where = f"Line {first}" if first == last else f"The row on lines {first}-{last}"
    message = f"{where} has {len(record)} fields but the header has {width}."
    name = DELIMITER_NAMES[delimiter]
    if len(record) > width:
        hint = (
            f"Check line {first} for an extra {name}: put quotes around values that "
            f"contain a {name}, or remove the extra field, then upload the file again."
        )
    else:
        hint = f"Check line {first} for missing values or a quote that is never closed, "
        hint += "then upload the file again."
    if first != last and len(record) < width:
        message += " A quote that is never closed may have swallowed the lines after it."
    return IngestError(ErrorCode.RAGGED_ROWS, message, hint)


def _encoding_error(path: Path, head: bytes, chosen: str, *, explicit: bool) -> IngestError:
    failure = charset.find_decode_failure(path, chosen)
    offset = failure.offset if failure else 0
    sample = charset.sample_around(path, offset, head=head)
    choices = [c for c in charset.guess_encodings(sample) if c != chosen]
    label = charset.encoding_label(chosen)
    where = f" at {failure.describe()}" if failure else ""
    if explicit:
        message = f"The file cannot be read as {label}: it has an invalid byte{where}."
    else:
        message = f"The file is not UTF-8 text: it has a byte that is not valid UTF-8{where}."
    if choices:
        message += f" It looks like {charset.encoding_label(choices[0])}."
        hint = (
            "Save the file as 'CSV UTF-8' and upload it again, or choose the encoding "
            "it was saved in below."
        )
    else:
        message += " SynthGov could not tell which encoding it is."
        hint = "Save the file as 'CSV UTF-8' in the program that made it and upload it again."
    return IngestError(ErrorCode.BAD_ENCODING, message, hint, choices=choices)
