"""The relational figures read text columns held as pandas ``category`` (as the relational
audit reads stored Parquet tables) exactly as they read the same columns as Python
strings: every figure and detail equal, not merely close."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audits.checks.relational import (
    RelationalSchema,
    _encode,
    key_violations,
    orphan_rate,
    relational_quality_metrics,
)
from tests.audits.checks.test_relational_pinned import METADATA, tables

KEYS = {"hid", "pid", "vid", "code"}


def _as_categories(frames: dict[str, pd.DataFrame], *, keys: bool) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for column in frame.columns:
            if frame[column].dtype == object and (keys or column not in KEYS):
                frame[column] = frame[column].astype("category")
        out[name] = frame
    return out


def _figures(real, synthetic) -> list[dict]:
    schema = RelationalSchema.from_sdmetrics(METADATA)
    metrics = [
        orphan_rate(synthetic, schema, reference=real),
        key_violations(synthetic, schema),
        *relational_quality_metrics(real, synthetic, schema),
    ]
    return json.loads(json.dumps([m.to_json() for m in metrics], default=str))


@pytest.mark.parametrize("broken", [False, True])
@pytest.mark.parametrize("keys", [False, True])
def test_category_columns_give_the_figures_strings_give(broken, keys):
    real = tables(11, 300, broken=False)
    synthetic = tables(13, 300, broken=broken)
    want = _figures(real, synthetic)
    got = _figures(_as_categories(real, keys=keys), _as_categories(synthetic, keys=keys))
    assert got == want


def test_category_codes_equal_the_codes_of_the_strings():
    # Different category lists on each side (order, unused and extra categories), missing
    # values on both: the same codes, in the same order of first appearance.
    real = pd.Series(["b", None, "a", "b", "c", np.nan, "a"])
    synthetic = pd.Series(["d", "a", None, "e", "b", "d"])
    want = _encode(real, synthetic, "categorical", None)
    real_cat = real.astype(pd.CategoricalDtype(["z", "c", "b", "a"]))
    synthetic_cat = synthetic.astype(pd.CategoricalDtype(["e", "a", "d", "b", "y"]))
    got = _encode(real_cat, synthetic_cat, "categorical", None)
    assert got.categories == want.categories == 5
    assert np.array_equal(got.real, want.real) and np.array_equal(got.synthetic, want.synthetic)
    same = _encode(real_cat, synthetic.astype(real_cat.dtype), "categorical", None)
    plain = _encode(real, synthetic.astype(real_cat.dtype).astype(object), "categorical", None)
    assert np.array_equal(same.synthetic, plain.synthetic) and same.categories == plain.categories


def _whole_audit(real, synthetic, holdout) -> list[dict]:
    from audits.checks import run_relational_audit
    from audits.checks.relational_privacy import LinkedChoices
    from audits.checks.runner import RELATIONAL_FAMILIES
    from tests.registry.relational_helpers import PEOPLE_VISITS_METADATA as LINKED

    choices = LinkedChoices(
        individuals_table="people",
        quasi_identifiers=["region", "count(visits)"],
        sensitive=["mode(visits.ward)"],
        fairness_table="visits",
        fairness_parent_columns=["people.region"],
        protected=["people.region"],
        target="ward",
        positive_outcome="a",
        seed=3,
    )
    outcome = run_relational_audit(
        # Provenance reads registry facts, not the tables.
        families=set(RELATIONAL_FAMILIES) - {"provenance"},
        real=real,
        synthetic=synthetic,
        schema=RelationalSchema.from_sdmetrics(LINKED),
        hash_verified=True,
        holdout=holdout,
        choices=choices,
    )
    return json.loads(json.dumps([m.to_json() for m in outcome.metrics], default=str))


def test_the_whole_linked_audit_reads_category_columns_as_strings():
    # Privacy (family copies, near copies, the individuals' re-identification with a
    # most-common-ward aggregate) and fairness on the joined tables, not only quality.
    from tests.registry.relational_helpers import planted_families

    real, synthetic, holdout = planted_families()
    rng = np.random.default_rng(5)
    for frames in (real, synthetic, holdout):  # missing text cells too
        for table, column in (("people", "region"), ("visits", "ward")):
            frame = frames[table]
            frame.loc[rng.random(len(frame)) < 0.05, column] = None
    want = _whole_audit(real, synthetic, holdout)
    status = {m["key"]: m["status"] for m in want}
    assert {k for k, v in status.items() if v != "ok"} == {
        "quality.intertable_trends",  # no pair strong enough in these tables
        "fairness.joined_subgroup_fidelity_gap",  # groups too small
    }
    got = _whole_audit(
        *(_as_categories(frames, keys=False) for frames in (real, synthetic, holdout))
    )
    assert got == want


def test_parquet_text_columns_read_as_categories_hold_the_same_values(tmp_path):
    from registry.ingest.tables import (
        TableFormat,
        TableInfo,
        categories_as_strings,
        read_frame,
    )

    frame = pd.DataFrame(
        {
            "id": np.arange(6),
            "ward": ["a", None, "b", "a", "NA", "c"],
            "label": ["x", "y", "x", "y", "x", "y"],
            "score": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        }
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False, row_group_size=2)  # a dictionary per row group
    info = TableInfo(format=TableFormat.PARQUET, row_count=6, columns=tuple(frame.columns))
    plain = read_frame(path, info)
    read = read_frame(path, info, categories=["ward", "score", "missing"])
    assert isinstance(read["ward"].dtype, pd.CategoricalDtype)
    assert read["label"].dtype == object and read["score"].dtype == float  # not asked / not text
    # The same values; a missing cell reads as NaN instead of None (both missing to pandas).
    assert read["ward"].isna().tolist() == plain["ward"].isna().tolist() == [0, 1, 0, 0, 0, 0]
    assert read["ward"].dropna().tolist() == plain["ward"].dropna().tolist()
    pd.testing.assert_frame_equal(read.drop(columns="ward"), plain.drop(columns="ward"))
    # Back to strings with None: exactly the plain read (for checks verified on those).
    back = categories_as_strings(read)
    pd.testing.assert_frame_equal(back, plain)
    assert back["ward"].tolist() == plain["ward"].tolist() == ["a", None, "b", "a", "NA", "c"]
    # Missing markers are matched on strings: then every column stays as before.
    marked = TableInfo(
        format=TableFormat.PARQUET, row_count=6, columns=info.columns, missing_markers=("NA",)
    )
    assert read_frame(path, marked, categories=["ward"])["ward"].dtype == object
    assert read_frame(path, info, categories=["ward"], nrows=3)["ward"].dtype == object


def test_categories_first_seen_late_keep_their_order_of_appearance():
    # Categories first met past the first 1,024 and 16,384 rows, and only in the
    # synthetic side: still numbered by first appearance, as the strings are.
    real = pd.Series(["a"] * 2000 + ["b"] + [None] * 20000 + ["c"] + ["a"] * 10)
    synthetic = pd.Series(["c"] * 30000 + ["e", "d", None, "b"])
    want = _encode(real, synthetic, "categorical", None)
    got = _encode(
        real.astype(pd.CategoricalDtype(["d", "c", "b", "a"])),
        synthetic.astype(pd.CategoricalDtype(["e", "d", "c", "b"])),
        "categorical",
        None,
    )
    assert got.categories == want.categories == 5
    assert np.array_equal(got.real, want.real) and np.array_equal(got.synthetic, want.synthetic)
    empty = _encode(
        pd.Series([None, None], dtype="category"),
        pd.Series([], dtype="category"),
        "categorical",
        None,
    )
    assert empty.categories == 0 and empty.real.tolist() == [0, 0]
