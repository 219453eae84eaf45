"""Re-identification measured by attacks, each against a control.

The attacks follow Giomi et al. 2022, "A Unified Framework for Quantifying Privacy Risk in
Synthetic Data" (the ``anonymeter`` package, 1.1.0): an attacker who sees only the
synthetic data attacks real records of the *training* data (the reference) and, the same
way, real records of the *holdout* (the control), which the generator never saw. What the
attack achieves on the control is what anyone could achieve from the population; the risk
is the excess, normalised by the room left::

    risk = (main - control) / (1 - control)

Success rates are Wilson score estimates on the number of attacks (as anonymeter), the
risk's 95% half-width propagates both rates' errors, and the reported value and interval
are clipped to 0..1. Everything is seeded and every attack is run on stated samples:

- the attacker's view is a seeded sample of up to ``distance_sample_rows`` synthetic rows
  (in a seeded random order, so ties between equally near records are broken at random);
- the training and holdout records are seeded samples of the same size (the smaller of the
  holdout, the reference and ``distance_sample_rows``), so that main and control compare
  like with like (anonymeter instead fits a correction when the sizes differ);
- each attack targets up to ``attack_count`` records of each.

Distances are the mixed-type distance of ``encoding`` (as the other distance figures),
restricted to the columns the attacker knows; nearest neighbours come from ``neighbours``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.stats import beta, rankdata

from audits.checks.base import (
    MetricResult,
    proportion_ci,
    rng_for,
    seeded_rows,
    share_text,
    skipped,
)
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import EncodedTable, PreparedData, combine_hashes, encode_rows
from audits.checks.neighbours import (
    DistinctRecords,
    distinct_records,
    nearest,
    nearest_distinct,
)
from audits.checks.privacy_distance import closest_records, distance_rows, lower_bounds

Z95 = 1.959963984540054
NO_HOLDOUT = (
    "needs a real holdout dataset (the control): without one, what an attacker learns "
    "cannot be told from what anyone could guess from the population"
)
# Multivariate singling-out predicates combine this many quasi-identifiers (anonymeter's
# default n_cols) and the search stops after this many candidate predicates per attack.
# The figures this module reports (standards and tests name them).
ATTACK_KEYS = frozenset(
    {
        "privacy.singling_out_risk",
        "privacy.linkability_risk",
        "privacy.inference_risk",
        "privacy.membership_auc",
        "privacy.membership_tpr_at_1pct_fpr",
        "privacy.near_copy_rate",
        "privacy.dp_epsilon_lower_bound",
    }
)
SINGLING_OUT_COLUMNS = 3
SINGLING_OUT_ATTEMPTS_PER_ATTACK = 500
SINGLING_OUT_BATCH = 10_000
# A numeric secret counts as inferred when the guess is within 5% of it (anonymeter).
INFERENCE_TOLERANCE = 0.05
# The membership attack's operating point and the density-ratio score's guard.
MEMBERSHIP_FPR = 0.01
DENSITY_EPSILON = 1e-6
# Percentile of holdout-to-training distances below which a synthetic record is a near copy.
NEAR_COPY_PERCENTILE = 1.0
PAIR_CHUNK = 4_000_000
# Predicate keys wider than this use 64-bit hashes instead of exact integer ranks.
EXACT_KEY_LIMIT = 2**62
# Below one predicate per this many rows, a group is counted by testing every row.
SMALL_GROUP_ROWS = 64
# Rows of each predicate's run read in the first round of a capped count (doubling per
# round: at 50k rows this reads fewer rows in all than growing fourfold from 16).
CAPPED_FIRST_WINDOW = 4

# Thresholds the checks' findings use; the shipped standards set their own.
DEFAULT_THRESHOLDS = {
    "privacy.singling_out_risk": 0.1,
    "privacy.linkability_risk": 0.05,
    "privacy.inference_risk": 0.05,
    "privacy.membership_auc": 0.55,
    "privacy.membership_tpr_at_1pct_fpr": 0.03,
    "privacy.near_copy_rate": 0.02,
}


# --- rates and risks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A success rate as anonymeter estimates it: Wilson score centre and half-width."""

    successes: int
    attacks: int
    value: float
    error: float

    @classmethod
    def of(cls, successes: int, attacks: int) -> Rate:
        z2 = Z95 * Z95
        variance = successes * (attacks - successes) / attacks
        denominator = attacks + z2
        value = (successes + 0.5 * z2) / denominator
        error = (Z95 / denominator) * math.sqrt(variance + 0.25 * z2)
        return cls(int(successes), int(attacks), value, error)

    def to_json(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "attacks": self.attacks,
            "rate": self.value,
            "half_width": self.error,
        }


@dataclass(frozen=True)
class Risk:
    """Excess success over the control, clipped to 0..1 with its 95% interval."""

    main: Rate
    control: Rate
    raw: float
    error: float

    @classmethod
    def of(cls, main: Rate, control: Rate) -> Risk:
        room = 1.0 - control.value
        raw = (main.value - control.value) / room
        d_main = 1.0 / abs(room)
        d_control = (main.value - 1.0) / room**2
        error = math.sqrt((main.error * d_main) ** 2 + (control.error * d_control) ** 2)
        return cls(main, control, raw, error)

    @property
    def value(self) -> float:
        return _clip(self.raw)

    @property
    def interval(self) -> tuple[float, float]:
        return _clip(self.raw - self.error), _clip(self.raw + self.error)

    def to_json(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "risk": self.value,
            "risk_unclipped": self.raw,
            "interval": [low, high],
            "main": self.main.to_json(),
            "control": self.control.to_json(),
        }


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _risk_result(key: str, risk: Risk, details: dict, frames: AttackFrames, finding: str | None):
    low, high = risk.interval
    return MetricResult(
        key=key,
        value=risk.value,
        direction="lower",
        details={**details, "interval": [low, high], **frames.sample_details()},
        sample_size=frames.synthetic_rows,
        population=frames.synthetic_population,
        uncertainty=risk.error,
        finding=finding,
    )


# --- the attack frames -------------------------------------------------------------------


