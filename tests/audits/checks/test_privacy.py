"""Privacy figures: by hand, against SDMetrics on its demo, and on planted copies."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.privacy import attribute_disclosure, exact_match_rate, linkage_risk
from audits.checks.privacy_distance import distances
from tests.audits.checks.conftest import census, census_config, make_context

TINY = [
    ColumnSpec("id", "id", "identifier"),
    ColumnSpec("zip", "categorical", "quasi_identifier"),
    ColumnSpec("age", "numerical", "quasi_identifier"),
    ColumnSpec("disease", "categorical", "sensitive"),
]


def _tiny_context(real, synthetic, **config):
    options = {"columns": TINY, "quasi_identifiers": ["zip", "age"], "sensitive": ["disease"]}
    options.update(config)
    return make_context(AuditConfig(**options), real, synthetic)


def _tiny_real():
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "zip": ["A", "A", "B", "C", "C"],
            "age": [30, 30, 40, 50, 51],
            "disease": ["flu", "cold", "flu", "flu", "cold"],
        }
    )


def test_exact_matches_by_hand_ignore_identifiers_and_compare_exactly():
    synthetic = pd.DataFrame(
        {
            "id": [100, 101, 102, 103],
            "zip": ["A", "B", "C", "C"],
            "age": [30.0, 40.0, 50.0000001, 51],  # float 30.0 equals int 30
            "disease": ["flu", "flu", "flu", "flu"],
        }
    )
    result = exact_match_rate(_tiny_context(_tiny_real(), synthetic))[0]
    assert result.value == 0.5  # rows 0 and 1; row 2 differs in age, row 3 in disease
    assert result.details["copies"] == 2
    assert result.finding == "50.0% of synthetic rows (2 of 4) are exact copies of real rows."


def test_linkage_by_hand():
    synthetic = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "zip": ["A", "B", "C", "D"],
            "age": [30, 40, 51, 60],
            "disease": ["x", "x", "x", "x"],
        }
    )
    result = linkage_risk(_tiny_context(_tiny_real(), synthetic))[0]
    # (A,30) occurs twice in real: not unique. (B,40) and (C,51) are unique. (D,60) absent.
    assert result.value == 0.5
    assert result.details["real_people_singled_out"] == 2
    assert result.details["real_unique_share"] == pytest.approx(3 / 5)


def test_attribute_disclosure_by_hand():
    synthetic = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "zip": ["A", "A", "B", "Z"],
            "age": [30, 30, 40, 99],
            "disease": ["flu", "flu", "cold", "flu"],
        }
    )
    # Numbers are binned over the real range 30..51 in 10 bins: 30, 40, 50, 51 fall in
    # bins 0, 4, 9, 9 (99 in the open-ended top bin 9).
    # Real rows attacked (known values found in synthetic): rows 0, 1 -> (A, bin 0) has
    # [flu, flu]; row 2 -> (B, bin 4) has [cold]. Rows 3, 4 -> (C, bin 9) not found.
    # Correct shares: row0 flu 1.0, row1 cold 0.0, row2 flu 0.0 -> mean 1/3.
    # CAP protection = 2/3; baseline = 1 - 1/2; score = min((2/3)/(1/2), 1) = 1.
    result = attribute_disclosure(_tiny_context(_tiny_real(), synthetic))[0]
    details = result.details["sensitive_columns"]["disease"]
    assert details["cap_protection"] == pytest.approx(2 / 3)
    assert details["baseline_protection"] == pytest.approx(0.5)
    assert details["real_rows_attacked"] == 3
    assert result.value == 1.0


def _demo_config(columns, **extra):
    return AuditConfig(columns=columns, **extra)


def test_exact_match_rate_agrees_with_new_row_synthesis(demo, demo_columns):
    from sdmetrics.single_table import NewRowSynthesis

    real, synthetic, metadata = demo
    copies = real.sample(20, random_state=0)
    planted = pd.concat([synthetic.iloc[20:], copies], ignore_index=True)
    for synth in (synthetic, planted):
        ours = exact_match_rate(make_context(_demo_config(demo_columns), real, synth))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = 1 - NewRowSynthesis.compute(real, synth, metadata)
        assert ours.value == pytest.approx(theirs, abs=0.02)
    assert ours.value == pytest.approx(20 / 215, abs=1e-9)


def test_attribute_disclosure_equals_disclosure_protection(demo, demo_columns):
    from sdmetrics.single_table import DisclosureProtection

    real, synthetic, _ = demo
    known, sensitive = ["gender", "high_spec", "degree_perc"], ["placed"]
    config = _demo_config(demo_columns, quasi_identifiers=known, sensitive=sensitive)
    ours = attribute_disclosure(make_context(config, real, synthetic))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = DisclosureProtection.compute_breakdown(
            real, synthetic, known, sensitive, continuous_column_names=["degree_perc"]
        )
    details = ours.details["sensitive_columns"]["placed"]
    assert details["cap_protection"] == pytest.approx(theirs["cap_protection"], abs=1e-9)
    assert ours.value == pytest.approx(theirs["score"], abs=0.02)


def _with_range_rows(frame: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Add two rows holding every numeric and date column's overall minimum and maximum.

    SDMetrics scales holdout distances by the holdout's own ranges, while we scale both
    comparisons by the training data's ranges (one yardstick for both). Giving both sets
    the same ranges makes the two definitions coincide, so the figures must agree.
    """
    low, high = real.iloc[[0]].copy(), real.iloc[[0]].copy()
    for name in ("second_perc", "high_perc", "degree_perc", "experience_years",
                 "employability_perc", "mba_perc", "salary", "duration"):  # fmt: skip
        low[name], high[name] = real[name].min(), real[name].max()
    for name in ("start_date", "end_date"):
        low[name], high[name] = real[name].dropna().min(), real[name].dropna().max()
    return pd.concat([frame, low, high], ignore_index=True)


