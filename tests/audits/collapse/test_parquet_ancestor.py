"""A Parquet real ancestor that is not the audit's reference is read as every other
Parquet input of an audit is (``ingest.read_frame(..., categories=True)``: text columns
as pandas ``category``), and its collapse figures are the ones computed when the same
ancestor is the reference, and the ones of the plain checks on the file read as strings."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from audits.checks.collapse import KEYS, collapse_metrics
from audits.models import AuditMetric
from audits.runs.inputs import real_ancestor_load
from registry import services as registry_services
from tests.audits.collapse.test_audited_collapse import audit, next_generation, real_frame
from tests.registry.conftest import make_dataset


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def _register(dataset, user, frame: pd.DataFrame, name: str):
    return registry_services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([_parquet(frame)]), original_name=name
    )


def _stored(run) -> dict[str, dict]:
    """The run's collapse figures as the results hash covers them (value, status,
    details, finding), each also stored as a figure row of the same value."""
    rows = dict(
        AuditMetric.objects.filter(run=run, key__startswith="collapse.").values_list("key", "value")
    )
    figures = {m["key"]: m for m in run.results["metrics"] if m["key"].startswith("collapse.")}
    assert {k: m["value"] for k, m in figures.items()} == pytest.approx(rows, rel=1e-11)
    return figures


@pytest.fixture
def parquet_chain(world, registry_storage):
    """A real Parquet table with a text column holding missing cells, another real
    sample, and one generation trained on the first."""
    curator = world.curator_a
    frame = real_frame()
    frame.loc[np.random.default_rng(3).random(len(frame)) < 0.02, "c"] = None
    real = _register(make_dataset(world, name="Real", kind="real"), curator, frame, "r.parquet")
    sample = _register(
        make_dataset(world, name="Sample", kind="real"), curator, real_frame(9), "s.parquet"
    )
    generation = next_generation(frame, seed=1)
    synthetic = _register(make_dataset(world, name="Gen"), curator, generation, "g.parquet")
    registry_services.version_lineage_set(
        version=synthetic,
        user=curator,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "test"},
    )
    return {"real": real, "sample": sample, "synthetic": synthetic, "frames": (frame, generation)}


def test_a_parquet_ancestor_read_from_storage_has_categories_and_the_same_figures(
    world, parquet_chain
):
    real, sample, synthetic = (parquet_chain[k] for k in ("real", "sample", "synthetic"))
    ancestor = real_ancestor_load(version=synthetic, loaded={})
    assert isinstance(ancestor.frame["c"].dtype, pd.CategoricalDtype)
    assert ancestor.frame["c"].isna().sum() == parquet_chain["frames"][0]["c"].isna().sum()

    as_reference = _stored(audit(synthetic, real, world.curator_a))
    from_storage = _stored(audit(synthetic, sample, world.curator_a))
    assert set(from_storage) == set(KEYS.values())
    assert from_storage == as_reference
    assert from_storage[KEYS["category_retention"]]["status"] == "ok"

    # The plain checks on both files read as Python strings give the same values.
    frame, generation = parquet_chain["frames"]
    plain = {
        m.key: m.value
        for m in collapse_metrics(
            pd.read_parquet(io.BytesIO(_parquet(frame))).astype({"c": object}),
            pd.read_parquet(io.BytesIO(_parquet(generation))).astype({"c": object}),
            {c["name"]: c["type"] for c in synthetic.schema},
            generation_depth=1,
        )
    }
    assert {k: m["value"] for k, m in from_storage.items()} == pytest.approx(plain)
