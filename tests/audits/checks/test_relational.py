"""Relational figures: integrity by hand, quality against SDMetrics' multi-table report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audits.checks import relational_fairness, relational_privacy
from audits.checks.base import AuditInputError
from audits.checks.catalogue import METRICS, RELATIONAL_KEYS
from audits.checks.relational import (
    RelationalSchema,
    Relationship,
    key_violations,
    orphan_rate,
    relational_quality,
    relational_quality_metrics,
)
from tests.registry.relational_helpers import sdmetrics_metadata, sdmetrics_quality_report

# The integrity and quality figures; the privacy and fairness figures of linked tables are
# tested in test_relational_privfair.
INTEGRITY_QUALITY_KEYS = (
    RELATIONAL_KEYS - set(relational_privacy.KEYS) - set(relational_fairness.KEYS)
)

PROPERTIES = ("Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends")


def _schema(**extra) -> RelationalSchema:
    return RelationalSchema(
        columns={
            "people": {"pid": "id", "age": "numerical"},
            "visits": {"vid": "id", "pid": "id", "kind": "categorical"},
            "notes": {"nid": "id", "pid": "id"},
        },
        primary_keys={"people": "pid", "visits": "vid", "notes": "nid"},
        relationships=[
            Relationship("people", "pid", "visits", "pid"),
            Relationship("people", "pid", "notes", "pid"),
        ],
        **extra,
    )


def _tables():
    return {
        "people": pd.DataFrame({"pid": [1, 2, 3], "age": [30, 40, 50]}),
        # Rows 3 (4), 5 (5) and 6 (4) point at nobody; row 4 has no key at all.
        "visits": pd.DataFrame(
            {
                "vid": [10, 11, 12, 13, 14, 15],
                "pid": [1, 1, 4, None, 5, 4],
                "kind": list("abcabc"),
            }
        ),
        "notes": pd.DataFrame({"nid": [1, 1, 2, None, 2, 3], "pid": [1, 2, 3, 3, 2, 9]}),
    }


def test_orphan_rate_by_hand():
    result = orphan_rate(_tables(), _schema())
    visits, notes = result.details["relationships"]
    assert visits["orphan_rows"] == 3 and visits["child_rows"] == 6
    assert visits["orphan_rate"] == pytest.approx(0.5)
    assert visits["empty_key_rows"] == 1
    assert visits["dangling_keys"] == 2
    assert visits["examples"] == [4, 5]
    assert notes["orphan_rows"] == 1 and notes["examples"] == [9]
    # The worst relationship is the value.
    assert result.value == pytest.approx(0.5)
    assert result.details["worst"] == "visits.pid -> people.pid"
    assert "visits" in result.finding and "4, 5" in result.finding
    json.dumps(result.to_json())


def test_orphan_rate_reference_gives_its_rate_never_its_values():
    reference = _tables()
    reference["visits"] = reference["visits"].assign(pid=[1, 2, 3, 3, 2, 777])
    result = orphan_rate(_tables(), _schema(), reference=reference)
    visits = result.details["relationships"][0]
    assert visits["reference_orphan_rate"] == pytest.approx(1 / 6)
    assert "777" not in json.dumps(result.to_json())


def test_no_orphans_is_zero_without_finding():
    tables = _tables()
    tables["visits"]["pid"] = [1, 1, 2, None, 3, 3]
    tables["notes"]["pid"] = [1, 2, 3, 3, 2, 1]
    result = orphan_rate(tables, _schema())
    assert result.value == 0.0 and result.finding is None
    assert result.details["relationships"][0]["empty_key_rows"] == 1


def test_key_violations_by_hand():
    result = key_violations(_tables(), _schema())
    notes = result.details["tables"]["notes"]
    # nid 1, 1, 2, None, 2, 3: one empty key, two rows repeating an earlier key.
    assert notes["empty_key_rows"] == 1
    assert notes["duplicate_key_rows"] == 2
    assert notes["violation_rate"] == pytest.approx(3 / 6)
    assert notes["examples"] == [1, 2]
    assert result.details["tables"]["people"]["violation_rate"] == 0.0
    assert result.value == pytest.approx(0.5) and result.details["worst"] == "notes"
    assert "notes" in result.finding and "repeat a key" in result.finding


def test_without_keys_the_figures_are_skipped():
    schema = RelationalSchema({"people": {"pid": "id"}}, {"people": None})
    tables = {"people": pd.DataFrame({"pid": [1]})}
    assert orphan_rate(tables, schema).status == "skipped"
    assert key_violations(tables, schema).status == "skipped"


def test_cardinality_counts_parents_without_children_by_hand():
    schema = RelationalSchema(
        {"p": {"id": "id"}, "c": {"pid": "id"}},
        {"p": "id", "c": None},
        [Relationship("p", "id", "c", "pid")],
    )
    real = {"p": pd.DataFrame({"id": [1, 2, 3, 4]}), "c": pd.DataFrame({"pid": [1, 1, 2, 2]})}
    # Children per parent: real 2, 2, 0, 0; synthetic 4, 0, 0, 0 (orphan 9 counts nowhere).
    synthetic = {
        "p": pd.DataFrame({"id": [1, 2, 3, 4]}),
        "c": pd.DataFrame({"pid": [1, 1, 1, 1, 9]}),
    }
    quality = relational_quality(real, synthetic, schema)
    # ECDFs: real 0.5 at 0, 1 at 2; synthetic 0.75 at 0, 1 at 4: largest gap 0.25.
    assert quality.cardinality[0]["score"] == pytest.approx(0.75)
    from sdmetrics.multi_table import CardinalityShapeSimilarity

    metadata = {
        "tables": {
            "p": {"primary_key": "id", "columns": {"id": {"sdtype": "id"}}},
            "c": {"columns": {"pid": {"sdtype": "id"}}},
        },
        "relationships": [
            {
                "parent_table_name": "p",
                "parent_primary_key": "id",
                "child_table_name": "c",
                "child_foreign_key": "pid",
            }
        ],
    }
    assert CardinalityShapeSimilarity.compute(real, synthetic, metadata) == pytest.approx(0.75)


def test_tables_not_matching_the_schema_are_refused():
    tables = _tables()
    with pytest.raises(AuditInputError, match="no table notes"):
        relational_quality(tables, {k: v for k, v in tables.items() if k != "notes"}, _schema())
    broken = {**tables, "people": tables["people"].drop(columns="age")}
    with pytest.raises(AuditInputError, match="'people' of the synthetic data has no column age"):
        relational_quality(tables, broken, _schema())


def _assert_agrees(real, synthetic, metadata):
    overall, properties = sdmetrics_quality_report(real, synthetic, metadata)
    schema = RelationalSchema.from_sdmetrics(metadata)
    results = {m.key: m for m in relational_quality_metrics(real, synthetic, schema)}
    ours = {
        p["property"]: p["score"]
        for p in results["quality.relational_overall"].details["properties"]
    }
    for name in PROPERTIES:
        if np.isnan(properties[name]):
            assert ours[name] is None, name
        else:
            assert ours[name] == pytest.approx(properties[name], abs=0.02), name
    assert results["quality.relational_overall"].value == pytest.approx(overall, abs=0.02)
    assert results["quality.cardinality_shapes"].value == pytest.approx(
        properties["Cardinality"], abs=0.02
    )
    assert results["quality.intertable_trends"].value == pytest.approx(
        properties["Intertable Trends"], abs=0.02
    )
    for result in results.values():
        json.dumps(result.to_json())
    return results


def test_agrees_with_sdmetrics_on_its_multi_table_demo():
    from sdmetrics.demos import load_multi_table_demo

    real, synthetic, metadata = load_multi_table_demo()
    _assert_agrees(real, synthetic, metadata)


def _family_tables(seed: int, parents: int, *, planted: int = 0):
    """Parents with an age and a region; children whose count, amount and channel follow
    their parent's. ``planted`` parents get 40 children each (the defect)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, parents)
    region = rng.choice(["north", "south", "east", "west"], parents)
    kids = rng.poisson(1 + age / 30)
    kids[:planted] = 40
    pid = np.repeat(np.arange(parents), kids)
    amount = age[pid] * 3 + rng.normal(0, 10, pid.size)
    urban = np.isin(region[pid], ["north", "east"])
    channel = np.where(rng.random(pid.size) < np.where(urban, 0.8, 0.2), "web", "shop")
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(amount * 3600, unit="s")
    when = pd.Series(when.strftime("%Y-%m-%d %H:%M:%S"))
    return {
        "people": pd.DataFrame({"pid": np.arange(parents), "age": age, "region": region}),
        "orders": pd.DataFrame(
            {
                "oid": np.arange(pid.size),
                "pid": pid,
                "amount": amount,
                "channel": channel,
                "at": when,
            }
        ),
    }


