"""The distance search over the stored reference file in pieces (``partitioned_search``,
what a Dask cluster runs) gives the distances of the search in the worker, to the bit:
each piece is encoded as the worker encodes the same rows, and the pieces' exact k best
merge into the whole reference's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from audits.checks import partitioned, partitioned_search
from audits.checks.compact import prepare_compact
from audits.checks.encoding import encode_for_distance, encode_rows, search_layout
from audits.checks.neighbours import (
    BRUTE_FORCE_PAIRS,
    Neighbours,
    merge_exact,
    nearest_several,
)
from audits.checks.privacy_distance import lower_bounds
from tests.audits.checks.test_partitioned import KEYS, SPECS, stored, tables


def _setting(tmp_path, fmt: str, fraction: bool = False, parts: int = 1):
    made = [tables(seed=5 + i, fraction=fraction) for i in range(parts)]
    real = pd.concat([r for r, _ in made], ignore_index=True)
    synthetic = pd.concat([s for _, s in made], ignore_index=True)
    sources, frames = stored(tmp_path, fmt, real, synthetic)
    data = prepare_compact(SPECS, frames["real"], frames["synthetic"], None)
    n = data.n_synthetic
    enc = encode_for_distance(data, np.arange(n), None)
    # Two searches as the distance step makes them: the two nearest of the synthetic
    # sample, the nearest of another sample (the holdout's place).
    searches = [(enc.synthetic, 2), (enc.synthetic.take(np.arange(0, n, 3)), 1)]
    decided: dict = {}
    partitioned.compute(partitioned.LocalExecutor(), SPECS, KEYS, sources, decided=decided)
    layout = search_layout(data, enc.categorical, enc.numeric)
    return sources, data, enc, searches, decided["real"], layout


@pytest.mark.parametrize(
    ("fmt", "fraction"), [("csv", False), ("parquet", False), ("parquet", True)]
)
def test_pieces_give_the_workers_distances(tmp_path, fmt, fraction):
    # 6,000 reference rows: the worker's search over the whole reference goes level by
    # level (more query-reference pairs than brute force takes), as do pieces of 2,000
    # rows, while pieces of a few hundred rows are compared by brute force.
    sources, data, enc, searches, kinds, layout = _setting(tmp_path, fmt, fraction, parts=4)
    assert layout.categorical and layout.numeric  # both parts of the distance
    assert len(enc.synthetic) * data.n_real > BRUTE_FORCE_PAIRS
    expected = nearest_several(searches, enc.reference)
    # Not trivial: records near and far; with ``fraction`` no record equals a real one.
    nearest_distance = expected[0].dist[:, 0]
    assert (nearest_distance > 0).any()
    assert (nearest_distance == 0).any() != fraction
    # (rows per piece, tasks, rows a task searches at once)
    cases = [(437, 1, 1000), (437, 5, 10**7), (2_000, 2, 1), (2_000, 1, 10**7), (10**5, 3, 1)]
    for rows, count, part_rows in cases:
        got = partitioned_search.search(
            partitioned.LocalExecutor(),
            sources["real"],
            SPECS,
            kinds,
            layout,
            searches,
            rows_per_piece=rows,
            task_count=count,
            part_rows=part_rows,
        )
        for found, want in zip(got, expected, strict=True):
            assert np.array_equal(found.dist, want.dist), (rows, count, part_rows)
            assert found.exact.all()
            assert np.array_equal(lower_bounds(found), lower_bounds(want))
            assert np.array_equal(
                lower_bounds(found, 1 if found.dist.shape[1] > 1 else 0),
                lower_bounds(want, 1 if want.dist.shape[1] > 1 else 0),
            )


def test_a_piece_is_encoded_as_the_worker_encodes_its_rows(tmp_path):
    sources, data, enc, _, kinds, layout = _setting(tmp_path, "parquet")
    for piece in partitioned.plan(sources["real"], "real", 400):
        mine = partitioned_search.encode_piece(piece, SPECS, kinds, layout)
        workers = encode_rows(
            data, "real", slice(piece.start, piece.stop), enc.categorical, enc.numeric
        )
        assert mine.codes.dtype == workers.codes.dtype
        assert np.array_equal(mine.codes, workers.codes)
        assert np.array_equal(mine.numbers, workers.numbers, equal_nan=True)
        assert mine.numbers.flags.f_contiguous and mine.codes.flags.f_contiguous


def test_pieces_smaller_than_k_join_their_neighbours(tmp_path):
    """Pieces of one row (fewer than the two nearest asked for): a task joins them, and
    a task of one row holds infinity where no row fills; the merge is still exact."""
    sources, data, enc, searches, kinds, layout = _setting(tmp_path, "parquet")
    pieces = partitioned.plan(sources["real"], "real", 1)[:9]
    runs = partitioned_search.tasks(pieces, 6)
    assert sorted({len(run) for run in runs}) == [1, 2]
    merged = None
    for run in runs:
        found = partitioned_search.search_pieces(run, SPECS, kinds, layout, searches)
        if len(run) == 1:
            assert np.isinf(found[0].dist[:, 1]).all()
        merged = (
            found
            if merged is None
            else [merge_exact(a, b) for a, b in zip(merged, found, strict=True)]
        )
    first = encode_rows(data, "real", slice(0, 9), enc.categorical, enc.numeric)
    expected = nearest_several(searches, first)
    for found, want in zip(merged, expected, strict=True):
        assert np.array_equal(found.dist, want.dist)
    # As ``search`` runs them: the first piece alone (one row: its second best is
    # infinity), then the runs of the others starting from it, their shares merged.
    bound = partitioned_search.search_pieces(pieces[:1], SPECS, kinds, layout, searches)
    assert np.isinf(bound[0].dist[:, 1]).all()
    merged = bound
    for run in partitioned_search.tasks(pieces[1:], 3):
        share = partitioned_search.search_pieces(run, SPECS, kinds, layout, searches, bound)
        merged = [merge_exact(a, b) for a, b in zip(merged, share, strict=True)]
    for found, want in zip(merged, expected, strict=True):
        assert np.array_equal(found.dist, want.dist)


def test_a_value_the_worker_never_saw_is_an_error_not_a_mismatch(tmp_path):
    sources, _, _, searches, kinds, layout = _setting(tmp_path, "parquet")
    band = layout.categorical.index("band")
    categories = list(layout.categories)
    categories[band] = categories[band][1:]  # the first category is unknown now
    wrong = dataclasses.replace(layout, categories=tuple(categories))
    with pytest.raises(ValueError, match="'band'"):
        partitioned_search.search(
            partitioned.LocalExecutor(), sources["real"], SPECS, kinds, wrong, searches
        )


def test_shares_of_runs_that_started_from_a_bound_merge_to_the_k_best():
    """``_without`` on many random sets of distances with many ties: the first part's k
    best (the bound), each run's k best of the bound and its own rows less the bound,
    merged, are the k best of every row, whatever the ties."""
    rng = np.random.default_rng(0)

    def k_best(values: np.ndarray, k: int) -> Neighbours:
        dist = np.sort(values, axis=1)[:, :k]
        return Neighbours(dist, dist[:, -1].copy(), np.ones(len(dist), dtype=bool), 0)

    for k in (1, 2, 3):
        first = rng.integers(0, 4, (500, k + 1)).astype(float)
        runs = [rng.integers(0, 4, (500, rng.integers(k, 6))).astype(float) for _ in range(4)]
        bound = k_best(first, k)
        merged = bound
        for rows in runs:
            found = k_best(np.hstack([bound.dist, rows]), k)
            merged = merge_exact(merged, partitioned_search._without(found, bound))
        expected = k_best(np.hstack([first, *runs]), k)
        assert np.array_equal(merged.dist, expected.dist), k
