"""Numbers written as text: what counts, and that no text reaches pandas' parser."""

from __future__ import annotations

import math
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from registry.ingest.numbers import (
    WHITESPACE,
    is_number_text,
    number_from_text,
    numbers_from_strings,
    to_numbers,
)

# Text that makes pandas 2.x's to_numeric (and its CSV type inference) crash the
# process: a mantissa, then an exponent of billions, then anything.
CRASHERS = [
    "2e08311970879c88",
    "8e2569614270f3d8b9e7038efac9f116",
    "81e3104049863b72",
    "1E3000000000",
    "4e492493924924",
    "1e2147483648",
    "-3e4294967295x",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1.0),
        ("+1", 1.0),
        ("-1", -1.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("+.5", 0.5),
        ("-.5e3", -500.0),
        ("1E+05", 100_000.0),
        ("1e-5", 1e-05),
        ("1e0005", 100_000.0),
        ("1e-400", 0.0),  # underflow is zero, as for pd.to_numeric
        (" 12 ", 12.0),
        ("\u00a012\t", 12.0),
        ("inf", math.inf),
        ("-Infinity", -math.inf),
        ("INF", math.inf),
    ],
)
def test_numbers(text: str, expected: float) -> None:
    assert number_from_text(text) == expected
    assert is_number_text(text)


@pytest.mark.parametrize(
    "text",
    [
        *CRASHERS,
        "1e400",  # overflow: pd.to_numeric said NaN too
        "1e12345",  # exponent longer than four digits
        "1e",
        "e5",
        ".",
        "+",
        "",
        "nan",
        "NaN",
        "1_000",
        "1 000",
        "1,5",
        "0x1A",
        "\u0661\u0662",  # Arabic-Indic digits: float() takes them, pandas did not
        "\uff11",
        "infinit",
        "True",
        "1\n2",
    ],
)
def test_not_numbers(text: str) -> None:
    assert math.isnan(number_from_text(text))
    assert not is_number_text(text)


def test_whitespace_is_what_str_strip_removes() -> None:
    expected = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())

    assert expected == WHITESPACE


def test_integer_strings_become_int64() -> None:
    numbers = numbers_from_strings(pa.array(["1", " +2", "-30 ", "0"]))

    assert numbers is not None
    assert numbers.type == pa.int64()
    assert numbers.to_pylist() == [1, 2, -30, 0]


def test_missing_values_or_decimals_give_float64() -> None:
    with_gap = numbers_from_strings(pa.array(["1", None, "3"]))
    decimals = numbers_from_strings(pa.array(["1", "2.5", "1e3", "-inf"]))

    assert with_gap is not None and with_gap.type == pa.float64()
    assert with_gap.to_pylist() == [1.0, None, 3.0]
    assert decimals is not None and decimals.to_pylist() == [1.0, 2.5, 1000.0, -math.inf]


@pytest.mark.parametrize(
    "values",
    [
        ["1", "007"],  # leading zero: a code
        ["1", "1234567890123456"],  # 16 digits: more than a float holds
        ["1", "-0123"],
        ["1", "two"],
        ["1", "1e400"],
        [None, None],
        ["1", CRASHERS[0]],
        CRASHERS,
    ],
)
def test_columns_that_stay_text(values: list[str | None]) -> None:
    assert numbers_from_strings(pa.array(values, type=pa.string())) is None


def test_large_string_arrays_and_chunked_arrays() -> None:
    large = pa.array(["1.5", "2"], type=pa.large_string())
    chunked = pa.chunked_array([["1"], ["2"]])

    assert numbers_from_strings(large).to_pylist() == [1.5, 2.0]  # type: ignore[union-attr]
    assert numbers_from_strings(chunked).to_pylist() == [1, 2]  # type: ignore[union-attr]


def test_to_numbers_coerces_like_to_numeric_without_parsing_risky_text() -> None:
    values = pd.Series(
        ["1", " 2.5", "x", None, 3, 4.5, Decimal("1.25"), True, CRASHERS[0], b"7"],
        index=list("abcdefghij"),
        name="v",
    )

    numbers = to_numbers(values)

    assert numbers.dtype == np.float64
    assert list(numbers.index) == list("abcdefghij")
    assert numbers.name == "v"
    assert numbers[["a", "b", "e", "f", "g", "h"]].tolist() == [1.0, 2.5, 3.0, 4.5, 1.25, 1.0]
    assert numbers[["c", "d", "i", "j"]].isna().all()


def test_to_numbers_leaves_numeric_columns_to_pandas() -> None:
    ints = pd.Series([1, 2, 3])
    categories = pd.Series(["1", CRASHERS[0]], dtype="category")
    strings = pd.Series(["1", CRASHERS[0], None], dtype="string")

    assert to_numbers(ints).dtype == np.int64
    assert to_numbers(categories).tolist()[0] == 1.0
    assert math.isnan(to_numbers(categories).tolist()[1])
    assert to_numbers(strings).isna().tolist() == [False, True, True]
