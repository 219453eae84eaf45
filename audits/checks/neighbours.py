"""Exact nearest-neighbour search for the mixed-type distance (see ``encoding``).

The distance between two records is ``H + N``: ``H`` the number of categorical columns
whose values differ, ``N`` the sum of absolute differences of the range-scaled numbers
(each in 0..1). Tree indexes degrade to brute force with one column per category, so the
search goes by *mismatch level* instead: at level ``h`` it looks, for every set of ``h``
categorical columns, at the reference records that agree with the query on all the other
categorical columns (hash buckets), and keeps those with exactly ``h`` mismatches, so each
reference record is met once. Every record not yet met has ``H >= h + 1`` and therefore
distance ``>= h + 1``: a query whose k-th best distance is within that bound is final.

Each level looks at the whole reference once per set of dropped columns (one pass over
the reference in cache-sized blocks serves a group of sets, see ``_LevelSearch._plans``),
so the levels stop when finishing the queries still open one by one is cheaper
(``FINISH_COST`` against ``SCAN_COST``): ``_finish_by_match_counts`` counts, for one
query, the equal columns of every reference record with packed bitsets and evaluates only
the records that can still beat the k-th best. Every query's distances are exact
(nothing is censored); ``floor`` and ``exact`` remain for the search's own bookkeeping.

A reference of more than ``REFERENCE_CHUNK_ROWS`` rows is encoded and searched a range of
rows at a time, each query's k best carried from range to range (``_nearest_in_chunks``),
so the search's memory is bounded by the range whatever the reference's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations, pairwise
from math import comb

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from audits.checks.encoding import EncodedRows, EncodedTable

PAIR_CHUNK = 1_000_000
# A reference of more rows than this is encoded and searched in ranges of at most this
# many rows (``_nearest_in_chunks``): the search's memory (the range's encoding, its
# hashes, plan candidates) is bounded by the range, not the reference. Measured with
# bench/distance_scale.py on the census bench data: searching in ranges costs CPU (the
# first range starts without carried distances, and every range repeats the levels'
# query-side work): at 10M rows, 3 ranges took 1.23x the CPU of one search (0.36 against
# 0.87 GiB above the audit's memory); at 50M, ranges of 10M took 1.07x and 1.39 GiB,
# ranges of 4M 1.24x and 1.01 GiB, against 4.25 GiB for the whole reference.
REFERENCE_CHUNK_ROWS = 10_000_000
# Bytes of (column, code) bitsets a match counter keeps (see ``_MatchCounter``).
MATCH_CACHE_BYTES = 64 << 20
BRUTE_FORCE_PAIRS = 5_000_000
BRUTE_FORCE_CHUNK = 2_000_000
# A bucket scan costs about this many column comparisons per reference record, and
# finishing one open query by match counts about this many per record plus a fixed
# overhead (measured on the benchmark's census data at 1M rows: 18 ms per scan, 1.3 ms
# per finished query, of which about 0.4 ms does not grow with the reference).
SCAN_COST = 4
FINISH_COST = 0.3
FINISH_OVERHEAD = 100_000
# A level-0 bucket (records equal on every categorical column) with more candidate
# pairs than this is searched with a KD-tree on its numbers instead of pair by pair: a
# table with few categorical columns (a transactions table: channel, approved) has a
# handful of buckets of a sixth of the table each, and its pairs grow with the square
# of the table (180M pairs, minutes, at 33k rows).
TREE_BUCKET_PAIRS = 250_000
TREE_BUCKET_REFS = 64
# The tree computes distances in float64 from the stored coordinates and the search in
# their own type (float32 differences, summed in float64). Both round each difference
# and each sum to a relative error far below this, so a ball of the k-th best distance
# widened by it holds every record the search's own arithmetic could put within that
# distance (a distance of 0 is exact in both; the absolute part only keeps r > 0).
TREE_SLACK = 1e-6
TREE_SLACK_ABSOLUTE = 1e-12
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)
# The plans of a level scan the reference in blocks of this many rows (a block's keys
# and lookups stay in cache), shared between this many threads (bench/distance_scale.py).
PLAN_BLOCK = 1 << 15
# At most this many sets of dropped columns are planned in one pass over the reference,
# and at most PLAN_CELLS // (reference rows) of them: a pass holds every set's slot
# table and candidates (at most every reference row per set) at once.
PLAN_GROUP = 16
PLAN_CELLS = 64_000_000
# Bits of a plan's slot table on the query keys (about 8 slots per distinct key).
PLAN_TABLE_BITS = (16, 24)
PLAN_THREADS = min(2, os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(PLAN_THREADS, thread_name_prefix="neighbours")
    return _POOL


Searches = list[tuple[EncodedTable, int]]
"""(queries, k): encoded query records, and how many nearest references each wants."""


@dataclass(frozen=True)
class Neighbours:
    """Raw (un-normalised) distances from each query record to its k nearest references.

    ``dist[i, j]`` is the (j+1)-th smallest distance found for query ``i`` (``inf`` if
    none was found). It is exact when ``exact[i]`` or ``dist[i, j] <= floor[i]``;
    otherwise the true value lies between ``floor[i]`` and ``dist[i, j]``.
    """

    dist: np.ndarray
    floor: np.ndarray
    exact: np.ndarray
    pairs_evaluated: int
    index: np.ndarray | None = None
    """With ``with_index``: ``index[i, j]`` is the reference row at ``dist[i, j]`` (-1 when
    none was found). Among equally near references the lowest row number is kept (a
    query stays open while a record not yet met could tie its k-th best with a lower
    row, see ``_LevelSearch._final``), however the reference is cut into ranges. The
    numeric-only search (no categorical column) keeps the KD-tree's choice among ties."""


