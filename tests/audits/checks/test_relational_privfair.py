"""Family copies, the individuals frame and fairness on joined tables (issue 17), on
planted linked tables: plain frames in, figures out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits.checks import relational_fairness, relational_privacy
from audits.checks.base import AuditInputError
from audits.checks.catalogue import METRICS, RELATIONAL_KEYS
from audits.checks.relational import RelationalSchema
from tests.registry.relational_helpers import PEOPLE_VISITS_METADATA, planted_families


def _schema() -> RelationalSchema:
    return RelationalSchema.from_sdmetrics(PEOPLE_VISITS_METADATA)


def test_whole_families_copied_are_counted_exactly():
    real, synthetic, holdout = planted_families()
    results = {
        m.key: m for m in relational_privacy.copy_metrics(real, synthetic, _schema(), holdout)
    }
    assert list(results) == list(relational_privacy.COPY_KEYS)
    family = results["privacy.family_exact_copy_rate"]
    assert family.value == 5 / 100
    assert family.details["copies"] == 5
    assert family.details["copies_with_children"] == 5
    # A figure of the whole version (no ``table``), computed on the parent table it names;
    # each parent table's own figures sit under parent_tables, without the name again.
    assert family.table is None
    assert family.details["table"] == "people"
    assert family.details["parent_tables"]["people"]["copies"] == 5
    assert "table" not in family.details["parent_tables"]["people"]
    assert family.sample_size == family.population == 100
    # The parent rows of the 5 whole families and of the 3 copied without their visits.
    assert results["privacy.parent_exact_copy_rate"].value == 8 / 100
    assert "5.0% of synthetic people rows come with all their child rows" in family.finding
    # Near copies: the 8 exact parent rows and the 4 nudged ones; whole families near:
    # the 5 exact and the 4 nudged (the 3 with other visits are not).
    assert results["privacy.parent_near_copy_rate"].value == 12 / 100
    assert results["privacy.family_near_copy_rate"].value == 9 / 100
    near = results["privacy.family_near_copy_rate"].details
    assert near["parent_bar"]["threshold_distance"] > 0
    assert near["child_bars"][0]["child_table"] == "visits"


def test_nothing_copied_reads_zero_and_no_holdout_skips_near_copies():
    real, synthetic, _ = planted_families(exact=0, parent_only=0, near=0)
    results = {m.key: m for m in relational_privacy.copy_metrics(real, synthetic, _schema())}
    assert results["privacy.family_exact_copy_rate"].value == 0.0
    assert results["privacy.family_exact_copy_rate"].finding is None
    assert results["privacy.parent_exact_copy_rate"].value == 0.0
    for key in ("privacy.parent_near_copy_rate", "privacy.family_near_copy_rate"):
        assert results[key].status == "skipped"
        assert "holdout" in results[key].skip_reason


def test_a_family_with_one_child_changed_is_not_a_whole_copy():
    real, synthetic, _ = planted_families(exact=5, parent_only=0, near=0)
    # Change one visit of the first planted family (pid 9000): 4 whole copies remain.
    row = synthetic["visits"].index[synthetic["visits"].pid == 9_000][0]
    synthetic["visits"].loc[row, "ward"] = "z"
    results = {m.key: m for m in relational_privacy.copy_metrics(real, synthetic, _schema())}
    assert results["privacy.family_exact_copy_rate"].value == 4 / 100
    assert results["privacy.parent_exact_copy_rate"].value == 5 / 100
    # Child rows in another order are the same family.
    shuffled = {**synthetic, "visits": synthetic["visits"].sample(frac=1, random_state=3)}
    again = {m.key: m for m in relational_privacy.copy_metrics(real, shuffled, _schema())}
    assert again["privacy.family_exact_copy_rate"].value == 4 / 100


def test_the_individuals_frame_holds_each_persons_aggregates():
    tables = {
        "people": pd.DataFrame({"pid": [1, 2, 3], "age": [30, 40, 50], "region": list("nsn")}),
        "visits": pd.DataFrame(
            {
                "vid": [10, 11, 12, 13],
                "pid": [1, 1, 3, 99],
                "cost": [5.0, 7.0, 2.0, 1.0],
                "ward": ["a", "a", "b", "c"],
            }
        ),
    }
    frame, specs, counts = relational_privacy.individuals_frame(tables, _schema(), "people")
    assert counts == ["count(visits)"]
    assert frame["count(visits)"].tolist() == [2.0, 0.0, 1.0]
    assert frame["mean(visits.cost)"].tolist()[0] == 6.0
    assert np.isnan(frame["mean(visits.cost)"].iloc[1])
    assert frame["mode(visits.ward)"].tolist() == ["a", None, "b"]
    assert {s.name: s.type for s in specs}["pid"] == "id"
    assert {s.name: s.type for s in specs}["count(visits)"] == "numerical"


def test_reidentification_runs_on_the_individuals_with_aggregates_as_quasi_identifiers():
    real, synthetic, holdout = planted_families()
    results = relational_privacy.individuals_metrics(
        real,
        synthetic,
        _schema(),
        "people",
        holdout,
        quasi_identifiers=["region", "count(visits)"],
        sensitive=["mode(visits.ward)"],
    )
    by_key = {m.key: m for m in results}
    assert list(by_key) == list(relational_privacy.INDIVIDUAL_CHECKS)
    assert all(m.table is None and m.details["table"] == "people" for m in results)
    linkage = by_key["privacy.individuals_linkage_risk"]
    assert linkage.status == "ok"
    assert linkage.details["quasi_identifiers"] == ["region", "count(visits)"]
    assert linkage.details["individuals"]["aggregates"] == [
        "count(visits)",
        "mean(visits.cost)",
        "mode(visits.ward)",
    ]
    # The planted copies share region and number of visits with a real person; the far
    # synthetic people live nowhere real. The figure is the plain linkage share.
    real_frame, _, _ = relational_privacy.individuals_frame(real, _schema(), "people")
    syn_frame, _, _ = relational_privacy.individuals_frame(synthetic, _schema(), "people")
    key = ["region", "count(visits)"]
    unique = real_frame.groupby(key).size()
    unique = set(unique[unique == 1].index)
    expected = sum(tuple(row) in unique for row in syn_frame[key].itertuples(index=False))
    assert linkage.value == pytest.approx(expected / len(syn_frame))
    for key in ("privacy.individuals_singling_out_risk", "privacy.individuals_inference_risk"):
        assert by_key[key].status == "ok", by_key[key].skip_reason
    with pytest.raises(AuditInputError, match="count\\(nothing\\)"):
        relational_privacy.individuals_metrics(
            real, synthetic, _schema(), "people", quasi_identifiers=["count(nothing)"]
        )
    skipped = relational_privacy.individuals_metrics(real, synthetic, _schema(), None)
    assert {m.status for m in skipped} == {"skipped"}


def _sex_tables(female_visits: int, male_visits: int, female_rate: float, male_rate: float):
    """50 women and 50 men; each woman has ``female_visits`` visits, each man
    ``male_visits``; the first share of each person's visits end well."""
    pids = np.arange(1, 101)
    people = pd.DataFrame(
        {"pid": pids, "age": np.linspace(20, 80, 100), "region": ["F"] * 50 + ["M"] * 50}
    )
    rows = []
    for pid in pids:
        n = female_visits if pid <= 50 else male_visits
        rate = female_rate if pid <= 50 else male_rate
        good = round(n * rate)
        rows += [(pid, "good" if i < good else "bad") for i in range(n)]
    visits = pd.DataFrame(rows, columns=["pid", "ward"])
    visits.insert(0, "vid", np.arange(len(visits)))
    visits["cost"] = 1.0
    return {"people": people, "visits": visits}


