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
Numeric marked columns come back as float64, except integral ones:

- A column is *integral* when it has an integer dtype, or when it has finite values and
  all of them are whole (a float column of counts with NaN for missing values). Its
  marked cells are rounded to the nearest integer after the move, and it comes back
  with its dtype (int64 stays int64, nullable Int64 stays Int64, widened to int64 only
  if a marked value no longer fits; a float column stays float with whole values and
  its NaN kept).
- Both the original value ``v`` and the rounded target ``r`` are whole, so the change
  ``|r - v|`` is whole: a move ``|c - v| < floor(t) + 0.5`` to the bucket centre ``c``
  rounds to a change of at most ``floor(t) <= t``. The buckets of an integral column
  are therefore cut for the *effective tolerance* ``t_eff = min(t, floor(t) + 0.5)``
  (``s = t_eff / 1.5``; for a whole ``t`` the buckets are those of a float column).
- Rounding moves a value at most 0.5 from its bucket centre, and the centre is ``s / 2``
  from the bucket's edges, so the bit survives rounding only when ``s / 2 > 0.5``, i.e.
  ``t_eff > 1.5`` (times the small safety factor). ``t_eff <= 1.5`` for every
  ``t < 2`` and ``t_eff >= 2`` for every ``t >= 2``, so the smallest tolerance of an
  integral column is exactly ``MIN_INTEGRAL_TOLERANCE = 2``; ``embed`` refuses smaller
  ones. After rounding the noise margin is ``s / 2 - 0.5 = t_eff / 3 - 0.5`` instead of
  ``t / 3`` (1/6 at ``t = 2``): ``+-1`` added to every cell leaves every marked cell in
  its bucket when ``t_eff > 4.5``, i.e. ``t >= 5``; below that the majority vote of a
  unit absorbs it on some cells only.
- Detection must cut the same buckets: ``embed`` names the integral columns in its report
  (``integral_columns``) and ``detect`` takes them back (``integral``), never deciding
  integrality from data an attacker may have changed. Without them (parameters recorded
  before this existed) every column is cut as a float column, as it was then marked.

Categorical columns the curator allows carry the mark too, in the manner of a "green
list" (Kirchenbauer et al. 2023, applied to table cells):

- One numeric marked column is the *anchor*; a row's anchor is the bucket index of its
  anchor value (stable under shuffling, subsetting and noise below ``t / 3`` for marked
  cells). HMAC(key, c, anchor) selects a share ``rate`` of anchors.
- Each pair (anchor, category) gets a keyed fair coin; "green" means the coin is 1. In a
  selected anchor, a cell whose category is not green is replaced by a green category of
  the column, drawn by key in proportion to the column's frequencies (so the marginal
  distribution barely moves). At most ``rate`` of the column's cells change.
- Detection counts, over the distinct (anchor, category) pairs of selected anchors, how
  many are green. Without the key's mark each is a fair coin independent of the numeric
  coins (separate HMAC domain), so both counts add into one Binomial(trials, 1/2) test.
  If the anchor column is dropped, only the categorical evidence is lost.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from scipy.stats import binom

from audits.checks.base import MetricResult, skipped

DEFAULT_GAMMA = 3
DEFAULT_ALPHA = 1e-6
DEFAULT_CATEGORY_RATE = 0.1
# A categorical column with more distinct values than this is an identifier or free
# text, not something to redraw by frequency.
MAX_CATEGORIES = 1_000
# Shrinks the bucket so that rounding never pushes a change past the tolerance.
_SAFETY = 1.0 + 1e-6
# The smallest tolerance of a column of whole numbers (module docstring): below it the
# rounding to whole numbers could move a marked value out of its bucket.
MIN_INTEGRAL_TOLERANCE = 2
# Fewer units than this over all marked columns (about 7 selected at gamma 3) and the
# mark may be missing altogether; it cannot reach ``DEFAULT_ALPHA`` with fewer than 20.
MIN_MARK_UNITS = 20
# Whole numbers from here on are not all exact in float64, where the mark is computed.
_EXACT_INTEGERS = 2.0**53