@dataclass
class AttackFrames:
    """What every attack reads: a seeded sample of synthetic rows (the attacker's view, in
    a seeded random order) and equal-size seeded samples of training and holdout records.
    Each attack encodes only the columns it uses, and only the rows it attacks; the
    synthetic sample's encoding is kept per column list (main and control share it)."""

    data: PreparedData
    synthetic_index: np.ndarray  # row of the synthetic frame for each sampled row
    training_index: np.ndarray  # rows of the reference frame
    holdout_index: np.ndarray  # rows of the holdout frame
    synthetic_population: int
    attack_count: int
    _synthetic: dict[tuple[str, ...], EncodedTable] = field(default_factory=dict)
    _distinct: dict[tuple[str, ...], DistinctRecords] = field(default_factory=dict)

    @property
    def synthetic_rows(self) -> int:
        return len(self.synthetic_index)

    def sample_details(self) -> dict[str, Any]:
        return {
            "synthetic_rows_seen_by_attacker": self.synthetic_rows,
            "training_rows_sampled": len(self.training_index),
            "holdout_rows_sampled": len(self.holdout_index),
        }

    def targets(self, purpose: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (into the training and holdout samples) of up to ``attack_count``
        records of each, drawn without replacement."""
        count = min(self.attack_count, len(self.training_index), len(self.holdout_index))
        rng = rng_for(seed, f"attacks.{purpose}")
        main = rng.choice(len(self.training_index), size=count, replace=False)
        control = rng.choice(len(self.holdout_index), size=count, replace=False)
        return main, control

    def encode(self, sample: str, positions: np.ndarray, names: list[str]) -> EncodedTable:
        """Records at ``positions`` of the "training", "holdout" or "synthetic" sample,
        encoded for the distance on ``names`` (categories first, each kind in the order
        given)."""
        frame, index = {
            "training": ("real", self.training_index),
            "holdout": ("holdout", self.holdout_index),
            "synthetic": ("synthetic", self.synthetic_index),
        }[sample]
        numeric = [n for n in names if self.data.columns.spec(n).is_numeric]
        categorical = [n for n in names if n not in numeric]
        return encode_rows(self.data, frame, index[positions], categorical, numeric)

    def synthetic(self, names: list[str]) -> EncodedTable:
        """The whole synthetic sample encoded on ``names`` (cached)."""
        key = tuple(names)
        if key not in self._synthetic:
            self._synthetic[key] = self.encode("synthetic", slice(None), names)
        return self._synthetic[key]

    def synthetic_records(self, names: list[str]) -> DistinctRecords:
        """The synthetic sample on ``names`` grouped into distinct records (cached), for
        the nearest-record searches: each distinct record is compared once."""
        key = tuple(names)
        if key not in self._distinct:
            self._distinct[key] = distinct_records(self.synthetic(names))
        return self._distinct[key]


def attack_frames(ctx: AuditContext) -> AttackFrames | None:
    """The shared samples (cached); None without a holdout. They start from the distance
    figures' samples: the synthetic sample in a seeded random order, the holdout sample
    and an equal-size seeded sample of the reference."""
    if not ctx.has_holdout:
        return None
    if "attack_frames" not in ctx.cache:
        cfg = ctx.config
        syn_rows, hold_rows = distance_rows(ctx)
        syn_order = rng_for(cfg.seed, "attacks.syn_order").permutation(len(syn_rows))
        size = min(ctx.data.n_real, len(hold_rows))
        hold = seeded_rows(len(hold_rows), size, cfg.seed, "attacks.hold")
        train = seeded_rows(ctx.data.n_real, size, cfg.seed, "attacks.train")
        ctx.cache["attack_frames"] = AttackFrames(
            ctx.data,
            syn_rows[syn_order],
            train,
            hold_rows[hold],
            ctx.data.n_synthetic,
            cfg.attack_count,
        )
    return ctx.cache["attack_frames"]


def _distance_columns(ctx: AuditContext, names: list[str]) -> list[str]:
    usable = set(ctx.data.distance_names())
    return [n for n in names if n in usable]


# --- singling out ------------------------------------------------------------------------

EQ, GE, LE, MISSING = 0, 1, 2, 3


@dataclass
class _Predicates:
    """Conjunctions of conditions: ``columns[i, j]`` (column position), ``ops[i, j]`` and
    ``values[i, j]``; unused slots have column -1."""

    columns: np.ndarray
    ops: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.columns)

    def take(self, rows) -> _Predicates:
        return _Predicates(self.columns[rows], self.ops[rows], self.values[rows])


def _value_matrix(ctx: AuditContext, names: list[str], frame: str, rows: np.ndarray):
    """Values of ``names`` as float64 (category codes as numbers; missing as NaN)."""
    out = np.empty((len(rows), len(names)))
    for j, name in enumerate(names):
        col = ctx.column(name)
        values = col.read_rows(frame, rows)
        if col.is_numeric:
            out[:, j] = values
        else:
            out[:, j] = np.where(values < 0, np.nan, values.astype(np.float64))
    return out


def _count_matches(
    frame: np.ndarray, preds: _Predicates, sorted_cache: dict | None = None, cap: int | None = None
) -> np.ndarray:
    """How many rows of ``frame`` satisfy each predicate (exact; with ``cap``, the count or
    ``cap`` when at least that many match, see ``_count_capped``). Predicates sharing
    their columns and kinds of condition are counted together: rows are sorted by the
    equality columns and then by the first range column, so each predicate's matches on
    those are one contiguous run; further range conditions are checked on that run."""
    if cap is not None:
        return _count_capped(frame, preds, cap, sorted_cache if sorted_cache is not None else {})
    counts = np.zeros(len(preds), dtype=np.int64)
    if len(preds) == 0:
        return counts
    is_range = (preds.ops == GE) | (preds.ops == LE)
    base = 2 * (int(preds.columns.max()) + 2)
    pattern = np.zeros(len(preds), dtype=np.int64)
    for j in range(preds.columns.shape[1]):
        pattern = pattern * base + (preds.columns[:, j] + 1) * 2 + is_range[:, j]
    cache = sorted_cache if sorted_cache is not None else {}
    order = np.argsort(pattern, kind="stable")
    bounds = np.flatnonzero(np.r_[True, pattern[order][1:] != pattern[order][:-1], True])
    for start, stop in pairwise(bounds):
        rows = order[start:stop]
        group = preds.take(rows)
        if sorted_cache is None and len(rows) * SMALL_GROUP_ROWS <= len(frame):
            # A few predicates: testing every row costs less than sorting the frame.
            counts[rows] = _count_direct(frame, group, cache)
        else:
            counts[rows] = _count_group(frame, group, cache)
    return counts


def _column_orders(frame: np.ndarray, cache: dict, columns=()):
    """Per column of the frame: its rows in order of value (missing last, tied rows in
    any order), each row's position in that order, its distinct present values in order
    with the position where each one's rows start (and the count of present values after
    them), and how many are present. Orders and positions are stacked into flat
    (columns x rows) int32 arrays, so a gather can take each predicate's column from a
    flat index. Only ``columns`` are sorted (each once per cache); the others' entries
    are left unset."""
    n, m = frame.shape
    if "orders" not in cache:
        orders = np.empty(m * n, dtype=np.int32)
        positions = np.empty(m * n, dtype=np.int32)
        cache["orders"] = orders, positions, [None] * m, np.zeros(m, dtype=np.int64)
    orders, positions, values, present = cache["orders"]
    for c in columns:
        c = int(c)
        if values[c] is not None:
            continue
        column = frame[:, c]
        order = _argsort_column(column)
        orders[c * n : (c + 1) * n] = order
        positions[c * n + order] = np.arange(n, dtype=np.int32)
        present[c] = n - int(np.isnan(column).sum())
        ordered = column[order[: present[c]]]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])[: present[c]]
        values[c] = ordered[starts], np.r_[starts, present[c]]
    return cache["orders"]


def _argsort_column(column: np.ndarray) -> np.ndarray:
    """Rows in order of value, missing last. Small whole numbers (category codes, counts,
    ages) are sorted as 16-bit integers, which numpy sorts by radix; tied rows may come
    in any order, so this is the same order up to ties."""
    missing = np.isnan(column)
    present = column[~missing]
    small = present.size and present.min() >= 0 and present.max() < 2**15 - 1
    if small and np.array_equal(present, np.trunc(present)):
        codes = np.where(missing, 2**15 - 1, column).astype(np.int16)
        return np.argsort(codes, kind="stable")
    return np.argsort(column)  # NaN sorts last


def _count_capped(frame: np.ndarray, preds: _Predicates, cap: int, cache: dict) -> np.ndarray:
    """``min(count, cap)`` per predicate, for every predicate at once. Each condition is a
    run of positions in its column's order (``= v``: the positions holding v; ``>= v``:
    from the first v on; ``<= v``: up to the last v; "missing": the missing rows at the
    end; a missing v matches nothing, as ``x == nan`` does), so a row satisfies a
    predicate when its position in every column lies in that column's run. The rows of
    each predicate's shortest run are read in windows doubling per round, and a
    predicate stops once ``cap`` rows matched or its run is read to the end (so counts
    under ``cap`` are exact); a round reads at most ``PAIR_CHUNK`` rows."""
    n_preds, width_k = preds.columns.shape
    counts = np.zeros(n_preds, dtype=np.int64)
    n = len(frame)
    if n_preds == 0 or n == 0:
        return counts
    used = preds.columns >= 0
    # The used slots grouped by column, so each column's values are searched once.
    slots = np.flatnonzero(used.ravel())
    column_of = preds.columns.ravel()[slots]
    if column_of.max() < 2**15:  # sorted by radix
        column_of = column_of.astype(np.int16)
    slots = slots[np.argsort(column_of, kind="stable")]
    column_of = preds.columns.ravel()[slots]
    bounds = np.flatnonzero(np.r_[True, column_of[1:] != column_of[:-1], True])
    orders, positions, values, present = _column_orders(frame, cache, column_of[bounds[:-1]])
    wanted, ops = preds.values.ravel()[slots], preds.ops.ravel()[slots]
    left, right = np.empty(len(slots), dtype=np.int64), np.empty(len(slots), dtype=np.int64)
    for a, b in pairwise(bounds):
        # As searching the column's sorted values: a value's run starts where its level
        # does, and the levels are fewer to search.
        levels, starts = values[int(column_of[a])]
        left[a:b] = starts[np.searchsorted(levels, wanted[a:b], "left")]
        right[a:b] = starts[np.searchsorted(levels, wanted[a:b], "right")]
    m = present[column_of]
    start = np.where(ops == LE, 0, left)
    stop = np.where(ops == GE, m, right)
    nothing = np.isnan(wanted) & (ops != MISSING)
    start = np.where(ops == MISSING, m, np.where(nothing, 0, start))
    stop = np.where(ops == MISSING, n, np.where(nothing, 0, stop))
    lo = np.zeros(n_preds * width_k, dtype=np.int64)
    hi = np.full(n_preds * width_k, n, dtype=np.int64)  # unused slots: every position
    lo[slots], hi[slots] = start, stop
    lo, hi = lo.reshape(n_preds, width_k), hi.reshape(n_preds, width_k)
    columns = np.where(used, preds.columns, 0).astype(np.int64) * n
    lengths = hi - lo
    # Each predicate's conditions from the shortest run to the longest (unused slots
    # last). Rows are read from the shortest run, so its own condition holds; the others
    # are tested in that order, each on the rows that passed the ones before.
    by_length = np.argsort(np.where(used, lengths, n + 1), axis=1, kind="stable")
    every = np.arange(n_preds)
    shortest = by_length[:, 0]
    first = columns[every, shortest] + lo[every, shortest]
    size = lengths[every, shortest]
    if used.sum(axis=1).max() <= 1:  # one condition: the run is the count
        return np.minimum(size, cap)
    # A condition is tested as "position - lo < hi - lo" in unsigned arithmetic; unused
    # slots get the largest unsigned span, so whatever they read passes.
    tests = []
    for rank in range(1, width_k):
        j = by_length[:, rank]
        tested = used[every, j]
        if tested.any():
            tests.append(
                (
                    np.where(tested, columns[every, j], 0),
                    np.where(tested, lo[every, j], 0),
                    np.where(tested, lengths[every, j], -1).astype(np.uint64),  # -1: any
                )
            )
    read = np.zeros(n_preds, dtype=np.int64)
    # A predicate without conditions matches every row (and reads no column's order).
    unconditional = ~used.any(axis=1)
    counts[unconditional] = n
    active = np.flatnonzero((size > 0) & ~unconditional)
    width = CAPPED_FIRST_WINDOW
    while len(active):
        part = active[: max(PAIR_CHUNK // (width * width_k), 1)]
        sizes = np.minimum(size[part] - read[part], width)
        query = np.repeat(part, sizes)
        ends = np.cumsum(sizes)
        step = np.repeat(first[part] + read[part] - (ends - sizes), sizes)
        rows = orders[step + np.arange(ends[-1])].astype(np.int64)
        for base, low, span in tests:
            at = positions[base[query] + rows] - low[query]
            passed = at.view(np.uint64) < span[query]
            rows, query = rows[passed], query[passed]
        counts += np.bincount(query, minlength=n_preds)
        read[part] += sizes
        active = active[(counts[active] < cap) & (read[active] < size[active])]
        width = min(width * 2, PAIR_CHUNK)
    return np.minimum(counts, cap)


def _count_direct(frame: np.ndarray, preds: _Predicates, cache: dict) -> np.ndarray:
    """Every row tested against every predicate (for small groups). Ranges as in
    ``_check_other_ranges``: "x <= v" is tested as "-x >= -v"."""
    ok = np.ones((len(preds), len(frame)), dtype=bool)
    for j in range(preds.columns.shape[1]):
        column, ops = int(preds.columns[0, j]), preds.ops[:, j]
        if column < 0:
            continue
        have, wanted = _column(frame, column, cache), preds.values[:, j]
        with np.errstate(invalid="ignore"):
            if ops[0] in (EQ, MISSING):  # the group's slot is an equality or "missing"
                equal = have[None, :] == wanted[:, None]
                missing = np.flatnonzero(ops == MISSING)
                if len(missing):  # NaN equals nothing: "missing" rows test isnan instead
                    equal[missing] = np.isnan(have)[None, :]
                ok &= equal
            else:
                sign = np.where(ops == GE, 1.0, -1.0)
                ok &= have[None, :] * sign[:, None] >= (sign * wanted)[:, None]
    return ok.sum(axis=1)


def _keys(values: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of a float matrix (missing values equal each other)."""
    parts = []
    for j in range(values.shape[1]):
        column = np.where(np.isnan(values[:, j]), np.nan, values[:, j] + 0.0)
        parts.append(column.view(np.uint64).copy())
    return combine_hashes(parts, len(values))


