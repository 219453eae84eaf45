"""Keyed watermark for numeric columns of a table, detectable with the key alone.

In the tradition of Agrawal and Kiernan (2002): a secret key picks which cells carry the
mark and which bit each carries, and the bit is written in a low-order position of the
value. The selection here is adapted so that it survives row shuffling, row subsetting,
column dropping and light noise, and so that no identifier column is needed:

- Each markable column ``c`` has a curator tolerance ``t``. The value axis is cut into
  buckets of width ``s = t / 1.5`` and buckets are grouped in pairs of width ``2s``. A
  cell's *unit* is ``(c, pair index j = floor(v / 2s))``: it depends only on the cell's
  own high-order value, so it is the same whatever the row order, whichever rows or other
  columns remain, and it is not moved by the mark itself (the mark keeps a value inside
  its pair).
- HMAC-SHA256(key, c, j) selects about one unit in ``gamma`` and gives the unit a bit
  ``b``. Every cell of a selected unit is moved to the centre of bucket ``2j + b`` of its
  pair: the change is at most ``1.5 s = t``, and noise smaller than ``s / 2 = t / 3``
  leaves the bucket, and hence the bit, unchanged.
- Detection recomputes the selected units, takes the majority bucket parity of the cells
  in each unit (ties are skipped) and counts units whose parity equals the keyed bit.

The trials are units, not cells, because cells of one unit share one bit: counting cells
would make them dependent and the binomial p-value wrong. The strength of the mark
therefore grows with each column's range over its tolerance, not with the row count.
Only numeric columns are marked; marked columns come back as float64.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binom

DEFAULT_GAMMA = 3
DEFAULT_ALPHA = 1e-6
# Shrinks the bucket so that rounding never pushes a change past the tolerance.
_SAFETY = 1.0 + 1e-6


@dataclass(frozen=True)
class EmbedReport:
    """What embedding changed: marked cells, and the largest and mean absolute change per
    column (in the column's units; the largest never exceeds the column's tolerance)."""

    cells_marked: int
    cells_marked_per_column: dict[str, int]
    max_change: dict[str, float]
    mean_change: dict[str, float]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    """Whether the key's mark is in a table.

    ``matches`` of ``trials`` selected units carry the keyed bit. Without this key's mark
    each unit's bit is a fair coin independent of the data, so ``matches`` follows
    Binomial(trials, 1/2) and ``p_value`` = P(X >= matches). ``present`` is
    ``p_value < alpha``; the false-positive rate on unmarked data is therefore at most
    ``alpha`` by construction. ``z`` is the same evidence as a normal score.
    """

    present: bool
    p_value: float
    matches: int
    trials: int
    z: float
    alpha: float
    per_column: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["per_column"] = {col: list(pair) for col, pair in self.per_column.items()}
        return data


def embed(
    df: pd.DataFrame,
    key: bytes,
    tolerances: dict[str, float],
    gamma: int = DEFAULT_GAMMA,
) -> tuple[pd.DataFrame, EmbedReport]:
    """Return a marked copy of ``df`` and what changed. ``tolerances`` maps each markable
    numeric column to the largest change the curator accepts in it."""
    _check_arguments(df, key, tolerances, gamma, require_columns=True)
    marked = df.copy()
    per_column: dict[str, int] = {}
    max_change: dict[str, float] = {}
    mean_change: dict[str, float] = {}
    for column, tolerance in tolerances.items():
        values = marked[column].to_numpy(dtype="float64", na_value=np.nan)
        step = _step(tolerance)
        valid = np.isfinite(values)
        buckets = np.floor(values[valid] / step).astype(np.int64)
        pairs = buckets // 2
        selected, bits = _unit_keys(key, column, pairs, gamma)
        targets = (2 * pairs[selected] + bits[selected] + 0.5) * step
        new_values = values.copy()
        positions = np.flatnonzero(valid)[selected]
        new_values[positions] = targets
        change = np.abs(new_values[positions] - values[positions])
        marked[column] = new_values
        per_column[column] = int(selected.sum())
        max_change[column] = float(change.max()) if change.size else 0.0
        mean_change[column] = float(change.mean()) if change.size else 0.0
    report = EmbedReport(
        cells_marked=sum(per_column.values()),
        cells_marked_per_column=per_column,
        max_change=max_change,
        mean_change=mean_change,
    )
    return marked, report


def detect(
    df: pd.DataFrame,
    key: bytes,
    tolerances: dict[str, float],
    gamma: int = DEFAULT_GAMMA,
    alpha: float = DEFAULT_ALPHA,
) -> Detection:
    """Look for ``key``'s mark in ``df`` (no original needed). Columns named in
    ``tolerances`` but missing from ``df`` are skipped, so a dropped column only weakens
    the evidence."""
    _check_arguments(df, key, tolerances, gamma, require_columns=False)
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    per_column: dict[str, tuple[int, int]] = {}
    for column, tolerance in tolerances.items():
        if column not in df.columns:
            continue
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        values = values[np.isfinite(values)]
        buckets = np.floor(values / _step(tolerance)).astype(np.int64)
        per_column[column] = _count_matches(key, column, buckets, gamma)
    matches = sum(m for m, _ in per_column.values())
    trials = sum(n for _, n in per_column.values())
    if trials == 0:
        p_value, z = 1.0, 0.0
    else:
        p_value = float(binom.sf(matches - 1, trials, 0.5))
        z = float((matches - trials / 2) / np.sqrt(trials / 4))
    return Detection(
        present=p_value < alpha,
        p_value=p_value,
        matches=matches,
        trials=trials,
        z=z,
        alpha=alpha,
        per_column=per_column,
    )


def _count_matches(key: bytes, column: str, buckets: np.ndarray, gamma: int) -> tuple[int, int]:
    pairs = buckets // 2
    parities = buckets % 2
    unit_pairs, inverse = np.unique(pairs, return_inverse=True)
    ones = np.bincount(inverse, weights=parities, minlength=unit_pairs.size)
    cells = np.bincount(inverse, minlength=unit_pairs.size)
    # A unit's parity is the majority of its cells' parities, so a few cells pushed over
    # a bucket edge by noise do not change it; a tie says nothing and is skipped.
    decided = 2 * ones != cells
    majority = (2 * ones > cells).astype(np.int64)
    selected, bits = _unit_keys(key, column, unit_pairs, gamma)
    counted = selected & decided
    return int((majority[counted] == bits[counted]).sum()), int(counted.sum())


def _unit_keys(
    key: bytes, column: str, pairs: np.ndarray, gamma: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per element of ``pairs``: whether its unit is selected, and the unit's bit."""
    unit_pairs, inverse = np.unique(pairs, return_inverse=True)
    selected = np.zeros(unit_pairs.size, dtype=bool)
    bits = np.zeros(unit_pairs.size, dtype=np.int64)
    prefix = b"synthgov-watermark-v1\x00" + column.encode("utf-8") + b"\x00"
    for i, pair in enumerate(unit_pairs.tolist()):
        digest = hmac.new(key, prefix + str(pair).encode("ascii"), hashlib.sha256).digest()
        # Selection and bit come from separate bytes, so given the selection the bits are
        # still independent fair coins.
        selected[i] = int.from_bytes(digest[:8], "big") % gamma == 0
        bits[i] = digest[8] & 1
    return selected[inverse], bits[inverse]


def _step(tolerance: float) -> float:
    # A cell moves to a bucket centre at most 1.5 buckets away, so 1.5 buckets = tolerance.
    return tolerance / (1.5 * _SAFETY)


def _check_arguments(
    df: pd.DataFrame,
    key: bytes,
    tolerances: dict[str, float],
    gamma: int,
    *,
    require_columns: bool,
) -> None:
    if not isinstance(key, bytes) or not key:
        raise ValueError("the watermark key must be non-empty bytes")
    if not isinstance(gamma, int) or gamma < 1:
        raise ValueError("gamma must be a positive integer")
    if not tolerances:
        raise ValueError("give a tolerance for at least one numeric column")
    for column, tolerance in tolerances.items():
        if not np.isfinite(tolerance) or tolerance <= 0:
            raise ValueError(f"the tolerance for column '{column}' must be positive")
        if column not in df.columns:
            if require_columns:
                raise ValueError(f"column '{column}' is not in the table")
            continue
        kind = df[column].dtype
        numeric = pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind)
        if require_columns and not numeric:
            raise ValueError(f"column '{column}' is not numeric and cannot be marked")