@dataclass(frozen=True)
class EmbedReport:
    """What embedding changed: marked cells, and the largest and mean absolute change per
    column (in the column's units; the largest never exceeds the column's tolerance)."""

    cells_marked: int
    cells_marked_per_column: dict[str, int]
    max_change: dict[str, float]
    mean_change: dict[str, float]
    anchor: str | None = None
    """The numeric column whose buckets key the categorical mark (None without one)."""
    categories_changed: dict[str, int] = field(default_factory=dict)
    """Per categorical column, cells whose category was replaced (at most its rate)."""
    integral_columns: list[str] = field(default_factory=list)
    """The numeric columns kept whole (module docstring): pass them to ``detect`` as
    ``integral``."""

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
    strength: float = 0.0
    """-log10(p_value), computed in log space so it stays finite when p underflows."""

    def to_json(self) -> dict:
        data = asdict(self)
        data["per_column"] = {col: list(pair) for col, pair in self.per_column.items()}
        return data


def embed(
    df: pd.DataFrame,
    key: bytes,
    tolerances: dict[str, float],
    gamma: int = DEFAULT_GAMMA,
    categorical: dict[str, float] | None = None,
    anchor: str | None = None,
) -> tuple[pd.DataFrame, EmbedReport]:
    """Return a marked copy of ``df`` and what changed. ``tolerances`` maps each markable
    numeric column to the largest change the curator accepts in it; ``categorical`` maps
    each categorical column allowed to carry the mark to the largest share of its cells
    that may change. ``anchor`` (default: the numeric column with the most buckets) must
    be given again to ``detect``; the report names it. Columns of whole numbers stay
    whole and need a tolerance of at least ``MIN_INTEGRAL_TOLERANCE``; the report's
    ``integral_columns`` must be given again to ``detect`` as ``integral``."""
    _check_arguments(df, key, tolerances, gamma, require_columns=True)
    categorical = dict(categorical or {})
    _check_categorical(df, tolerances, categorical, require_columns=True)
    integral = [column for column in tolerances if is_integral(df[column])]
    for column in integral:
        if not _step(_integral_tolerance(tolerances[column])) > 1.0:
            raise ValueError(
                f"column '{column}' holds whole numbers, so its tolerance must be at least "
                f"{MIN_INTEGRAL_TOLERANCE} to keep them whole (it is {tolerances[column]:g})"
            )
        values = df[column].to_numpy(dtype="float64", na_value=np.nan)
        if np.nanmax(np.abs(values), initial=0.0) >= _EXACT_INTEGERS:
            raise ValueError(
                f"column '{column}' holds whole numbers too large to be marked exactly "
                "(2**53 or more)"
            )
    steps = _steps(tolerances, integral)
    if categorical and anchor is None:
        anchor = _default_anchor(df, steps)
    _check_anchor(tolerances, categorical, anchor)
    marked = df.copy()
    per_column: dict[str, int] = {}
    max_change: dict[str, float] = {}
    mean_change: dict[str, float] = {}
    for column in tolerances:
        values = marked[column].to_numpy(dtype="float64", na_value=np.nan)
        step = steps[column]
        valid = np.isfinite(values)
        buckets = np.floor(values[valid] / step).astype(np.int64)
        pairs = buckets // 2
        selected, bits = _unit_keys(key, column, pairs, gamma)
        targets = (2 * pairs[selected] + bits[selected] + 0.5) * step
        if column in integral:
            # At most 0.5 from the centre, which is more than 0.5 from the bucket's edges.
            targets = np.rint(targets)
        new_values = values.copy()
        positions = np.flatnonzero(valid)[selected]
        new_values[positions] = targets
        change = np.abs(new_values[positions] - values[positions])
        if column in integral:
            wanted = 2 * pairs[selected] + bits[selected]
            if (np.floor(targets / step) != wanted).any() or (
                change > np.floor(tolerances[column])
            ).any():
                # Only where float64 spacing nears the bucket margin (huge values).
                raise ValueError(
                    f"column '{column}' holds whole numbers too large for its tolerance "
                    "to be marked exactly"
                )
            marked[column] = _whole(df[column], positions, targets)
        else:
            marked[column] = new_values
        per_column[column] = int(selected.sum())
        max_change[column] = float(change.max()) if change.size else 0.0
        mean_change[column] = float(change.mean()) if change.size else 0.0
    changed: dict[str, int] = {}
    if categorical:
        anchors, has_anchor = _anchor_buckets(marked, anchor, steps[anchor])
        for column, rate in categorical.items():
            marked[column], changed[column] = _embed_categorical(
                marked[column], key, column, rate, anchors, has_anchor
            )
    report = EmbedReport(
        cells_marked=sum(per_column.values()) + sum(changed.values()),
        cells_marked_per_column={**per_column, **changed},
        max_change=max_change,
        mean_change=mean_change,
        anchor=anchor if categorical else None,
        categories_changed=changed,
        integral_columns=integral,
    )
    return marked, report


