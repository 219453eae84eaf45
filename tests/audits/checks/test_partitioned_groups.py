"""The fairness step's counts and fidelity rows from the stored files in pieces
(``partitioned_groups``, what a Dask cluster runs) equal those from the prepared columns,
and so do the step's figures: categories (with missing values and numbers whose printed
form is decided over the whole file), a numeric attribute cut at its quintiles, booleans,
intersections, a category target and a 0/1 target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits.checks import fairness, groups, partitioned, partitioned_groups
from audits.checks.base import AuditConfig, ColumnSpec
from audits.checks.compact import prepare_compact
from audits.checks.context import AuditContext
from tests.audits.checks.test_partitioned import KEYS, SPECS, stored, tables

COLUMNS = [*SPECS, ColumnSpec("passed", "numerical", "target")]


def _tables(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    real, synthetic = tables(seed=seed)
    for frame, shift in ((real, 0), (synthetic, 1)):
        rng = np.random.default_rng(seed + shift)
        passed = (rng.random(len(frame)) < 0.3 + 0.2 * (frame["member"] == "True")).astype(float)
        passed[rng.random(len(frame)) < 0.05] = np.nan
        frame["passed"] = passed
    return real, synthetic


def _run(tmp_path, fmt: str, target: str, rows: int, sample: int, monkeypatch):
    monkeypatch.setattr(fairness, "FIDELITY_ROWS_PER_GROUP", sample)
    real, synthetic = _tables(seed=9)
    sources, frames = stored(tmp_path, fmt, real, synthetic)
    config = AuditConfig(
        columns=COLUMNS,
        protected=["band", "age", "member"],
        target=target,
        families={"fairness"},
        seed=3,
    )
    data = prepare_compact(COLUMNS, frames["real"], frames["synthetic"], None)
    ctx = AuditContext(config, None, None, None, data, {})
    decided: dict = {}
    partitioned.compute(partitioned.LocalExecutor(), COLUMNS, KEYS, sources, decided=decided)

    def pieces(layout):
        return partitioned_groups.count(
            partitioned.LocalExecutor(), sources, COLUMNS, decided, layout, rows_per_piece=rows
        )

    return ctx, pieces


@pytest.mark.parametrize(
    ("fmt", "target", "rows", "sample"),
    [
        ("csv", "grade", 311, 37),
        ("parquet", "passed", 311, 37),
        ("parquet", "grade", 10_000, 20_000),
        ("csv", "passed", 97, 400),
    ],
)
def test_pieces_count_the_groups_as_the_prepared_columns(
    tmp_path, monkeypatch, fmt, target, rows, sample
):
    ctx, pieces = _run(tmp_path, fmt, target, rows, sample, monkeypatch)
    rule, _ = fairness._outcome_rule(ctx)
    assert rule is not None
    layout = fairness.group_layout(ctx, rule)
    assert len(layout.groupings()) == 6  # three attributes, three pairs
    assert layout.attributes[1].inner  # age: cut at its quintiles
    local = list(fairness._counted_here(ctx, layout, rule))
    found = pieces(layout)
    sampled = 0
    for (want, want_rows), (got, got_rows) in zip(local, found, strict=True):
        assert (got.name, got.labels) == (want.name, want.labels)
        for field in ("n_real", "n_synthetic", "positive_real", "positive_synthetic"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), field
        assert want.positive_real.sum() > 0
        for group in fairness.fidelity_groups(want, ctx.config.min_group_count):
            for frame in ("real", "synthetic"):
                expected = want_rows(int(group), frame)
                assert np.array_equal(got_rows(int(group), frame), expected)
                sampled += len(expected) < getattr(want, f"n_{frame}")[group]
    # The seeded sample, not every row, where a group is larger than it.
    assert (sampled > 0) == (sample < 1000)
    here = fairness.fairness(ctx)
    ctx.group_pieces = pieces
    there = fairness.fairness(ctx)
    assert [m.to_json() for m in there] == [m.to_json() for m in here]
    assert here[-1].value is not None  # the fidelity gap: groups large enough


def test_a_category_the_worker_never_saw_is_an_error(tmp_path, monkeypatch):
    ctx, pieces = _run(tmp_path, "parquet", "grade", 500, 20_000, monkeypatch)
    rule, _ = fairness._outcome_rule(ctx)
    layout = fairness.group_layout(ctx, rule)
    band = layout.attributes[0]
    fewer = groups.Attribute(band.name, band.labels[1:], categories=band.categories[1:])
    wrong = groups.GroupLayout(
        (fewer, *layout.attributes[1:]),
        layout.pairs,
        layout.target,
        layout.positive,
        layout.seed,
        layout.min_group_count,
    )
    with pytest.raises(ValueError, match="'band'"):
        pieces(wrong)
