"""Guess each column's type and role from a sample, for the curator to correct.

Types: numerical, categorical, boolean, datetime, id, text. Roles: identifier,
quasi-identifier, sensitive, protected, target, other. Types come from the
values; roles mostly from the column name, and conservatively: a wrong
"other" costs the curator one click, a wrong "protected" skews an audit.
Mixed columns never raise: whatever cannot be read as one thing is text or
categories.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from registry.ingest.numbers import number_from_text

_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_HAS_TIMEZONE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_CODE_LIKE_NUMBER = re.compile(r"^[+-]?0\d|^[+-]?\d{16,}$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TOKEN_SPLIT = re.compile(r"[^0-9a-z]+")

_TRUE_TOKENS = frozenset({"true", "yes", "y", "t", "1"})
_FALSE_TOKENS = frozenset({"false", "no", "n", "f", "0"})

TEXT_MIN_MEAN_LENGTH = 30
"""Strings this long on average, mostly distinct, are free text rather than categories."""

TEXT_MIN_DISTINCT_SHARE = 0.5


class ColumnType(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    TEXT = "text"


class ColumnRole(StrEnum):
    IDENTIFIER = "identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    PROTECTED = "protected"
    TARGET = "target"
    OTHER = "other"


@dataclass(frozen=True)
class ColumnSchema:
    """One column as SynthGov understands it; ``nullable`` means the sample had
    missing values."""

    name: str
    type: ColumnType
    role: ColumnRole = ColumnRole.OTHER
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": str(self.type),
            "role": str(self.role),
            "nullable": self.nullable,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        return cls(
            name=str(data["name"]),
            type=ColumnType(data["type"]),
            role=ColumnRole(data.get("role", ColumnRole.OTHER)),
            nullable=bool(data.get("nullable", False)),
        )


# Role keywords, matched against the words of a column name ("birth_date",
# "BirthDate" and "date of birth" all contain the word "birth").
_PROTECTED_WORDS = frozenset(
    {
        "gender",
        "sex",
        "race",
        "ethnicity",
        "ethnic",
        "religion",
        "religious",
        "age",
        "nationality",
        "disability",
        "disabled",
    }
)
_QUASI_WORDS = frozenset({"zip", "zipcode", "postcode", "postal", "birth", "dob", "birthdate"})
_SENSITIVE_WORDS = frozenset(
    {"salary", "income", "wage", "wages", "diagnosis", "health", "disease", "medical"}
)
_DIRECT_IDENTIFIER_WORDS = frozenset({"email", "phone", "telephone", "ssn", "passport"})
_DIRECT_IDENTIFIER_NAMES = frozenset(
    {"name", "full name", "first name", "last name", "surname", "given name", "family name"}
)
# Whole names only: "status" alone is an outcome, "marital_status" is not.
_TARGET_NAMES = frozenset({"target", "label", "outcome", "class", "status", "y"})


def infer_schema(frame: pd.DataFrame) -> list[ColumnSchema]:
    """Guess type, role and nullability for every column of ``frame`` (a sample
    from ``sample_frame`` or ``read_frame``), in column order."""
    schema: list[ColumnSchema] = []
    for name in frame.columns:
        values = frame[name]
        column_type = infer_type(str(name), values)
        schema.append(
            ColumnSchema(
                name=str(name),
                type=column_type,
                role=infer_role(str(name), column_type),
                nullable=bool(values.isna().any()),
            )
        )
    return schema


def name_words(name: str) -> list[str]:
    """``"patientBirthDate"`` -> ``["patient", "birth", "date"]``."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name.strip())
    return [word for word in _TOKEN_SPLIT.split(spaced.lower()) if word]


def looks_like_id_name(name: str) -> bool:
    words = name_words(name)
    return bool(words) and (words[-1] in {"id", "uuid", "guid"} or words == ["key"])


