"""Quality checks: hand-computed values and SDMetrics' own figures on its demo."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.encoding import prepare
from audits.checks.quality import coverage, detection, sdmetrics_reports
from audits.checks.shapes import ks_complement, shape_score, tv_complement
from audits.checks.utility import tstr_ratio
from tests.audits.checks.conftest import census, census_config, make_context


def test_ks_and_tv_complements_by_hand():
    # KS: real {1,2,3,4}, synthetic {3,4,5,6}: largest CDF gap is 0.5 at x=2..3.
    assert ks_complement(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == 0.5
    assert ks_complement(np.array([1.0, np.nan]), np.array([1.0])) == 1.0
    # TV: real a,a,b,b; synthetic a,b,b,c -> 0.5 * (|.5-.25| + |.5-.5| + |0-.25|) = .25.
    assert tv_complement(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2])) == 0.75


def test_column_shapes_match_sdmetrics_per_column(demo, demo_columns):
    from sdmetrics.single_column import KSComplement, TVComplement

    real, synthetic, _ = demo
    data = prepare(demo_columns, real, synthetic, None)
    for name, col in data.columns.items():
        if col.spec.type == "datetime":
            r, s = pd.to_datetime(real[name]), pd.to_datetime(synthetic[name])
        else:
            r, s = real[name], synthetic[name]
        metric = KSComplement if col.is_numeric else TVComplement
        assert shape_score(col) == pytest.approx(metric.compute(r, s), abs=1e-9), name


def test_coverage_matches_sdmetrics_and_hand_values(demo, demo_columns):
    from sdmetrics.single_column import CategoryCoverage, RangeCoverage

    real, synthetic, _ = demo
    config = AuditConfig(columns=demo_columns)
    results = {m.key: m for m in coverage(make_context(config, real, synthetic))}
    ranges, cats = [], []
    for spec in demo_columns:
        if spec.type in ("numerical", "datetime"):
            r, s = real[spec.name], synthetic[spec.name]
            if spec.type == "datetime":
                r, s = pd.to_datetime(r).astype("int64"), pd.to_datetime(s).astype("int64")
                r, s = r.where(r > 0), s.where(s > 0)  # NaT -> NaN
            ranges.append(RangeCoverage.compute(r, s))
        elif spec.type in ("categorical", "boolean"):
            cats.append(CategoryCoverage.compute(real[spec.name], synthetic[spec.name]))
    assert results["quality.range_coverage"].value == pytest.approx(np.mean(ranges), abs=1e-9)
    assert results["quality.category_coverage"].value == pytest.approx(np.mean(cats), abs=1e-9)


def test_coverage_by_hand_lists_absent_categories():
    columns = [ColumnSpec("c", "categorical"), ColumnSpec("x", "numerical")]
    real = pd.DataFrame({"c": ["a", "b", "c", "d"], "x": [0.0, 10, 5, 5]})
    synthetic = pd.DataFrame({"c": ["a", "a", "b", None], "x": [2.0, 7, 5, 5]})
    results = coverage(make_context(AuditConfig(columns=columns), real, synthetic))
    by_key = {m.key: m for m in results}
    assert by_key["quality.category_coverage"].value == 0.5
    assert by_key["quality.category_coverage"].details["absent_categories"] == {"c": ["c", "d"]}
    assert by_key["quality.range_coverage"].value == pytest.approx(0.5)  # 2..7 of 0..10


def test_sdmetrics_reports_equal_the_quality_report_on_the_demo(demo, demo_columns):
    real, synthetic, metadata = demo
    ours = {m.key: m for m in sdmetrics_reports(make_context(AuditConfig(columns=demo_columns),
                                                             real, synthetic))}  # fmt: skip
    metadata = {**metadata, "columns": dict(metadata["columns"])}
    metadata["columns"].pop("student_id")
    metadata.pop("primary_key")
    for spec in demo_columns:
        if spec.type == "boolean":
            metadata["columns"][spec.name] = {"sdtype": "categorical"}
    cols = list(metadata["columns"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table reports are deprecated aliases
        from sdmetrics.reports.single_table import DiagnosticReport, QualityReport

        quality = QualityReport()
        quality.generate(real[cols], synthetic[cols], metadata, verbose=False)
        diagnostic = DiagnosticReport()
        diagnostic.generate(real[cols], synthetic[cols], metadata, verbose=False)
    assert ours["quality.overall"].value == pytest.approx(quality.get_score(), abs=0.01)
    props = quality.get_properties().set_index("Property")["Score"]
    assert ours["quality.column_shapes"].value == pytest.approx(props["Column Shapes"], abs=0.01)
    assert ours["quality.column_pair_trends"].value == pytest.approx(
        props["Column Pair Trends"], abs=0.01
    )
    diag = diagnostic.get_properties().set_index("Property")["Score"]
    assert ours["quality.validity"].value == pytest.approx(diag["Data Validity"], abs=0.01)
    assert ours["quality.overall"].sample_size == len(synthetic)
    assert ours["quality.overall"].uncertainty is None  # every row was used
    matrix = ours["quality.column_pair_trends"].details["matrix"]
    assert len(matrix) == len(ours["quality.column_pair_trends"].details["columns"])


def test_pair_trend_matrix_holds_every_scored_pair(demo, demo_columns):
    # Bug: only the diagonal was filled because SDMetrics' details lead with a
    # "Table" column and the rows were read by position.
    real, synthetic, _ = demo
    config = AuditConfig(columns=demo_columns)
    ours = {m.key: m for m in sdmetrics_reports(make_context(config, real, synthetic))}
    details = ours["quality.column_pair_trends"].details
    index = {name: i for i, name in enumerate(details["columns"])}
    scored = [p for p in details["pairs"] if p["Score"] is not None]
    assert len(scored) >= 10
    for pair in scored:
        a, b = index[pair["Column 1"]], index[pair["Column 2"]]
        assert details["matrix"][a][b] == details["matrix"][b][a] == pytest.approx(pair["Score"])
    off_diagonal = [
        v for i, row in enumerate(details["matrix"]) for j, v in enumerate(row) if i < j
    ]
    assert sum(v is not None for v in off_diagonal) == len(scored)


def test_detection_is_high_for_alike_data_and_low_for_shifted_data():
    config = census_config()
    real, same = census(2000, 1), census(2000, 2)
    shifted = same.assign(income=same["income"] * 3, age=same["age"] + 25)
    alike = detection(make_context(config, real, same))[0]
    apart = detection(make_context(config, real, shifted))[0]
    assert alike.value > 0.8
    assert apart.value < 0.1
    assert apart.details["auc"] > 0.95
    assert apart.finding is not None


def test_tstr_ratio_near_one_for_faithful_data_and_low_for_broken_labels():
    config = census_config(target="hired")
    real, holdout = census(3000, 1, gap=0.8), census(1500, 5, gap=0.8)
    faithful = census(3000, 2, gap=0.8)
    scrambled = faithful.assign(hired=np.random.default_rng(0).permutation(faithful["hired"]))
    good = tstr_ratio(make_context(config, real, faithful, holdout))[0]
    bad = tstr_ratio(make_context(config, real, scrambled, holdout))[0]
    assert good.value == pytest.approx(1.0, abs=0.1)
    assert bad.value < 0.8
    assert good.details["test_data"] == "holdout"


def test_tstr_ratio_is_skipped_without_target():
    result = tstr_ratio(make_context(census_config(target=None), census(100, 1), census(100, 2)))
    assert result[0].status == "skipped"
    assert result[0].value is None


def test_validity_on_a_sample_still_knows_every_real_category_and_bound():
    columns = [ColumnSpec("c", "categorical"), ColumnSpec("x", "numerical")]
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"c": ["common"] * 5000, "x": rng.random(5000)})
    real.loc[4321, "c"], real.loc[1234, "x"] = "rare", 100.0
    synthetic = pd.DataFrame({"c": ["rare", "common"] * 50, "x": [99.0, 0.5] * 50})
    config = AuditConfig(columns=columns, sdmetrics_sample_rows=100)
    got = {m.key: m for m in sdmetrics_reports(make_context(config, real, synthetic))}
    assert got["quality.validity"].value == pytest.approx(1.0)
    assert 100 < got["quality.validity"].details["real_rows_for_validity"] <= 104
    assert got["quality.overall"].sample_size == 100
    assert got["quality.overall"].uncertainty == pytest.approx(1.36 * np.sqrt(2 / 100))