def detect(
    df: pd.DataFrame,
    key: bytes,
    tolerances: dict[str, float],
    gamma: int = DEFAULT_GAMMA,
    alpha: float = DEFAULT_ALPHA,
    categorical: dict[str, float] | None = None,
    anchor: str | None = None,
    integral: Iterable[str] | None = None,
) -> Detection:
    """Look for ``key``'s mark in ``df`` (no original needed). Columns named in
    ``tolerances`` or ``categorical`` but missing from ``df`` are skipped, so a dropped
    column only weakens the evidence. ``integral`` names the columns ``embed`` kept
    whole (its report's ``integral_columns``; none when absent, as before they existed):
    they are cut into the buckets of their effective tolerance, whatever ``df`` holds."""
    _check_arguments(df, key, tolerances, gamma, require_columns=False)
    categorical = dict(categorical or {})
    _check_categorical(df, tolerances, categorical, require_columns=False)
    _check_anchor(tolerances, categorical, anchor)
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    integral = list(integral or [])
    for column in integral:
        if column not in tolerances:
            raise ValueError(f"the whole-number column '{column}' has no tolerance")
    steps = _steps(tolerances, integral)
    per_column: dict[str, tuple[int, int]] = {}
    for column in tolerances:
        if column not in df.columns:
            continue
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        values = values[np.isfinite(values)]
        buckets = np.floor(values / steps[column]).astype(np.int64)
        per_column[column] = _count_matches(key, column, buckets, gamma)
    if categorical and anchor in df.columns:
        anchors, has_anchor = _anchor_buckets(df, anchor, steps[anchor])
        for column, rate in categorical.items():
            if column in df.columns:
                per_column[column] = _count_green(
                    df[column], key, column, rate, anchors, has_anchor
                )
    matches = sum(m for m, _ in per_column.values())
    trials = sum(n for _, n in per_column.values())
    if trials == 0:
        p_value, z, strength = 1.0, 0.0, 0.0
    else:
        log_p = _log_p_value(matches, trials)
        p_value = float(np.exp(log_p))
        strength = max(0.0, -log_p / np.log(10))
        z = float((matches - trials / 2) / np.sqrt(trials / 4))
    return Detection(
        present=p_value < alpha,
        p_value=p_value,
        matches=matches,
        trials=trials,
        z=z,
        alpha=alpha,
        per_column=per_column,
        strength=strength,
    )


def _log_p_value(matches: int, trials: int) -> float:
    """log P(X >= matches) for X ~ Binomial(trials, 1/2), finite even when P underflows
    (scipy's logsf returns -inf there): then summed term by term in log space."""
    log_p = float(binom.logsf(matches - 1, trials, 0.5))
    if np.isfinite(log_p):
        return log_p
    return float(logsumexp(binom.logpmf(np.arange(matches, trials + 1), trials, 0.5)))


# --- categorical columns -------------------------------------------------------------


def _default_anchor(df: pd.DataFrame, steps: dict[str, float]) -> str:
    """The numeric column with the most distinct buckets: the most anchors, so the most
    categorical trials. Ties go to the first name in sorted order."""

    def buckets(column: str) -> int:
        values = df[column].to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
        return int(np.unique(np.floor(values / steps[column])).size)

    return max(sorted(steps), key=buckets)