def test_fairness_on_visits_joined_to_the_persons_group():
    # Real: every person 2 visits, all good for women, half for men. Synthetic: women 4
    # visits each, men 1: women's share of visits 200/250 = 0.8 against 0.5.
    real = _sex_tables(2, 2, 1.0, 0.5)
    synthetic = _sex_tables(4, 1, 1.0, 0.0)
    results = relational_fairness.joined_metrics(
        real,
        synthetic,
        _schema(),
        "visits",
        ["people.region"],
        protected=["people.region"],
        target="ward",
        positive_outcome="good",
    )
    by_key = {m.key: m for m in results}
    assert list(by_key) == list(relational_fairness.KEYS)
    assert all(m.table is None and m.details["table"] == "visits" for m in results)
    assert by_key["fairness.joined_representation_gap_max"].value == pytest.approx(0.3)
    assert by_key["fairness.joined_parity_difference_real"].value == pytest.approx(0.5)
    assert by_key["fairness.joined_parity_difference_synthetic"].value == pytest.approx(1.0)
    assert by_key["fairness.joined_amplification"].value == pytest.approx(0.5)
    groups = by_key["fairness.joined_representation_gap_max"].details["groupings"][0]
    assert groups["groups"][:2] == ["people.region=F", "people.region=M"]
    assert groups["synthetic_share"][:2] == pytest.approx([0.8, 0.2])


