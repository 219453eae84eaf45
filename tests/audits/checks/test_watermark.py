"""The keyed watermark: round trip, robustness, false positives, tolerance, determinism."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from audits.checks.watermark import detect, embed

ROOT = Path(__file__).resolve().parents[3]
KEY = b"org-a-watermark-key"
TOLERANCES = {"age": 0.5, "income": 200.0, "score": 0.05, "height": 1.0, "weight": 0.8}


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(45, 12, rows),
            "income": rng.lognormal(10, 0.5, rows),
            "score": rng.uniform(0, 10, rows),
            "height": rng.normal(170, 10, rows),
            "weight": rng.normal(75, 15, rows),
            "region": rng.choice(["north", "south", "east"], rows),
        }
    )


@pytest.fixture(scope="module")
def marked() -> tuple[pd.DataFrame, pd.DataFrame]:
    original = table(20_000, seed=1)
    marked, _ = embed(original, KEY, TOLERANCES)
    return original, marked


def test_round_trip_detects_with_tiny_p_value(marked):
    _, df = marked
    found = detect(df, KEY, TOLERANCES)
    assert found.present
    assert found.p_value < 1e-30
    assert found.trials > 100
    assert found.matches == found.trials


def test_unmarked_original_is_not_detected(marked):
    original, _ = marked
    assert not detect(original, KEY, TOLERANCES).present


def test_survives_shuffling_rows(marked):
    _, df = marked
    shuffled = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    assert detect(shuffled, KEY, TOLERANCES).p_value < 1e-30


def test_survives_keeping_a_random_fifth_of_rows(marked):
    _, df = marked
    kept = df.sample(frac=0.2, random_state=8)
    found = detect(kept, KEY, TOLERANCES)
    assert found.present
    assert found.p_value < 1e-20


def test_survives_dropping_a_column(marked):
    _, df = marked
    found = detect(df.drop(columns=["income"]), KEY, TOLERANCES)
    assert found.present
    assert "income" not in found.per_column


def test_survives_light_noise(marked):
    _, df = marked
    rng = np.random.default_rng(9)
    noisy = df.copy()
    for column, tolerance in TOLERANCES.items():
        noisy[column] = noisy[column] + rng.normal(0, 0.1 * tolerance, len(noisy))
    found = detect(noisy, KEY, TOLERANCES)
    assert found.present
    assert found.p_value < 1e-30


def test_survives_all_attacks_together(marked):
    _, df = marked
    rng = np.random.default_rng(10)
    attacked = df.sample(frac=0.2, random_state=11).drop(columns=["score"])
    for column in ("age", "income", "height", "weight"):
        attacked[column] = attacked[column] + rng.normal(0, 0.1 * TOLERANCES[column], len(attacked))
    assert detect(attacked, KEY, TOLERANCES).present


def test_wrong_key_is_not_detected(marked):
    _, df = marked
    found = detect(df, b"another-organisation", TOLERANCES)
    assert not found.present
    assert found.p_value > 1e-3


def test_false_positives_on_unmarked_tables_are_bounded_and_p_values_uniform():
    # Under no mark each trial is a fair coin, so P(p < a) <= a for every a.
    p_values = []
    for i in range(200):
        found = detect(table(2_000, seed=100 + i), f"key-{i}".encode(), TOLERANCES)
        p_values.append(found.p_value)
    p_values = np.array(p_values)
    assert (p_values < 1e-6).sum() == 0
    below = int((p_values < 0.05).sum())
    # 99.9% band of Binomial(200, 0.05); the test is deterministic (fixed seeds and keys).
    assert binom.ppf(0.0005, 200, 0.05) <= below <= binom.ppf(0.9995, 200, 0.05)
    assert 0.35 < float(np.median(p_values)) < 0.75


def test_change_never_exceeds_tolerance(marked):
    original, df = marked
    _, report = embed(original, KEY, TOLERANCES)
    for column, tolerance in TOLERANCES.items():
        change = np.abs(df[column] - original[column]).max()
        assert change <= tolerance
        assert report.max_change[column] <= tolerance
        assert 0 < report.mean_change[column] < tolerance
    assert report.cells_marked == sum(report.cells_marked_per_column.values()) > 0
    assert (df["region"] == original["region"]).all()


def test_tolerance_holds_for_extreme_values():
    rng = np.random.default_rng(3)
    original = pd.DataFrame({"x": rng.uniform(-1e6, 1e6, 5_000)})
    df, report = embed(original, KEY, {"x": 0.01})
    assert np.abs(df["x"] - original["x"]).max() <= 0.01
    assert report.max_change["x"] <= 0.01


def test_missing_values_are_left_alone():
    original = table(3_000, seed=4)
    original.loc[::7, "age"] = np.nan
    df, _ = embed(original, KEY, TOLERANCES)
    assert df["age"].isna().equals(original["age"].isna())
    assert detect(df, KEY, TOLERANCES).present


def test_embedding_is_deterministic_and_order_free():
    original = table(3_000, seed=5)
    first, first_report = embed(original, KEY, TOLERANCES)
    second, second_report = embed(original, KEY, TOLERANCES)
    pd.testing.assert_frame_equal(first, second)
    assert first_report == second_report
    shuffled = original.sample(frac=1.0, random_state=1)
    marked_shuffled, _ = embed(shuffled, KEY, TOLERANCES)
    pd.testing.assert_frame_equal(marked_shuffled.sort_index(), first)
    assert detect(first, KEY, TOLERANCES) == detect(second, KEY, TOLERANCES)


def test_report_and_detection_serialise():
    original = table(1_000, seed=6)
    df, report = embed(original, KEY, TOLERANCES)
    assert set(report.to_json()) == {
        "cells_marked",
        "cells_marked_per_column",
        "max_change",
        "mean_change",
        "anchor",
        "categories_changed",
        "integral_columns",
    }
    found = detect(df, KEY, TOLERANCES).to_json()
    assert found["present"] is True
    assert found["per_column"]["age"][0] <= found["per_column"]["age"][1]


@pytest.mark.parametrize(
    ("key", "tolerances", "gamma", "message"),
    [
        (b"", TOLERANCES, 3, "key"),
        (KEY, {}, 3, "at least one"),
        (KEY, {"age": 0.0}, 3, "positive"),
        (KEY, {"region": 1.0}, 3, "not numeric"),
        (KEY, {"missing": 1.0}, 3, "not in the table"),
        (KEY, TOLERANCES, 0, "gamma"),
    ],
)
def test_bad_arguments_are_refused(key, tolerances, gamma, message):
    with pytest.raises(ValueError, match=message):
        embed(table(10, seed=0), key, tolerances, gamma=gamma)


def test_detecting_on_a_table_without_the_columns_finds_nothing():
    found = detect(pd.DataFrame({"other": [1.0, 2.0]}), KEY, TOLERANCES)
    assert (found.present, found.p_value, found.trials) == (False, 1.0, 0)


def test_module_imports_no_django():
    code = (
        "import sys\n"
        "import audits.checks.watermark, audits.checks.collapse, synthgov.signing.manifests\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --- categorical columns -----------------------------------------------------------

CATEGORICAL = {"region": 0.1, "grade": 0.1}


def mixed_table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = table(rows, seed)
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1])
    frame["grade"] = rng.choice(list("ABCDEFG"), rows)
    return frame


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.DataFrame, str]:
    original = mixed_table(20_000, seed=21)
    marked, report = embed(original, KEY, TOLERANCES, categorical=CATEGORICAL)
    return original, marked, report.anchor


def categorical_only(df: pd.DataFrame, anchor: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """The anchor column plus the categorical columns, with the anchor's numeric
    evidence removed from the count (its tolerance is kept only to key the anchors)."""
    return df[[anchor, *CATEGORICAL]], {anchor: TOLERANCES[anchor]}


def categorical_evidence(found) -> tuple[int, int]:
    pairs = [found.per_column[c] for c in CATEGORICAL if c in found.per_column]
    return sum(m for m, _ in pairs), sum(n for _, n in pairs)


def test_categorical_round_trip_is_significant_on_its_own(mixed):
    _, df, anchor = mixed
    found = detect(df, KEY, TOLERANCES, categorical=CATEGORICAL, anchor=anchor)
    matches, trials = categorical_evidence(found)
    assert trials > 100
    # Without the mark each pair is a fair coin: this many greens is far beyond chance.
    assert binom.sf(matches - 1, trials, 0.5) < 1e-12
    assert found.present and found.strength > 30


def test_categorical_change_stays_within_the_rate_and_keeps_categories(mixed):
    original, df, _ = mixed
    for column, rate in CATEGORICAL.items():
        changed = (df[column] != original[column]).mean()
        assert 0 < changed <= rate
        assert set(df[column]) <= set(original[column])
        before = original[column].value_counts(normalize=True)
        after = df[column].value_counts(normalize=True)
        assert 0.5 * before.sub(after, fill_value=0).abs().sum() < rate


def test_categorical_mark_survives_shuffle_subset_and_noise(mixed):
    _, df, anchor = mixed
    rng = np.random.default_rng(22)
    attacked = df.sample(frac=0.2, random_state=23).reset_index(drop=True)
    attacked[anchor] = attacked[anchor] + rng.normal(0, 0.05 * TOLERANCES[anchor], len(attacked))
    found = detect(attacked, KEY, TOLERANCES, categorical=CATEGORICAL, anchor=anchor)
    matches, trials = categorical_evidence(found)
    assert binom.sf(matches - 1, trials, 0.5) < 1e-6
    assert found.present


def test_categorical_evidence_is_lost_but_numeric_remains_when_the_anchor_is_dropped(mixed):
    _, df, anchor = mixed
    found = detect(
        df.drop(columns=[anchor]), KEY, TOLERANCES, categorical=CATEGORICAL, anchor=anchor
    )
    assert categorical_evidence(found) == (0, 0)
    assert found.present


def test_categorical_false_positives_are_bounded_and_p_values_uniform():
    p_values = []
    for i in range(200):
        frame = mixed_table(2_000, seed=300 + i)
        found = detect(
            frame, f"key-{i}".encode(), TOLERANCES, categorical=CATEGORICAL, anchor="age"
        )
        assert categorical_evidence(found)[1] > 0
        p_values.append(found.p_value)
    p_values = np.array(p_values)
    assert (p_values < 1e-6).sum() == 0
    below = int((p_values < 0.05).sum())
    assert binom.ppf(0.0005, 200, 0.05) <= below <= binom.ppf(0.9995, 200, 0.05)
    assert 0.35 < float(np.median(p_values)) < 0.75


def test_categorical_wrong_key_is_not_detected(mixed):
    _, df, anchor = mixed
    found = detect(df, b"someone-else", TOLERANCES, categorical=CATEGORICAL, anchor=anchor)
    assert not found.present


def test_categorical_embedding_is_deterministic_and_order_free():
    original = mixed_table(3_000, seed=24)
    first, report = embed(original, KEY, TOLERANCES, categorical=CATEGORICAL)
    shuffled = original.sample(frac=1.0, random_state=2)
    second, _ = embed(shuffled, KEY, TOLERANCES, categorical=CATEGORICAL, anchor=report.anchor)
    pd.testing.assert_frame_equal(second.sort_index(), first)


def test_strength_stays_finite_when_the_p_value_underflows():
    original = table(200_000, seed=25)
    df, _ = embed(original, KEY, {"score": 0.0005})
    found = detect(df, KEY, {"score": 0.0005})
    assert found.p_value == 0.0
    assert np.isfinite(found.strength) and found.strength > 300


@pytest.mark.parametrize(
    ("categorical", "anchor", "message"),
    [
        ({"region": 0.0}, None, "at most 0.5"),
        ({"region": 0.6}, None, "at most 0.5"),
        ({"age": 0.1}, None, "both numeric and categorical"),
        ({"missing": 0.1}, None, "not in the table"),
        ({"region": 0.1}, "region", "anchor column"),
    ],
)
def test_bad_categorical_arguments_are_refused(categorical, anchor, message):
    with pytest.raises(ValueError, match=message):
        embed(mixed_table(50, seed=0), KEY, TOLERANCES, categorical=categorical, anchor=anchor)


def test_detecting_categorical_needs_the_anchor():
    with pytest.raises(ValueError, match="anchor"):
        detect(mixed_table(50, seed=0), KEY, TOLERANCES, categorical=CATEGORICAL)


def test_a_column_with_one_category_is_refused():
    frame = mixed_table(50, seed=0).assign(region="north")
    with pytest.raises(ValueError, match="fewer than two"):
        embed(frame, KEY, TOLERANCES, categorical={"region": 0.1})


# --- columns of whole numbers --------------------------------------------------------

WHOLE = {"visits": 5.0, "salary": 50.0, "age": 2.0}


def whole_table(rows: int, seed: int) -> pd.DataFrame:
    """Counts as int64, a salary of whole numbers as float with missing values, ages."""
    rng = np.random.default_rng(seed)
    salary = rng.integers(20_000, 200_000, rows).astype("float64")
    salary[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "visits": rng.integers(0, 30_000, rows),
            "salary": salary,
            "age": rng.integers(18, 96, rows),
            "region": rng.choice(["north", "south", "east"], rows),
        }
    )


@pytest.fixture(scope="module")
def whole_marked() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    original = whole_table(20_000, seed=31)
    marked, report = embed(original, KEY, WHOLE)
    return original, marked, report.integral_columns


def test_int64_columns_stay_int64_within_the_tolerance(whole_marked):
    original, df, integral = whole_marked
    assert integral == ["visits", "salary", "age"]
    for column in ("visits", "age"):
        assert df[column].dtype == np.int64
    _, report = embed(original, KEY, WHOLE)
    for column, tolerance in WHOLE.items():
        change = (df[column] - original[column]).abs()
        assert change.max() <= tolerance
        assert report.max_change[column] <= tolerance
        assert 0 < report.mean_change[column] < tolerance
    # The rounded change is whole: with a whole tolerance the largest change is reached.
    assert report.max_change["visits"] == 5.0
    found = detect(df, KEY, WHOLE, integral=integral)
    assert found.present and found.p_value < 1e-30
    assert found.matches == found.trials
    assert not detect(original, KEY, WHOLE, integral=integral).present


def test_a_float_column_of_whole_numbers_stays_whole_and_keeps_its_missing_values(whole_marked):
    original, df, _ = whole_marked
    assert df["salary"].dtype == np.float64
    assert df["salary"].isna().equals(original["salary"].isna())
    present = df["salary"].dropna()
    assert (present == np.floor(present)).all()
    assert (df["salary"] != original["salary"]).sum() > 1_000


def test_a_tolerance_that_is_not_whole_keeps_the_change_within_it():
    original = whole_table(5_000, seed=32)
    tolerances = {"visits": 7.9, "salary": 2.4}
    df, report = embed(original, KEY, tolerances)
    for column, tolerance in tolerances.items():
        assert (df[column] - original[column]).abs().max() <= np.floor(tolerance)
        assert report.max_change[column] <= tolerance
    assert detect(df, KEY, tolerances, integral=report.integral_columns).present


@pytest.mark.parametrize("tolerance", [0.5, 1.0, 1.5, 1.99])
def test_a_tolerance_too_small_to_keep_whole_numbers_is_refused(tolerance):
    original = whole_table(100, seed=33)
    with pytest.raises(
        ValueError,
        match=r"column 'age' holds whole numbers, so its tolerance must be at least 2 to keep "
        r"them whole \(it is ",
    ):
        embed(original, KEY, {"age": tolerance})
    # Whole floats count as whole numbers too.
    with pytest.raises(ValueError, match="column 'salary' holds whole numbers"):
        embed(original, KEY, {"salary": tolerance})


def test_the_smallest_whole_number_tolerance_keeps_the_mark():
    original = whole_table(20_000, seed=34)
    df, report = embed(original, KEY, {"visits": 2.0})
    assert df["visits"].dtype == np.int64
    assert (df["visits"] - original["visits"]).abs().max() <= 2
    found = detect(df, KEY, {"visits": 2.0}, integral=report.integral_columns)
    assert found.matches == found.trials > 1_000


def test_whole_numbers_too_large_for_float64_are_refused():
    original = pd.DataFrame({"id": np.arange(2**60, 2**60 + 1_000, dtype=np.int64)})
    with pytest.raises(ValueError, match="too large"):
        embed(original, KEY, {"id": 10.0})


def test_nullable_and_narrow_integer_columns_keep_their_dtype():
    rng = np.random.default_rng(35)
    counts = pd.array(rng.integers(0, 5_000, 3_000), dtype="Int64")
    counts[::9] = pd.NA
    original = pd.DataFrame(
        {"counts": counts, "small": rng.integers(0, 200, 3_000).astype("int16")}
    )
    df, report = embed(original, KEY, {"counts": 3.0, "small": 2.0})
    assert df["counts"].dtype == pd.Int64Dtype() and df["small"].dtype == np.int16
    assert df["counts"].isna().equals(original["counts"].isna())
    assert (df["counts"] - original["counts"]).abs().max() <= 3
    assert report.integral_columns == ["counts", "small"]


def test_a_marked_value_that_no_longer_fits_widens_the_integer_column():
    from audits.checks.watermark import _whole

    original = pd.Series(np.array([250, 255, 3], dtype=np.uint8))
    widened = _whole(original, np.array([1]), np.array([257.0]))
    assert widened.dtype == np.int64 and widened.tolist() == [250, 257, 3]
    kept = _whole(original, np.array([1]), np.array([253.0]))
    assert kept.dtype == np.uint8 and kept.tolist() == [250, 253, 3]
    nullable = pd.Series(pd.array([1, None, 120], dtype="Int8"))
    wide = _whole(nullable, np.array([2]), np.array([130.0]))
    assert wide.dtype == pd.Int64Dtype() and wide.tolist() == [1, pd.NA, 130]


def test_whole_number_mark_survives_shuffle_subset_and_a_dropped_column(whole_marked):
    _, df, integral = whole_marked
    shuffled = df.sample(frac=1.0, random_state=36).reset_index(drop=True)
    assert detect(shuffled, KEY, WHOLE, integral=integral).p_value < 1e-30
    kept = df.sample(frac=0.2, random_state=37)
    assert detect(kept, KEY, WHOLE, integral=integral).p_value < 1e-20
    found = detect(df.drop(columns=["visits"]), KEY, WHOLE, integral=integral)
    assert found.present and "visits" not in found.per_column


def test_whole_number_mark_survives_plus_or_minus_one_on_every_cell(whole_marked):
    # A tolerance of 5 or more leaves room for +-1 on every marked cell (module docstring);
    # only unmarked neighbours pushed into a unit can outvote its marked cells.
    _, df, integral = whole_marked
    rng = np.random.default_rng(38)
    noisy = df.copy()
    noisy["visits"] = noisy["visits"] + rng.choice([-1, 1], len(noisy))
    found = detect(noisy[["visits"]], KEY, WHOLE, integral=integral)
    assert found.trials > 1_000 and found.matches >= 0.99 * found.trials
    assert found.p_value < 1e-30


def test_whole_number_mark_survives_light_noise_and_all_attacks_together(whole_marked):
    _, df, integral = whole_marked
    rng = np.random.default_rng(39)
    attacked = df.sample(frac=0.2, random_state=40).drop(columns=["age"])
    for column in ("visits", "salary"):
        noise = rng.normal(0, 0.1 * WHOLE[column], len(attacked))
        attacked[column] = (attacked[column] + noise).round()
    found = detect(attacked, KEY, WHOLE, integral=integral)
    assert found.present and found.p_value < 1e-20


def test_whole_number_false_positives_are_bounded_and_p_values_uniform():
    p_values = []
    for i in range(200):
        frame = whole_table(2_000, seed=400 + i)
        found = detect(frame, f"key-{i}".encode(), WHOLE, integral=list(WHOLE))
        p_values.append(found.p_value)
    p_values = np.array(p_values)
    assert (p_values < 1e-6).sum() == 0
    below = int((p_values < 0.05).sum())
    assert binom.ppf(0.0005, 200, 0.05) <= below <= binom.ppf(0.9995, 200, 0.05)
    assert 0.35 < float(np.median(p_values)) < 0.75


def test_detection_needs_the_whole_number_columns_to_have_tolerances():
    with pytest.raises(ValueError, match="'visits' has no tolerance"):
        detect(whole_table(10, seed=0), KEY, {"age": 2.0}, integral=["visits"])


def test_whole_number_categorical_anchor_keys_the_same_buckets():
    original = whole_table(20_000, seed=41)
    original["grade"] = np.random.default_rng(42).choice(list("ABCDEFG"), len(original))
    categorical = {"grade": 0.1}
    df, report = embed(original, KEY, WHOLE, categorical=categorical)
    found = detect(
        df,
        KEY,
        WHOLE,
        categorical=categorical,
        anchor=report.anchor,
        integral=report.integral_columns,
    )
    matches, trials = found.per_column["grade"]
    assert trials > 100 and binom.sf(matches - 1, trials, 0.5) < 1e-12
