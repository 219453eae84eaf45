"""The one exception the ingestion layer raises for bad input.

Every refusal carries a stable ``code`` (for the API and for tests), a ``message``
saying what is wrong in plain words, a ``hint`` saying what to do about it, and
optional ``choices`` the page may offer (for example the encodings SynthGov
detected). Programming errors (a negative limit, a closed file) stay ordinary
``ValueError``/``TypeError`` so they are never shown to a curator.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    NOT_TABULAR = "not_tabular"
    UNSUPPORTED_COMPRESSION = "unsupported_compression"
    BAD_COMPRESSION = "bad_compression"
    DECOMPRESSED_TOO_LARGE = "decompressed_too_large"
    BAD_ENCODING = "bad_encoding"
    RAGGED_ROWS = "ragged_rows"
    DUPLICATE_COLUMNS = "duplicate_columns"
    EMPTY_COLUMN_NAME = "empty_column_name"
    HEADER_ONLY = "header_only"
    TOO_MANY_COLUMNS = "too_many_columns"
    TOO_MANY_ROWS = "too_many_rows"
    LINE_TOO_LONG = "line_too_long"
    BAD_CSV = "bad_csv"
    BAD_PARQUET = "bad_parquet"
    UNSUPPORTED_COLUMN_TYPE = "unsupported_column_type"
    BAD_FILENAME = "bad_filename"


class IngestError(Exception):
    """A file was refused. ``str(error)`` is the message followed by the hint."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        hint: str,
        *,
        choices: Sequence[str] = (),
    ) -> None:
        self.code = str(code)
        self.message = message
        self.hint = hint
        self.choices: tuple[str, ...] = tuple(choices)
        super().__init__(f"{message} {hint}")

    def __repr__(self) -> str:
        return f"IngestError(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "choices": list(self.choices),
        }


def too_many_rows(
    rows: int,
    max_rows: int,
    what: str,
    *,
    table_format: str,
    parquet_limit: int | None = None,
) -> IngestError:
    """The limit differs by format (a CSV is read whole by an audit, Parquet column by
    column), so the message names the format's limit, and a CSV that would fit as
    Parquet says so."""
    hint = "Upload a sample of the table, or split it into several datasets."
    if parquet_limit is not None and rows <= parquet_limit:
        hint = (
            f"Save the table as Parquet and upload that: a Parquet table may have up to "
            f"{parquet_limit:,} rows. Or upload a sample of the table."
        )
    return IngestError(
        ErrorCode.TOO_MANY_ROWS,
        f"{what} {rows:,} rows; the limit for a {table_format} table is {max_rows:,}.",
        hint,
    )


def human_size(size: int) -> str:
    """``1536`` -> ``"1.5 KB"``; decimal units, as file managers show them."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")