def test_closer_to_training_share_agrees_with_dcr_overfitting_protection(demo, demo_columns):
    from sdmetrics.single_table import DCROverfittingProtection

    real, synthetic, metadata = demo
    training = _with_range_rows(real.iloc[:107], real)
    holdout = _with_range_rows(real.iloc[107:214], real)
    # Half the synthetic rows are copies of training rows: clearly closer to training.
    planted = pd.concat([synthetic.iloc[:107], real.iloc[:107]], ignore_index=True)
    for synth in (synthetic, planted):
        config = _demo_config(demo_columns)
        ours = {m.key: m for m in distances(make_context(config, training, synth, holdout))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = DCROverfittingProtection.compute_breakdown(
                training, synth, holdout, {"tables": {"t": metadata}}, "t"
            )
        share = ours["privacy.dcr_closer_to_training_share"]
        expected = theirs["synthetic_data_percentages"]["closer_to_training"]
        assert share.details["ties"] == 0  # SDMetrics counts ties as holdout, we as half
        assert share.value == pytest.approx(expected, abs=0.02)
    assert share.value > 0.7


def test_planted_copies_give_five_percent_and_a_raised_training_share():
    config = census_config()
    real, holdout = census(8000, 1), census(8000, 2)
    faithful = census(8000, 3)
    copied = faithful.copy()
    rows = np.random.default_rng(0).choice(8000, size=400, replace=False)
    copied.iloc[rows] = real.iloc[rows].to_numpy()
    base = {m.key: m for m in _privacy(config, real, faithful, holdout)}
    leak = {m.key: m for m in _privacy(config, real, copied, holdout)}
    assert base["privacy.exact_match_rate"].value == 0.0
    assert leak["privacy.exact_match_rate"].value == pytest.approx(0.05, abs=1e-12)
    assert leak["privacy.exact_match_rate"].finding.startswith("5.0% of synthetic rows")
    base_share = base["privacy.dcr_closer_to_training_share"].value
    leak_share = leak["privacy.dcr_closer_to_training_share"].value
    assert base_share == pytest.approx(0.5, abs=0.03)
    assert leak_share > base_share + 0.02
    assert leak["privacy.dcr_p05_ratio"].value < base["privacy.dcr_p05_ratio"].value
    assert leak["privacy.nndr_p05"].value < base["privacy.nndr_p05"].value


def _privacy(config, real, synthetic, holdout):
    ctx = make_context(config, real, synthetic, holdout)
    return exact_match_rate(ctx) + distances(ctx)


def test_distance_figures_need_a_holdout_and_sample_synthetic_rows():
    config = census_config(distance_sample_rows=500)
    results = {m.key: m for m in distances(make_context(config, census(3000, 1), census(3000, 2)))}
    assert results["privacy.dcr_closer_to_training_share"].status == "skipped"
    assert "holdout" in results["privacy.dcr_closer_to_training_share"].skip_reason
    assert results["privacy.dcr_p05_ratio"].status == "skipped"
    nndr = results["privacy.nndr_p05"]
    assert nndr.status == "ok"
    assert (nndr.sample_size, nndr.population) == (500, 3000)
    assert nndr.uncertainty is not None


def test_skips_without_quasi_identifiers_or_sensitive_columns():
    ctx = _tiny_context(_tiny_real(), _tiny_real(), quasi_identifiers=[], sensitive=[])
    assert linkage_risk(ctx)[0].status == "skipped"
    assert attribute_disclosure(ctx)[0].status == "skipped"