def _sorted_frame(frame: np.ndarray, key_columns: list, first: int | None):
    """The frame's rows ordered by their equality key, then by the first range column:
    (key values, ordered key of each row, levels of the range column, composite sort key,
    row order)."""
    frame_keys = _keys(frame[:, key_columns])
    if first is None:
        return np.sort(frame_keys), None, None, None
    values = frame[:, first]
    present = ~np.isnan(values)
    levels = np.unique(values[present])
    rank = np.where(present, np.searchsorted(levels, values), len(levels))
    groups, group_of_row = np.unique(frame_keys, return_inverse=True)
    composite = group_of_row.ravel().astype(np.int64) * (len(levels) + 1) + rank
    order = np.argsort(composite, kind="stable")
    return groups, levels, composite[order], order


def _count_group_hashed(frame: np.ndarray, preds: _Predicates, sorted_cache: dict) -> np.ndarray:
    """As ``_count_group`` with hashed keys, for keys too wide for exact integers."""
    cols = preds.columns[0]
    ranged = (preds.ops[0] == GE) | (preds.ops[0] == LE)
    key_slots = [j for j in range(len(cols)) if cols[j] >= 0 and not ranged[j]]
    range_slots = [j for j in range(len(cols)) if cols[j] >= 0 and ranged[j]]
    query_keys = _keys(preds.values[:, key_slots])
    first = int(cols[range_slots[0]]) if range_slots else None
    cache_key = ("hashed", tuple(int(c) for c in cols[key_slots]), first)
    if cache_key not in sorted_cache:
        sorted_cache[cache_key] = _sorted_frame(frame, list(cols[key_slots]), first)
    groups, levels, composite, order = sorted_cache[cache_key]
    if first is None:
        return np.searchsorted(groups, query_keys, "right") - np.searchsorted(
            groups, query_keys, "left"
        )
    span = len(levels) + 1
    first = range_slots[0]
    group = np.minimum(np.searchsorted(groups, query_keys), len(groups) - 1)
    known = groups[group] == query_keys
    wanted = preds.values[:, first]
    ge = preds.ops[:, first] == GE
    low = np.where(ge, np.searchsorted(levels, wanted, "left"), 0)
    high = np.where(ge, len(levels), np.searchsorted(levels, wanted, "right"))
    base = group.astype(np.int64) * span
    start = np.searchsorted(composite, base + low, "left")
    stop = np.searchsorted(composite, base + high, "left")
    runs = np.where(known, stop - start, 0)
    return _check_other_ranges(frame, preds, range_slots, order, start, runs, sorted_cache)


