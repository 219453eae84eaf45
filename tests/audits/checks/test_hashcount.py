"""Sort-based counting on row hashes gives what the plain definitions give: ties, rows
with missing values, empty inputs; and the copy, duplicate and linkage figures built on
it equal counts made row by row with Python sets."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.hashcount import (
    count_members,
    distinct_count,
    member_mask_sorted,
    sorted_counts,
)
from audits.checks.integrity import duplicate_rate
from audits.checks.privacy import exact_match_rate, linkage_risk
from tests.audits.checks.conftest import make_context

EMPTY = np.zeros(0, dtype=np.uint64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_the_plain_definitions_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    # Few distinct values (many ties), including the extremes of the uint64 range.
    pool = np.array([0, 1, 2**63, 2**64 - 1, 12345], dtype=np.uint64)
    values = rng.choice(pool, size=200)
    keys = rng.choice(pool[:3], size=50)
    distinct, counts = sorted_counts(values)
    plain = Counter(values.tolist())
    assert distinct.tolist() == sorted(plain)
    assert counts.tolist() == [plain[v] for v in sorted(plain)]
    assert distinct_count(values) == len(plain)
    assert count_members(values, keys) == sum(v in set(keys.tolist()) for v in values.tolist())
    queries = np.sort(values)
    assert member_mask_sorted(queries, np.unique(keys)).tolist() == np.isin(queries, keys).tolist()


def test_empty_inputs():
    some = np.array([3, 3, 7], dtype=np.uint64)
    assert distinct_count(EMPTY) == 0
    assert [a.tolist() for a in sorted_counts(EMPTY)] == [[], []]
    assert count_members(EMPTY, some) == 0
    assert count_members(some, EMPTY) == 0
    assert member_mask_sorted(some, EMPTY).tolist() == [False, False, False]
    assert member_mask_sorted(EMPTY, some).tolist() == []


COLUMNS = [
    ColumnSpec("id", "id", "identifier"),
    ColumnSpec("c", "categorical", "quasi_identifier"),
    ColumnSpec("x", "numerical", "quasi_identifier"),
    ColumnSpec("y", "numerical", "other"),
]


def _frame(rng: np.random.Generator, n: int, offset: int) -> pd.DataFrame:
    """Few distinct rows, so duplicates, copies and shared keys are frequent; missing
    values in a categorical and in two numeric columns, and -0.0 next to 0.0."""
    return pd.DataFrame(
        {
            "id": np.arange(n) + offset,
            "c": rng.choice(np.array(["a", "b", None], dtype=object), size=n),
            "x": rng.choice([0.0, -0.0, 1.5, np.nan], size=n),
            "y": rng.choice([2.0, np.nan], size=n),
        }
    )


def _plain_rows(frame: pd.DataFrame, names: list[str]) -> list[tuple]:
    """Rows as Python tuples: every missing value is one value, -0.0 equals 0.0."""

    def norm(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return v + 0.0 if isinstance(v, float) else v

    return [tuple(norm(v) for v in row) for row in frame[names].itertuples(index=False)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_copy_duplicate_and_linkage_figures_equal_row_by_row_counts(seed):
    rng = np.random.default_rng(seed)
    real, synthetic = _frame(rng, 60, 0), _frame(rng, 80, 1000)
    config = AuditConfig(columns=COLUMNS, quasi_identifiers=["c", "x"])
    ctx = make_context(config, real, synthetic)
    every = ["c", "x", "y"]
    syn_rows, real_rows = _plain_rows(synthetic, every), _plain_rows(real, every)

    duplicates = duplicate_rate(ctx)[0]
    assert duplicates.details["duplicates"] == len(syn_rows) - len(set(syn_rows))
    assert duplicates.details["real_duplicate_rate"] == pytest.approx(
        (len(real_rows) - len(set(real_rows))) / len(real_rows)
    )

    copies = exact_match_rate(ctx)[0]
    assert copies.details["copies"] == sum(row in set(real_rows) for row in syn_rows)

    real_keys = Counter(_plain_rows(real, ["c", "x"]))
    linked = [k for k in _plain_rows(synthetic, ["c", "x"]) if real_keys.get(k) == 1]
    linkage = linkage_risk(ctx)[0]
    assert linkage.details["linked_synthetic_rows"] == len(linked)
    assert linkage.details["real_people_singled_out"] == len(set(linked))
    assert linkage.details["real_unique_share"] == pytest.approx(
        sum(c == 1 for c in real_keys.values()) / len(real)
    )
