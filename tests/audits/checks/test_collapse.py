"""Model-collapse figures: hand-computed values, a planted collapsing chain, warnings."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, AuditInputError, ColumnSpec, RealAncestor, run_audit
from audits.checks.collapse import (
    KEYS,
    CollapseChain,
    CollapseFigures,
    collapse_chain,
    collapse_figures,
    collapse_metrics,
    collapse_not_measured,
    warning_text,
)

TYPES = {"id": "id", "x": "numerical", "colour": "categorical", "flag": "boolean"}


def test_hand_computed_figures_on_tiny_frames():
    # Real x = 0..99: the 1st/99th percentiles are 0.99 and 98.01, so rows 0 and 99 are
    # the tails (real mass 0.02). Synthetic x keeps one of the two tail rows.
    real = pd.DataFrame(
        {
            "id": range(100),
            "x": np.arange(100.0),
            "colour": ["red", "green", "blue", "blue"] * 25,
            "flag": [True, False] * 50,
        }
    )
    synthetic = pd.DataFrame(
        {
            "id": range(100),
            "x": np.r_[0.0, np.full(99, 50.0)],
            "colour": ["red", "blue"] * 50,
            "flag": [True, False] * 50,
        }
    )
    figures = collapse_figures(real, synthetic, TYPES)
    assert figures.tail_coverage == pytest.approx(0.5)  # 0.01 / 0.02
    expected_variance = np.var(synthetic["x"], ddof=1) / np.var(real["x"], ddof=1)
    assert figures.variance_ratio == pytest.approx(expected_variance)
    assert figures.category_retention == pytest.approx(4 / 5)  # green lost
    assert figures.details["categories_real"] == 5
    # Real rows, id left out: 20 bins of 5 consecutive x, each holding all 4 (colour,
    # flag) combinations -> 80 distinct. Synthetic: (bin 0, red, True), (bin 10, red,
    # True), (bin 10, blue, False) -> 3.
    assert figures.record_diversity == pytest.approx(3 / 80)
    assert figures.sample_size == 100


def test_tail_coverage_is_capped_at_one():
    real = pd.DataFrame({"x": np.arange(100.0)})
    synthetic = pd.DataFrame({"x": np.r_[np.full(50, -10.0), np.full(50, 200.0)]})
    figures = collapse_figures(real, synthetic, {"x": "numerical"})
    assert figures.tail_coverage == 1.0
    assert figures.variance_ratio > 1


def test_planted_chain_falls_monotonically():
    rng = np.random.default_rng(0)
    rows = 20_000
    real = pd.DataFrame(
        {"x": rng.normal(0, 1, rows), "y": rng.lognormal(0, 1, rows), "c": rng.integers(0, 8, rows)}
    )
    frames, current = [real], real
    for _ in range(3):
        # Each generation resamples the previous one but loses its outer 0.3% per side.
        nxt = {}
        for column in ("x", "y"):
            values = current[column].to_numpy()
            low, high = np.quantile(values, [0.003, 0.997])
            kept = values[(values >= low) & (values <= high)]
            nxt[column] = rng.choice(kept, rows) + rng.normal(0, 0.01 * kept.std(), rows)
        nxt["c"] = rng.choice(current["c"].to_numpy(), rows)
        current = pd.DataFrame(nxt)
        frames.append(current)
    types = {"x": "numerical", "y": "numerical", "c": "categorical"}
    chain = collapse_chain(frames, types)
    tails = chain.series("tail_coverage")
    variances = chain.series("variance_ratio")
    assert tails[0] == pytest.approx(1.0)
    assert variances[0] == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(tails))
    assert all(a > b for a, b in itertools.pairwise(variances))
    assert tails[-1] < 0.3
    text = warning_text(chain)
    assert text is not None
    assert text.startswith("Tails have lost ")
    assert text.endswith(" over 3 generations.")
    assert "variance has shrunk by" in text


def test_dropped_category_reduces_retention():
    real = pd.DataFrame({"c": list("abcd") * 10, "x": np.arange(40.0)})
    kept = collapse_figures(real, real.copy(), {"c": "categorical", "x": "numerical"})
    lost = collapse_figures(real, real[real["c"] != "d"], {"c": "categorical", "x": "numerical"})
    assert kept.category_retention == 1.0
    assert lost.category_retention == pytest.approx(0.75)


def test_record_diversity_uses_equal_sample_sizes():
    real = pd.DataFrame({"c": [str(i) for i in range(100)]})
    half = pd.DataFrame({"c": [str(i) for i in range(50)]})
    figures = collapse_figures(real, half, {"c": "categorical"})
    # 50 real rows sampled from 100 distinct are 50 distinct; the synthetic's 50 too.
    assert figures.record_diversity == 1.0
    assert figures.sample_size == 50
    repeated = pd.DataFrame({"c": ["0", "1"] * 50})
    assert collapse_figures(real, repeated, {"c": "categorical"}).record_diversity == 0.02


def test_datetime_columns_count_as_numeric():
    days = pd.Series(pd.date_range("2020-01-01", periods=100, freq="D"))
    real = pd.DataFrame({"d": days})
    synthetic = pd.DataFrame({"d": pd.Series([days[50]] * 99 + [pd.NaT])})
    figures = collapse_figures(real, synthetic, {"d": "datetime"})
    assert figures.tail_coverage == 0.0
    assert figures.variance_ratio == 0.0


def test_figures_are_none_without_suitable_columns():
    real = pd.DataFrame({"id": [1, 2, 3], "note": ["a", "b", "c"]})
    figures = collapse_figures(real, real, {"id": "id", "note": "text"})
    assert figures.tail_coverage is None
    assert figures.variance_ratio is None
    assert figures.category_retention is None
    assert figures.record_diversity is None


def test_no_warning_when_nothing_falls():
    real = pd.DataFrame({"x": np.arange(200.0)})
    chain = collapse_chain([real, real.copy(), real.copy()], {"x": "numerical"})
    assert warning_text(chain) is None
    assert warning_text(collapse_chain([real], {"x": "numerical"})) is None


def test_warning_for_one_generation_and_one_figure():
    first = CollapseFigures(0, 1.0, 1.0, 1.0, 1.0, 10)
    last = CollapseFigures(1, 0.4, 0.95, 1.0, 1.0, 10)
    text = warning_text(CollapseChain([first, last]))
    assert text == "Tails have lost 60% of their mass over 1 generation."


def test_chain_serialises_to_json():
    real = pd.DataFrame({"x": np.arange(50.0), "c": list("ab") * 25})
    chain = collapse_chain([real, real.head(20)], {"x": "numerical", "c": "categorical"})
    data = json.loads(json.dumps(chain.to_json()))
    assert [g["generation"] for g in data["generations"]] == [0, 1]
    assert set(data["generations"][1]) >= {
        "tail_coverage",
        "variance_ratio",
        "category_retention",
        "record_diversity",
        "sample_size",
    }


def test_empty_chain_is_refused():
    with pytest.raises(ValueError, match="real ancestor"):
        collapse_chain([], {})


def test_collapse_metrics_carry_keys_directions_details_and_findings():
    real = pd.DataFrame({"x": np.arange(1000.0), "c": list("abcdefghij") * 100, "id": range(1000)})
    # Only the middle half of x and 8 of the 10 categories survive.
    synthetic = pd.DataFrame(
        {"x": np.linspace(250, 750, 1000), "c": list("abcdefgh") * 125, "id": range(1000)}
    )
    types = {"x": "numerical", "c": "categorical", "id": "id"}
    results = collapse_metrics(
        real, synthetic, types, generation_depth=3, details={"ancestor_version": 7}
    )
    by_key = {m.key: m for m in results}
    assert list(by_key) == list(KEYS.values())
    depth = by_key["collapse.generation_depth"]
    assert (depth.value, depth.direction) == (3.0, "lower")
    assert "3 synthetic generations away" in depth.finding
    tails = by_key["collapse.tail_coverage"]
    assert tails.value == 0.0 and tails.direction == "higher"
    assert tails.finding == "Only 0% of the real tails' mass is left after 3 synthetic generations."
    assert tails.details == {"columns": {"x": 0.0}, "ancestor_version": 7}
    assert (tails.sample_size, tails.population) == (1000, 1000)
    variance = by_key["collapse.variance_ratio"]
    assert (variance.direction, variance.target) == ("closer_to", 1.0)
    assert variance.value == pytest.approx(np.var(synthetic["x"]) / np.var(real["x"]))
    categories = by_key["collapse.category_retention"]
    assert categories.value == pytest.approx(0.8)
    assert categories.finding == "2 of the 10 categories of the real ancestor no longer occur."
    assert all(m.status == "ok" for m in results)
    json.dumps([m.to_json() for m in results], allow_nan=False)


def test_first_generation_with_intact_figures_has_no_findings():
    real = pd.DataFrame({"x": np.arange(500.0), "c": list("ab") * 250})
    results = collapse_metrics(
        real, real.copy(), {"x": "numerical", "c": "categorical"}, generation_depth=1
    )
    assert [m.finding for m in results] == [None] * 5
    assert [m.value for m in results] == [1.0, 1.0, 1.0, 1.0, 1.0]


def test_figures_without_columns_are_skipped_with_a_reason():
    real = pd.DataFrame({"note": ["a", "b"]})
    results = collapse_metrics(real, real, {"note": "text"}, generation_depth=2)
    assert results[0].value == 2.0
    assert all(m.status == "skipped" and m.skip_reason for m in results[1:])


def test_not_measured_reports_depth_when_known():
    real_data = collapse_not_measured("real data", generation_depth=0)
    assert [m.key for m in real_data] == list(KEYS.values())
    assert real_data[0].value == 0.0 and real_data[0].finding is None
    assert all(m.status == "skipped" and m.skip_reason == "real data" for m in real_data[1:])
    unknown = collapse_not_measured("no real ancestor", generation_depth=None)
    assert all(m.status == "skipped" for m in unknown)
    assert unknown[2].target == 1.0  # variance ratio keeps its ideal


def test_values_read_from_files_compare_with_typed_values():
    # Dates as text and booleans as text (as a CSV gives them) against typed values.
    days = pd.date_range("2020-01-01", periods=200, freq="D")
    real = pd.DataFrame({"d": days.strftime("%Y-%m-%d"), "b": ["True", "False"] * 100})
    synthetic = pd.DataFrame({"d": days, "b": [True, False] * 100})
    figures = collapse_figures(real, synthetic, {"d": "datetime", "b": "boolean"})
    assert figures.tail_coverage == pytest.approx(1.0)
    assert figures.variance_ratio == pytest.approx(1.0)
    assert figures.category_retention == 1.0


def test_record_diversity_sample_is_capped():
    real = pd.DataFrame({"c": [str(i) for i in range(1000)]})
    figures = collapse_figures(real, real, {"c": "categorical"}, diversity_sample_rows=100)
    assert figures.sample_size == 100
    assert figures.record_diversity == 1.0


# --- The collapse family in the runner ---------------------------------------------

RUN_COLUMNS = [ColumnSpec("x", "numerical"), ColumnSpec("c", "categorical")]
FACTS = {"hash_verified": True, "datasheet_completeness": 0.5, "licence": ""}


def _ancestor_frames():
    real = pd.DataFrame({"x": np.arange(1000.0), "c": list("abcdefghij") * 100})
    synthetic = pd.DataFrame({"x": np.linspace(250, 750, 1000), "c": list("abcdefgh") * 125})
    return real, synthetic


def _run_with(ancestor, *, families=("provenance",), facts=FACTS):
    real, synthetic = _ancestor_frames()
    config = AuditConfig(columns=RUN_COLUMNS, families=set(families), seed=3)
    return run_audit(
        config=config, synthetic=synthetic, real=real, registry_facts=facts, ancestor=ancestor
    )


def test_the_runner_measures_collapse_last_whatever_families_are_chosen():
    real, synthetic = _ancestor_frames()
    details = {"ancestor_version": 7, "chain": [7, 9]}
    steps = []
    config = AuditConfig(columns=RUN_COLUMNS, families={"provenance"}, seed=3)
    outcome = run_audit(
        config=config,
        synthetic=synthetic,
        real=real,
        registry_facts=FACTS,
        ancestor=RealAncestor.measured(real, generation_depth=2, details=details),
        progress=lambda label, fraction: steps.append(label),
    )
    expected = collapse_metrics(
        real,
        synthetic,
        {"x": "numerical", "c": "categorical"},
        generation_depth=2,
        seed=3,
        details=details,
    )
    assert [m.key for m in outcome.metrics[-5:]] == list(KEYS.values())
    assert [m.to_json() for m in outcome.metrics[-5:]] == [m.to_json() for m in expected]
    assert not any(m.key.startswith("collapse.") for m in outcome.metrics[:-5])
    collapse_findings = [m.finding for m in expected if m.finding]
    assert collapse_findings and outcome.findings[-len(collapse_findings) :] == collapse_findings
    assert list(outcome.timings) == ["prepare", "provenance", "collapse"]
    assert steps[-2].startswith("Model collapse")


def test_an_ancestor_not_measured_reports_the_reason_and_depth():
    outcome = _run_with(RealAncestor.not_measured("no ancestor here", generation_depth=None))
    figures = [m for m in outcome.metrics if m.key.startswith("collapse.")]
    assert [m.to_json() for m in figures] == [
        m.to_json() for m in collapse_not_measured("no ancestor here", generation_depth=None)
    ]
    assert outcome.metrics[-5:] == figures


def test_without_an_ancestor_no_collapse_figure_is_reported():
    outcome = _run_with(None, families=("integrity", "provenance"))
    assert not any(m.key.startswith("collapse.") for m in outcome.metrics)
    assert "collapse" not in outcome.timings


def test_collapse_is_not_a_family_to_choose():
    with pytest.raises(AuditInputError, match="Unknown check families: collapse"):
        _run_with(None, families=("provenance", "collapse"))


def test_a_broken_hash_skips_collapse_with_everything_else():
    real, _ = _ancestor_frames()
    ancestor = RealAncestor.measured(real, generation_depth=1)
    outcome = _run_with(ancestor, facts={**FACTS, "hash_verified": False})
    figures = {m.key: m for m in outcome.metrics if m.key.startswith("collapse.")}
    assert set(figures) == set(KEYS.values())
    assert all(m.skip_reason == "the stored file does not match its hash" for m in figures.values())


def test_the_ancestor_input_is_either_a_frame_or_a_reason():
    real, _ = _ancestor_frames()
    with pytest.raises(ValueError):
        RealAncestor(generation_depth=1)
    with pytest.raises(ValueError):
        RealAncestor(generation_depth=1, frame=real, reason="both")
    with pytest.raises(ValueError):
        RealAncestor(generation_depth=None, frame=real)