def test_a_child_row_without_its_parent_joins_as_a_missing_group():
    real = _sex_tables(2, 2, 1.0, 0.5)
    orphan = pd.DataFrame({"vid": [999], "pid": [4242], "ward": ["good"], "cost": [1.0]})
    synthetic = _sex_tables(2, 2, 1.0, 0.5)
    synthetic["visits"] = pd.concat([synthetic["visits"], orphan], ignore_index=True)
    frame, _ = relational_fairness.joined_frame(synthetic, _schema(), "visits", ["people.region"])
    assert frame["people.region"].isna().sum() == 1
    results = relational_fairness.joined_metrics(
        real, synthetic, _schema(), "visits", ["people.region"], protected=["people.region"]
    )
    gap = next(m for m in results if m.key == "fairness.joined_representation_gap_max")
    groups = gap.details["groupings"][0]
    assert "people.region=(missing)" in groups["groups"]
    # Real: 100 and 100 of 200 visits; synthetic: 100, 100 and the orphan of 201.
    assert gap.value == pytest.approx(1 / 201)
    empty = {**synthetic, "people": synthetic["people"].iloc[:0]}
    frame, _ = relational_fairness.joined_frame(empty, _schema(), "visits", ["people.region"])
    assert frame["people.region"].isna().all()


@pytest.mark.parametrize(
    ("table", "columns", "protected", "message"),
    [
        ("nowhere", [], [], "There is no table nowhere"),
        ("visits", [], [], "Choose the parent column"),
        ("people", ["people.region"], [], "people has no parent table"),
        ("visits", ["region"], [], "<parent table>.<column>"),
        ("visits", ["visits.cost"], [], "visits is not a parent of visits"),
        ("visits", ["people.height"], [], "people has no column height"),
        ("visits", ["people.pid"], [], "the key the tables are joined on"),
        ("visits", ["people.age"], ["people.region"], "people.region is not a column of visits"),
        ("visits", ["people.age"], ["vid"], "key, identifier or free-text"),
    ],
)
def test_bad_joined_fairness_choices_say_what_to_fix(table, columns, protected, message):
    real = _sex_tables(2, 2, 1.0, 0.5)
    with pytest.raises(AuditInputError, match=message):
        relational_fairness.joined_metrics(
            real, real, _schema(), table, columns, protected=protected
        )


def test_the_new_figures_are_relational_catalogue_entries():
    keys = {*relational_privacy.KEYS, *relational_fairness.KEYS}
    assert keys <= set(METRICS)
    assert keys <= RELATIONAL_KEYS
    for key, base in relational_fairness.KEYS.items():
        assert METRICS[key].direction == METRICS[base].direction
    for key in relational_privacy.INDIVIDUAL_CHECKS:
        assert METRICS[key].direction == METRICS[relational_privacy.base_key(key)].direction


def test_a_parent_table_of_keys_alone_has_no_parent_row_copies():
    metadata = {
        "tables": {
            "people": {"primary_key": "pid", "columns": {"pid": {"sdtype": "id"}}},
            "visits": PEOPLE_VISITS_METADATA["tables"]["visits"],
        },
        "relationships": PEOPLE_VISITS_METADATA["relationships"],
    }
    schema = RelationalSchema.from_sdmetrics(metadata)
    real, synthetic, _ = planted_families(exact=5, parent_only=0, near=0)
    real["people"] = real["people"][["pid"]]
    synthetic["people"] = synthetic["people"][["pid"]]
    results = {m.key: m for m in relational_privacy.copy_metrics(real, synthetic, schema)}
    assert results["privacy.parent_exact_copy_rate"].status == "skipped"
    assert "no parent table has columns" in results["privacy.parent_exact_copy_rate"].skip_reason
    # Families still differ by their visits: the 5 planted ones, plus synthetic people
    # with no visits, which equal real people with none.
    childless = (~synthetic["people"].pid.isin(synthetic["visits"].pid)).sum()
    family = results["privacy.family_exact_copy_rate"]
    assert family.value == (5 + childless) / 100
    assert family.details["copies_with_children"] == 5
