"""Fairness figures by hand and on planted defects."""

from __future__ import annotations

import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.fairness import DIRECTIONS, fairness
from tests.audits.checks.conftest import census, census_config, make_context

COLUMNS = [
    ColumnSpec("group", "categorical", "protected"),
    ColumnSpec("score", "numerical"),
    ColumnSpec("outcome", "categorical", "target"),
]


def _frame(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Rows per group: (count, count with outcome "yes")."""
    rows = []
    for group, (count, positive) in groups.items():
        for i in range(count):
            outcome = "yes" if i < positive else "no"
            rows.append({"group": group, "score": float(i), "outcome": outcome})
    return pd.DataFrame(rows)


def _run(real, synthetic, **config):
    options = {"columns": COLUMNS, "protected": ["group"], "target": "outcome"}
    options.update(config)
    results = fairness(make_context(AuditConfig(**options), real, synthetic))
    return {m.key: m for m in results}


def test_figures_by_hand():
    # Real: A 60 rows (30 yes = .5), B 40 rows (10 yes = .25).
    # Synthetic: A 70 rows (49 yes = .7), B 30 rows (6 yes = .2).
    real = _frame({"A": (60, 30), "B": (40, 10)})
    synthetic = _frame({"A": (70, 49), "B": (30, 6)})
    got = _run(real, synthetic)
    assert got["fairness.representation_gap_max"].value == pytest.approx(0.10)
    assert got["fairness.missing_groups"].value == 0
    assert got["fairness.parity_difference_real"].value == pytest.approx(0.25)
    assert got["fairness.parity_difference_synthetic"].value == pytest.approx(0.5)
    assert got["fairness.disparate_impact_real"].value == pytest.approx(0.5)
    assert got["fairness.disparate_impact_synthetic"].value == pytest.approx(0.2 / 0.7)
    assert got["fairness.amplification"].value == pytest.approx(0.25)
    details = got["fairness.parity_difference_real"].details
    assert details["positive_outcome"] == "yes"
    assert "favourable" in details["chosen_because"]
    table = got["fairness.representation_gap_max"].details["groupings"][0]
    assert table["groups"] == ["group=A", "group=B"]
    assert table["real_rate"] == [0.5, 0.25]
    assert table["synthetic_rate"] == [0.7, 0.2]


def test_given_positive_outcome_is_used():
    real = _frame({"A": (60, 30), "B": (40, 10)})
    got = _run(real, real, positive_outcome="no")
    assert got["fairness.parity_difference_real"].details["positive_outcome"] == "no"
    assert got["fairness.parity_difference_real"].value == pytest.approx(0.25)
    assert got["fairness.amplification"].value == pytest.approx(0.0)


def test_minority_class_is_chosen_when_nothing_reads_favourable():
    real = _frame({"A": (60, 30), "B": (40, 10)}).replace({"yes": "blue", "no": "red"})
    got = _run(real, real)
    assert got["fairness.parity_difference_real"].details["positive_outcome"] == "blue"
    assert "least frequent" in got["fairness.parity_difference_real"].details["chosen_because"]


def test_small_groups_count_as_missing():
    real = _frame({"A": (60, 30), "B": (40, 10), "C": (10, 5), "D": (2, 1)})
    synthetic = _frame({"A": (60, 30), "B": (40, 10), "C": (3, 1), "D": (1, 1)})
    got = _run(real, synthetic, min_group_count=5)
    # C has 10 real rows but only 3 synthetic; D is tiny in both, so it is not flagged.
    assert got["fairness.missing_groups"].details["groups"] == ["group=C"]


def test_planted_dropped_group_is_listed():
    config = census_config()
    real, synthetic = census(4000, 1), census(4000, 2, drop_group="west")
    got = {m.key: m for m in fairness(make_context(config, real, synthetic))}
    missing = got["fairness.missing_groups"].details["groups"]
    assert "region=west" in missing
    assert "sex=F & region=west" in missing
    assert got["fairness.missing_groups"].value == len(missing) == 3
    assert "region=west" in got["fairness.missing_groups"].finding


def test_planted_doubled_outcome_gap_shows_positive_amplification():
    config = census_config()
    real, synthetic = census(20000, 1, gap=0.15), census(20000, 2, gap=0.30)
    got = {m.key: m for m in fairness(make_context(config, real, synthetic))}
    assert got["fairness.amplification"].value == pytest.approx(0.15, abs=0.05)
    assert got["fairness.parity_difference_synthetic"].value > (
        got["fairness.parity_difference_real"].value
    )
    assert got["fairness.amplification"].finding is not None
    faithful = census(20000, 3, gap=0.15)
    same = {m.key: m for m in fairness(make_context(config, real, faithful))}
    assert abs(same["fairness.amplification"].value) < 0.05


def test_subgroup_fidelity_gap_sees_a_badly_served_group():
    config = census_config()
    real = census(6000, 1)
    synthetic = census(6000, 2)
    women = synthetic["sex"] == "F"
    synthetic.loc[women, "income"] = synthetic.loc[women, "income"] * 4
    got = {m.key: m for m in fairness(make_context(config, real, synthetic))}
    faithful = {m.key: m for m in fairness(make_context(config, real, census(6000, 3)))}
    assert got["fairness.subgroup_fidelity_gap"].value > 0.1
    assert got["fairness.subgroup_fidelity_gap"].value > (
        faithful["fairness.subgroup_fidelity_gap"].value + 0.05
    )


def test_skipped_without_protected_attributes_or_target():
    real = _frame({"A": (60, 30), "B": (40, 10)})
    none = _run(real, real, protected=[])
    assert all(m.status == "skipped" for m in none.values())
    no_target = _run(real, real, target=None)
    assert no_target["fairness.amplification"].status == "skipped"
    assert no_target["fairness.representation_gap_max"].status == "ok"


def test_every_path_reports_the_same_keys_in_the_same_order():
    real = _frame({"A": (60, 30), "B": (40, 10)})
    runs = [
        _run(real, real),
        _run(real, real, protected=[]),
        _run(real, real, target=None),
        _run(real, _frame({"A": (60, 30)})),  # one group left: rates are not comparable
    ]
    for results in runs:
        assert list(results) == list(DIRECTIONS)
        assert {k: m.direction for k, m in results.items()} == DIRECTIONS


def test_each_outcome_figure_reads_its_own_field():
    # Rates differ in real and synthetic data, so swapped figures would show.
    real = _frame({"A": (60, 30), "B": (40, 10)})
    synthetic = _frame({"A": (70, 49), "B": (30, 6)})
    results = _run(real, synthetic)
    tables = results["fairness.representation_gap_max"].details["groupings"]
    (table,) = tables
    for field in (
        "parity_difference_real",
        "parity_difference_synthetic",
        "disparate_impact_real",
        "disparate_impact_synthetic",
        "amplification",
    ):
        assert results[f"fairness.{field}"].value == pytest.approx(table[field]), field
        assert results[f"fairness.{field}"].details["by_grouping"] == {"group": table[field]}