def _anchor_buckets(df: pd.DataFrame, anchor: str, step: float) -> tuple[np.ndarray, np.ndarray]:
    values = pd.to_numeric(df[anchor], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    has_anchor = np.isfinite(values)
    buckets = np.zeros(values.size, dtype=np.int64)
    buckets[has_anchor] = np.floor(values[has_anchor] / step).astype(np.int64)
    return buckets, has_anchor


def _category_text(series: pd.Series) -> pd.Series:
    """Category values as text, the same whether they came from CSV or Parquet (whole
    floats read as 3.0 in one and 3 in the other)."""
    if pd.api.types.is_float_dtype(series.dtype):
        finite = series.dropna()
        if (finite == np.floor(finite)).all():
            return series.astype("Int64").astype("string")
    return series.astype("string")


def _keyed_uniform(key: bytes, label: bytes, parts: list[str]) -> np.ndarray:
    """A keyed number in [0, 1) per element, and independent of every other label."""
    out = np.empty(len(parts), dtype=np.float64)
    prefix = b"synthgov-watermark-v1\x00" + label + b"\x00"
    for i, part in enumerate(parts):
        digest = hmac.new(key, prefix + part.encode("utf-8"), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2.0**64
    return out


def _selected_anchors(
    key: bytes, column: str, anchors: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct anchors, and per distinct anchor its keyed priority in [0, 1); an
    anchor is selected when its priority is below ``rate``."""
    unique = np.unique(anchors)
    label = b"category-anchor\x00" + column.encode("utf-8")
    return unique, _keyed_uniform(key, label, [str(a) for a in unique.tolist()])


def _green(key: bytes, column: str, anchors: list[int], categories: list[str]) -> np.ndarray:
    label = b"category-green\x00" + column.encode("utf-8")
    parts = [f"{a}\x00{c}" for a, c in zip(anchors, categories, strict=True)]
    return _keyed_uniform(key, label, parts) < 0.5


def _embed_categorical(
    series: pd.Series,
    key: bytes,
    column: str,
    rate: float,
    anchors: np.ndarray,
    has_anchor: np.ndarray,
) -> tuple[pd.Series, int]:
    text = _category_text(series)
    usable = has_anchor & text.notna().to_numpy()
    codes, uniques = pd.factorize(text[usable], sort=True)
    originals = pd.Series(series[usable].to_numpy()).groupby(codes).first()
    frequencies = np.bincount(codes, minlength=len(uniques)).astype(np.float64)
    row_anchors = anchors[usable]
    unique_anchors, priority = _selected_anchors(key, column, row_anchors, rate)
    order = np.argsort(priority[priority < rate], kind="stable")
    names = [str(u) for u in uniques]
    budget = int(np.floor(rate * usable.sum()))
    # Rows grouped by anchor once, so each selected anchor's rows are a slice.
    row_anchor_index = np.searchsorted(unique_anchors, row_anchors)
    by_anchor = np.argsort(row_anchor_index, kind="stable")
    starts = np.searchsorted(row_anchor_index[by_anchor], np.arange(unique_anchors.size + 1))
    new_codes = codes.copy()
    spent = 0
    pick_label = b"category-pick\x00" + column.encode("utf-8")
    for index in np.flatnonzero(priority < rate)[order].tolist():
        rows = by_anchor[starts[index] : starts[index + 1]]
        a = int(unique_anchors[index])
        green = _green(key, column, [a] * len(names), names)
        if not green.any():
            continue  # no category is green for this anchor: leave it, it only adds noise
        here = codes[rows]
        to_change = ~green[here]
        if spent + int(to_change.sum()) > budget:
            break  # the curator's rate is a hard ceiling
        weights = frequencies * green
        cumulative = np.cumsum(weights) / weights.sum()
        picks = _keyed_uniform(key, pick_label, [f"{a}\x00{n}" for n in names])
        replacement = np.searchsorted(cumulative, picks, side="right").clip(0, len(names) - 1)
        new_codes[rows[to_change]] = replacement[here[to_change]]
        spent += int(to_change.sum())
    result = series.copy()
    if spent:
        values = originals.reindex(range(len(uniques))).to_numpy()
        positions = np.flatnonzero(usable)
        result.iloc[positions] = values[new_codes]
    return result, spent


def _count_green(
    series: pd.Series,
    key: bytes,
    column: str,
    rate: float,
    anchors: np.ndarray,
    has_anchor: np.ndarray,
) -> tuple[int, int]:
    text = _category_text(series)
    usable = has_anchor & text.notna().to_numpy()
    if not usable.any():
        return 0, 0
    codes, uniques = pd.factorize(text[usable], sort=True)
    row_anchors = anchors[usable]
    unique_anchors, priority = _selected_anchors(key, column, row_anchors, rate)
    row_anchor_index = np.searchsorted(unique_anchors, row_anchors)
    in_chosen = (priority < rate)[row_anchor_index]
    # Trials are distinct (anchor, category) pairs, not cells: cells of one pair share one
    # coin, so counting cells would make the binomial p-value wrong.
    pair_ids = np.unique(
        row_anchor_index[in_chosen].astype(np.int64) * len(uniques) + codes[in_chosen]
    )
    if pair_ids.size == 0:
        return 0, 0
    pair_anchors = unique_anchors[pair_ids // len(uniques)].tolist()
    pair_codes = (pair_ids % len(uniques)).tolist()
    names = [str(u) for u in uniques]
    green = _green(key, column, pair_anchors, [names[c] for c in pair_codes])
    return int(green.sum()), int(pair_ids.size)


def _check_categorical(
    df: pd.DataFrame,
    tolerances: dict[str, float],
    categorical: dict[str, float],
    *,
    require_columns: bool,
) -> None:
    for column, rate in categorical.items():
        if column in tolerances:
            raise ValueError(f"column '{column}' cannot be both numeric and categorical")
        if not np.isfinite(rate) or not 0 < rate <= 0.5:
            raise ValueError(
                f"the share of cells that may change in column '{column}' must be above 0 "
                "and at most 0.5"
            )
        if column not in df.columns:
            if require_columns:
                raise ValueError(f"column '{column}' is not in the table")
            continue
        if require_columns:
            distinct = df[column].nunique(dropna=True)
            if distinct < 2:
                raise ValueError(f"column '{column}' has fewer than two categories")
            if distinct > MAX_CATEGORIES:
                raise ValueError(
                    f"column '{column}' has {distinct} distinct values, more than "
                    f"{MAX_CATEGORIES}: it is not a categorical column"
                )


def _check_anchor(
    tolerances: dict[str, float], categorical: dict[str, float], anchor: str | None
) -> None:
    if categorical and anchor is None:
        raise ValueError("categorical columns need the anchor column named at embedding")
    if anchor is not None and anchor not in tolerances:
        raise ValueError(f"the anchor column '{anchor}' must be one of the numeric columns")


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


def units_spanned(low: float, high: float, tolerance: float) -> int:
    """How many units (pairs of buckets) the values from ``low`` to ``high`` fall into
    at ``tolerance``. About one unit in ``gamma`` carries the mark, so a tolerance near
    the column's spread leaves it with one unit, which is likely not selected at all."""
    pair = 2 * _step(tolerance)
    return int(np.floor(high / pair) - np.floor(low / pair)) + 1


def _step(tolerance: float) -> float:
    # A cell moves to a bucket centre at most 1.5 buckets away, so 1.5 buckets = tolerance.
    return tolerance / (1.5 * _SAFETY)


def _integral_tolerance(tolerance: float) -> float:
    """The effective tolerance of a whole-number column (module docstring): a move below
    floor(t) + 0.5 from a whole number rounds to a whole change of at most floor(t)."""
    return min(float(tolerance), float(np.floor(tolerance)) + 0.5)


def _steps(tolerances: dict[str, float], integral: Iterable[str]) -> dict[str, float]:
    """Each numeric column's bucket width, the same at embedding and detection."""
    whole = set(integral)
    return {
        column: _step(_integral_tolerance(tolerance) if column in whole else tolerance)
        for column, tolerance in tolerances.items()
    }


def is_integral(series: pd.Series) -> bool:
    """Whether the column holds whole numbers: an integer dtype, or finite values (at
    least one) that are all whole. Text and booleans are not numbers."""
    kind = series.dtype
    if not pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind):
        return False
    if pd.api.types.is_integer_dtype(kind):
        return True
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool((values == np.floor(values)).all())


def _whole(original: pd.Series, positions: np.ndarray, targets: np.ndarray) -> pd.Series:
    """``original`` with the whole ``targets`` at ``positions``, in its dtype: integer
    dtypes are kept (widened to 64 bits when a target does not fit; unmarked values are
    copied, never passed through floats), floats stay float64 with their NaN."""
    dtype = original.dtype
    if not pd.api.types.is_integer_dtype(dtype):
        values = original.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        values[positions] = targets
        return pd.Series(values, index=original.index)
    nullable = isinstance(dtype, pd.api.extensions.ExtensionDtype)
    bounds = np.iinfo(dtype.numpy_dtype if nullable else dtype)
    fits = targets.size == 0 or (bounds.min <= targets.min() and targets.max() <= bounds.max)
    if not fits:
        dtype = pd.Int64Dtype() if nullable else np.dtype(np.int64)
    if nullable:
        array = original.array.astype(dtype, copy=True)
        array[positions] = targets.astype(dtype.numpy_dtype)
    else:
        array = original.to_numpy().astype(dtype, copy=True)
        array[positions] = targets.astype(dtype)
    return pd.Series(array, index=original.index, name=original.name)


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


# --- audit figures ---------------------------------------------------------------


def watermark_columns(facts: dict) -> list[str]:
    """The columns ``watermark_metrics`` reads from the audited data for these facts
    (none unless the mark is looked for): the marked numeric and categorical columns
    and the anchor."""
    mark = facts.get("watermark")
    if not mark or not mark.get("key"):
        return []
    names = [*mark.get("tolerances", {}), *(mark.get("categorical") or {})]
    if mark.get("anchor"):
        names.append(mark["anchor"])
    return list(dict.fromkeys(names))


def watermark_metrics(
    facts: dict, frame: pd.DataFrame, *, rows: int | None = None
) -> list[MetricResult]:
    """``provenance.watermark_detected`` (1/0), ``provenance.watermark_strength``
    (-log10 p) and ``provenance.manifest_valid`` from the registry's facts: for a
    watermarked version, ``facts["watermark"]`` holds the key and parameters and the
    mark is looked for in ``frame`` (the audited data: every column, or at least those
    of ``watermark_columns``, with ``rows`` the audited data's row count when ``frame``
    holds none of its columns)."""
    rows = len(frame) if rows is None else rows
    results = []
    mark = facts.get("watermark")
    if "watermark" not in facts:
        reason = "the registry did not report watermark facts"
        results += [
            skipped("provenance.watermark_detected", "higher", reason),
            skipped("provenance.watermark_strength", "higher", reason),
        ]
    elif mark is None and not facts.get("synthetic", True):
        reason = "real data is not watermarked"
        results += [
            skipped("provenance.watermark_detected", "higher", reason),
            skipped("provenance.watermark_strength", "higher", reason),
        ]
    elif mark is None or not mark.get("key"):
        why = (
            "This synthetic version carries no SynthGov watermark."
            if mark is None
            else f"The watermark key {mark.get('key_id')} is no longer held; the mark cannot be "
            "checked."
        )
        details = {"watermarked": mark is not None}
        results += [
            MetricResult("provenance.watermark_detected", 0.0, "higher", details, finding=why),
            MetricResult("provenance.watermark_strength", 0.0, "higher", details),
        ]
    else:
        found = detect(
            frame,
            mark["key"],
            mark.get("tolerances", {}),
            gamma=int(mark.get("gamma", DEFAULT_GAMMA)),
            alpha=float(mark.get("alpha", DEFAULT_ALPHA)),
            categorical=mark.get("categorical") or {},
            anchor=mark.get("anchor"),
            integral=mark.get("integral_columns") or (),
        )
        details = {"key_id": mark.get("key_id"), **found.to_json()}
        finding = None if found.present else "The version's watermark is no longer detectable."
        results += [
            MetricResult(
                "provenance.watermark_detected",
                1.0 if found.present else 0.0,
                "higher",
                details,
                sample_size=rows,
                population=rows,
                finding=finding,
            ),
            MetricResult(
                "provenance.watermark_strength",
                round(found.strength, 4),
                "higher",
                details,
                sample_size=rows,
                population=rows,
            ),
        ]
    results.append(manifest_result(facts))
    return results


def manifest_result(facts: dict) -> MetricResult:
    """``provenance.manifest_valid`` from the registry's fact alone (no data is read)."""
    valid = facts.get("manifest_valid")
    if valid is None:
        return skipped("provenance.manifest_valid", "higher", "no manifest fact given")
    return MetricResult(
        "provenance.manifest_valid",
        1.0 if valid else 0.0,
        "higher",
        {"manifest_valid": bool(valid)},
        finding=None if valid else "The provenance manifest does not verify.",
    )