def nearest(
    query: EncodedTable,
    reference: EncodedTable | EncodedRows,
    *,
    k: int = 1,
    max_level: int = 6,
    pair_budget: int = 400_000_000,
    fallback_budget: int = BRUTE_FORCE_PAIRS,
    brute_force_below: int = BRUTE_FORCE_PAIRS,
    with_index: bool = False,
    weights: np.ndarray | None = None,
) -> Neighbours:
    """The k nearest reference records of every query record under the mixed distance.

    Small problems are solved by brute force. Otherwise the level search runs, and the
    records it leaves open (past ``max_level``, over ``pair_budget`` candidate pairs in a
    level, or when finishing them is cheaper than another level) are compared with every
    reference by brute force when that costs at most ``fallback_budget`` pairs, else
    finished by match counts. Every distance returned is exact.
    ``with_index`` also returns which reference record each distance belongs to (the
    lowest row among equally near ones).
    ``weights`` (k = 1 only; see ``nearest_distinct``): reference record i stands for
    ``weights[i]`` equal records, and every size, budget and pair count is reckoned as
    for the table with those copies, so each choice of method is the same as for it.

    A reference of more than ``REFERENCE_CHUNK_ROWS`` rows (or one encoded on demand,
    ``EncodedRows``) is searched a range of rows at a time (see ``_nearest_in_chunks``):
    the same distances and rows, in memory bounded by the range, not the reference.
    """
    if weights is not None and k != 1:
        raise ValueError("weights need k = 1: copies of a record are its second nearest")
    n_ref = len(reference) if weights is None else int(weights.sum())
    if n_ref < k:
        raise ValueError("reference has fewer records than neighbours requested")
    options = {
        "max_level": max_level,
        "pair_budget": pair_budget,
        "fallback_budget": fallback_budget,
        "brute_force_below": brute_force_below,
        "with_index": with_index,
    }
    if isinstance(reference, EncodedTable) and len(reference) <= REFERENCE_CHUNK_ROWS:
        return _nearest_part(query, reference, k=k, weights=weights, **options)
    if query.codes.shape[1] == 0 and weights is not None:
        raise ValueError("the numeric-only search takes the full table (see nearest_distinct)")
    return _nearest_in_chunks([(query, k)], reference, weights=weights, **options)[0]


