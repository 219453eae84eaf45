"""Prepared columns held narrow (``audits.checks.compact``) read back as the prepared
arrays, bit for bit."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.compact import CompactColumn, SpillStore, prepare_compact
from audits.checks.encoding import PreparedColumn, prepare
from audits.checks.runner import run_audit
from tests.audits.checks.conftest import census, census_config


def _numbers(real, synthetic=None, holdout=None) -> CompactColumn:
    real = np.asarray(real, dtype=np.float64)
    return CompactColumn(
        PreparedColumn(
            spec=ColumnSpec("x", "numerical"),
            real=real,
            synthetic=real.copy() if synthetic is None else np.asarray(synthetic, np.float64),
            holdout=holdout,
        )
    )


def _bits(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64)


@pytest.mark.parametrize(
    ("values", "stored", "scale"),
    [
        ([18.0, 95.0, np.nan, 40.0], np.int8, 1),  # ages, one missing
        ([300.0, 850.0, 612.0], np.int16, 1),  # credit scores
        ([38.5, 40.1, np.nan, 0.0], np.int16, 10),  # hours to one decimal
        ([12345.67, 0.29, 98765.43, np.nan], np.int32, 100),  # amounts in cents
        ([1.4e9, 1.6e9], np.int32, 1),  # dates in seconds
        ([0.1234567891, 2.5], np.float64, 0),  # no exact narrow form
        ([-0.0, 1.0], np.float32, 0),  # -0.0 would read back as 0.0 from an integer
        ([1.7e18, 1.0], np.float64, 0),  # whole, but wider than int32
        ([0.5, 0.25, np.nan], np.int8, 100),  # exact in float32 too: integers are tried first
    ],
)
def test_numbers_read_back_bit_for_bit_in_the_narrowest_exact_form(values, stored, scale):
    column = _numbers(values)
    held = column._stored["real"]
    assert held.stored.dtype == stored
    assert held.scale == scale
    for frame in ("real", "synthetic"):
        read = getattr(column, frame)
        assert read.dtype == np.float64
        np.testing.assert_array_equal(_bits(read), _bits(np.asarray(values, dtype=np.float64)))
    assert column.holdout is None


def test_codes_read_back_as_int32_and_each_read_is_a_new_array():
    codes = np.array([0, 299, -1, 5], dtype=np.int32)
    column = CompactColumn(
        PreparedColumn(
            spec=ColumnSpec("c", "categorical"),
            real=codes,
            synthetic=codes[::-1].copy(),
            holdout=codes[:2].copy(),
            categories=[str(i) for i in range(300)],
            n_reference_categories=300,
            n_real_categories=300,
        )
    )
    assert column._stored["real"].stored.dtype == np.int16
    assert column.real.dtype == np.int32
    np.testing.assert_array_equal(column.real, codes)
    np.testing.assert_array_equal(column.synthetic, codes[::-1])
    np.testing.assert_array_equal(column.holdout, codes[:2])
    read = column.real
    read[:] = 7  # a check writing into what it read changes nothing held
    np.testing.assert_array_equal(column.real, codes)
    assert column.nbytes == 2 * (4 + 4 + 2)
    assert column.categories == [str(i) for i in range(300)]
    assert (column.n_reference_categories, column.n_real_categories) == (300, 300)


def test_compact_preparation_gives_the_prepared_arrays_of_every_column():
    config = census_config()
    real, synthetic, holdout = census(500, 1), census(500, 2), census(120, 3)
    synthetic.loc[::7, "age"] = np.nan
    synthetic.loc[::5, "region"] = None
    plain = prepare(config.columns, real, synthetic, holdout, eager=True)
    compact = prepare_compact(config.columns, real, synthetic, holdout)
    assert list(compact.columns) == list(plain.columns)
    assert (compact.n_real, compact.n_synthetic, compact.n_holdout) == (500, 500, 120)
    for name in plain.columns:
        want, got = plain.columns[name], compact.columns[name]
        assert isinstance(got, CompactColumn)
        assert got.spec == want.spec
        assert got.categories == want.categories
        assert got.n_reference_categories == want.n_reference_categories
        assert got.n_real_categories == want.n_real_categories
        assert got.reference_range == want.reference_range or want.categories is not None
        for frame in ("real", "synthetic", "holdout"):
            a, b = getattr(want, frame), getattr(got, frame)
            assert a.dtype == b.dtype, (name, frame)
            np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


def test_the_callers_frames_are_left_whole():
    config = census_config(families={"integrity", "privacy"})
    real, synthetic = census(300, 1), census(300, 2)
    before = real.copy(), synthetic.copy()
    run_audit(config=config, real=real, synthetic=synthetic)
    pd.testing.assert_frame_equal(real, before[0])
    pd.testing.assert_frame_equal(synthetic, before[1])


def test_an_audit_of_identifiers_and_text_alone_still_prepares():
    columns = [ColumnSpec("id", "id", "identifier"), ColumnSpec("note", "text")]
    frame = pd.DataFrame({"id": [1, 2, 3], "note": ["a", "b", "b"]})
    outcome = run_audit(
        config=AuditConfig(columns=columns, families={"integrity"}),
        real=frame,
        synthetic=frame.copy(),
    )
    # Free text is hashed (the identifier is not): rows 2 and 3 repeat.
    assert outcome.metric("integrity.duplicate_rate").value == pytest.approx(1 / 3)


@pytest.mark.parametrize("spilled", [False, True])
@pytest.mark.parametrize("kind", ["cents", "whole", "float", "codes"])
def test_chosen_rows_read_as_the_same_rows_of_the_whole_array(tmp_path, spilled, kind):
    # A range of a large reference (the distance search) or a sample (the SDMetrics
    # reports) is decoded alone, from its place in the spill file: bit for bit the rows
    # the whole array gives, missing values included.
    rng = np.random.default_rng(3)
    n = 5_000

    def values() -> np.ndarray:
        drawn = {
            "cents": np.round(rng.normal(100, 30, n), 2),
            "whole": rng.integers(0, 90, n).astype(np.float64),
            "float": rng.normal(size=n),
            "codes": rng.integers(-1, 5, n).astype(np.float64),
        }[kind]
        drawn[rng.random(n) < 0.1] = np.nan if kind != "codes" else -1
        return drawn.astype(np.int32) if kind == "codes" else drawn

    extra = {"categories": list("abcde"), "n_reference_categories": 5} if kind == "codes" else {}
    spec = ColumnSpec("x", "categorical" if kind == "codes" else "numerical")
    prepared = PreparedColumn(spec, values(), values(), values(), **extra)
    with SpillStore(tmp_path) if spilled else contextlib.nullcontext() as store:
        column = CompactColumn(prepared, store)
        chosen = [
            slice(0, n), slice(17, 4_000), slice(n - 1, n), slice(300, 300), slice(4_000, n + 50),
            rng.integers(0, n, 700), np.sort(rng.choice(n, 300, replace=False)),
            np.zeros(0, dtype=np.int64), rng.random(n) < 0.3, [5, 3, 5],
        ]  # fmt: skip
        for frame in ("real", "synthetic", "holdout"):
            whole = getattr(column, frame)
            for rows in chosen:
                got = column.read_rows(frame, rows)
                assert got.dtype == whole.dtype
                assert np.array_equal(got.view(np.uint8), whole[rows].view(np.uint8)), rows
