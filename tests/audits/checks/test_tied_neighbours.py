"""The nearest-record search on heavily tied, low-dimensional tables (few categories,
numbers from a handful of values, exact duplicates), pinned to the values the search
gave before its level-0 buckets were searched with a tree: every distance, every row
found, every floor and every privacy distance figure must stay identical.

``python -m tests.audits.checks.test_tied_neighbours`` rewrites the stored values (only
ever from a version of the search whose values are trusted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec, neighbours
from audits.checks.encoding import EncodedTable
from audits.checks.neighbours import distinct_records, nearest, nearest_distinct
from audits.checks.privacy_distance import distances
from tests.audits.checks.conftest import make_context

STORED = Path(__file__).parent / "data" / "tied_neighbours.npz"
STORED_FIGURES = Path(__file__).parent / "data" / "tied_neighbours_figures.json"


def _table(n: int, seed: int, *, values: int, dtype=np.float64, n_cat: int = 2) -> EncodedTable:
    """Few categories, numbers drawn from ``values`` levels (0: continuous), some rows
    repeated outright."""
    rng = np.random.default_rng(seed)
    codes = np.asfortranarray(rng.integers(0, [3, 2, 4][:n_cat], size=(n, n_cat)).astype(np.int8))
    if values:
        numbers = rng.integers(0, values, size=(n, 2)) / values
    else:
        numbers = rng.beta(1.0, 30.0, size=(n, 2))
    numbers[:, 1] = np.where(rng.random(n) < 0.5, 0.0, numbers[:, 1])
    copies = rng.random(n) < 0.3
    source = rng.integers(0, n, n)
    codes[copies] = codes[source[copies]]
    numbers[copies] = numbers[source[copies]]
    return EncodedTable(codes, np.asfortranarray(numbers.astype(dtype)))


CASES = {
    "continuous": dict(values=0),
    "ten_levels": dict(values=10),
    "three_levels": dict(values=3),
    "float32": dict(values=7, dtype=np.float32),
    "one_column": dict(values=5, n_cat=1),
    "three_columns": dict(values=0, n_cat=3),
}
CALLS = {
    "k1_index": dict(k=1, with_index=True, brute_force_below=0),
    "k2": dict(k=2, brute_force_below=0),
    "k2_index": dict(k=2, with_index=True, brute_force_below=0),
    "k1": dict(k=1, brute_force_below=0),
    "k2_default": dict(k=2),
    "k2_index_level0": dict(k=2, with_index=True, brute_force_below=0, max_level=0),
}


def _results() -> dict[str, np.ndarray]:
    out = {}
    for name, options in CASES.items():
        reference = _table(2500, 1, **options)
        query = _table(2200, 2, **options)
        for call, kwargs in CALLS.items():
            found = nearest(query, reference, **kwargs)
            out[f"{name}.{call}.dist"] = found.dist
            out[f"{name}.{call}.floor"] = found.floor
            out[f"{name}.{call}.exact"] = found.exact
            if found.index is not None:
                out[f"{name}.{call}.index"] = found.index
        found = nearest_distinct(query, distinct_records(reference), brute_force_below=0)
        out[f"{name}.distinct.dist"] = found.dist
        out[f"{name}.distinct.index"] = found.index
    return out


FIGURE_COLUMNS = [
    ColumnSpec("transaction_id", "id", "identifier"),
    ColumnSpec("amount", "numerical"),
    ColumnSpec("channel", "categorical"),
    ColumnSpec("approved", "boolean"),
]


def _frame(n: int, seed: int, digits: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "transaction_id": np.arange(n),
            "amount": np.round(rng.gamma(2.0, 20.0, n), digits),
            "channel": rng.choice(["web", "app", "branch"], n),
            "approved": rng.random(n) < 0.9,
        }
    )


def _figures() -> dict:
    config = AuditConfig(columns=FIGURE_COLUMNS, distance_sample_rows=3000, seed=3)
    out = {}
    for digits in (-1, 1):
        frames = [_frame(n, seed, digits) for n, seed in ((4000, 1), (3500, 2), (3000, 3))]
        for m in distances(make_context(config, *frames)):
            out[f"{digits}.{m.key}"] = {"value": m.value, "status": m.status, "details": m.details}
    return out


def _normalised(figures: dict) -> dict:
    return json.loads(json.dumps(figures, sort_keys=True))


# The tables' level-0 buckets are below the tree's threshold; "tree" sends every bucket
# of at least two records to the tree, so both searches are held to the same values.
SEARCHES = {"pairs": {}, "tree": {"TREE_BUCKET_PAIRS": 0, "TREE_BUCKET_REFS": 2}}


@pytest.fixture(scope="module", params=sorted(SEARCHES))
def tied_results(request):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SEARCHES[request.param].items():
            patch.setattr(neighbours, name, value)
        yield _results()


@pytest.mark.parametrize("key", sorted(np.load(STORED).files))
def test_tied_search_gives_the_stored_values(key, tied_results):
    np.testing.assert_array_equal(tied_results[key], np.load(STORED)[key])


def test_tied_search_covers_every_stored_value(tied_results):
    assert sorted(tied_results) == sorted(np.load(STORED).files)


@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_privacy_distance_figures_on_a_tied_table_are_the_stored_ones(search, monkeypatch):
    for name, value in SEARCHES[search].items():
        monkeypatch.setattr(neighbours, name, value)
    assert _normalised(_figures()) == json.loads(STORED_FIGURES.read_text())


def test_the_tree_search_is_taken_by_large_buckets(monkeypatch):
    """The forced settings do reach the tree (else the tests above prove nothing)."""
    taken = []
    search_bucket = neighbours._LevelSearch._search_bucket

    def counted(self, bucket, queries):
        done = search_bucket(self, bucket, queries)
        taken.append(done)
        return done

    monkeypatch.setattr(neighbours._LevelSearch, "_search_bucket", counted)
    for name, value in SEARCHES["tree"].items():
        monkeypatch.setattr(neighbours, name, value)
    reference, query = _table(2500, 1, values=3), _table(2200, 2, values=3)
    nearest(query, reference, k=2, brute_force_below=0)
    assert len(taken) == 6 and all(taken)


if __name__ == "__main__":
    np.savez_compressed(STORED, **_results())
    STORED_FIGURES.write_text(json.dumps(_normalised(_figures()), sort_keys=True, indent=1))