def infer_role(name: str, column_type: ColumnType) -> ColumnRole:
    """Role from the column name (and ``id`` type); ``other`` when unsure."""
    words = name_words(name)
    joined = " ".join(words)
    if column_type == ColumnType.ID:
        return ColumnRole.IDENTIFIER
    if joined in _DIRECT_IDENTIFIER_NAMES or _DIRECT_IDENTIFIER_WORDS.intersection(words):
        return ColumnRole.IDENTIFIER
    if _PROTECTED_WORDS.intersection(words):
        return ColumnRole.PROTECTED
    if _QUASI_WORDS.intersection(words) or joined in {"date of birth", "postal code"}:
        return ColumnRole.QUASI_IDENTIFIER
    if _SENSITIVE_WORDS.intersection(words):
        return ColumnRole.SENSITIVE
    if joined in _TARGET_NAMES:
        return ColumnRole.TARGET
    return ColumnRole.OTHER


def infer_type(name: str, values: pd.Series) -> ColumnType:
    """The most specific type every present value in ``values`` fits."""
    present = values.dropna()
    if present.empty:
        return ColumnType.CATEGORICAL
    if ptypes.is_bool_dtype(present.dtype):
        return ColumnType.BOOLEAN
    if ptypes.is_datetime64_any_dtype(present.dtype):
        return ColumnType.DATETIME
    if ptypes.is_numeric_dtype(present.dtype):
        return _numeric_type(name, present)
    if all(map(_is_plain_number, present)):  # stops at the first text value
        # Object columns of numbers (Parquet decimals, hand-built frames).
        return _numeric_type(name, pd.to_numeric(present.map(float)))
    return _text_type(name, present.astype(str).str.strip())


def _is_plain_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _numeric_type(name: str, present: pd.Series) -> ColumnType:
    distinct = present.nunique()
    if distinct == 2 and set(present.unique().tolist()) <= {0, 1}:
        return ColumnType.BOOLEAN
    integral = ptypes.is_integer_dtype(present.dtype) or bool((present % 1 == 0).all())
    if integral and looks_like_id_name(name) and distinct == len(present) > 1:
        return ColumnType.ID
    return ColumnType.NUMERICAL


def _text_type(name: str, present: pd.Series) -> ColumnType:
    lowered = present.str.lower()
    distinct_lowered = set(lowered.unique().tolist())
    if (
        distinct_lowered <= _TRUE_TOKENS | _FALSE_TOKENS
        and distinct_lowered & _TRUE_TOKENS
        and distinct_lowered & _FALSE_TOKENS
        and len(distinct_lowered) == 2
    ):
        return ColumnType.BOOLEAN
    unique_per_row = present.nunique() == len(present) > 1
    if unique_per_row and (looks_like_id_name(name) or bool(present.str.match(_UUID).all())):
        return ColumnType.ID
    if _all_match(_ISO_DATETIME, present) and parse_datetimes(present).notna().all():
        return ColumnType.DATETIME
    numbers = _numbers_or_none(present)  # never pd.to_numeric on text: it can crash
    if numbers is not None:
        # Numbers written as text: codes when any has a leading zero or too many
        # digits for a float (read_frame keeps those as text on purpose).
        if present.str.match(_CODE_LIKE_NUMBER).any():
            return ColumnType.CATEGORICAL
        return _numeric_type(name, numbers)
    distinct_share = present.nunique() / len(present)
    if (
        present.str.len().mean() >= TEXT_MIN_MEAN_LENGTH
        and distinct_share >= TEXT_MIN_DISTINCT_SHARE
    ):
        return ColumnType.TEXT
    return ColumnType.CATEGORICAL


def _numbers_or_none(present: pd.Series) -> pd.Series | None:
    """``to_numbers(present)`` for text without missing values when every value is a
    number, else None, found at the first value that is not one."""
    values = []
    for text in present:
        number = number_from_text(text)
        if math.isnan(number):
            return None
        values.append(number)
    return pd.Series(np.array(values, dtype=np.float64), index=present.index, name=present.name)


def _all_match(pattern: re.Pattern[str], present: pd.Series) -> bool:
    """``present.str.match(pattern).all()`` for text without missing values, stopping
    at the first value that does not match."""
    match = pattern.match
    return all(match(value) is not None for value in present)


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Parse ISO 8601 text to timestamps (NaT where a value is not one).

    Values with a time-zone offset are converted to UTC, so a column mixing
    offsets still gives one comparable series.
    """
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return values
    text = values.astype("string").str.strip()
    utc = bool(text.dropna().str.contains(_HAS_TIMEZONE).any())
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    return parsed
