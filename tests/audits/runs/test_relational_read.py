"""Linked tables stored as Parquet: the relational audit reads their category columns as
pandas ``category`` (faster) and audits them to exactly the figures of the tables read as
strings."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from audits.checks import relational
from audits.models import AuditMetric
from audits.runs import services
from registry import table_services
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    api_audit_now,
    demo_frames,
    demo_metadata,
    parquet_bytes,
    register_tables,
)

pytestmark = pytest.mark.usefixtures("registry_storage")


def _register_parquet(world, name: str, frames: dict[str, pd.DataFrame], kind: str = "synthetic"):
    return register_tables(
        make_dataset(world, kind=kind, name=name),
        world.curator_a,
        {t: parquet_bytes(f) for t, f in frames.items()},
        suffix="parquet",
        metadata=demo_metadata(),
    )


def test_parquet_linked_tables_are_read_with_categories_and_audited_as_strings(world):
    real_frames, synthetic_frames = demo_frames("real"), demo_frames("synthetic")
    real = _register_parquet(world, "Sessions real", real_frames, kind="real")
    synthetic = _register_parquet(world, "Sessions synthetic", synthetic_frames)
    metadata = table_services.version_metadata(synthetic)
    read = services._load_tables(synthetic, "audited version")
    for table, meta in metadata["tables"].items():
        keys = {meta.get("primary_key")} | {
            r["child_foreign_key"]
            for r in metadata["relationships"]
            if r["child_table_name"] == table
        }
        for column, described in meta["columns"].items():
            category = isinstance(read[table][column].dtype, pd.CategoricalDtype)
            wanted = described["sdtype"] in ("categorical", "ordinal") and column not in keys
            if wanted and synthetic_frames[table][column].dtype == object:
                assert category, (table, column)
            else:
                assert not category, (table, column)
    assert any(isinstance(d, pd.CategoricalDtype) for f in read.values() for d in f.dtypes)

    run = api_audit_now(world.curator_a, synthetic, real, ["integrity", "quality"])
    stored = {
        m.key: (m.value, m.status, m.finding)
        for m in AuditMetric.objects.filter(run=run, table="")
        if m.key != "integrity.hash_verified"
    }
    # The same figures of the whole version from the tables read as Python strings (each
    # table's own figures come from run_audit, which tests/audits/runs/test_parquet_read.py
    # shows gives the same figures from category columns).
    schema = relational.RelationalSchema.from_sdmetrics(metadata)
    plain_real = {t: _plain(f) for t, f in real_frames.items()}
    plain_synthetic = {t: _plain(f) for t, f in synthetic_frames.items()}
    expected = [
        relational.orphan_rate(plain_synthetic, schema, reference=plain_real),
        relational.key_violations(plain_synthetic, schema),
        *relational.relational_quality_metrics(plain_real, plain_synthetic, schema),
    ]
    assert set(stored) == {m.key for m in expected}
    for m in expected:
        assert stored[m.key] == (m.value, m.status, m.finding or ""), m.key


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    # The Parquet round trip of a frame, read as the single-table path reads it.
    return pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