def _column_ranks(frame: np.ndarray, column: int, cache: dict):
    """(distinct present values, each row's rank among them; missing = their count)."""
    key = ("rank", column)
    if key not in cache:
        values = frame[:, column]
        present = ~np.isnan(values)
        levels = np.unique(values[present])
        cache[key] = levels, np.where(present, np.searchsorted(levels, values), len(levels))
    return cache[key]


def _count_group(frame: np.ndarray, preds: _Predicates, sorted_cache: dict) -> np.ndarray:
    cols = preds.columns[0]
    ranged = (preds.ops[0] == GE) | (preds.ops[0] == LE)
    key_slots = [j for j in range(len(cols)) if cols[j] >= 0 and not ranged[j]]
    range_slots = [j for j in range(len(cols)) if cols[j] >= 0 and ranged[j]]
    first = int(cols[range_slots[0]]) if range_slots else None
    # Rows are keyed by the ranks of their values in the equality columns (exact integer
    # arithmetic), then by the rank in the first range column, and sorted once per
    # pattern; a predicate's matches on those columns are one run of that order.
    spans = [len(_column_ranks(frame, int(cols[j]), sorted_cache)[0]) + 1 for j in key_slots]
    first_span = len(_column_ranks(frame, first, sorted_cache)[0]) + 1 if first is not None else 1
    if math.prod(spans) * first_span >= EXACT_KEY_LIMIT:
        return _count_group_hashed(frame, preds, sorted_cache)
    query_key = np.zeros(len(preds), dtype=np.int64)
    known = np.ones(len(preds), dtype=bool)
    for j, span in zip(key_slots, spans, strict=True):
        levels, _ = _column_ranks(frame, int(cols[j]), sorted_cache)
        wanted = preds.values[:, j]
        at = np.searchsorted(levels, wanted)
        hit = (at < len(levels)) & (levels[np.minimum(at, len(levels) - 1)] == wanted)
        missing = np.isnan(wanted)
        known &= hit | missing
        query_key = query_key * span + np.where(missing, len(levels), at)
    cache_key = ("sorted", tuple(int(cols[j]) for j in key_slots), first)
    if cache_key not in sorted_cache:
        # The frame's keys only when this pattern's order is not cached yet: building them
        # costs a pass over every row per equality column.
        frame_key = np.zeros(len(frame), dtype=np.int64)
        for j, span in zip(key_slots, spans, strict=True):
            frame_key = frame_key * span + _column_ranks(frame, int(cols[j]), sorted_cache)[1]
        composite = frame_key * first_span
        if first is not None:
            composite = composite + _column_ranks(frame, first, sorted_cache)[1]
        order = np.argsort(composite)  # rows with equal keys may come in any order
        sorted_cache[cache_key] = composite[order], order
    composite, order = sorted_cache[cache_key]
    if first is None:
        runs = np.searchsorted(composite, query_key, "right")
        return np.where(known, runs - np.searchsorted(composite, query_key, "left"), 0)
    levels = _column_ranks(frame, first, sorted_cache)[0]
    first = range_slots[0]
    wanted = preds.values[:, first]
    ge = preds.ops[:, first] == GE
    low = np.where(ge, np.searchsorted(levels, wanted, "left"), 0)
    high = np.where(ge, len(levels), np.searchsorted(levels, wanted, "right"))
    base = query_key * first_span
    start = np.searchsorted(composite, base + low, "left")
    stop = np.searchsorted(composite, base + high, "left")
    runs = np.where(known, stop - start, 0)
    return _check_other_ranges(frame, preds, range_slots, order, start, runs, sorted_cache)


