"""Integrity and registry-fact figures by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.integrity import (
    duplicate_rate,
    hash_verified,
    out_of_domain_rate,
    schema_matches_reference,
)
from audits.checks.privacy import exact_match_rate
from audits.checks.provenance import provenance_metrics
from audits.checks.runner import run_audit
from tests.audits.checks.conftest import make_context

COLUMNS = [
    ColumnSpec("id", "id", "identifier"),
    ColumnSpec("c", "categorical"),
    ColumnSpec("x", "numerical"),
    ColumnSpec("d", "datetime"),
]


def _real():
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "c": ["a", "b", "a", "b"],
            "x": [0.0, 1.0, 2.0, 3.0],
            "d": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
        }
    )


def test_duplicates_ignore_identifiers():
    synthetic = pd.DataFrame(
        {
            "id": [10, 11, 12, 13, 14],
            "c": ["a", "a", "a", "b", "a"],
            "x": [1.0, 1.0, 1.0, 1.0, np.nan],
            "d": pd.to_datetime(["2024-01-05"] * 5),
        }
    )
    ctx = make_context(AuditConfig(columns=COLUMNS), _real(), synthetic)
    result = duplicate_rate(ctx)[0]
    assert result.value == pytest.approx(2 / 5)  # rows 1 and 2 repeat row 0
    assert result.details["duplicates"] == 2
    assert result.details["real_duplicate_rate"] == 0.0


def test_duplicates_and_copies_are_skipped_when_every_column_is_an_identifier():
    # No column is left to compare rows on: the figures say so instead of dividing by
    # the zero rows hashed (as the distance figures do when no column is usable).
    columns = [ColumnSpec("id", "id", "identifier"), ColumnSpec("key", "categorical", "identifier")]
    frame = pd.DataFrame({"id": [1, 2, 3], "key": ["a", "b", "b"]})
    ctx = make_context(AuditConfig(columns=columns), frame, frame.copy())
    results = [*duplicate_rate(ctx), *exact_match_rate(ctx)]
    assert [r.key for r in results] == ["integrity.duplicate_rate", "privacy.exact_match_rate"]
    for result in results:
        assert result.status == "skipped"
        assert result.value is None
        assert result.skip_reason == "every column is an identifier: no values to compare rows on"
    outcome = run_audit(
        config=AuditConfig(columns=columns, families={"integrity", "privacy"}),
        real=frame,
        synthetic=frame.copy(),
    )
    assert outcome.metric("integrity.duplicate_rate").status == "skipped"
    assert outcome.metric("privacy.exact_match_rate").status == "skipped"


def test_out_of_domain_counts_rows_not_cells():
    synthetic = pd.DataFrame(
        {
            "id": [10, 11, 12, 13],
            "c": ["a", "z", "z", None],
            "x": [1.5, 9.0, 1.0, np.nan],
            "d": pd.to_datetime(["2024-01-05", "2024-01-05", "2023-01-01", "2024-01-05"]),
        }
    )
    ctx = make_context(AuditConfig(columns=COLUMNS), _real(), synthetic)
    result = out_of_domain_rate(ctx)[0]
    # Row 1: unseen "z" and x=9 beyond 3; row 2: "z" and a date before the range.
    # Missing values (row 3) are not out of domain.
    assert result.value == 0.5
    assert result.details["columns"] == {"c": 0.5, "x": 0.25, "d": 0.25}
    assert "'c'" in result.finding


def test_schema_match_checks_types_and_extra_columns():
    config = AuditConfig(columns=COLUMNS)
    real = _real()
    assert schema_matches_reference(make_context(config, real, real))[0].value == 1.0
    wrong = real.assign(x=["one", "two", "three", "four"], extra=1)
    result = schema_matches_reference(make_context(config, wrong, real))[0]
    assert result.value == pytest.approx(3 / 5)
    assert result.details["type_mismatches"] == ["x"]
    assert result.details["extra_reference_columns"] == ["extra"]
    assert "x" in result.finding


def test_hash_and_registry_facts():
    assert hash_verified({"hash_verified": True}).value == 1.0
    tampered = hash_verified({"hash_verified": False})
    assert tampered.value == 0.0
    assert "SHA-256" in tampered.finding
    assert hash_verified({}).status == "skipped"
    facts = {
        "datasheet_completeness": 0.8,
        "lineage_complete": True,
        "generator_documented": False,
        "licence": "CC-BY-4.0",
        "compute_disclosed": False,
    }
    got = {m.key: m for m in provenance_metrics(facts)}
    assert got["documentation.datasheet_completeness"].value == 0.8
    assert got["provenance.lineage_complete"].value == 1.0
    assert got["provenance.generator_documented"].value == 0.0
    assert got["provenance.licence_present"].value == 1.0
    assert got["provenance.compute_disclosed"].value == 0.0
    assert got["provenance.generator_documented"].finding
    empty = {m.key: m for m in provenance_metrics({"licence": ""})}
    assert empty["provenance.licence_present"].value == 0.0
    assert empty["provenance.lineage_complete"].status == "skipped"
