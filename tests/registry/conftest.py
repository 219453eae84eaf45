"""Registry fixtures: files are generated here, never read from ../shared."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from registry import services
from registry.models import Dataset


def placements_csv(rows: int = 40, *, seed: int = 0, extra: str = "") -> bytes:
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "student_id": range(1, rows + 1),
            "gender": rng.choice(["F", "M"], rows),
            "degree_percentage": rng.normal(66, 7, rows).round(2),
            "work_experience": rng.choice(["Yes", "No"], rows),
            "placed": rng.choice([True, False], rows),
            "salary": rng.integers(200_000, 900_000, rows),
        }
    )
    if extra:
        frame[extra] = rng.integers(0, 5, rows)
    return frame.to_csv(index=False).encode()


def upload(content: bytes, name: str = "placements.csv") -> io.BytesIO:
    """A file for the test client, sent with exactly this name (SimpleUploadedFile
    would cut names to 255 characters before they are sent)."""
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def make_dataset(
    world: Any, *, org: str = "org_a", access: str = "restricted", **extra: Any
) -> Dataset:
    owner = getattr(world, org)
    curator = world.curator_a if org == "org_a" else world.curator_b
    fields = {
        "name": f"Placements {org} {access}",
        "kind": "fully_synthetic",
        "domain": "education",
        "licence": "CC-BY-4.0",
        "access": access,
        "tags": ["students"],
        **extra,
    }
    return services.dataset_create(organisation=owner, user=curator, **fields)


def make_version(dataset: Dataset, user: Any, content: bytes | None = None) -> Any:
    data = content if content is not None else placements_csv()
    return services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([data]), original_name="placements.csv"
    )


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