def _column(frame: np.ndarray, column: int, cache: dict) -> np.ndarray:
    """One column of the frame as a contiguous array (gathers from it are faster)."""
    key = ("column", column)
    if key not in cache:
        cache[key] = np.ascontiguousarray(frame[:, column])
    return cache[key]


def _check_other_ranges(frame, preds, range_slots, order, start, runs, cache) -> np.ndarray:
    """Counts after testing the runs' rows against the further range conditions. A
    condition "x <= v" is tested as "-x >= -v" (negation is exact, and missing values
    fail both), so each row costs one multiplication and one comparison."""
    cols = preds.columns[0]
    if len(range_slots) == 1:
        return runs
    signs = {j: np.where(preds.ops[:, j] == GE, 1.0, -1.0) for j in range_slots[1:]}
    limits = {j: signs[j] * preds.values[:, j] for j in range_slots[1:]}
    columns = {j: _column(frame, int(cols[j]), cache) for j in range_slots[1:]}
    counts = np.zeros(len(preds), dtype=np.int64)
    cum = np.cumsum(runs)
    begin = 0
    while begin < len(preds):
        offset = cum[begin - 1] if begin else 0
        end = max(int(np.searchsorted(cum, offset + PAIR_CHUNK, side="right")), begin + 1)
        part = np.arange(begin, min(end, len(preds)))
        sizes = runs[part]
        query = np.repeat(part, sizes)
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        rows = order[np.repeat(start[part], sizes) + within]
        ok = np.ones(len(rows), dtype=bool)
        for j in range_slots[1:]:
            with np.errstate(invalid="ignore"):
                ok &= columns[j][rows] * signs[j][query] >= limits[j][query]
        counts += np.bincount(query, weights=ok, minlength=len(preds)).astype(np.int64)
        begin = end
    return counts


def _univariate_predicates(syn: np.ndarray, numeric: list[bool], rng) -> _Predicates:
    """anonymeter's univariate queries: a single missing value, each numeric column's
    minimum and maximum, and every value that occurs once in the synthetic sample."""
    cols, ops, vals = [], [], []
    for j in range(syn.shape[1]):
        values = syn[:, j]
        missing = np.isnan(values)
        if missing.sum() == 1:
            cols.append(j), ops.append(MISSING), vals.append(np.nan)
        present = values[~missing]
        if numeric[j] and present.size:
            cols += [j, j]
            ops += [LE, GE]
            vals += [present.min(), present.max()]
        uniq, counts = np.unique(present, return_counts=True)
        rare = uniq[counts == 1]
        cols += [j] * len(rare)
        ops += [EQ] * len(rare)
        vals += rare.tolist()
    preds = _Predicates(
        np.array(cols, dtype=np.int64).reshape(-1, 1),
        np.array(ops, dtype=np.int64).reshape(-1, 1),
        np.array(vals, dtype=np.float64).reshape(-1, 1),
    )
    return preds.take(rng.permutation(len(preds)))


def _multivariate_candidates(
    syn: np.ndarray, numeric: list[bool], medians: np.ndarray, n_cols: int, size: int, rng
) -> _Predicates:
    """anonymeter's multivariate queries: a random synthetic record and ``n_cols`` random
    columns; categories must equal the record's, numbers be at least the record's value
    when it is above the column's median and at most it otherwise; missing stays missing."""
    records = rng.integers(0, len(syn), size=size)
    # The columns of the n_cols smallest draws, in column order (a partition finds the
    # same set as a full sort of the draws).
    draws = rng.random((size, syn.shape[1]))
    chosen = np.sort(np.argpartition(draws, n_cols - 1, axis=1)[:, :n_cols], axis=1)
    vals = syn[records[:, None], chosen]
    is_num = np.asarray(numeric)[chosen]
    ops = np.where(is_num, np.where(vals > medians[chosen], GE, LE), EQ)
    ops = np.where(np.isnan(vals), MISSING, ops)
    return _Predicates(chosen.astype(np.int64), ops.astype(np.int64), vals)


def _unique_rows(preds: _Predicates) -> np.ndarray:
    """Positions of the first occurrence of each distinct predicate."""
    key = np.column_stack([preds.columns, preds.ops, np.nan_to_num(preds.values, nan=-1e300)])
    _, first = np.unique(key, axis=0, return_index=True)
    return np.sort(first)


