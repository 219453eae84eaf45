"""Publishing fixtures: a synthetic version of Alpha Synthetics and its watermarked copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audits.provenance import services as provenance
from registry import services
from tests.registry.conftest import make_dataset

TOLERANCES = {"score": 0.2, "salary": 500.0}


def frame(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.normal(66, 7, rows).round(3),
            "salary": rng.integers(200_000, 900_000, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )


def add_version(dataset: Any, user: Any, data: pd.DataFrame, name: str = "data.csv") -> Any:
    return services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([data.to_csv(index=False).encode()]),
        original_name=name,
    )  # fmt: skip


def watermark_it(version: Any, user: Any) -> Any:
    return provenance.version_watermark(
        version=version, user=user, tolerances=TOLERANCES, categorical={"region": 0.1}
    )


@pytest.fixture
def synthetic(world: Any, registry_storage: None) -> Any:
    dataset = make_dataset(world, name="Synthetic placements")
    return add_version(dataset, world.curator_a, frame())


@pytest.fixture
def marked(world: Any, synthetic: Any) -> Any:
    return watermark_it(synthetic, world.curator_a)