FAMILY_METADATA = sdmetrics_metadata(
    {
        "people": ("pid", {"pid": "id", "age": "numerical", "region": "categorical"}),
        "orders": (
            "oid",
            {
                "oid": "id",
                "pid": "id",
                "amount": "numerical",
                "channel": "categorical",
                "at": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d %H:%M:%S"},
            },
        ),
    },
    ("people", "pid", "orders", "pid"),
)


def test_agrees_with_sdmetrics_on_generated_families_and_sees_the_planted_defect():
    real = _family_tables(1, 400)
    clean = _family_tables(2, 400)
    defective = _family_tables(3, 400, planted=40)
    clean_results = _assert_agrees(real, clean, FAMILY_METADATA)
    defect_results = _assert_agrees(real, defective, FAMILY_METADATA)
    clean_card = clean_results["quality.cardinality_shapes"].value
    defect_card = defect_results["quality.cardinality_shapes"].value
    assert clean_card > 0.85
    assert defect_card < clean_card - 0.05
    card = defect_results["quality.cardinality_shapes"]
    assert card.details["relationships"][0]["synthetic_max_children"] == 40
    assert card.details["relationships"][0]["synthetic_parents_above_real_max"] == 40
    assert "40 synthetic people rows have more orders rows (up to 40)" in card.finding
    assert clean_results["quality.cardinality_shapes"].finding is None
    # The parent-child trends are strong and kept by the generator: counted, and high.
    trends = clean_results["quality.intertable_trends"]
    counted = [p for p in trends.details["pairs"] if p["meets_threshold"]]
    assert {(p["parent_column"], p["child_column"]) for p in counted} >= {
        ("age", "amount"),
        ("region", "channel"),
    }
    assert trends.value > 0.9