def singling_out_risk(ctx: AuditContext) -> list[MetricResult]:
    key = "privacy.singling_out_risk"
    frames = attack_frames(ctx)
    if frames is None:
        return [skipped(key, "lower", NO_HOLDOUT)]
    names = list(ctx.config.quasi_identifiers)
    if not names:
        return [skipped(key, "lower", "no quasi-identifier columns are named")]
    seed = ctx.config.seed
    syn = _value_matrix(ctx, names, "synthetic", frames.synthetic_index)
    train = _value_matrix(ctx, names, "real", frames.training_index)
    hold = _value_matrix(ctx, names, "holdout", frames.holdout_index)
    numeric = [ctx.column(n).is_numeric for n in names]
    n_attacks = frames.attack_count
    variants: dict[str, Any] = {}

    # Univariate: every candidate must single out exactly one synthetic record.
    candidates = _univariate_predicates(syn, numeric, rng_for(seed, "attacks.so.uni"))
    # Singling out asks only whether a predicate matches 0, 1 or more rows: counts stop at 2.
    syn_sorted: dict = {}
    singles = candidates.take(
        np.flatnonzero(_count_matches(syn, candidates, syn_sorted, cap=2) == 1)[:n_attacks]
    )
    # Each frame's column orders are built once and serve both variants.
    frames_sorted = (train, {}), (hold, {})
    variants["univariate"] = _so_variant(
        singles, frames_sorted, names, columns=1, attacks=n_attacks
    )

    n_cols = min(SINGLING_OUT_COLUMNS, len(names))
    rng = rng_for(seed, "attacks.so.multi")
    with np.errstate(all="ignore"):
        medians = np.nanmedian(syn, axis=0)
    found = _Predicates(*(np.empty((0, n_cols), dtype=t) for t in (np.int64, np.int64, float)))
    attempts, budget = 0, SINGLING_OUT_ATTEMPTS_PER_ATTACK * n_attacks
    while len(found) < n_attacks and attempts < budget:
        batch = _multivariate_candidates(syn, numeric, medians, n_cols, SINGLING_OUT_BATCH, rng)
        attempts += SINGLING_OUT_BATCH
        batch = batch.take(np.flatnonzero(_count_matches(syn, batch, syn_sorted, cap=2) == 1))
        merged = _Predicates(
            *(np.concatenate([a, b]) for a, b in zip(
                (found.columns, found.ops, found.values),
                (batch.columns, batch.ops, batch.values),
                strict=True,
            ))
        )  # fmt: skip
        found = merged.take(_unique_rows(merged)[:n_attacks])
    variants["multivariate"] = _so_variant(
        found, frames_sorted, names, columns=n_cols, attacks=n_attacks
    )
    variants["multivariate"]["candidate_predicates_tried"] = attempts

    scored = variants
    worst_name = max(
        scored, key=lambda k: (scored[k]["risk_object"].value, scored[k]["predicates"])
    )
    worst: Risk = scored[worst_name]["risk_object"]
    for v in variants.values():
        v.pop("risk_object", None)
    finding = None
    if worst.value > DEFAULT_THRESHOLDS[key]:
        finding = (
            f"Predicates built from the synthetic data single out one real training record "
            f"{share_text(worst.value)} more often than one unseen real record "
            f"({worst_name} attack)."
        )
    details = {
        "headline_variant": worst_name,
        "variants": variants,
        "quasi_identifiers": names,
        "definition": "risk = (main - control) / (1 - control), Wilson rates",
    }
    return [_risk_result(key, worst, details, frames, finding)]


def _so_variant(preds: _Predicates, frames_sorted, names, *, columns: int, attacks: int):
    """Main and control successes of the predicates on ``frames_sorted`` ((training,
    cache), (holdout, cache)); as in anonymeter the rates are out of the attacks asked
    for, so an attacker who finds few predicates singles out few."""
    out: dict[str, Any] = {"predicates": len(preds), "columns_per_predicate": columns}
    if len(preds) == 0:
        # Nobody is singled out by predicates that single out no synthetic record.
        main = control = 0
        out["note"] = "no predicate singles out exactly one synthetic record"
    else:
        (train, train_sorted), (hold, hold_sorted) = frames_sorted
        main = int((_count_matches(train, preds, train_sorted, cap=2) == 1).sum())
        control = int((_count_matches(hold, preds, hold_sorted, cap=2) == 1).sum())
    risk = Risk.of(Rate.of(main, attacks), Rate.of(control, attacks))
    out.update(risk.to_json())
    out["risk_object"] = risk
    out["examples"] = [_describe(preds.take([i]), names) for i in range(min(3, len(preds)))]
    return out


def _describe(pred: _Predicates, names: list[str]) -> str:
    parts = []
    for col, op, val in zip(pred.columns[0], pred.ops[0], pred.values[0], strict=True):
        if col < 0:
            continue
        symbol = {EQ: "=", GE: ">=", LE: "<=", MISSING: "is missing"}[int(op)]
        parts.append(f"{names[col]} {symbol}" + ("" if op == MISSING else f" {val:g}"))
    return " and ".join(parts)


# --- linkability -------------------------------------------------------------------------


def _link_sets(ctx: AuditContext) -> tuple[list[str], list[str]] | None:
    audited = ctx.data.distance_names()
    qis = [n for n in ctx.config.quasi_identifiers if n in audited]
    if qis:
        rest = [n for n in audited if n not in qis]
        return (qis, rest) if rest else None
    if len(audited) < 2:
        return None
    half = len(audited) // 2
    return audited[:half], audited[half:]


def _nearest_index(query: EncodedTable, reference: DistinctRecords) -> np.ndarray:
    """The row of ``reference`` nearest each query record (the lowest row among equally
    near ones; -1 when none was found)."""
    return nearest_distinct(query, reference).index[:, 0]


def linkability_risk(ctx: AuditContext) -> list[MetricResult]:
    key = "privacy.linkability_risk"
    frames = attack_frames(ctx)
    if frames is None:
        return [skipped(key, "lower", NO_HOLDOUT)]
    sets = _link_sets(ctx)
    if sets is None:
        return [skipped(key, "lower", "needs at least two columns usable for distances")]
    main_rows, control_rows = frames.targets("link", ctx.config.seed)
    links = {}
    # Each half searches the synthetic records in its own seeded order, so a tie between
    # equally near records is broken independently (a shared order would link by accident).
    second_order = rng_for(ctx.config.seed, "attacks.link.order").permutation(frames.synthetic_rows)
    first_syn = frames.synthetic_records(sets[0])
    second_syn = distinct_records(frames.encode("synthetic", second_order, sets[1]))
    for label, sample, rows in (
        ("main", "training", main_rows),
        ("control", "holdout", control_rows),
    ):
        first = _nearest_index(frames.encode(sample, rows, sets[0]), first_syn)
        second = _nearest_index(frames.encode(sample, rows, sets[1]), second_syn)
        second = np.where(second >= 0, second_order[np.maximum(second, 0)], -1)
        links[label] = int(((first == second) & (first >= 0)).sum())
    n = len(main_rows)
    risk = Risk.of(Rate.of(links["main"], n), Rate.of(links["control"], n))
    finding = None
    if risk.value > DEFAULT_THRESHOLDS[key]:
        finding = (
            f"An attacker holding two separate parts of a real person's record links them "
            f"through the same synthetic record {share_text(risk.value)} more often for "
            "training records than for unseen ones."
        )
    details = {
        "known_columns_first": sets[0],
        "known_columns_second": sets[1],
        "neighbours": 1,
        **risk.to_json(),
    }
    return [_risk_result(key, risk, details, frames, finding)]


# --- inference ---------------------------------------------------------------------------


