"""Row-hash figures from partial states over pieces of a stored file equal the in-memory
figures, in any cutting, partitioning and merge order. The pieces are hashed by the one
path that hashes stored files (``partitioned.piece_counts``); ``streaming`` holds the
mergeable state."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, partitioned
from audits.checks.integrity import duplicate_rate
from audits.checks.privacy import exact_match_rate, linkage_risk
from audits.checks.streaming import (
    HashCounts,
    finish_copies,
    finish_duplicates,
    finish_linkage,
    merge,
    partial,
)
from tests.audits.checks.conftest import make_context
from tests.audits.checks.test_hashcount import COLUMNS, _frame


def _stored(path, frame: pd.DataFrame, row_group_size: int = 50) -> partitioned.Source:
    frame.to_parquet(path, index=False, row_group_size=row_group_size)
    return partitioned.Source(str(path), "parquet", tuple(frame.columns), len(frame))


def _pieces(source: partitioned.Source, frame: str, rng: np.random.Generator):
    """Random cut points, including an empty piece."""
    n = source.row_count
    cuts = np.sort(rng.integers(0, n + 1, size=4))
    cuts[1] = cuts[0]  # an empty piece
    bounds = [0, *cuts.tolist(), n]
    return [partitioned.Piece(source, frame, a, b) for a, b in pairwise(bounds)]


def _state(pieces, keys, bits: int, rng: np.random.Generator) -> dict[str, HashCounts]:
    """Facts and counts of every piece, merged in a random order."""
    facts: dict = {}
    for piece in pieces:
        facts = partitioned.merge_facts(facts, partitioned.piece_facts(piece, COLUMNS))
    kinds = partitioned.decide(facts, pieces[0].source)
    states = [partitioned.piece_counts(p, COLUMNS, kinds, keys, bits) for p in pieces]
    merged = states.pop(int(rng.integers(len(states))))
    for i in rng.permutation(len(states)):
        merged = partitioned.merge_counts(merged, states[i])
    return merged


@pytest.mark.parametrize(("seed", "bits"), [(0, 0), (1, 2), (2, 4), (3, 4)])
def test_streamed_figures_equal_the_in_memory_figures(tmp_path, seed, bits):
    rng = np.random.default_rng(seed)
    real, synthetic = _frame(rng, 60, 0), _frame(rng, 80, 1000)
    config = AuditConfig(columns=COLUMNS, quasi_identifiers=["c", "x"])
    ctx = make_context(config, real, synthetic)
    keys = config.quasi_identifiers
    syn = _state(
        _pieces(_stored(tmp_path / "s.parquet", synthetic), "synthetic", rng), keys, bits, rng
    )
    ref = _state(_pieces(_stored(tmp_path / "r.parquet", real), "real", rng), keys, bits, rng)
    assert syn[partitioned.ROWS].bits == bits

    duplicates, real_rate = finish_duplicates(syn[partitioned.ROWS], ref[partitioned.ROWS])
    expected = duplicate_rate(ctx)[0].details
    assert duplicates == expected["duplicates"]
    assert real_rate == pytest.approx(expected["real_duplicate_rate"])
    copies = finish_copies(syn[partitioned.ROWS], ref[partitioned.ROWS])
    assert copies == exact_match_rate(ctx)[0].details["copies"]

    linked, people, unique_share = finish_linkage(syn[partitioned.KEYS], ref[partitioned.KEYS])
    expected = linkage_risk(ctx)[0].details
    assert linked == expected["linked_synthetic_rows"]
    assert people == expected["real_people_singled_out"]
    assert unique_share == pytest.approx(expected["real_unique_share"])


def test_merge_is_order_free_and_keeps_every_row():
    rng = np.random.default_rng(5)
    parts = [partial(rng.integers(0, 2**64, 50, dtype=np.uint64) % np.uint64(7) << np.uint64(61))
             for _ in range(3)]  # fmt: skip
    left = merge(merge(parts[0], parts[1]), parts[2])
    right = merge(parts[2], merge(parts[1], parts[0]))
    for a, b in zip(left.values + left.counts, right.values + right.counts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert left.rows == sum(int(c.sum()) for c in left.counts) == 150
    with pytest.raises(ValueError, match="different partitions"):
        merge(partial(np.zeros(1, np.uint64), 2), partial(np.zeros(1, np.uint64), 3))


def test_pieces_across_row_groups_give_the_state_of_the_whole_file(tmp_path):
    """Pieces of 32 rows over row groups of 50 (cut inside groups) merge to the state of
    the file read as one piece."""
    rng = np.random.default_rng(9)
    frame = _frame(rng, 120, 0)
    source = _stored(tmp_path / "t.parquet", frame)
    pieces = partitioned.plan(source, "real", 32)
    assert [(p.start, p.stop) for p in pieces] == [(0, 32), (32, 64), (64, 96), (96, 120)]
    whole = [partitioned.Piece(source, "real", 0, len(frame))]
    streamed = _state(pieces, ["c"], 4, rng)
    once = _state(whole, ["c"], 4, rng)
    for name in (partitioned.ROWS, partitioned.KEYS):
        a, b = streamed[name], once[name]
        assert a.rows == b.rows == len(frame)
        for x, y in zip(a.values + a.counts, b.values + b.counts, strict=True):
            np.testing.assert_array_equal(x, y)