def _chunk_bounds(rows: int, k: int) -> list[tuple[int, int]]:
    """Consecutive ranges of about equal numbers of rows, at most
    ``REFERENCE_CHUNK_ROWS`` (at least k) each."""
    size = max(REFERENCE_CHUNK_ROWS, k, 1)
    parts = max(-(-rows // size), 1)
    edges = [rows * i // parts for i in range(parts + 1)]
    return list(pairwise(edges))


def _rows_of(reference: EncodedTable | EncodedRows, start: int, stop: int) -> EncodedTable:
    if isinstance(reference, EncodedTable):
        return EncodedTable(reference.codes[start:stop], reference.numbers[start:stop])
    return reference.rows(start, stop)


def nearest_several(
    searches: list[tuple[EncodedTable, int]],
    reference: EncodedTable | EncodedRows,
    **options,
) -> list[Neighbours]:
    """``[nearest(query, reference, k=k, **options) for query, k in searches]`` (without
    ``weights``), reading each range of a chunked reference once for all the searches
    (an ``EncodedRows`` reference is encoded once, not once per search)."""
    for _, k in searches:
        if len(reference) < k:
            raise ValueError("reference has fewer records than neighbours requested")
    if isinstance(reference, EncodedTable) and len(reference) <= REFERENCE_CHUNK_ROWS:
        return [nearest(query, reference, k=k, **options) for query, k in searches]
    return _nearest_in_chunks(searches, reference, weights=None, **options)


def _nearest_in_chunks(
    searches: list[tuple[EncodedTable, int]],
    reference: EncodedTable | EncodedRows,
    *,
    weights: np.ndarray | None = None,
    **options,
) -> list[Neighbours]:
    """``nearest`` for each (query, k) over consecutive ranges of reference rows, one
    range encoded (or sliced) and searched at a time (``nearest_in_parts``)."""
    k_most = max((k for _, k in searches), default=1)
    parts = (
        (start, _rows_of(reference, start, stop))
        for start, stop in _chunk_bounds(len(reference), k_most)
    )
    return nearest_in_parts(searches, parts, weights=weights, **options)


def nearest_in_parts(
    searches: list[tuple[EncodedTable, int]],
    parts: Iterable[tuple[int, EncodedTable]],
    *,
    weights: np.ndarray | None = None,
    carried: list[Neighbours] | None = None,
    **options,
) -> list[Neighbours]:
    """``nearest`` for each (query, k) over a reference given as consecutive parts
    ``(first row, rows)``, each made when the iteration asks for it and searched once
    for all the searches (each part must hold at least k rows).

    Each query's k best so far (distances and rows) are carried from part to part:
    the search of a part starts from them, so a query closes as soon as no record of
    the part can beat them, and the paths that start from scratch (brute force, match
    counts, the numeric tree) merge them in. The k best of the union are the k best of
    the whole reference, and every merge orders by (distance, row), so the rows are the
    lowest among equally near ones, as one search over the whole reference gives
    (``Neighbours.index``); each distance is computed by the same formula.
    ``carried``: each search's k best among rows before the first part, the start."""
    found: list[Neighbours | None] = list(carried) if carried else [None] * len(searches)
    pairs = [0] * len(searches)
    for start, part in parts:
        part_weights = None if weights is None else weights[start : start + len(part)]
        for i, (query, k) in enumerate(searches):
            found[i] = _nearest_part(
                query, part, k=k, weights=part_weights, carried=found[i], offset=start, **options
            )
            pairs[i] += found[i].pairs_evaluated
        del part
    return [
        Neighbours(f.dist, f.floor, f.exact, p, f.index)
        for f, p in zip(found, pairs, strict=True)
        if f is not None
    ]


def merge_exact(a: Neighbours, b: Neighbours) -> Neighbours:
    """The k best of two exact searches of the same queries over disjoint parts of a
    reference (distances only: ``index`` is not kept): the k best of the whole."""
    dist, _ = _merge_best(a.dist, None, b.dist, None)
    exact = a.exact & b.exact
    if not exact.all():
        raise ValueError("only exact searches merge")
    return Neighbours(dist, dist[:, -1].copy(), exact, a.pairs_evaluated + b.pairs_evaluated)


def _nearest_part(
    query: EncodedTable,
    reference: EncodedTable,
    *,
    k: int,
    max_level: int = 6,
    pair_budget: int = 400_000_000,
    fallback_budget: int = BRUTE_FORCE_PAIRS,
    brute_force_below: int = BRUTE_FORCE_PAIRS,
    with_index: bool = False,
    weights: np.ndarray | None = None,
    carried: Neighbours | None = None,
    offset: int = 0,
) -> Neighbours:
    """``nearest`` on one table, or on the range of reference rows from ``offset``
    when ``carried`` holds each query's k best (rows numbered in the whole reference)
    among the rows before it. Rows in the result are numbered from ``offset``.
    ``pairs_evaluated`` counts this part's pairs only. The defaults are ``nearest``'s
    (``nearest_several`` passes only the options its caller gave)."""
    n_ref = len(reference) if weights is None else int(weights.sum())
    n = len(query)
    if n * n_ref <= brute_force_below:
        found = _brute_force(
            query, reference, np.arange(n), k=k, into=None, with_index=with_index, n_ref=n_ref
        )
        return _with_carried(found, carried, offset, np.arange(n))
    if query.codes.shape[1] == 0:
        if weights is not None:
            raise ValueError("the numeric-only search takes the full table (see nearest_distinct)")
        return _with_carried(_nearest_numeric(query, reference, k=k), carried, offset, np.arange(n))
    search = _LevelSearch(
        query,
        reference,
        k=k,
        with_index=with_index,
        weights=weights,
        carried=carried,
        offset=offset,
    )
    found = search.run(max_level=max_level, budget=pair_budget)
    still_open = np.flatnonzero(~found.exact)
    if len(still_open) == 0:
        return found
    if len(still_open) * n_ref <= fallback_budget:
        finished = _brute_force(
            query, reference, still_open, k=k, into=found, with_index=with_index, n_ref=n_ref
        )
        return _with_carried(finished, carried, offset, still_open)
    # The search's transposed copies are reused, not copied again.
    return _finish_by_match_counts(
        query,
        reference,
        still_open,
        k=k,
        into=found,
        matches=_MatchCounter(reference, search.ref_codes_t),
        ref_numbers_t=search.ref_numbers_t,
        carried=carried,
        offset=offset,
    )


def _with_carried(
    found: Neighbours,
    carried: Neighbours | None,
    offset: int,
    rows: np.ndarray,
) -> Neighbours:
    """``found`` with the reference rows it names for the query ``rows`` (numbered from
    0; elsewhere they are numbered already) renumbered from ``offset`` and, for those
    queries, the k best of ``carried`` merged in (the floor stays at least the k-th
    best distance)."""
    index = found.index
    if index is not None and offset:
        index = index.copy()
        index[rows] = np.where(index[rows] >= 0, index[rows] + offset, -1)
    dist, floor = found.dist, found.floor
    if carried is not None and len(rows):
        dist, floor = dist.copy(), floor.copy()
        merged_d, merged_r = _merge_best(
            carried.dist[rows],
            None if carried.index is None else carried.index[rows],
            dist[rows],
            None if index is None else index[rows],
        )
        dist[rows] = merged_d
        if index is not None:
            index[rows] = merged_r
        floor[rows] = np.minimum(floor[rows], carried.floor[rows])
        floor[rows] = np.maximum(floor[rows], dist[rows, -1])
    return Neighbours(dist, floor, found.exact, found.pairs_evaluated, index)


def _merge_best(
    dist_a: np.ndarray,
    index_a: np.ndarray | None,
    dist_b: np.ndarray,
    index_b: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each row's k best of two k-best lists, by (distance, row): equal distances keep
    the lower row (-1, nothing found, goes last)."""
    k = dist_a.shape[1]
    all_d = np.hstack([dist_a, dist_b])
    if index_a is None or index_b is None:
        return np.sort(all_d, axis=1)[:, :k], None
    all_r = np.hstack([index_a, index_b])
    never = np.iinfo(np.int64).max
    rank = np.lexsort((np.where(all_r < 0, never, all_r), all_d), axis=-1)[:, :k]
    return np.take_along_axis(all_d, rank, axis=1), np.take_along_axis(all_r, rank, axis=1)


@dataclass(frozen=True)
class DistinctRecords:
    """A table's distinct records in order of first occurrence: ``table`` holds one of
    each, ``first_row[i]`` is the row where record i first occurs and ``counts[i]`` how
    many rows hold it; ``full`` is the table itself."""

    table: EncodedTable
    first_row: np.ndarray
    counts: np.ndarray
    full: EncodedTable


def distinct_records(table: EncodedTable, *, worth: float = 0.5) -> DistinctRecords:
    """Group equal records (equal codes and equal coordinates): each column is factorised
    and the codes are combined in mixed radix, re-factorised before they could overflow,
    so the grouping is exact. When one column alone has more than ``worth`` x rows
    distinct values, grouping would save little: every row is then its own record."""
    n = len(table)
    key = np.zeros(n, dtype=np.int64)
    span = 1
    # Numbers first: a continuous column shows soonest that grouping would not pay.
    for column in [*table.numbers.T, *table.codes.T]:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        if len(uniques) > worth * n:
            return DistinctRecords(table, np.arange(n), np.ones(n, dtype=np.int64), table)
        if span * len(uniques) >= 2**62:
            key, seen = pd.factorize(key)
            span = len(seen)
        key = key * len(uniques) + codes
        span *= len(uniques)
    labels, _ = pd.factorize(key)  # numbered in order of first occurrence
    labels = labels.astype(np.int64)
    if n:
        first = np.flatnonzero(np.r_[True, labels[1:] > np.maximum.accumulate(labels)[:-1]])
    else:
        first = np.zeros(0, dtype=np.int64)
    return DistinctRecords(
        table.take(first), first, np.bincount(labels, minlength=len(first)), table
    )


def nearest_distinct(query: EncodedTable, records: DistinctRecords, **options) -> Neighbours:
    """``nearest(query, records.full, k=1, with_index=True, **options)``, searching each
    distinct record once. Equal records lie at equal distances and the search keeps the
    lowest row among equally near records; numbering distinct records by first
    occurrence keeps that order, so the distances and rows found are the same."""
    if query.codes.shape[1] == 0 or records.table is records.full:
        return nearest(query, records.full, k=1, with_index=True, **options)
    found = nearest(query, records.table, k=1, with_index=True, weights=records.counts, **options)
    index = np.where(found.index >= 0, records.first_row[np.maximum(found.index, 0)], -1)
    return Neighbours(found.dist, found.floor, found.exact, found.pairs_evaluated, index)


def _brute_force(
    query: EncodedTable,
    reference: EncodedTable,
    rows: np.ndarray,
    *,
    k: int,
    into: Neighbours | None,
    with_index: bool = False,
    n_ref: int | None = None,
) -> Neighbours:
    """Exact distances from the query ``rows`` to every reference record (``n_ref``: the
    number of records the reference stands for, counted in the pairs)."""
    n = len(query)
    if into is None:
        dist, floor = np.full((n, k), np.inf), np.zeros(n)
        exact, pairs = np.zeros(n, dtype=bool), 0
        index = np.full((n, k), -1, dtype=np.int64) if with_index else None
    else:
        dist, floor = into.dist.copy(), into.floor.copy()
        exact, pairs = into.exact.copy(), into.pairs_evaluated
        index = None if into.index is None else into.index.copy()
    # Column by column, so no (queries x references x columns) temporary is built.
    ref_codes = np.ascontiguousarray(reference.codes.T)
    ref_numbers = np.ascontiguousarray(reference.numbers.T)
    step = max(1, BRUTE_FORCE_CHUNK // max(len(reference), 1))
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        total = np.zeros((len(chunk), len(reference)), dtype=np.float64)
        for j, column in enumerate(ref_codes):
            total += query.codes[chunk, j, None] != column[None, :]
        for j, column in enumerate(ref_numbers):
            total += np.abs(query.numbers[chunk, j, None] - column[None, :])
        if index is None:
            dist[chunk] = np.sort(np.partition(total, k - 1, axis=1)[:, :k], axis=1)
        else:
            # argmin keeps the lowest row number among equally near references.
            for j in range(k):
                best = np.argmin(total, axis=1)
                index[chunk, j] = best
                dist[chunk, j] = total[np.arange(len(chunk)), best]
                total[np.arange(len(chunk)), best] = np.inf
        pairs += len(chunk) * (len(reference) if n_ref is None else n_ref)
    exact[rows] = True
    floor[rows] = dist[rows, k - 1]
    return Neighbours(dist, floor, exact, pairs, index)


class _MatchCounter:
    """How many categorical columns each reference record shares with one query, for
    all references at once: one packed bitset per (column, code) (built when a query
    first needs it), added up as bit-sliced binary numbers, 64 records per operation.
    Costs about ``n_columns * 2 * planes / 64`` word operations per reference record,
    against ``SCAN_COST`` per record for each of a level's bucket scans."""

    def __init__(self, reference: EncodedTable, codes_t: np.ndarray | None = None) -> None:
        # ``codes_t``: the reference's codes transposed, when the caller has them already.
        self.codes_t = np.ascontiguousarray(reference.codes.T) if codes_t is None else codes_t
        self.n = len(reference)
        self.n_cat = reference.codes.shape[1]
        self.planes = max(self.n_cat.bit_length(), 1)
        self.words = -(-self.n // 64)
        self._bits: dict[tuple[int, int], np.ndarray] = {}
        valid = np.zeros(self.words * 64, dtype=bool)
        valid[: self.n] = True
        self.valid = self._pack(valid)
        # Each column's codes (shifted by one, so missing is 0) as packed bit planes:
        # a few planes per column, however many codes it has. A (column, code) bitset
        # is kept once built while the kept ones stay under ``MATCH_CACHE_BYTES``; past
        # that it is recomputed from the planes (a handful of word operations).
        self._code_planes: dict[int, list[np.ndarray]] = {}
        self._kept_bytes = 0

    def _pack(self, flags: np.ndarray) -> np.ndarray:
        padded = np.zeros(self.words * 64, dtype=bool)
        padded[: len(flags)] = flags
        return np.packbits(padded, bitorder="little").view("<u8")

    def _bitset(self, column: int, code: int) -> np.ndarray:
        key = (column, code)
        found = self._bits.get(key)
        if found is not None:
            return found
        if self._kept_bytes + 8 * self.words <= MATCH_CACHE_BYTES:
            found = self._bits[key] = self._pack(self.codes_t[column] == code)
            self._kept_bytes += found.nbytes
            return found
        return self._from_planes(column, code)

    def _from_planes(self, column: int, code: int) -> np.ndarray:
        """The bitset of ``codes_t[column] == code`` from the column's bit planes."""
        planes = self._code_planes.get(column)
        if planes is None:
            codes = self.codes_t[column]
            # One size wider than the codes (so code + 1 cannot overflow), not int64.
            wider = {1: np.int16, 2: np.int32}.get(codes.dtype.itemsize, np.int64)
            shifted = codes.astype(wider)
            shifted += 1
            top = max(int(shifted.max(initial=0)).bit_length(), 1)
            planes = self._code_planes[column] = [
                self._pack((shifted >> b) & 1 == 1) for b in range(top)
            ]
        value = code + 1
        if value < 0 or value >> len(planes):
            return np.zeros(self.words, dtype=np.uint64)
        equal = self.valid.copy()
        for b, plane in enumerate(planes):
            if (value >> b) & 1:
                equal &= plane
            else:
                equal &= ~plane
        return equal

    def count(self, codes: np.ndarray) -> list[np.ndarray]:
        """Bit planes (least significant first) of each reference's number of columns
        equal to ``codes`` (one query's categorical codes)."""
        planes = [np.zeros(self.words, dtype=np.uint64) for _ in range(self.planes)]
        # In place, into two scratch words arrays: a new array per operation costs more
        # than the operation (fresh pages) at millions of references.
        scratch = [np.empty(self.words, dtype=np.uint64) for _ in range(2)]
        for column, code in enumerate(codes):
            carry = self._bitset(column, int(code))
            # After ``column + 1`` columns a count is at most ``column + 1``: the planes
            # above its highest bit stay zero, so the carry stops there.
            top = min((column + 1).bit_length(), self.planes)
            for b in range(top):
                if b == top - 1:
                    planes[b] ^= carry
                    break
                following = scratch[b % 2]
                np.bitwise_and(planes[b], carry, out=following)
                planes[b] ^= carry
                carry = following
        return planes

    def at_least(self, planes: list[np.ndarray], wanted: int) -> np.ndarray:
        """Packed flags of the references with at least ``wanted`` equal columns."""
        if wanted <= 0:
            return self.valid.copy()
        if wanted > self.n_cat:
            return np.zeros(self.words, dtype=np.uint64)
        greater = np.zeros(self.words, dtype=np.uint64)
        equal = self.valid.copy()
        scratch = np.empty(self.words, dtype=np.uint64)
        for b in reversed(range(self.planes)):
            if (wanted >> b) & 1:
                equal &= planes[b]
            else:
                greater |= np.bitwise_and(equal, planes[b], out=scratch)
                equal &= np.invert(planes[b], out=scratch)
        greater |= equal
        return greater

    @staticmethod
    def rows(flags: np.ndarray) -> np.ndarray:
        """Row numbers of the set flags, ascending."""
        words = np.flatnonzero(flags)
        bits = np.unpackbits(flags[words].view(np.uint8), bitorder="little").reshape(-1, 64)
        hit_word, hit_bit = np.nonzero(bits)
        return words[hit_word] * 64 + hit_bit


def _finish_by_match_counts(
    query: EncodedTable,
    reference: EncodedTable,
    rows: np.ndarray,
    *,
    k: int,
    into: Neighbours,
    matches: _MatchCounter,
    ref_numbers_t: np.ndarray | None = None,
    carried: Neighbours | None = None,
    offset: int = 0,
) -> Neighbours:
    """Exact k nearest references of the query ``rows``, from scratch, without comparing
    each query with every reference.

    A reference with ``H`` mismatching categorical columns is at distance ``>= H``. So
    the search evaluates (exactly as ``_brute_force`` does) the references with the
    fewest mismatches that hold at least k records, then widens to every reference with
    ``H <= floor(d_k)`` (``d_k`` the k-th best distance so far) until that no longer
    grows: every reference left out is then farther than ``d_k``, and every reference
    tied at a kept distance was evaluated, so the lowest row wins ties as in
    ``_brute_force``. The result is exact for every row (nothing censored).

    With ``carried`` (each query's k best among the reference rows before ``offset``,
    this reference being the rows from ``offset``), a row starts from its carried k
    best, so only the references with ``H <= floor(d_k)`` of those are evaluated; rows
    are returned numbered from ``offset``."""
    dist, floor = into.dist.copy(), into.floor.copy()
    exact, pairs = into.exact.copy(), into.pairs_evaluated
    index = None if into.index is None else into.index.copy()
    ref_codes_t = matches.codes_t
    if ref_numbers_t is None:
        ref_numbers_t = np.ascontiguousarray(reference.numbers.T)
    n_cat = matches.n_cat
    for row in rows:
        planes = matches.count(query.codes[row])
        level = 0
        best_d, best_r = np.zeros(0), np.zeros(0, dtype=np.int64)
        if carried is not None and np.isfinite(carried.dist[row, k - 1]):
            # Carried rows precede this reference's: never -1 (a k-th best was found).
            best_d = carried.dist[row]
            best_r = carried.index[row] - offset if carried.index is not None else best_r
            level = min(int(np.floor(best_d[-1])), n_cat)
            if carried.index is None:
                best_r = np.full(k, -1, dtype=np.int64)
        while level < n_cat and len(best_d) < k:
            flags = matches.at_least(planes, n_cat - level)
            if int(np.bitwise_count(flags).sum()) >= k:
                break
            level += 1
        seen = np.zeros(matches.words, dtype=np.uint64)
        while True:
            flags = matches.at_least(planes, n_cat - level)
            new = matches.rows(flags & ~seen)
            seen |= flags
            total = np.zeros(len(new), dtype=np.float64)
            for j, column in enumerate(ref_codes_t):
                total += query.codes[row, j] != column.take(new)
            for j, column in enumerate(ref_numbers_t):
                total += np.abs(query.numbers[row, j] - column.take(new))
            pairs += len(new)
            all_d, all_r = np.concatenate([best_d, total]), np.concatenate([best_r, new])
            keep = np.lexsort((all_r, all_d))[:k]
            best_d, best_r = all_d[keep], all_r[keep]
            widest = min(int(np.floor(best_d[-1])), n_cat)
            if widest <= level:
                break
            level = widest
        dist[row] = best_d
        if index is not None:
            index[row] = best_r + offset
        floor[row] = best_d[-1]
        exact[row] = True
    return Neighbours(dist, floor, exact, pairs, index)


def _nearest_numeric(query: EncodedTable, reference: EncodedTable, *, k: int) -> Neighbours:
    # Without categories the distance is plain L1 on a handful of coordinates, where a
    # KD-tree is exact and fast.
    tree = cKDTree(reference.numbers.astype(np.float64), balanced_tree=False)
    dist, index = tree.query(query.numbers.astype(np.float64), k=k, p=1, workers=-1)
    dist = np.asarray(dist, dtype=np.float64).reshape(len(query), k)
    index = np.asarray(index, dtype=np.int64).reshape(len(query), k)
    n = len(query)
    return Neighbours(dist, np.full(n, np.inf), np.ones(n, dtype=bool), n * k, index)


def _column_hashes(codes: np.ndarray) -> np.ndarray:
    """A random-looking 64-bit value per (column, code) (splitmix64 of both).

    A bucket key is the XOR of the kept columns' values, so dropping a column from the
    key is one XOR. Two different code tuples share a key only by a 2**-64 accident, and
    even then the candidates' exact mismatch count is checked, so no neighbour is lost.
    """
    columns = np.arange(codes.shape[1], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = codes.astype(np.int64).astype(np.uint64) + (columns + np.uint64(1)) * _HASH_MULT
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _hash_table(column: int, max_code: int) -> np.ndarray:
    """``_column_hashes`` of codes ``0 .. max_code`` in ``column``, then of code -1 last."""
    codes = np.r_[np.arange(max_code + 1), -1]
    placed = np.zeros((len(codes), column + 1), dtype=np.int64)
    placed[:, column] = codes
    return np.ascontiguousarray(_column_hashes(placed)[:, column])


class _LevelSearch:
    def __init__(
        self,
        query: EncodedTable,
        reference: EncodedTable,
        *,
        k: int,
        with_index: bool = False,
        weights: np.ndarray | None = None,
        carried: Neighbours | None = None,
        offset: int = 0,
    ) -> None:
        """``carried``: each query's k best among the reference rows before ``offset``
        (this reference being the rows from ``offset``), the search's starting point;
        the rows it keeps are numbered from ``offset``."""
        self.query = query
        self.reference = reference
        self.weights = weights
        self.n_reference = len(reference) if weights is None else int(weights.sum())
        self.k = k
        self.offset = offset
        n = len(query)
        self.best = np.full((n, k), np.inf) if carried is None else carried.dist.copy()
        self.best_index = None
        if with_index:
            self.best_index = (
                np.full((n, k), -1, dtype=np.int64) if carried is None else carried.index.copy()
            )
        self.floor = np.zeros(n)
        self.open = np.arange(n)
        if carried is not None:
            # A query whose k best carried are at distance 0 (and, for rows, precede
            # every row here) cannot change: it is not searched again.
            self.open = self.open[~self._final(self.open, 0)]
        self.pairs = 0
        # Views, not copies, when the tables are stored column by column (as
        # ``encode_rows`` stores them): the reference is the search's largest input.
        self.ref_codes_t = np.ascontiguousarray(reference.codes.T)
        self.query_codes_t = np.ascontiguousarray(query.codes.T)
        self.ref_numbers_t = np.ascontiguousarray(reference.numbers.T)
        # The reference's per-column hashes are looked up from one small table per
        # column when a plan drops that column, not stored (8 bytes per cell).
        self.hash_tables = [
            _hash_table(j, max(int(r.max(initial=-1)), int(q.max(initial=-1))))
            for j, (r, q) in enumerate(zip(self.ref_codes_t, self.query_codes_t, strict=True))
        ]
        self.query_hash = _column_hashes(query.codes)
        self.ref_full = np.zeros(len(reference), dtype=np.uint64)
        for j in range(len(self.hash_tables)):
            self.ref_full ^= self._ref_hash(j)
        self.query_full = np.bitwise_xor.reduce(self.query_hash, axis=1)
        self.query_order = self.open
        # Candidate rows are held as int32 while a pass over the reference collects them.
        self.row_dtype = np.int32 if len(reference) < 2**31 else np.intp
        self.query_numbers_t = np.ascontiguousarray(query.numbers.T)
        self.numbers_dtype = np.result_type(reference.numbers, query.numbers)

    def run(self, *, max_level: int, budget: int) -> Neighbours:
        n_cat = self.query.codes.shape[1]
        for level in range(min(max_level, n_cat) + 1):
            scans = comb(n_cat, level)
            if len(self.open) == 0:
                break
            n_ref = len(self.reference)
            finishing = len(self.open) * (FINISH_COST * n_ref + FINISH_OVERHEAD)
            if level > 0 and finishing < scans * SCAN_COST * n_ref:
                break  # finishing the few open records one by one is cheaper
            if not self._search_level(level, budget):
                break  # an unfinished level proves nothing about the records it missed
            self.floor[self.open] = level + 1
            self.open = self.open[~self._final(self.open, level + 1)]
        exact = np.ones(len(self.query), dtype=bool)
        exact[self.open] = False
        return Neighbours(self.best, self.floor, exact, self.pairs, self.best_index)

    def _final(self, queries: np.ndarray, bound: int) -> np.ndarray:
        """Which of these queries are final once every reference record not yet met is
        at distance ``>= bound``: their k-th best is below it, or, on it, cannot be
        displaced: without rows, an equal distance changes nothing; with rows, an equal
        record wins only with a lower row, so the k-th best must precede this
        reference's rows (carried from earlier ones). So the rows kept are the lowest
        among equally near records, however the reference is cut."""
        kth = self.best[queries, self.k - 1]
        if self.best_index is None:
            return kth <= bound
        row = self.best_index[queries, self.k - 1]
        return (kth < bound) | ((kth == bound) & (row >= 0) & (row < self.offset))

    def _search_level(self, level: int, budget: int) -> bool:
        n_cat = self.query.codes.shape[1]
        dropped_sets = list(combinations(range(n_cat), level))
        # Sets planned in one pass: their candidates (at most every reference each) are
        # held together, so the group is bounded by PLAN_CELLS reference rows.
        size = int(np.clip(PLAN_CELLS // max(len(self.reference), 1), 1, PLAN_GROUP))
        for first in range(0, len(dropped_sets), size):
            group = dropped_sets[first : first + size]
            for plan, query_order in self._plans(group):
                self.query_order = query_order
                if level > 0 and self.pairs + self._pairs(plan[0], plan[2]) > budget:
                    return False
                if level == 0 and len(self.ref_numbers_t):
                    plan = self._search_large_buckets(plan)
                self._evaluate(plan, level)
        return True

    def _search_large_buckets(
        self, plan: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Search the level-0 buckets with more than ``TREE_BUCKET_PAIRS`` pairs with a
        KD-tree and return the plan of the others (searched pair by pair as before).

        In a level-0 bucket every record has the query's codes, so the distance is the
        L1 distance of the numbers. The tree gives each query's k-th best distance
        (equal records counted once per copy); every record within it (plus
        ``TREE_SLACK``) is then evaluated exactly as the pair-by-pair search evaluates
        it, keeping of equal records only the first k rows (later copies can neither
        beat nor, the lowest row winning ties, replace them). So the k best found,
        their distances and rows are those of the pair-by-pair search. The pairs are
        counted as if every pair of the bucket had been evaluated, so the later
        choices (budgets, levels) are unchanged."""
        refs, lo, counts = plan
        if len(refs) == 0:
            return plan
        # Without a sort first: references per bucket (keyed by its first query) and
        # the bucket's queries; most tables have no large bucket at all.
        per_bucket = np.bincount(lo)
        queries_at = np.zeros(len(per_bucket), dtype=np.int64)
        queries_at[lo] = counts
        if not (
            (per_bucket >= TREE_BUCKET_REFS) & (per_bucket * queries_at > TREE_BUCKET_PAIRS)
        ).any():
            return plan
        order = np.lexsort((refs, lo))  # buckets together, rows ascending in each
        refs, lo, counts = refs[order], lo[order], counts[order]
        starts = np.flatnonzero(np.r_[True, lo[1:] != lo[:-1]])
        sizes = np.diff(np.r_[starts, len(refs)])
        large = (sizes >= TREE_BUCKET_REFS) & (sizes * counts[starts] > TREE_BUCKET_PAIRS)
        if not large.any():
            return plan
        kept = np.ones(len(refs), dtype=bool)
        for start, size in zip(starts[large], sizes[large], strict=True):
            bucket = refs[start : start + size]
            queries = self.query_order[lo[start] : lo[start] + counts[start]]
            if self._search_bucket(bucket, queries):
                kept[start : start + size] = False
                self.pairs += self._pairs(bucket, np.full(size, len(queries)))
        return refs[kept], lo[kept], counts[kept]

    def _search_bucket(self, bucket: np.ndarray, queries: np.ndarray) -> bool:
        """One large level-0 bucket (reference rows ascending, query rows) by tree;
        False (nothing done) when its codes differ (a hash accident) or a number is
        not finite, so the pair-by-pair search takes it."""
        codes = self.query_codes_t[:, queries[0], None]
        if not (
            (self.ref_codes_t[:, bucket] == codes).all()
            and (self.query_codes_t[:, queries] == codes).all()
        ):
            return False
        points = self.ref_numbers_t[:, bucket].T.astype(np.float64)
        targets = self.query_numbers_t[:, queries].T.astype(np.float64)
        if not (np.isfinite(points).all() and np.isfinite(targets).all()):
            return False
        k = self.k
        distinct, _, inverse, copies = np.unique(
            points, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
        # The first k rows of each distinct point (-1 where it has fewer copies).
        by_point = np.argsort(inverse, kind="stable")
        point_start = np.cumsum(copies) - copies
        members = np.full((len(distinct), k), -1, dtype=np.int64)
        for j in range(k):
            has = copies > j
            members[has, j] = bucket[by_point[point_start[has] + j]]
        tree = cKDTree(distinct, balanced_tree=False)
        near = min(k, len(distinct))
        dist, point = tree.query(targets, k=near, p=1)
        dist = np.asarray(dist, dtype=np.float64).reshape(len(queries), near)
        point = np.asarray(point, dtype=np.int64).reshape(len(queries), near)
        # The k-th best counts every copy: the first nearest point whose copies bring
        # the count to k (none: fewer than k records, every record is a candidate).
        enough = np.cumsum(copies[point], axis=1) >= k
        reached = enough.any(axis=1)
        kth = np.where(reached, dist[np.arange(len(queries)), enough.argmax(axis=1)], np.inf)
        radius = kth * (1 + TREE_SLACK) + TREE_SLACK_ABSOLUTE
        found = tree.query_ball_point(targets, radius, p=1, return_sorted=False)
        per_query = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        hit = np.concatenate([np.asarray(f, dtype=np.int64) for f in found if len(f)] or [[]])
        hit = hit.astype(np.int64)
        q_idx = np.repeat(np.repeat(queries, per_query)[:, None], k, axis=1).reshape(-1)
        ref_idx = members[hit].reshape(-1)
        real = ref_idx >= 0
        self._evaluate_pairs(q_idx[real], ref_idx[real], 0)
        return True

    def _ref_hash(self, column: int) -> np.ndarray:
        """``_column_hashes`` of the reference's codes in ``column`` (code -1 is the
        table's last entry, so the codes index it as they are)."""
        return self.hash_tables[column].take(self.ref_codes_t[column])

    def _pairs(self, refs: np.ndarray, counts: np.ndarray) -> int:
        """Pairs of these references and query counts, each reference counted for the
        records it stands for."""
        if self.weights is None:
            return int(counts.sum())
        return int((counts * self.weights[refs]).sum())

    def _plans(
        self, dropped_sets: list[tuple[int, ...]]
    ) -> Iterator[tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]:
        """For each set of dropped columns (in turn, as the caller asks), the pairs to
        examine: (reference rows, start and count of their queries in the query order),
        for references whose bucket holds open queries, and that query order (the open
        queries sorted by key).

        One pass over the reference serves every set: it goes in blocks of
        ``PLAN_BLOCK`` rows, and in each block a column's hashes are looked up once and
        a set's key is its prefix's key (kept while the sets share it) XOR one column,
        so the keys and lookups stay in cache and the working arrays are bounded by the
        block, not the reference; only the few candidates of each block are kept. The
        blocks are shared between ``PLAN_THREADS`` threads (numpy releases the GIL in
        these operations) and joined in row order, so each plan is the same as one scan
        per set would give."""
        sides = []
        for dropped in dropped_sets:
            q_keys = self.query_full[self.open]
            for col in dropped:
                q_keys = q_keys ^ self.query_hash[self.open, col]
            order = np.argsort(q_keys, kind="stable")
            sorted_keys = q_keys[order]
            # The distinct keys, each with its first position and count in that order.
            first = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            distinct = sorted_keys[first]
            counts = np.diff(np.r_[first, len(sorted_keys)])
            # A slot table on the low bits of the keys: the distinct key's number, -1
            # for no key, -2 for several (looked up by binary search). One gather
            # discards most references and finds the bucket of the others.
            bits = int(np.clip(np.ceil(np.log2(8 * len(distinct) + 1)), *PLAN_TABLE_BITS))
            mask = np.uint64((1 << bits) - 1)
            low = (distinct & mask).view(np.intp)
            table = np.full(1 << bits, -1, dtype=np.int32)
            table[low] = np.arange(len(distinct), dtype=np.int32)
            shared = np.bincount(low, minlength=1 << bits) > 1
            table[shared] = -2
            sides.append((self.open[order], distinct, first, counts, mask, table))

        def scan(start: int) -> list[tuple[np.ndarray, np.ndarray]]:
            stop = min(start + PLAN_BLOCK, len(self.ref_full))
            hashes: dict[int, np.ndarray] = {}
            # The keys of the current set's prefixes (a stack: the sets come in order).
            stack: list[np.ndarray] = [self.ref_full[start:stop]]
            previous: tuple[int, ...] = ()
            found = []
            for dropped, (_, distinct, _, _, mask, table) in zip(dropped_sets, sides, strict=True):
                shared_prefix = 0
                while (
                    shared_prefix < min(len(previous), len(dropped))
                    and previous[shared_prefix] == dropped[shared_prefix]
                ):
                    shared_prefix += 1
                del stack[shared_prefix + 1 :]
                for col in dropped[shared_prefix:]:
                    if col not in hashes:
                        hashes[col] = self.hash_tables[col].take(self.ref_codes_t[col][start:stop])
                    stack.append(stack[-1] ^ hashes[col])
                previous, keys = dropped, stack[-1]
                slots = table.take((keys & mask).view(np.intp))
                rows = np.flatnonzero(slots != -1)
                keys, slots = keys.take(rows), slots.take(rows)
                shared = slots == -2
                if shared.any():
                    at = np.minimum(np.searchsorted(distinct, keys[shared]), len(distinct) - 1)
                    slots[shared] = at
                hit = distinct.take(slots) == keys
                found.append(((rows[hit] + start).astype(self.row_dtype), slots[hit]))
            return found

        starts = range(0, len(self.ref_full), PLAN_BLOCK)
        if PLAN_THREADS > 1 and len(starts) > 1:
            blocks = list(_pool().map(scan, starts))
        else:
            blocks = [scan(start) for start in starts]
        # One set's plan at a time (int64 rows, starts and counts: 24 bytes a candidate),
        # each made when the search asks for it; the blocks' compact parts go as it does.
        for i, (query_order, _, first, counts, _, _) in enumerate(sides):
            refs = np.concatenate([b[i][0] for b in blocks] or [np.zeros(0, np.intp)])
            slots = np.concatenate([b[i][1] for b in blocks] or [np.zeros(0, np.int32)])
            for b in blocks:
                b[i] = None
            yield (refs.astype(np.intp), first[slots], counts[slots]), query_order
            del refs, slots

    def _evaluate(self, plan: tuple[np.ndarray, np.ndarray, np.ndarray], level: int) -> None:
        refs, lo, counts = plan
        if len(refs) == 0:
            return
        cum = np.cumsum(counts)
        start = 0
        while start < len(refs):
            # Cut the references into runs whose candidate pairs fit one chunk.
            base = cum[start - 1] if start else 0
            stop = max(int(np.searchsorted(cum, base + PAIR_CHUNK, side="right")), start + 1)
            part = slice(start, stop)
            self._evaluate_chunk(refs[part], lo[part], counts[part], level)
            start = stop

    def _evaluate_chunk(
        self, refs: np.ndarray, lo: np.ndarray, counts: np.ndarray, level: int
    ) -> None:
        total = int(counts.sum())
        self.pairs += self._pairs(refs, counts)
        offsets = np.repeat(np.cumsum(counts) - counts, counts)
        q_idx = self.query_order[np.repeat(lo, counts) + (np.arange(total) - offsets)]
        ref_idx = np.repeat(refs, counts)
        self._evaluate_pairs(q_idx, ref_idx, level)

    def _evaluate_pairs(self, q_idx: np.ndarray, ref_idx: np.ndarray, level: int) -> None:
        """Exact distances of these (query, reference) pairs with ``level`` mismatches,
        folded into the queries' k best."""
        mismatches = np.zeros(len(q_idx), dtype=np.int64)
        # Column by column over transposed copies: gathering one value per pair from a
        # contiguous column is cheaper than gathering short rows.
        for ref_col, query_col in zip(self.ref_codes_t, self.query_codes_t, strict=True):
            mismatches += ref_col.take(ref_idx) != query_col.take(q_idx)
        keep = mismatches == level
        ref_idx, q_idx = ref_idx[keep], q_idx[keep]
        # The same (pairs x coordinates) array as before, so its row sums are unchanged.
        numeric = np.empty((len(ref_idx), len(self.ref_numbers_t)), self.numbers_dtype)
        for j, (ref_col, query_col) in enumerate(
            zip(self.ref_numbers_t, self.query_numbers_t, strict=True)
        ):
            np.abs(ref_col.take(ref_idx) - query_col.take(q_idx), out=numeric[:, j])
        dist = level + numeric.sum(axis=1, dtype=np.float64)
        if self.best_index is not None:
            self._merge_indexed(q_idx, dist, ref_idx + self.offset if self.offset else ref_idx)
        else:
            self._merge(q_idx, dist)

    def _merge_indexed(self, q_idx: np.ndarray, dist: np.ndarray, ref_idx: np.ndarray) -> None:
        """Fold candidates into each query's k best, keeping which reference each is;
        equal distances keep the lower reference row."""
        if len(q_idx) == 0:
            return
        if self.k == 1:
            self._merge_indexed_one(q_idx, dist, ref_idx)
        else:
            self._merge_indexed_sorted(q_idx, dist, ref_idx)

    def _merge_indexed_sorted(self, q_idx: np.ndarray, dist: np.ndarray, ref_idx: np.ndarray):
        order = np.lexsort((ref_idx, dist, q_idx))
        q_sorted, d_sorted, r_sorted = q_idx[order], dist[order], ref_idx[order]
        starts = np.flatnonzero(np.r_[True, q_sorted[1:] != q_sorted[:-1]])
        ends = np.r_[starts[1:], len(q_sorted)]
        touched = q_sorted[starts]
        never = np.iinfo(np.int64).max
        dists, refs = [self.best[touched]], [self.best_index[touched]]
        for j in range(self.k):
            pos = np.minimum(starts + j, len(q_sorted) - 1)
            inside = starts + j < ends
            dists.append(np.where(inside, d_sorted[pos], np.inf)[:, None])
            refs.append(np.where(inside, r_sorted[pos], -1)[:, None])
        all_d, all_r = np.hstack(dists), np.hstack(refs)
        rank = np.lexsort((np.where(all_r < 0, never, all_r), all_d), axis=-1)[:, : self.k]
        self.best[touched] = np.take_along_axis(all_d, rank, axis=1)
        self.best_index[touched] = np.take_along_axis(all_r, rank, axis=1)

    def _merge_indexed_one(self, q_idx: np.ndarray, dist: np.ndarray, ref_idx: np.ndarray) -> None:
        """``_merge_indexed`` for k = 1 without sorting the candidates: each query's
        smallest distance (NaN never wins, as it sorts last), then the lowest reference
        row at that distance, then the same choice between it and the kept best."""
        never = np.iinfo(np.int64).max
        seen = np.zeros(len(self.best), dtype=bool)
        seen[q_idx] = True
        touched = np.flatnonzero(seen)
        new_d = np.full(len(self.best), np.inf)
        np.fmin.at(new_d, q_idx, dist)
        at_best = dist == new_d[q_idx]
        new_r = np.full(len(self.best), never, dtype=np.int64)
        np.minimum.at(new_r, q_idx[at_best], ref_idx[at_best])
        new_d, new_r = new_d[touched], new_r[touched]
        old_d, old_r = self.best[touched, 0], self.best_index[touched, 0]
        old_key = np.where(old_r < 0, never, old_r)
        found = new_r != never  # else every candidate of the query was NaN
        wins = found & ((new_d < old_d) | ((new_d == old_d) & (new_r < old_key)))
        self.best[touched[wins], 0] = new_d[wins]
        self.best_index[touched[wins], 0] = new_r[wins]

    def _merge(self, q_idx: np.ndarray, dist: np.ndarray) -> None:
        """Fold candidate distances into each query's k best (k <= 2)."""
        if len(q_idx) == 0:
            return
        order = np.argsort(q_idx, kind="stable")
        q_sorted, d_sorted = q_idx[order], dist[order]
        starts = np.flatnonzero(np.r_[True, q_sorted[1:] != q_sorted[:-1]])
        touched = q_sorted[starts]
        first = np.minimum.reduceat(d_sorted, starts)
        if self.k == 1:
            self.best[touched, 0] = np.minimum(self.best[touched, 0], first)
            return
        # The second smallest: mask one occurrence of each group's minimum, take the min.
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(d_sorted)]))
        minima = np.flatnonzero(d_sorted == first[group])
        masked = d_sorted.copy()
        masked[_first_per_group(minima, group)] = np.inf
        second = np.minimum.reduceat(masked, starts)
        merged = np.sort(np.column_stack([self.best[touched], first, second]), axis=1)
        self.best[touched] = merged[:, :2]


def _first_per_group(candidates: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The first of ``candidates`` (sorted positions) in each group."""
    keep = np.r_[True, group[candidates][1:] != group[candidates][:-1]]
    return candidates[keep]