def inference_risk(ctx: AuditContext) -> list[MetricResult]:
    key = "privacy.inference_risk"
    frames = attack_frames(ctx)
    if frames is None:
        return [skipped(key, "lower", NO_HOLDOUT)]
    if not ctx.config.sensitive:
        return [skipped(key, "lower", "no sensitive columns are named")]
    if not ctx.config.quasi_identifiers:
        return [
            skipped(key, "lower", "no quasi-identifier columns are named (what the attacker knows)")
        ]
    main_rows, control_rows = frames.targets("inference", ctx.config.seed)
    per_attribute: dict[str, Any] = {}
    risks: dict[str, Risk] = {}
    for secret in ctx.config.sensitive:
        known = _distance_columns(ctx, [q for q in ctx.config.quasi_identifiers if q != secret])
        if not known:
            per_attribute[secret] = {"risk": None, "reason": "no other known column"}
            continue
        col = ctx.column(secret)
        guesses_from = col.read_rows("synthetic", frames.synthetic_index)
        successes = {}
        main_truth = col.read_rows("real", frames.training_index[main_rows])
        control_truth = col.read_rows("holdout", frames.holdout_index[control_rows])
        for label, sample, rows, truth in (
            ("main", "training", main_rows, main_truth),
            ("control", "holdout", control_rows, control_truth),
        ):
            idx = _nearest_index(
                frames.encode(sample, rows, known), frames.synthetic_records(known)
            )
            guesses = guesses_from[np.maximum(idx, 0)]
            successes[label] = int((_guessed(guesses, truth, col.is_numeric) & (idx >= 0)).sum())
        n = len(main_rows)
        risk = Risk.of(Rate.of(successes["main"], n), Rate.of(successes["control"], n))
        risks[secret] = risk
        per_attribute[secret] = {"known_columns": known, **risk.to_json()}
    if not risks:
        return [
            skipped(
                key,
                "lower",
                "each sensitive column is the only quasi-identifier: nothing else is known",
                details={"attributes": per_attribute},
            )
        ]
    worst_name = max(risks, key=lambda k: (risks[k].value, k))
    worst = risks[worst_name]
    finding = None
    if worst.value > DEFAULT_THRESHOLDS[key]:
        known = ", ".join(per_attribute[worst_name]["known_columns"])
        low, high = worst.interval
        finding = (
            f"An attacker who knows {known} of a person in the training data could infer "
            f"their {worst_name} {share_text(worst.value)} more often than from population "
            f"data alone (95% interval {low:.1%}–{high:.1%})."
        )
    details = {
        "headline_attribute": worst_name,
        "attributes": per_attribute,
        "numeric_tolerance": INFERENCE_TOLERANCE,
        "guess": "the secret of the synthetic record nearest on the known columns",
    }
    return [_risk_result(key, worst, details, frames, finding)]


def _guessed(guess: np.ndarray, truth: np.ndarray, numeric: bool) -> np.ndarray:
    if not numeric:
        return guess == truth  # missing (-1) matches missing, as anonymeter
    both_missing = np.isnan(guess) & np.isnan(truth)
    with np.errstate(invalid="ignore"):
        close = np.abs(guess - truth) <= INFERENCE_TOLERANCE * np.abs(guess)
    return both_missing | close


# --- membership --------------------------------------------------------------------------