def test_relational_keys_are_in_the_catalogue():
    assert set(METRICS) >= RELATIONAL_KEYS
    produced = {m.key for m in relational_quality_metrics(_tables(), _tables(), _schema())}
    produced |= {orphan_rate(_tables(), _schema()).key, key_violations(_tables(), _schema()).key}
    assert produced == INTEGRITY_QUALITY_KEYS


def test_ks_complement_equals_scipy_with_ties_and_gaps():
    from scipy.stats import ks_2samp

    from audits.checks.shapes import ks_complement

    rng = np.random.default_rng(5)
    for real, synthetic in [
        (rng.integers(0, 6, 300).astype(float), rng.integers(0, 9, 200).astype(float)),
        (rng.normal(0, 1, 500), rng.normal(0.3, 1.2, 400)),
        (np.array([1.0, 1, 1, 2]), np.array([1.0, 2, 2, 2, 3])),
    ]:
        expected = 1 - ks_2samp(real, synthetic).statistic
        assert ks_complement(real, synthetic) == pytest.approx(expected, abs=1e-12)


def test_run_relational_audit_gives_the_chosen_families_figures_or_the_hash_alone():
    from audits.checks import run_relational_audit

    real, synthetic = _tables(), _tables()
    steps = []
    integrity_only = run_relational_audit(
        families={"integrity"},
        real=real,
        synthetic=synthetic,
        schema=_schema(),
        hash_verified=True,
        progress=lambda label, fraction: steps.append(fraction),
    )
    assert [m.key for m in integrity_only.metrics] == [
        "integrity.hash_verified",
        "integrity.orphan_rate",
        "integrity.key_violations",
    ]
    assert integrity_only.metric("integrity.orphan_rate").value == pytest.approx(0.5)
    assert steps[-1] == 1.0
    both = run_relational_audit(
        families={"integrity", "quality"},
        real=real,
        synthetic=synthetic,
        schema=_schema(),
        hash_verified=True,
    )
    assert {m.key for m in both.metrics} == {"integrity.hash_verified", *INTEGRITY_QUALITY_KEYS}
    altered = run_relational_audit(
        families={"quality"}, real={}, synthetic={}, schema=_schema(), hash_verified=False
    )
    assert altered.metric("integrity.hash_verified").value == 0.0
    assert all(altered.metric(k).status == "skipped" for k in RELATIONAL_KEYS)
    # Provenance figures are skipped too when chosen: a tampered version proves nothing.
    assert "documentation.datasheet_completeness" not in {m.key for m in altered.metrics}
    altered = run_relational_audit(
        families={"provenance"},
        real={},
        synthetic={},
        schema=_schema(),
        hash_verified=False,
        registry_facts=PROVENANCE_FACTS,
    )
    assert altered.metric("documentation.datasheet_completeness").status == "skipped"
    assert altered.metric("provenance.manifest_valid").skip_reason == (
        "the stored file does not match its hash"
    )
    with pytest.raises(AuditInputError, match="no table notes"):
        run_relational_audit(
            families={"integrity"},
            real=real,
            synthetic={k: v for k, v in synthetic.items() if k != "notes"},
            schema=_schema(),
            hash_verified=True,
        )


