"""Row-hash figures from partial states over batches equal the in-memory figures, in any
batching, partitioning and merge order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig
from audits.checks.integrity import duplicate_rate
from audits.checks.privacy import exact_match_rate, linkage_risk
from audits.checks.streaming import (
    count_batches,
    finish_copies,
    finish_duplicates,
    finish_linkage,
    hashed_columns,
    merge,
    parquet_batches,
    partial,
)
from tests.audits.checks.conftest import make_context
from tests.audits.checks.test_hashcount import COLUMNS, _frame


def _batches(frame: pd.DataFrame, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Random cut points, including an empty batch."""
    cuts = np.sort(rng.integers(0, len(frame) + 1, size=4))
    return [frame.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)], strict=True)]


@pytest.mark.parametrize(("seed", "bits"), [(0, 0), (1, 2), (2, 4), (3, 4)])
def test_streamed_figures_equal_the_in_memory_figures(seed, bits):
    rng = np.random.default_rng(seed)
    real, synthetic = _frame(rng, 60, 0), _frame(rng, 80, 1000)
    config = AuditConfig(columns=COLUMNS, quasi_identifiers=["c", "x"])
    ctx = make_context(config, real, synthetic)
    every = hashed_columns(COLUMNS)
    keys = [config.column(name) for name in config.quasi_identifiers]
    syn = count_batches(_batches(synthetic, rng), every, bits)
    ref = count_batches(_batches(real, rng), every, bits)

    duplicates, real_rate = finish_duplicates(syn, ref)
    expected = duplicate_rate(ctx)[0].details
    assert duplicates == expected["duplicates"]
    assert real_rate == pytest.approx(expected["real_duplicate_rate"])
    assert finish_copies(syn, ref) == exact_match_rate(ctx)[0].details["copies"]

    linked, people, unique_share = finish_linkage(
        count_batches(_batches(synthetic, rng), keys, bits),
        count_batches(_batches(real, rng), keys, bits),
    )
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


def test_parquet_batches_give_the_same_state_as_the_frame(tmp_path):
    rng = np.random.default_rng(9)
    frame = _frame(rng, 120, 0)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=50)
    every = hashed_columns(COLUMNS)
    streamed = count_batches(
        parquet_batches(tmp_path / "t.parquet", [c.name for c in every], batch_rows=32), every
    )
    whole = count_batches([frame], every)
    for a, b in zip(streamed.values + streamed.counts, whole.values + whole.counts, strict=True):
        np.testing.assert_array_equal(a, b)