def auc_with_ci(members: np.ndarray, others: np.ndarray) -> tuple[float, float]:
    """ROC AUC of scores (higher = member), ties counted half, and the half-width of its
    95% interval (Hanley & McNeil 1982)."""
    n1, n0 = len(members), len(others)
    ranks = rankdata(np.concatenate([members, others]))
    auc = (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    return float(auc), float(Z95 * math.sqrt(max(var, 0.0)))


def tpr_at_fpr(members: np.ndarray, others: np.ndarray, fpr: float) -> tuple[float, float]:
    """(TPR, FPR) at the lowest threshold whose false-positive rate on the non-members is
    at most ``fpr``: records scoring strictly above the (k+1)-th highest non-member score
    are called members, k = floor(fpr x non-members)."""
    allowed = math.floor(fpr * len(others))
    if allowed >= len(others):
        return 1.0, 1.0
    cut = np.sort(others)[::-1][allowed]
    return float(np.mean(members > cut)), float(np.mean(others > cut))


def clopper_pearson(successes: int, n: int) -> tuple[float, float]:
    """Exact two-sided 95% interval for a binomial proportion."""
    low = 0.0 if successes == 0 else float(beta.ppf(0.025, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(0.975, successes + 1, n - successes))
    return low, high


def epsilon_lower_bound(tp: int, members: int, fp: int, others: int) -> dict[str, float]:
    """The epsilon a membership attack proves (pure DP, delta = 0): any eps-DP mechanism
    has TPR <= e^eps FPR and 1 - FPR <= e^eps (1 - TPR), so with the 95% Clopper-Pearson
    bounds eps >= ln(TPR_low / FPR_high) and eps >= ln((1 - FPR)_low / (1 - TPR)_high)."""
    tpr_low, tpr_high = clopper_pearson(tp, members)
    fpr_low, fpr_high = clopper_pearson(fp, others)
    bounds = [0.0]
    if tpr_low > 0 and fpr_high > 0:
        bounds.append(math.log(tpr_low / fpr_high))
    if fpr_high < 1 and tpr_low < 1:
        bounds.append(math.log((1 - fpr_high) / (1 - tpr_low)))
    return {
        "epsilon": max(bounds),
        "tpr_interval": [tpr_low, tpr_high],
        "fpr_interval": [fpr_low, fpr_high],
    }


def membership(ctx: AuditContext) -> list[MetricResult]:
    keys = (
        "privacy.membership_auc",
        "privacy.membership_tpr_at_1pct_fpr",
        "privacy.dp_epsilon_lower_bound",
    )
    frames = attack_frames(ctx)
    if frames is None:
        return [
            skipped(keys[0], "closer_to", NO_HOLDOUT, target=0.5),
            skipped(keys[1], "lower", NO_HOLDOUT),
            skipped(keys[2], "lower", NO_HOLDOUT),
        ]
    names = ctx.data.distance_names()
    if len(frames.holdout_index) < 4:
        reason = "the holdout has too few rows to split into reference and targets"
        return [
            skipped(keys[0], "closer_to", reason, target=0.5),
            skipped(keys[1], "lower", reason),
            skipped(keys[2], "lower", reason),
        ]
    rng = rng_for(ctx.config.seed, "attacks.membership")
    order = rng.permutation(len(frames.holdout_index))
    half = len(order) // 2
    count = min(frames.attack_count, half, len(frames.training_index))
    others = order[:count]
    density_reference = frames.encode("holdout", np.sort(order[half:]), names)
    members = rng.choice(len(frames.training_index), size=count, replace=False)
    targets = {
        "members": frames.encode("training", members, names),
        "others": frames.encode("holdout", others, names),
    }
    synthetic = frames.synthetic(names)
    scores: dict[str, dict[str, np.ndarray]] = {"distance": {}, "density_ratio": {}}
    for label, table in targets.items():
        to_syn = lower_bounds(nearest(table, synthetic, k=1))
        to_ref = lower_bounds(nearest(table, density_reference, k=1))
        scores["distance"][label] = -to_syn
        scores["density_ratio"][label] = np.log(to_ref + DENSITY_EPSILON) - np.log(
            to_syn + DENSITY_EPSILON
        )
    per_score = {}
    for name, s in scores.items():
        auc, half_width = auc_with_ci(s["members"], s["others"])
        tpr, fpr = tpr_at_fpr(s["members"], s["others"], MEMBERSHIP_FPR)
        per_score[name] = {"auc": auc, "auc_half_width": half_width, "tpr_at_1pct_fpr": tpr,
                           "fpr_at_threshold": fpr}  # fmt: skip
    best = max(per_score, key=lambda k: (per_score[k]["auc"], k))
    best_tpr = max(per_score, key=lambda k: (per_score[k]["tpr_at_1pct_fpr"], k))
    chosen = per_score[best]
    common = {
        "sample_size": frames.synthetic_rows,
        "population": frames.synthetic_population,
    }
    details = {
        "scores": per_score,
        "headline_score": best,
        "members_attacked": count,
        "non_members_attacked": count,
        "density_reference_rows": len(density_reference),
        "roc": _roc(scores[best]["members"], scores[best]["others"]),
        **frames.sample_details(),
    }
    finding = None
    if chosen["auc"] > DEFAULT_THRESHOLDS[keys[0]]:
        finding = (
            f"From the synthetic data alone, an attacker tells training records from unseen "
            f"ones with ROC AUC {chosen['auc']:.2f} (0.50 means no better than chance)."
        )
    auc_result = MetricResult(
        key=keys[0],
        value=chosen["auc"],
        direction="closer_to",
        target=0.5,
        details=details,
        uncertainty=chosen["auc_half_width"],
        finding=finding,
        **common,
    )
    tpr = per_score[best_tpr]["tpr_at_1pct_fpr"]
    tpr_finding = None
    if tpr > DEFAULT_THRESHOLDS[keys[1]]:
        tpr_finding = (
            f"At a 1% false-positive rate the membership attack finds {share_text(tpr)} of "
            "training records (1% expected by chance)."
        )
    tpr_result = MetricResult(
        key=keys[1],
        value=tpr,
        direction="lower",
        details={
            "score": best_tpr,
            "false_positive_rate": per_score[best_tpr]["fpr_at_threshold"],
            "expected_without_memorisation": MEMBERSHIP_FPR,
            "members_attacked": count,
            "non_members_attacked": count,
            **frames.sample_details(),
        },
        uncertainty=proportion_ci(tpr * count, count),
        finding=tpr_finding,
        **common,
    )
    chosen_fpr = per_score[best_tpr]["fpr_at_threshold"]
    bound = epsilon_lower_bound(round(tpr * count), count, round(chosen_fpr * count), count)
    epsilon_result = MetricResult(
        key=keys[2],
        value=bound["epsilon"],
        direction="lower",
        details={
            "score": best_tpr,
            "true_positive_rate": tpr,
            "false_positive_rate": chosen_fpr,
            **bound,
            "members_attacked": count,
            "non_members_attacked": count,
            "confidence": "95% Clopper-Pearson on each rate",
        },
        **common,
    )
    return [auc_result, tpr_result, epsilon_result]


def _roc(members: np.ndarray, others: np.ndarray, points: int = 50) -> dict[str, list]:
    thresholds = np.unique(np.concatenate([members, others]))[::-1]
    pick = thresholds[np.unique(np.linspace(0, len(thresholds) - 1, points).astype(int))]
    return {
        "fpr": [float(np.mean(others >= t)) for t in pick],
        "tpr": [float(np.mean(members >= t)) for t in pick],
    }


# --- near copies -------------------------------------------------------------------------


def near_copy_yardstick(holdout_distances: np.ndarray) -> tuple[float, str]:
    """The near-copy bar from unseen real records' distances to the reference (each
    divided by the number of columns): the 1st percentile, and the rule in words. A
    record is a near copy when closer than the bar, or at distance 0 when the bar is 0
    (see ``is_near_copy``). The relational family copies use the same bar per table."""
    threshold = float(np.percentile(holdout_distances, NEAR_COPY_PERCENTILE))
    if threshold > 0:
        return threshold, "closer than"
    return threshold, "at distance 0 (the holdout's 1st percentile is 0)"


def is_near_copy(distances: np.ndarray, threshold: float) -> np.ndarray:
    return distances < threshold if threshold > 0 else distances <= 0


def near_copy_rate(ctx: AuditContext) -> list[MetricResult]:
    key = "privacy.near_copy_rate"
    if not ctx.has_holdout:
        return [skipped(key, "lower", "needs a real holdout dataset (its distances set the bar)")]
    if not ctx.data.distance_names():
        return [skipped(key, "lower", "no columns usable for distances")]
    found = closest_records(ctx)
    p = found.encoding.n_columns
    syn = lower_bounds(found.synthetic_to_reference) / p
    hold = lower_bounds(found.holdout_to_reference) / p
    threshold, rule = near_copy_yardstick(hold)
    syn_near, hold_near = is_near_copy(syn, threshold), is_near_copy(hold, threshold)
    n = len(syn)
    rate = float(syn_near.mean())
    expected = float(hold_near.mean())
    finding = None
    if rate > max(DEFAULT_THRESHOLDS[key], 2 * expected):
        finding = (
            f"{share_text(rate)} of synthetic records sit nearer a training record than 99% of "
            f"unseen real records do (about {share_text(expected)} expected without "
            "memorisation)."
        )
    return [
        MetricResult(
            key=key,
            value=rate,
            direction="lower",
            details={
                "expected_without_memorisation": expected,
                "threshold_distance": threshold,
                "rule": rule,
                "holdout_rows": len(hold),
                "near_copies": int(syn_near.sum()),
                "excess_over_expected": rate - expected,
            },
            sample_size=n,
            population=ctx.data.n_synthetic,
            uncertainty=proportion_ci(rate * n, n),
            finding=finding,
        )
    ]


STEPS: list[Step] = [
    ("Privacy attacks: singling out", singling_out_risk),
    ("Privacy attacks: linkability", linkability_risk),
    ("Privacy attacks: inference", inference_risk),
    ("Privacy attacks: membership", membership),
    ("Privacy attacks: near copies", near_copy_rate),
]
