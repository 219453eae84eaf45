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


# A long lineage for the lineage view: 50 versions, built through the services.
LONG_CHAIN_NAME = "Synthetic regional hospital admissions, generation chain"


def long_lineage(world: Any, *, chain: int = 40, branch: int = 8) -> dict[str, Any]:
    """One real version (org A), ``chain`` versions of one open synthetic dataset
    each trained on the one before (v1 on the real data), ``branch`` versions of a
    second dataset each derived from a chain version, and one restricted version
    of organisation B derived from the chain's v10, which org A may not see.
    ``chain + branch + 2`` versions in all (50 by default)."""
    seeds = iter(range(10_000))

    def small() -> bytes:  # each version a different file (identical ones are refused)
        return placements_csv(rows=6, seed=next(seeds))

    real = make_dataset(world, name="Regional hospital admissions", kind="real")
    real_v1 = make_version(real, world.curator_a, small())
    chain_ds = make_dataset(world, access="open", name=LONG_CHAIN_NAME)
    chain_versions = []
    parent = real_v1
    for _ in range(chain):
        version = make_version(chain_ds, world.curator_a, small())
        services.version_lineage_set(
            version=version,
            user=world.curator_a,
            parents=[services.ParentLink(parent_id=parent.pk, relation="trained_on")],
            generation={"generator_type": "gan", "generator_library": "ctgan"},
        )
        chain_versions.append(version)
        parent = version
    branch_ds = make_dataset(world, name="Admissions holdout variants")
    branch_versions = []
    for index in range(branch):
        version = make_version(branch_ds, world.curator_a, small())
        services.version_lineage_set(
            version=version,
            user=world.curator_a,
            parents=[
                services.ParentLink(
                    parent_id=chain_versions[(index * 5) % chain].pk, relation="derived_from"
                )
            ],
            generation={},
        )
        branch_versions.append(version)
    hidden_ds = make_dataset(world, org="org_b", name="Beta confidential derivative")
    hidden = make_version(hidden_ds, world.curator_b, small())
    services.version_lineage_set(
        version=hidden,
        user=world.curator_b,
        parents=[services.ParentLink(parent_id=chain_versions[9].pk, relation="derived_from")],
        generation={},
    )
    return {
        "real": real_v1,
        "chain_dataset": chain_ds,
        "chain": chain_versions,
        "branch": branch_versions,
        "hidden": hidden,
    }