# Registry facts as audits.runs.services.registry_facts gives them for a synthetic version
# without a watermark, chosen so that every figure differs from its neighbours'.
PROVENANCE_FACTS = {
    "datasheet_completeness": 0.75,
    "lineage_complete": True,
    "generator_documented": False,
    "licence": "CC-BY-4.0",
    "compute_disclosed": True,
    "synthetic": True,
    "manifest_valid": False,
    "watermark": None,
}
WATERMARK_KEYS = ("provenance.watermark_detected", "provenance.watermark_strength")


def test_linked_tables_take_the_provenance_family_once_as_a_single_table_does():
    """Provenance figures of linked tables are those of a single-table audit with the same
    registry facts, once for the whole version (no ``table``), after the other families;
    the watermark figures are skipped with the reason instead of reading a table."""
    from audits.checks import run_audit, run_relational_audit
    from audits.checks.base import AuditConfig, ColumnSpec
    from audits.checks.runner import PROVENANCE_KEYS

    real, synthetic = _tables(), _tables()
    linked = run_relational_audit(
        families={"integrity", "provenance"},
        real=real,
        synthetic=synthetic,
        schema=_schema(),
        hash_verified=True,
        registry_facts=PROVENANCE_FACTS,
    )
    single = run_audit(
        config=AuditConfig(
            columns=[ColumnSpec("pid", "numerical"), ColumnSpec("age", "numerical")],
            families={"provenance"},
        ),
        real=real["people"],
        synthetic=synthetic["people"],
        registry_facts=PROVENANCE_FACTS,
    )
    assert sorted(m.key for m in single.metrics) == sorted(PROVENANCE_KEYS)
    # In a single table's order, after the other families.
    assert [m.key for m in linked.metrics] == [
        "integrity.hash_verified",
        "integrity.orphan_rate",
        "integrity.key_violations",
        *(m.key for m in single.metrics),
    ]
    for key in PROVENANCE_KEYS:
        if key in WATERMARK_KEYS:
            continue
        assert linked.metric(key).to_json() == single.metric(key).to_json(), key
    assert linked.metric("documentation.datasheet_completeness").value == 0.75
    assert linked.metric("provenance.generator_documented").value == 0.0
    assert linked.metric("provenance.manifest_valid").value == 0.0
    assert all(m.table is None for m in linked.metrics)
    # A single table is searched for the mark (it has none: 0, with the finding); linked
    # tables are never marked, and say so.
    assert single.metric("provenance.watermark_detected").value == 0.0
    for key in WATERMARK_KEYS:
        result = linked.metric(key)
        assert result.status == "skipped" and result.value is None
        assert result.skip_reason == "SynthGov watermarks single-table versions only"
    findings = set(linked.findings)
    assert "The generator (method, library, parameters) is not documented." in findings
    assert "The datasheet is 75% complete." in findings
    # Real linked tables: no mark is expected, as for a single real table.
    real_facts = {**PROVENANCE_FACTS, "synthetic": False}
    real_linked = run_relational_audit(
        families={"provenance"},
        real=real,
        synthetic=synthetic,
        schema=_schema(),
        hash_verified=True,
        registry_facts=real_facts,
    )
    assert real_linked.metric(WATERMARK_KEYS[0]).skip_reason == "real data is not watermarked"
    # Without registry facts (the benchmark) each figure says what was not reported.
    bare = run_relational_audit(
        families={"provenance"},
        real=real,
        synthetic=synthetic,
        schema=_schema(),
        hash_verified=True,
    )
    assert [m.key for m in bare.metrics] == [m.key for m in single.metrics]
    assert bare.metric("documentation.datasheet_completeness").skip_reason == (
        "the registry did not report datasheet completeness"
    )
