"""The mixed-type distance and the exact nearest-neighbour search."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from audits.checks import ColumnSpec, neighbours
from audits.checks.encoding import EncodedRows, EncodedTable, encode_for_distance, prepare
from audits.checks.neighbours import (
    Neighbours,
    _column_hashes,
    _finish_by_match_counts,
    _LevelSearch,
    _MatchCounter,
    distinct_records,
    nearest,
    nearest_distinct,
    nearest_several,
)

COLUMNS = [
    ColumnSpec("colour", "categorical"),
    ColumnSpec("flag", "boolean"),
    ColumnSpec("size", "numerical"),
    ColumnSpec("day", "datetime"),
    ColumnSpec("ref", "id", "identifier"),
]


def _encode(real, synthetic, holdout=None):
    data = prepare(COLUMNS, real, synthetic, holdout)
    rows = np.arange(len(synthetic))
    hold_rows = None if holdout is None else np.arange(len(holdout))
    return encode_for_distance(data, rows, hold_rows)


def _brute(query: EncodedTable, reference: EncodedTable) -> np.ndarray:
    """All raw distances, query x reference, straight from the definition."""
    mismatches = (query.codes[:, None, :] != reference.codes[None, :, :]).sum(axis=2)
    numeric = np.abs(query.numbers[:, None, :] - reference.numbers[None, :, :]).sum(axis=2)
    return mismatches + numeric


def test_distance_follows_the_documented_rule_by_hand():
    real = pd.DataFrame(
        {
            "colour": ["red", "blue", None],
            "flag": [True, False, True],
            "size": [0.0, 10.0, np.nan],
            "day": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-06"]),
            "ref": [1, 2, 3],
        }
    )
    synthetic = pd.DataFrame(
        {
            "colour": ["red", "green", None],
            "flag": [True, True, True],
            "size": [2.5, 30.0, 5.0],
            "day": pd.to_datetime(["2024-01-01", "2024-01-06", "2023-12-01"]),
            "ref": [9, 9, 9],
        }
    )
    enc = _encode(real, synthetic)
    d = _brute(enc.synthetic, enc.reference) / enc.n_columns
    # Row 0 vs real 0: colour, flag equal; size |2.5-0|/10 = .25; day equal -> .25 / 4.
    assert d[0, 0] == pytest.approx(0.25 / 4)
    # Row 1 ("green" unseen, size 30 taken at the edge 10, day 5 of a 10-day range)
    # vs real 1: colour 1 + flag 1 + size 0 + day .5 = 2.5.
    assert d[1, 1] == pytest.approx(2.5 / 4)
    # Row 2 vs real 2: missing colour equals missing colour; size present vs missing = 1;
    # day before the range counts at its edge: |0 - .5| = .5 -> 1.5.
    assert d[2, 2] == pytest.approx(1.5 / 4)
    assert enc.n_columns == 4  # the identifier is left out


def test_distances_equal_sdmetrics_dcr_on_the_demo(demo, demo_columns):
    from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

    real, synthetic, metadata = demo
    data = prepare(demo_columns, real, synthetic, None)
    enc = encode_for_distance(data, np.arange(len(synthetic)))
    ours = nearest(enc.synthetic, enc.reference, k=1)
    assert ours.exact.all()
    theirs = calculate_dcr(synthetic, real, metadata).to_numpy()
    # The same distance as SDMetrics' DCR metrics, row by row (float32 noise only).
    np.testing.assert_allclose(ours.dist[:, 0] / enc.n_columns, theirs, atol=1e-5)


@pytest.mark.parametrize("k", [1, 2])
def test_search_matches_brute_force_with_ties_and_missing_values(k):
    rng = np.random.default_rng(7)

    def frame(n):
        return pd.DataFrame(
            {
                "colour": rng.choice(["a", "b", "c", None], size=n),
                "flag": rng.choice([True, False], size=n),
                "size": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n)),
                "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
                "ref": np.arange(n),
            }
        )

    enc = _encode(frame(300), frame(200))
    found = nearest(enc.synthetic, enc.reference, k=k, brute_force_below=0, fallback_budget=0)
    expected = np.sort(_brute(enc.synthetic, enc.reference), axis=1)[:, :k]
    assert found.exact.all()
    np.testing.assert_allclose(found.dist, expected, atol=1e-5)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("max_level", [0, 1])
def test_records_the_levels_leave_open_are_finished_exactly(k, max_level):
    # With the brute-force fallback out of budget, the records the level search leaves
    # open are finished by counting equal columns: exact distances and the lowest
    # reference row among ties, as a brute-force argsort gives; nothing censored.
    rng = np.random.default_rng(3 + k)
    n_cat = 6
    codes_ref = rng.integers(0, 4, size=(400, n_cat)).astype(np.int32)
    codes_q = rng.integers(0, 4, size=(150, n_cat)).astype(np.int32)
    # Few numeric values, so many references tie at the same distance.
    numbers_ref = rng.choice([0.0, 0.25, 0.5], size=(400, 2)).astype(np.float32)
    numbers_q = rng.choice([0.0, 0.25, 0.5], size=(150, 2)).astype(np.float32)
    codes_ref[:5] = codes_q[:5]  # some queries with an exact categorical match
    reference = EncodedTable(codes_ref, numbers_ref)
    query = EncodedTable(codes_q, numbers_q)
    full = _brute(query, reference)
    expected = np.argsort(full, axis=1, kind="stable")[:, :k]
    options = {"k": k, "max_level": max_level, "brute_force_below": 0, "fallback_budget": 0}
    found = nearest(query, reference, with_index=True, **options)
    assert found.exact.all()
    np.testing.assert_allclose(found.dist, np.take_along_axis(full, expected, 1), atol=1e-5)
    # The lowest row among equally near references, also where the level search met
    # them at different levels (see ``Neighbours.index``).
    np.testing.assert_array_equal(found.index, expected)
    # The finisher alone, on every record, names exactly what the argsort names.
    n = len(query)
    empty = Neighbours(
        np.full((n, k), np.inf), np.zeros(n), np.zeros(n, bool), 0, np.full((n, k), -1)
    )
    finished = _finish_by_match_counts(
        query, reference, np.arange(n), k=k, into=empty, matches=_MatchCounter(reference)
    )
    np.testing.assert_array_equal(finished.index, expected)
    np.testing.assert_array_equal(finished.dist, found.dist)
    values_only = nearest(query, reference, **options)
    np.testing.assert_array_equal(values_only.dist, found.dist)


def test_match_counts_equal_column_by_column_counts():
    rng = np.random.default_rng(11)
    for n, n_cat in ((1, 1), (63, 3), (64, 7), (130, 16)):  # word edges, 5 bit planes
        codes = rng.integers(0, 3, size=(n, n_cat)).astype(np.int32)
        counter = _MatchCounter(EncodedTable(codes, np.zeros((n, 0), np.float32)))
        for probe in codes[:3]:
            equal = (codes == probe).sum(axis=1)
            planes = counter.count(probe)
            for wanted in range(n_cat + 2):
                rows = counter.rows(counter.at_least(planes, wanted))
                np.testing.assert_array_equal(rows, np.flatnonzero(equal >= wanted))


def test_numeric_only_data_uses_exact_tree_search():
    columns = [ColumnSpec("x", "numerical"), ColumnSpec("y", "numerical")]
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": rng.random(500), "y": rng.random(500)})
    synthetic = pd.DataFrame({"x": rng.random(50), "y": rng.random(50)})
    data = prepare(columns, real, synthetic, None)
    enc = encode_for_distance(data, np.arange(50))
    found = nearest(enc.synthetic, enc.reference, k=2, brute_force_below=0)
    expected = np.sort(_brute(enc.synthetic, enc.reference), axis=1)[:, :2]
    np.testing.assert_allclose(found.dist, expected, atol=1e-5)


def test_values_compare_alike_across_dtypes():
    from audits.checks.encoding import category_strings, numeric_values

    ints = category_strings(pd.Series([1, 2, None], dtype="Int64"))
    floats = category_strings(pd.Series([1.0, 2.0, np.nan]))
    strings = category_strings(pd.Series(["1", "2", None]))
    assert ints.tolist()[:2] == floats.tolist()[:2] == strings.tolist()[:2] == ["1", "2"]
    assert ints.isna().tolist() == [False, False, True]
    assert category_strings(pd.Series([True, False])).tolist() == ["True", "False"]
    as_text = numeric_values(pd.Series(["2024-01-02", None]), "datetime")
    as_dates = numeric_values(pd.to_datetime(pd.Series(["2024-01-02", None])), "datetime")
    aware = numeric_values(pd.Series(pd.to_datetime(["2024-01-02T01:00+01:00"])), "datetime")
    assert as_text[0] == as_dates[0] == aware[0] == pytest.approx(1704153600.0)
    assert np.isnan(as_text[1]) and np.isnan(as_dates[1])
    assert np.isnan(numeric_values(pd.Series(["3.5", "n/a"]), "numerical")[1])


def test_whole_number_decision_can_come_from_more_rows():
    """A piece of a file prints numbers as the whole file decides (``partitioned``): a
    piece holding only whole numbers of a column with fractions elsewhere keeps "1.0"."""
    from audits.checks.encoding import category_strings

    piece = pd.Series([1.0, 2.0, np.nan])
    assert category_strings(piece).tolist()[:2] == ["1", "2"]
    assert category_strings(piece, whole=False).tolist()[:2] == ["1.0", "2.0"]
    assert category_strings(piece, whole=False).isna().tolist() == [False, False, True]
    assert category_strings(pd.Series([1.5, 2.0])).tolist() == ["1.5", "2.0"]
    assert category_strings(pd.Series([3, 4]), whole=True).tolist() == ["3", "4"]
    # Not numbers: the decision does not apply.
    assert category_strings(pd.Series(["1.0", None]), whole=True).tolist()[:1] == ["1.0"]


@pytest.mark.parametrize("k", [1, 2])
def test_search_with_index_names_the_nearest_reference(k):
    # The level search and the brute force both say which reference record is nearest,
    # the lowest row among equally near ones, as a brute-force argsort does.
    rng = np.random.default_rng(k)
    query = EncodedTable(
        rng.integers(0, 4, (400, 5)).astype(np.int32), (rng.random((400, 4)) / 2).astype(np.float32)
    )
    reference = EncodedTable(
        rng.integers(0, 4, (3000, 5)).astype(np.int32),
        (rng.random((3000, 4)) / 2).astype(np.float32),
    )
    full = _brute(query, reference)
    expected = np.argsort(full, axis=1, kind="stable")[:, :k]
    for below in (0, 10**9):  # level search, then brute force
        found = nearest(query, reference, k=k, with_index=True, brute_force_below=below)
        assert found.exact.all()
        np.testing.assert_array_equal(found.index, expected)
        np.testing.assert_allclose(found.dist, np.take_along_axis(full, expected, 1), atol=1e-5)


def test_unsorted_k1_merge_keeps_what_the_sorted_merge_keeps():
    # The k = 1 fold (no sort) must keep the same distance and reference row as the
    # general sorted fold, over rounds with heavy ties, NaN and infinite distances.
    rng = np.random.default_rng(7)
    table = EncodedTable(np.zeros((60, 1), np.int32), np.zeros((60, 1), np.float32))
    unsorted = _LevelSearch(table, table, k=1, with_index=True)
    by_sort = _LevelSearch(table, table, k=1, with_index=True)
    for _ in range(40):
        size = int(rng.integers(1, 200))
        q_idx = rng.integers(0, 60, size)
        dist = rng.choice([0.0, 0.5, 1.0, 1.5, np.nan, np.inf], size)
        ref_idx = rng.integers(0, 1000, size)
        unsorted._merge_indexed(q_idx, dist, ref_idx)
        by_sort._merge_indexed_sorted(q_idx, dist, ref_idx)
        np.testing.assert_array_equal(unsorted.best, by_sort.best)
        np.testing.assert_array_equal(unsorted.best_index, by_sort.best_index)
    assert (unsorted.best_index >= 0).all()


def _repetitive(rows: int, seed: int, *, codes: int, steps: int) -> EncodedTable:
    """Records drawn from few values (many equal records, many equally near ones), with
    missing numbers (the missing point) among them."""
    rng = np.random.default_rng(seed)
    numbers = (rng.integers(0, steps, (rows, 2)) / (2 * (steps - 1))).astype(np.float32)
    numbers = np.repeat(numbers, 2, axis=1)
    numbers[:, 1::2] = 0.5 - numbers[:, ::2]
    numbers[rng.random(rows) < 0.1, 0:2] = -0.25
    return EncodedTable(rng.integers(0, codes, (rows, 4)).astype(np.int32), numbers)


@pytest.mark.parametrize(
    "options",
    [
        {"brute_force_below": 10**9},  # brute force
        {"brute_force_below": 0},  # level search
        {"brute_force_below": 0, "max_level": 1},  # level search, open records brute-forced
        # open records finished by match counts
        {"brute_force_below": 0, "max_level": 1, "fallback_budget": 0},
        {"brute_force_below": 0, "pair_budget": 20_000},  # a level abandoned on its budget
    ],
)
def test_search_over_distinct_records_finds_what_the_full_search_finds(options):
    # Each distinct record is searched once, standing for its copies: the distances, the
    # reference rows (lowest among equally near) and the bounds are those of the search
    # over every row, and so are the pairs counted, except where the match counts finish
    # the open records (they count the distinct records they compare).
    # Queries take category values and numbers the reference lacks: their nearest records
    # lie at several mismatch levels.
    reference = _repetitive(3_000, 1, codes=2, steps=3)
    query = _repetitive(300, 2, codes=3, steps=5)
    records = distinct_records(reference)
    assert len(records.table) < len(reference) // 5
    assert records.counts.sum() == len(reference)
    np.testing.assert_array_equal(np.diff(records.first_row) > 0, True)
    full = nearest(query, reference, k=1, with_index=True, **options)
    found = nearest_distinct(query, records, **options)
    np.testing.assert_array_equal(found.index, full.index)
    np.testing.assert_array_equal(found.dist, full.dist)
    np.testing.assert_array_equal(found.floor, full.floor)
    np.testing.assert_array_equal(found.exact, full.exact)
    assert found.exact.all()
    if "fallback_budget" not in options:
        assert found.pairs_evaluated == full.pairs_evaluated


def test_distinct_records_group_equal_records_only():
    table = EncodedTable(
        np.array([[0], [1], [0], [0], [1]], dtype=np.int32),
        np.array([[0.1, 0.4], [0.1, 0.4], [0.1, 0.4], [0.2, 0.3], [0.1, 0.4]], np.float32),
    )
    records = distinct_records(table)
    np.testing.assert_array_equal(records.first_row, [0, 1, 3])
    np.testing.assert_array_equal(records.counts, [2, 2, 1])
    np.testing.assert_array_equal(records.table.codes, table.codes[[0, 1, 3]])
    # A column with mostly distinct values: grouping would not pay, every row stays.
    spread = EncodedTable(np.zeros((100, 1), np.int32), np.linspace(0, 0.5, 200).reshape(100, 2))
    assert distinct_records(spread).table is spread


@pytest.mark.parametrize(
    "options",
    [
        {"brute_force_below": 10**9},  # brute force
        {"brute_force_below": 0},  # level search
        {"brute_force_below": 0, "max_level": 1, "fallback_budget": 0},  # match counts
    ],
)
def test_compact_column_major_encoding_finds_what_row_major_int32_finds(options):
    # encode_rows stores codes in the smallest signed type, column by column, so the
    # search reads views of the reference; the distances and rows found are those of
    # the row-major int32 layout, missing codes (-1, the hash table's last entry) too.
    rng = np.random.default_rng(11)
    frames = []
    for n in (600, 250):
        frames.append(
            pd.DataFrame(
                {
                    "colour": rng.choice(["a", "b", "c", None], size=n),
                    "flag": rng.choice([True, False, None], size=n),
                    "size": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n)),
                    "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
                    "ref": np.arange(n),
                }
            )
        )
    enc = _encode(*frames)
    assert enc.reference.codes.dtype == np.int8 and enc.reference.codes.flags.f_contiguous
    assert (enc.reference.codes == -1).any()

    def row_major(table: EncodedTable) -> EncodedTable:
        return EncodedTable(
            np.ascontiguousarray(table.codes, dtype=np.int32), np.ascontiguousarray(table.numbers)
        )

    search = _LevelSearch(enc.synthetic, enc.reference, k=1)
    expected_hashes = _column_hashes(enc.reference.codes.astype(np.int32))
    for j in range(enc.reference.codes.shape[1]):
        np.testing.assert_array_equal(search._ref_hash(j), expected_hashes[:, j])
    for k in (1, 2):
        compact = nearest(enc.synthetic, enc.reference, k=k, with_index=True, **options)
        wide = nearest(
            row_major(enc.synthetic), row_major(enc.reference), k=k, with_index=True, **options
        )
        np.testing.assert_array_equal(compact.dist, wide.dist)
        np.testing.assert_array_equal(compact.index, wide.index)
        assert compact.pairs_evaluated == wide.pairs_evaluated


@pytest.mark.parametrize("threads", [1, 2])
def test_plans_in_blocks_groups_and_threads_pair_what_equal_kept_columns_pair(monkeypatch, threads):
    # The plans of a level come from one pass over the reference in blocks (shared
    # between threads), several sets of dropped columns at a time, through a slot table
    # on the query keys where keys may share a slot (tiny tables here). Each plan must
    # pair every reference with exactly the open queries equal to it on the kept
    # columns, references in ascending row order, and the search must find the same
    # distances, rows and pair counts as with one block, one set at a time.
    import audits.checks.neighbours as nb

    rng = np.random.default_rng(11)
    n_cat = 5
    reference = EncodedTable(
        np.asfortranarray(rng.integers(-1, 3, size=(1_000, n_cat)).astype(np.int8)),
        np.asfortranarray(rng.choice([0.0, 0.25, 0.5], size=(1_000, 2)).astype(np.float32)),
    )
    query = EncodedTable(
        rng.integers(-1, 3, size=(120, n_cat)).astype(np.int8),
        rng.choice([0.0, 0.25, 0.5], size=(120, 2)).astype(np.float32),
    )
    options = {"k": 2, "brute_force_below": 0, "fallback_budget": 0, "with_index": True}
    whole = nearest(query, reference, **options)
    monkeypatch.setattr(nb, "PLAN_BLOCK", 37)
    monkeypatch.setattr(nb, "PLAN_CELLS", 3 * len(reference))
    monkeypatch.setattr(nb, "PLAN_TABLE_BITS", (2, 3))
    monkeypatch.setattr(nb, "PLAN_THREADS", threads)
    search = _LevelSearch(query, reference, k=2)
    search.open = np.flatnonzero(rng.random(len(query)) < 0.7)
    for level in (0, 1, 2, 3):
        dropped_sets = list(combinations(range(n_cat), level))
        for dropped, ((refs, lo, counts), order) in zip(
            dropped_sets, search._plans(dropped_sets), strict=True
        ):
            assert (np.diff(refs) > 0).all()
            got = {
                (int(r), int(q))
                for r, start, count in zip(refs, lo, counts, strict=True)
                for q in order[start : start + count]
            }
            kept = [j for j in range(n_cat) if j not in dropped]
            equal = (
                reference.codes[:, None, kept] == query.codes[None, search.open][:, :, kept]
            ).all(axis=2)
            r, q = np.nonzero(equal)
            assert got == set(zip(r.tolist(), search.open[q].tolist(), strict=True))
    split = nearest(query, reference, **options)
    np.testing.assert_array_equal(split.dist, whole.dist)
    np.testing.assert_array_equal(split.index, whole.index)
    assert split.pairs_evaluated == whole.pairs_evaluated
    full = _brute(query, reference)
    np.testing.assert_allclose(split.dist, np.sort(full, axis=1)[:, :2], atol=1e-5)


def test_encoding_in_blocks_of_rows_gives_the_same_coordinates(monkeypatch):
    # encode_rows computes the coordinates a block of rows at a time (bounded float64
    # temporaries): the same float32 values as one block, for every row and for a
    # sample of rows, missing values and values outside the reference range included.
    import audits.checks.encoding as encoding

    rng = np.random.default_rng(5)

    def frame(n, shift):
        return pd.DataFrame(
            {
                "colour": rng.choice(["a", "b", None], size=n),
                "flag": rng.choice([True, False], size=n),
                "size": np.where(rng.random(n) < 0.1, np.nan, rng.normal(shift, 3, n)),
                "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
                "ref": np.arange(n),
            }
        )

    data = prepare(COLUMNS, frame(1_000, 0.0), frame(700, 1.0), None)
    names = data.distance_names()
    categorical = [n for n in names if not data.columns.spec(n).is_numeric]
    numeric = [n for n in names if data.columns.spec(n).is_numeric]
    sample = rng.choice(700, 300, replace=False)
    whole = [
        encoding.encode_rows(data, "real", None, categorical, numeric),
        encoding.encode_rows(data, "synthetic", sample, categorical, numeric),
    ]
    monkeypatch.setattr(encoding, "ENCODE_BLOCK", 64)
    blocks = [
        encoding.encode_rows(data, "real", None, categorical, numeric),
        encoding.encode_rows(data, "synthetic", sample, categorical, numeric),
    ]
    for one, split in zip(whole, blocks, strict=True):
        assert np.isnan(one.numbers).sum() == 0 and (one.numbers == -0.25).any()
        np.testing.assert_array_equal(split.codes, one.codes)
        np.testing.assert_array_equal(split.numbers.view(np.uint32), one.numbers.view(np.uint32))


@pytest.mark.parametrize("cache_bytes", [0, 8, 1 << 30])
def test_match_counts_from_code_planes_equal_column_by_column_counts(monkeypatch, cache_bytes):
    # Past MATCH_CACHE_BYTES of kept bitsets, a (column, code) bitset is recomputed from
    # the column's bit planes: the same flags for every code, missing (-1) and codes the
    # reference lacks (a synthetic-only category) included, at word edges.
    import audits.checks.neighbours as nb

    monkeypatch.setattr(nb, "MATCH_CACHE_BYTES", cache_bytes)
    rng = np.random.default_rng(13)
    for n, n_cat in ((1, 1), (63, 3), (64, 7), (130, 5)):
        codes = rng.integers(-1, 6, size=(n, n_cat)).astype(np.int8, order="F")
        counter = _MatchCounter(EncodedTable(codes, np.zeros((n, 0), np.float32)))
        probes = np.vstack([codes[:3], rng.integers(-1, 9, size=(4, n_cat))]).astype(np.int8)
        for probe in probes:
            equal = (codes == probe).sum(axis=1)
            planes = counter.count(probe)
            for wanted in range(n_cat + 2):
                rows = counter.rows(counter.at_least(planes, wanted))
                np.testing.assert_array_equal(rows, np.flatnonzero(equal >= wanted))
        assert counter._kept_bytes <= cache_bytes


# --- a reference searched in ranges of rows ----------------------------------------------


def _copies_of(reference: EncodedTable, rows: int, seed: int) -> EncodedTable:
    """Queries that are exact copies of reference records (several copies of each in
    the reference too: equally near at distance 0)."""
    picked = np.random.default_rng(seed).integers(0, len(reference), rows)
    return reference.take(picked)


def _chunk_tables() -> dict[str, tuple[EncodedTable, EncodedTable]]:
    from tests.audits.checks.test_tied_neighbours import _table

    repetitive = _repetitive(2_000, 1, codes=2, steps=3)
    return {
        # ties, missing numbers, values the reference lacks (several mismatch levels)
        "missing": (_repetitive(300, 2, codes=3, steps=5), repetitive),
        "tied": (_table(400, 2, values=3), _table(2_000, 1, values=3)),
        "continuous": (_table(400, 2, values=0, n_cat=3), _table(2_000, 1, values=0, n_cat=3)),
        "copies": (_copies_of(repetitive, 300, 5), repetitive),
        # the closing rule's edge: a record met at level 0 at distance exactly 1 (a
        # missing number) ties a lower row met at level 1 (see ``_LevelSearch._final``)
        "edge": (
            EncodedTable(np.zeros((1, 1), np.int8), np.array([[0.0, 0.5]], np.float32)),
            EncodedTable(
                np.tile(np.array([[1], [0]], np.int8), (300, 1)),
                np.tile(np.array([[0.0, 0.5], [-0.25, -0.25]], np.float32), (300, 1)),
            ),
        ),
    }


CHUNK_CALLS = {
    "level": {"brute_force_below": 0},
    "brute_force": {"brute_force_below": 10**12},
    "open_brute_forced": {"brute_force_below": 0, "max_level": 1},
    "match_counts": {"brute_force_below": 0, "max_level": 1, "fallback_budget": 0},
    "level_budget": {"brute_force_below": 0, "pair_budget": 20_000},
}


@pytest.mark.parametrize("ranges", [3, 13])
@pytest.mark.parametrize("call", sorted(CHUNK_CALLS))
@pytest.mark.parametrize("table", sorted(_chunk_tables()))
def test_search_in_ranges_of_reference_rows_finds_what_one_search_finds(
    monkeypatch, table, call, ranges
):
    # A reference searched a range of rows at a time, each query's k best carried from
    # range to range, gives the distances and rows of one search over it, and the rows
    # are the lowest among equally near references (a stable argsort of every distance).
    query, reference = _chunk_tables()[table]
    options = CHUNK_CALLS[call]
    full = _brute(query, reference)
    whole = {}
    for k in (1, 2):
        for with_index in (False, True):
            whole[k, with_index] = nearest(query, reference, k=k, with_index=with_index, **options)
    monkeypatch.setattr(neighbours, "REFERENCE_CHUNK_ROWS", -(-len(reference) // ranges))
    assert len(neighbours._chunk_bounds(len(reference), 2)) == ranges
    for (k, with_index), one in whole.items():
        cut = nearest(query, reference, k=k, with_index=with_index, **options)
        assert one.exact.all() and cut.exact.all()
        np.testing.assert_array_equal(cut.dist, one.dist)
        assert (cut.floor >= cut.dist[:, -1]).all()
        if with_index:
            expected = np.argsort(full, axis=1, kind="stable")[:, :k]
            np.testing.assert_array_equal(one.index, expected)
            np.testing.assert_array_equal(cut.index, expected)
        else:
            assert cut.index is None
        np.testing.assert_allclose(cut.dist, np.sort(full, axis=1)[:, :k], atol=1e-5)


@pytest.mark.parametrize("call", sorted(CHUNK_CALLS))
def test_distinct_records_in_ranges_find_what_one_search_finds(monkeypatch, call):
    # Weights (each distinct record standing for its copies) are cut with their records.
    options = CHUNK_CALLS[call]
    reference = _repetitive(3_000, 1, codes=2, steps=3)
    query = _repetitive(300, 2, codes=3, steps=5)
    records = distinct_records(reference)
    one = nearest_distinct(query, records, **options)
    full = nearest(query, reference, k=1, with_index=True, **options)
    monkeypatch.setattr(neighbours, "REFERENCE_CHUNK_ROWS", max(len(records.table) // 4, 1))
    ranges = nearest_distinct(query, records, **options)
    full_ranges = nearest(query, reference, k=1, with_index=True, **options)
    assert len(neighbours._chunk_bounds(len(records.table), 1)) >= 4
    for found in (ranges, full_ranges, full):
        assert found.exact.all()
        np.testing.assert_array_equal(found.dist, one.dist)
        np.testing.assert_array_equal(found.index, one.index)


def test_numeric_only_reference_in_ranges_gives_the_same_distances(monkeypatch):
    rng = np.random.default_rng(4)
    reference = EncodedTable(np.zeros((900, 0), np.int8), (rng.random((900, 4)) / 2).astype("f4"))
    query = EncodedTable(np.zeros((120, 0), np.int8), (rng.random((120, 4)) / 2).astype("f4"))
    one = nearest(query, reference, k=2, brute_force_below=0)
    monkeypatch.setattr(neighbours, "REFERENCE_CHUNK_ROWS", 200)
    ranges = nearest(query, reference, k=2, brute_force_below=0)
    np.testing.assert_array_equal(ranges.dist, one.dist)
    np.testing.assert_array_equal(ranges.index, one.index)  # no ties in random numbers


def test_reference_encoded_on_demand_is_searched_as_the_whole_encoding(monkeypatch):
    # ``encode_for_distance(reference_on_demand=True)`` encodes ranges of rows (and
    # chosen rows) with the values of the whole encoding; one pass over the ranges
    # serves several searches.
    rng = np.random.default_rng(9)

    def frame(n):
        return pd.DataFrame(
            {
                "colour": rng.choice(["a", "b", "c", None], size=n),
                "flag": rng.choice([True, False], size=n),
                "size": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n)),
                "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
                "ref": np.arange(n),
            }
        )

    data = prepare(COLUMNS, frame(1_000), frame(200), frame(150))
    rows, hold_rows = np.arange(200), np.arange(150)
    whole = encode_for_distance(data, rows, hold_rows)
    lazy = encode_for_distance(data, rows, hold_rows, reference_on_demand=True)
    assert isinstance(lazy.reference, EncodedRows) and len(lazy.reference) == 1_000
    part = lazy.reference.rows(250, 600)
    np.testing.assert_array_equal(part.codes, whole.reference.codes[250:600])
    np.testing.assert_array_equal(part.numbers, whole.reference.numbers[250:600])
    chosen = np.array([5, 999, 5, 0])
    np.testing.assert_array_equal(lazy.reference.take(chosen).codes, whole.reference.codes[chosen])
    np.testing.assert_array_equal(
        lazy.reference.take(chosen).numbers, whole.reference.numbers[chosen]
    )
    expected = [
        nearest(whole.synthetic, whole.reference, k=2, brute_force_below=0),
        nearest(whole.holdout, whole.reference, k=1, brute_force_below=0),
    ]
    encoded = []
    monkeypatch.setattr(neighbours, "REFERENCE_CHUNK_ROWS", 300)
    monkeypatch.setattr(
        EncodedRows,
        "rows",
        lambda self, a, b: encoded.append((a, b)) or whole.reference.take(np.arange(a, b)),
    )
    found = nearest_several(
        [(lazy.synthetic, 2), (lazy.holdout, 1)], lazy.reference, brute_force_below=0
    )
    assert encoded == [(0, 250), (250, 500), (500, 750), (750, 1000)]  # each range once
    for got, want in zip(found, expected, strict=True):
        np.testing.assert_array_equal(got.dist, want.dist)
        assert got.exact.all()


def _privacy_figures(outcome) -> dict:
    return json.loads(
        json.dumps(
            {
                m.key: [m.value, m.status, m.uncertainty, m.details]
                for m in outcome.metrics
                if m.key.startswith("privacy.")
            },
            sort_keys=True,
            default=str,
        )
    )


def test_privacy_figures_of_an_audit_are_the_same_with_the_reference_in_ranges(monkeypatch):
    from audits.checks.runner import run_audit
    from tests.audits.checks.conftest import census, census_config

    def audit():
        config = census_config(families={"privacy"}, distance_sample_rows=600, seed=4)
        return run_audit(
            config=config, synthetic=census(1_500, 2), real=census(2_500, 1),
            holdout=census(800, 3),
        )  # fmt: skip

    one = _privacy_figures(audit())
    ranges_seen = []
    part = neighbours._nearest_part

    def counted(*args, **kwargs):
        ranges_seen.append(kwargs.get("offset", 0))
        return part(*args, **kwargs)

    monkeypatch.setattr(neighbours, "_nearest_part", counted)
    monkeypatch.setattr(neighbours, "REFERENCE_CHUNK_ROWS", 400)
    ranges = _privacy_figures(audit())
    assert max(ranges_seen) > 0  # the reference was searched in ranges
    assert len(one) >= 8 and ranges == one
