"""Numbers written as text, recognised without handing arbitrary text to pandas.

``pandas.to_numeric`` (pandas 2.x, GH#63650) crashes the whole process with a
segmentation fault on text such as ``2e08311970879c88``: a hex id that starts
like a number with an exponent of billions. Uploaded cells are arbitrary text,
so the ingestion layer never passes text to ``pd.to_numeric`` (or to pandas'
CSV type inference). A value counts as a number only when it fully matches
``NUMBER_PATTERN`` (plain decimal notation with an exponent of at most four
digits, or an infinity), and only such values are converted, by Arrow's or
Python's float parser. Everything else is text.

The rules follow what ``pd.to_numeric`` accepted before, minus the crash:
surrounding whitespace is ignored, ``1.``, ``.5``, ``+1``, ``1E+05`` and
``-inf`` are numbers, ``1e400`` (too large for a float) is not, and neither
are ``nan``, ``1_000``, ``0x1A`` or digits from other scripts.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Every character ``str.isspace`` accepts: what ``str.strip()`` removes."""

_INFINITY = r"[+-]?(?i:inf(?:inity)?)"
NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?" + "|" + _INFINITY
"""A number as text (whole value, after stripping whitespace). ASCII digits only;
the exponent has at most four digits, so no parser ever sees a huge one."""

_INTEGER_PATTERN = r"[+-]?[0-9]+"
_CODE_PATTERN = r"[+-]?0[0-9].*|[+-]?[0-9]{16,}"
"""Numbers that are codes: a leading zero ("007") or more digits than a float
holds exactly. Columns with any such value stay text."""

# Python's re and Arrow's RE2 both understand these; RE2 has no fullmatch, so
# the Arrow forms are anchored.
_NUMBER = re.compile(NUMBER_PATTERN)
_INFINITY_RE = re.compile(_INFINITY)
_ARROW_NUMBER = f"^(?:{NUMBER_PATTERN})$"
_ARROW_INTEGER = f"^(?:{_INTEGER_PATTERN})$"
_ARROW_CODE = f"^(?:{_CODE_PATTERN})$"
_ARROW_INFINITY = f"^(?:{_INFINITY})$"


def is_number_text(text: str) -> bool:
    """Whether ``text`` (whitespace around it ignored) is a number by these rules."""
    return not math.isnan(number_from_text(text))


def number_from_text(text: str) -> float:
    """The float ``text`` spells, or NaN when it is not a number (never raises)."""
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped) is None:
        return math.nan
    value = float(stripped)
    if math.isinf(value) and _INFINITY_RE.fullmatch(stripped) is None:
        return math.nan  # overflow ("1e999"): not a number, as for pd.to_numeric
    return value


def to_numbers(values: pd.Series) -> pd.Series:
    """A crash-safe ``pd.to_numeric(values, errors="coerce")``.

    Numeric, boolean and datetime columns go to pandas as they are (no text is
    parsed). Text and mixed columns are converted value by value: numbers
    (Python or NumPy numbers, ``Decimal``, number text) become floats, anything
    else NaN.
    """
    dtype = values.dtype
    if (
        ptypes.is_numeric_dtype(dtype)
        or ptypes.is_datetime64_any_dtype(dtype)
        or ptypes.is_timedelta64_dtype(dtype)
    ) and not isinstance(dtype, pd.CategoricalDtype):
        return pd.to_numeric(values, errors="coerce")
    converted = [_number_from_value(value) for value in values.astype(object)]
    return pd.Series(np.array(converted, dtype=np.float64), index=values.index, name=values.name)


def _number_from_value(value: Any) -> float:
    if isinstance(value, str):
        return number_from_text(value)
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | Decimal | np.integer | np.floating):
        try:
            return float(value)
        except (OverflowError, ValueError):
            return math.nan
    return math.nan


def numbers_from_strings(strings: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """The column as numbers if every present value of ``strings`` (Arrow text,
    nulls for missing values) is a number and none is a code; else None.

    All integers and nothing missing give int64 (integers have at most 15
    digits here); otherwise float64 with NaN for missing values. A column with
    no present value is not numeric.
    """
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if len(strings) == strings.null_count:
        return None
    text = pc.utf8_trim(strings, characters=WHITESPACE)
    if not _all(pc.match_substring_regex(text, _ARROW_NUMBER)):
        return None
    if _any(pc.match_substring_regex(text, _ARROW_CODE)):
        return None
    if text.null_count == 0 and _all(pc.match_substring_regex(text, _ARROW_INTEGER)):
        unsigned = pc.replace_substring_regex(text, r"^\+", "")
        try:
            return pc.cast(unsigned, pa.int64())
        except pa.ArrowException:
            pass  # cannot happen for at most 15 digits; floats below still work
    try:
        floats = pc.cast(text, pa.float64())
    except pa.ArrowException:
        floats = pa.array(
            [None if value is None else float(value) for value in text.to_pylist()],
            type=pa.float64(),
        )
    overflow = pc.and_(
        pc.is_inf(floats), pc.invert(pc.match_substring_regex(text, _ARROW_INFINITY))
    )
    if _any(overflow):
        return None
    return floats


def _all(flags: pa.Array) -> bool:
    return bool(pc.all(flags).as_py())  # nulls are skipped


def _any(flags: pa.Array) -> bool:
    return bool(pc.any(flags).as_py())
