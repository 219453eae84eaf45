"""Representation against a population profile: hand-computed values and planted defects."""

from __future__ import annotations

import pandas as pd
import pytest

from audits.checks import AuditConfig, AuditInputError, ColumnSpec, run_audit
from audits.checks.catalogue import METRICS
from audits.checks.fairness import fairness
from audits.checks.population import DIRECTIONS, representation
from tests.audits.checks.conftest import make_context

COLUMNS = [
    ColumnSpec("sex", "categorical", "protected"),
    ColumnSpec("band", "categorical", "protected"),
    ColumnSpec("outcome", "categorical", "target"),
]


def _frame(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = []
    for (sex, band), count in counts.items():
        rows += [{"sex": sex, "band": band, "outcome": "yes" if i % 2 else "no"}
                 for i in range(count)]  # fmt: skip
    return pd.DataFrame(rows)


def _profile(intended: bool = False, intersections: bool = False) -> dict:
    groupings = [
        {
            "attributes": ["sex"],
            "groups": [{"values": ["F"], "share": 0.5}, {"values": ["M"], "share": 0.5}],
        }
    ]
    if intersections:
        groupings.append(
            {
                "attributes": ["sex", "band"],
                "groups": [
                    {"values": ["F", "old"], "share": 0.25},
                    {"values": ["F", "young"], "share": 0.25},
                    {"values": ["M", "old"], "share": 0.25},
                    {"values": ["M", "young"], "share": 0.25},
                ],
            }
        )
    return {
        "profile_id": 7,
        "version": 2,
        "name": "Test sexes",
        "source": "A census",
        "source_url": "https://example.org/census",
        "intended": intended,
        "groupings": groupings,
    }


def _run(real, synthetic, population, check=representation):
    config = AuditConfig(
        columns=COLUMNS, protected=["sex", "band"], target="outcome", population=population
    )
    return {m.key: m for m in check(make_context(config, real, synthetic))}


# Real: F 40, M 60 (F old 20, F young 20, M old 30, M young 30).
REAL = _frame({("F", "old"): 20, ("F", "young"): 20, ("M", "old"): 30, ("M", "young"): 30})


def test_figures_by_hand():
    # Synthetic: F 30 (old 10, young 20), M 70 (old 35, young 35).
    synthetic = _frame({("F", "old"): 10, ("F", "young"): 20, ("M", "old"): 35, ("M", "young"): 35})
    got = _run(REAL, synthetic, _profile(intersections=True))
    # sex: synthetic |.3-.5| = .2; real |.4-.5| = .1.
    # sex x band: synthetic F old .1 vs .25 -> .15, M old .35 -> .10: max .15; real .05.
    assert got["fairness.population_representation_gap"].value == pytest.approx(0.2)
    assert got["fairness.population_representation_gap_real"].value == pytest.approx(0.1)
    assert got["fairness.population_shift"].value == pytest.approx(0.1)
    # Under .8 x target: F .3 < .4, F&old .1 < .2 in synthetic; real F .4 is not < .4.
    under = got["fairness.underrepresented_groups"]
    assert under.value == 2
    assert under.details["groups"] == ["sex=F", "sex=F & band=old"]
    assert got["fairness.underrepresented_groups_real"].value == 0
    details = got["fairness.population_representation_gap"].details
    assert details["profile_id"] == 7 and details["profile_version"] == 2
    assert details["movement"] == "away"
    table = details["groupings"][0]
    assert table["groups"] == ["sex=F", "sex=M"]
    assert table["synthetic_share"] == pytest.approx([0.3, 0.7])
    assert table["real_share"] == pytest.approx([0.4, 0.6])
    assert table["population_share"] == [0.5, 0.5]
    assert "moved away" in got["fairness.population_representation_gap"].finding


def test_missing_values_are_left_out_of_the_shares():
    synthetic = pd.DataFrame(
        {"sex": ["F", "M", "M", None], "band": ["a"] * 4, "outcome": ["no"] * 4}
    )
    got = _run(REAL, synthetic, _profile())
    table = got["fairness.population_representation_gap"].details["groupings"][0]
    assert table["synthetic_rows"] == 3
    assert table["synthetic_share"] == pytest.approx([1 / 3, 2 / 3])


def test_planted_defect_synthetic_drops_most_of_a_group():
    # Real matches the population; the synthetic data keeps 5 of 50 women.
    real = _frame({("F", "old"): 25, ("F", "young"): 25, ("M", "old"): 25, ("M", "young"): 25})
    synthetic = _frame({("F", "old"): 5, ("M", "old"): 50, ("M", "young"): 45})
    got = _run(real, synthetic, _profile())
    assert got["fairness.population_representation_gap"].value == pytest.approx(0.45)
    assert got["fairness.population_representation_gap_real"].value == 0
    assert got["fairness.underrepresented_groups"].details["groups"] == ["sex=F"]
    assert got["fairness.population_shift"].value == pytest.approx(0.45)


def test_planted_rebalancing_towards_the_profile_is_reported_as_intended():
    # Real under-represents women (20 of 100); the curator rebalanced to 50/50.
    real = _frame({("F", "old"): 10, ("F", "young"): 10, ("M", "old"): 40, ("M", "young"): 40})
    synthetic = _frame({("F", "old"): 25, ("F", "young"): 25, ("M", "old"): 25, ("M", "young"): 25})
    got = _run(real, synthetic, _profile(intended=True))
    gap = got["fairness.population_representation_gap"]
    assert gap.value == 0
    assert gap.details["movement"] == "towards"
    assert gap.details["intended_rebalancing"] is True
    assert "deliberately rebalanced" in gap.finding
    assert got["fairness.population_shift"].value == pytest.approx(-0.3)
    # The family figure compares with the profile, not the real data (which it left).
    table = _run(real, synthetic, _profile(intended=True), check=fairness)
    rep = table["fairness.representation_gap_max"]
    assert rep.value == 0
    assert rep.details["gap_to_real"] == pytest.approx(0.3)
    assert rep.details["judged_against"].startswith("population profile")
    # Without the declaration the same data is a 30-point gap to the real data.
    plain = _run(real, synthetic, _profile(), check=fairness)
    assert plain["fairness.representation_gap_max"].value == pytest.approx(0.3)


def test_no_profile_or_no_matching_column_is_skipped_with_the_reason():
    got = _run(REAL, REAL, None)
    assert set(got) == set(DIRECTIONS)
    assert all(m.status == "skipped" and "no population profile" in m.skip_reason
               for m in got.values())  # fmt: skip
    other = _profile()
    other["groupings"][0]["attributes"] = ["ethnicity"]
    got = _run(REAL, REAL, other)
    assert "ethnicity" in got["fairness.population_representation_gap"].skip_reason


def test_malformed_profile_is_an_input_error():
    with pytest.raises(AuditInputError):
        _run(REAL, REAL, {"groupings": [{"attributes": ["sex"], "groups": [{"values": []}]}]})


def test_catalogue_and_runner_report_the_figures():
    assert set(DIRECTIONS) <= set(METRICS)
    config = AuditConfig(
        columns=COLUMNS, protected=["sex"], families={"fairness"}, population=_profile()
    )
    outcome = run_audit(config=config, synthetic=REAL, real=REAL)
    assert outcome.metric("fairness.population_representation_gap").value == pytest.approx(0.1)
    assert config.to_json()["population"]["profile_id"] == 7
