"""Per-column profiles for the version page: missing share, distinct values,
ranges, top categories and a small histogram.

Profiles are computed on at most ``DEFAULT_PROFILE_ROWS`` rows (a seeded
random sample when the frame is larger) and say how many rows they used. The
result is plain JSON: no NumPy scalars, and None where a figure does not exist
(never NaN). Identifier and free-text columns get counts and lengths only, so a
profile never repeats personal values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from registry.ingest.numbers import to_numbers
from registry.ingest.schema import ColumnSchema, ColumnType, parse_datetimes

DEFAULT_PROFILE_ROWS = 100_000
DEFAULT_TOP_CATEGORIES = 10
DEFAULT_HISTOGRAM_BINS = 20


def profile_frame(
    frame: pd.DataFrame,
    schema: Sequence[ColumnSchema],
    *,
    max_rows: int = DEFAULT_PROFILE_ROWS,
    seed: int = 0,
    total_rows: int | None = None,
    top: int = DEFAULT_TOP_CATEGORIES,
    bins: int = DEFAULT_HISTOGRAM_BINS,
) -> dict[str, Any]:
    """Profile each column of ``schema`` found in ``frame``.

    Returns ``{"sample_rows", "total_rows", "sampled", "seed", "columns": [...]}``
    where ``sample_rows`` is the number of rows the figures were computed on and
    ``total_rows`` the table's row count (``total_rows`` if given, else the
    frame's length). ``sampled`` is true when the figures come from a subset.
    """
    if len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed)
    total = total_rows if total_rows is not None else len(frame)
    columns = [
        profile_column(frame[column.name], column, top=top, bins=bins)
        for column in schema
        if column.name in frame.columns
    ]
    return {
        "sample_rows": len(frame),
        "total_rows": int(total),
        "sampled": len(frame) < total,
        "seed": seed,
        "columns": columns,
    }


def profile_column(
    values: pd.Series, column: ColumnSchema, *, top: int, bins: int
) -> dict[str, Any]:
    """One column's profile; keys beyond the common ones depend on its type."""
    count = len(values)
    missing = int(values.isna().sum())
    present = values.dropna()
    result: dict[str, Any] = {
        "name": column.name,
        "type": str(column.type),
        "role": str(column.role),
        "count": count,
        "missing": missing,
        "missing_share": _ratio(missing, count),
        "distinct": int(_hashable(present).nunique()),
    }
    if column.type == ColumnType.NUMERICAL:
        result.update(_numeric_profile(present, bins))
    elif column.type == ColumnType.DATETIME:
        result.update(_datetime_profile(present))
    elif column.type in (ColumnType.CATEGORICAL, ColumnType.BOOLEAN):
        result.update(_category_profile(present, top))
    elif column.type == ColumnType.TEXT:
        result.update(_length_profile(present))
    elif column.type == ColumnType.ID:
        result["unique_share"] = _ratio(result["distinct"], len(present))
    return result


def _numeric_profile(present: pd.Series, bins: int) -> dict[str, Any]:
    if present.dtype == bool:
        present = present.astype(int)
    numbers = to_numbers(present)  # never pd.to_numeric on text: it can crash
    invalid = int(numbers.isna().sum())
    finite = numbers[np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))].astype(float)
    result: dict[str, Any] = {
        "invalid": invalid,
        "min": _number(finite.min()) if len(finite) else None,
        "max": _number(finite.max()) if len(finite) else None,
        "mean": _number(finite.mean()) if len(finite) else None,
        "std": _number(finite.std()) if len(finite) > 1 else None,
        "histogram": _histogram(finite.to_numpy(), bins),
    }
    return result


def _histogram(numbers: np.ndarray, bins: int) -> dict[str, list[Any]]:
    if numbers.size == 0:
        return {"bin_edges": [], "counts": []}
    low, high = float(numbers.min()), float(numbers.max())
    if low == high:
        return {"bin_edges": [low, high], "counts": [int(numbers.size)]}
    counts, edges = np.histogram(numbers, bins=bins, range=(low, high))
    return {
        "bin_edges": [_number(edge) for edge in edges],
        "counts": [int(c) for c in counts],
    }


def _datetime_profile(present: pd.Series) -> dict[str, Any]:
    parsed = parse_datetimes(present)
    valid = parsed.dropna()
    result: dict[str, Any] = {"invalid": int(parsed.isna().sum())}
    if valid.empty:
        result.update({"min": None, "max": None, "mean": None, "std_seconds": None})
        return result
    std = valid.std() if len(valid) > 1 else None
    result.update(
        {
            "min": valid.min().isoformat(),
            "max": valid.max().isoformat(),
            "mean": valid.mean().isoformat(),
            "std_seconds": _number(std.total_seconds()) if std is not None else None,
        }
    )
    return result


def _category_profile(present: pd.Series, top: int) -> dict[str, Any]:
    counts = _hashable(present).astype(str).value_counts(sort=True)
    # Ties in count are ordered by value so the profile is the same on every run.
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ordered[:top]
    return {
        "top": [{"value": value, "count": int(count)} for value, count in shown],
        "other_count": int(sum(count for _, count in ordered[top:])),
    }


def _length_profile(present: pd.Series) -> dict[str, Any]:
    lengths = present.astype(str).str.len()
    if lengths.empty:
        return {"min_length": None, "max_length": None, "mean_length": None}
    return {
        "min_length": int(lengths.min()),
        "max_length": int(lengths.max()),
        "mean_length": _number(lengths.mean()),
    }


def _hashable(present: pd.Series) -> pd.Series:
    # Parquet columns can hold bytes or decimals; count them by their text.
    if present.dtype == object and not all(
        isinstance(value, str | int | float | bool) for value in present.head(1000)
    ):
        return present.astype(str)
    return present


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _number(value: Any) -> float | int | None:
    """A JSON number: Python int/float, None for NaN or infinity."""
    if value is None:
        return None
    if isinstance(value, np.integer | int) and not isinstance(value, bool):
        return int(value)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return number
