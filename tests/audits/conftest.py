"""Audit fixtures: the SDMetrics student placements demo (shipped with the
package), registered through the registry services."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audits.runs import services as audit_services
from registry import services as registry_services
from tests.registry.conftest import make_dataset

ROLES = {
    "student_id": "identifier",
    "gender": "protected",
    "placed": "target",
    "salary": "sensitive",
    "degree_type": "quasi_identifier",
    "high_spec": "quasi_identifier",
}


def placements() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sdmetrics.demos import load_single_table_demo

    real, synthetic, _ = load_single_table_demo()
    real = real["student_placements"]
    return real, synthetic["student_placements"][list(real.columns)]


def register(dataset: Any, user: Any, frame: pd.DataFrame, name: str = "data.csv") -> Any:
    version = registry_services.dataset_version_create(
        dataset=dataset,
        user=user,
        chunks=iter([frame.to_csv(index=False).encode()]),
        original_name=name,
    )
    columns = [{**c, "role": ROLES.get(c["name"], c["role"])} for c in version.schema]
    return registry_services.version_schema_update(version=version, user=user, columns=columns)


def scaled(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """A bigger table drawn from ``frame`` with jitter on numbers (no exact copies)."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    for column in out.columns:
        if column == "student_id":
            out[column] = np.arange(1, rows + 1)
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = (out[column] + rng.normal(0, 1.0, rows)).round(2)
    return out


@pytest.fixture
def placements_world(world, registry_storage):
    real_frame, synthetic_frame = placements()
    real_ds = make_dataset(world, name="Placements real", kind="real")
    synth_ds = make_dataset(world, name="Placements synthetic", kind="fully_synthetic")
    train, holdout = real_frame.iloc[:160], real_frame.iloc[160:]
    real = register(real_ds, world.curator_a, train, "train.csv")
    hold = register(real_ds, world.curator_a, holdout, "holdout.csv")
    synth = register(synth_ds, world.curator_a, synthetic_frame, "synthetic.csv")
    registry_services.version_lineage_set(
        version=synth,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    return {"real": real, "holdout": hold, "synthetic": synth, "world": world}


def request_placements_audit(pw: dict[str, Any], *, holdout: bool, **options: Any) -> Any:
    """The curator's default audit of the placements world's synthetic version
    against its real data (and holdout), as the request form would queue it."""
    return audit_services.audit_run_request(
        version=pw["synthetic"],
        reference=pw["real"],
        holdout=pw["holdout"] if holdout else None,
        config=audit_services.default_config(pw["synthetic"]),
        user=pw["world"].curator_a,
        **options,
    )
