"""Demo registry content, loaded through the same services a curator uses.

The real and synthetic student placements tables ship with SDMetrics
(``sdmetrics.demos.load_single_table_demo``); later synthetic generations are
produced here by ``registry.demo_generator`` so the lineage shows several
generations and a hybrid. Nothing is fetched from the internet.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from registry import services, table_services
from registry.demo_generator import copula_sample
from registry.models import Dataset, DatasetVersion
from registry.relational import version_sha256
from synthgov.accounts.models import Organisation

LATER_GENERATIONS = 3


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _placements() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sdmetrics.demos import load_single_table_demo

    real, synthetic, _ = load_single_table_demo()
    real = real["student_placements"]
    synthetic = synthetic["student_placements"][list(real.columns)]
    return real, synthetic


def _dataset(org: Organisation, user: Any, **fields: Any) -> Dataset:
    existing = Dataset.objects.filter(organisation=org, name=fields["name"]).first()
    return existing or services.dataset_create(organisation=org, user=user, **fields)


def _version(
    dataset: Dataset, user: Any, frame: pd.DataFrame, name: str, note: str = ""
) -> DatasetVersion:
    content = _csv(frame)
    digest = hashlib.sha256(content).hexdigest()
    existing = dataset.versions.filter(sha256=digest).first()
    if existing:
        return existing
    return services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([content]), original_name=name, note=note
    )


def _roles(version: DatasetVersion, user: Any, roles: dict[str, str]) -> None:
    columns = [{**c, "role": roles.get(c["name"], c["role"])} for c in version.schema]
    services.version_schema_update(version=version, user=user, columns=columns)


PLACEMENT_ROLES = {
    "student_id": "identifier",
    "gender": "protected",
    "placed": "target",
    "salary": "sensitive",
    "work_experience": "quasi_identifier",
    "degree_type": "quasi_identifier",
    "high_spec": "quasi_identifier",
}

SHEET_COMMON = {
    "composition": "One row per MBA student: school and degree percentages, specialisations, "
    "work experience, whether they were placed, salary and placement dates. 215 rows, 17 columns.",
    "collection": "Placement records of one business school cohort, as published in the SDMetrics "
    "demo data; no direct contact with the students.",
    "preprocessing": "Dates normalised to ISO 8601; salaries of students not placed left empty.",
    "distribution": "Within the registering organisation and its regulators; open copies only "
    "for synthetic versions.",
    "maintenance": "Maintained by the Northwind data team; report issues to the curator.",
}


def load_registry_demo(orgs: dict[str, Organisation]) -> list[Dataset]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    curator = users.get(username="curator")
    northwind = orgs["northwind"]
    real_frame, synthetic_frame = _placements()

    real = _dataset(
        northwind,
        curator,
        name="Student placements — real",
        kind="real",
        domain="education",
        licence="LicenseRef-Northwind-Internal",
        access="restricted",
        description="The real placement records the synthetic versions were learned from.",
        intended_uses="Reference for audits of synthetic versions.",
        prohibited_uses="Any use that identifies or profiles individual students.",
        tags=["students", "placements", "reference"],
    )
    real_v1 = _version(real, curator, real_frame, "student_placements_real.csv")
    _roles(real_v1, curator, PLACEMENT_ROLES)
    services.version_datasheet_update(
        version=real_v1,
        user=curator,
        sections={
            **SHEET_COMMON,
            "motivation": "Reference data for training and auditing placement-prediction models.",
            "uses": "Audit reference only; never shared outside the organisation.",
            "real_sources": "This is the real source.",
            "known_limitations": "A single cohort of 215 students; women are a minority.",
        },
    )

    synthetic = _dataset(
        northwind,
        curator,
        name="Student placements — synthetic",
        kind="fully_synthetic",
        domain="education",
        licence="CC-BY-4.0",
        access="open",
        description="Fully synthetic placements, shareable for teaching and model prototyping.",
        intended_uses="Teaching, prototyping placement-prediction models, testing pipelines.",
        prohibited_uses="Decisions about real students; re-identification attempts.",
        tags=["students", "placements", "synthetic"],
    )
    s1 = _version(synthetic, curator, synthetic_frame, "student_placements_synthetic.csv")
    _roles(s1, curator, PLACEMENT_ROLES)
    services.version_lineage_set(
        version=s1,
        user=curator,
        parents=[services.ParentLink(real_v1.pk, "trained_on")],
        generation={
            "generator_type": "copula",
            "generator_library": "sdv",
            "generator_version": "",
            "parameters": {"note": "SDMetrics demo synthetic table"},
            "seed": None,
            "privacy_mechanism": "",
            "compute_description": "1 CPU core, under a minute",
            "energy_kwh": 0.001,
            "carbon_kg": 0.0003,
        },
    )
    services.version_datasheet_update(
        version=s1,
        user=curator,
        sections={
            **SHEET_COMMON,
            "motivation": "Let outside analysts prototype models without real records.",
            "uses": "Teaching and prototyping; not for decisions about real students.",
            "generation_method": "Synthesizer fitted on the real placements table.",
            "real_sources": "Student placements — real, version 1.",
            "known_limitations": "Small training set; rare groups may be under-represented.",
            "bias_mitigation": "Gender shares compared with the real data in every audit.",
            "watermarking": "Not yet watermarked.",
        },
    )

    chain = _dataset(
        northwind,
        curator,
        name="Student placements — later generations",
        kind="fully_synthetic",
        domain="education",
        licence="CC-BY-4.0",
        access="open",
        description="Each version is generated from the previous synthetic generation only, "
        "to show how distribution tails are lost (model collapse).",
        intended_uses="Demonstrating model collapse along a lineage.",
        prohibited_uses="Training production models.",
        tags=["students", "model-collapse"],
    )
    previous, frame = s1, synthetic_frame
    for generation in range(LATER_GENERATIONS):
        frame = copula_sample(frame, rows=len(frame), seed=100 + generation, id_column="student_id")
        version = _version(
            chain,
            curator,
            frame,
            f"placements_generation_{generation + 2}.csv",
            note=f"Generation {generation + 2}: trained only on the previous synthetic generation.",
        )
        _roles(version, curator, PLACEMENT_ROLES)
        services.version_lineage_set(
            version=version,
            user=curator,
            parents=[services.ParentLink(previous.pk, "trained_on")],
            generation={
                "generator_type": "copula",
                "generator_library": "synthgov-demo",
                "generator_version": "1",
                "parameters": {"rows": len(frame)},
                "seed": 100 + generation,
                "compute_description": "1 CPU core, seconds",
                "energy_kwh": 0.0001,
                "carbon_kg": 0.00003,
            },
        )
        services.version_datasheet_update(
            version=version,
            user=curator,
            sections={
                **SHEET_COMMON,
                "motivation": "Show regulators what repeated synthetic-on-synthetic training does.",
                "uses": "Demonstration of model collapse only.",
                "generation_method": f"Gaussian copula fitted on generation {generation + 1}.",
                "real_sources": "None directly: only the previous synthetic generation.",
                "known_limitations": "Tails and rare categories shrink with every generation.",
            },
        )
        previous = version

    hybrid = _dataset(
        northwind,
        curator,
        name="Student placements — hybrid",
        kind="hybrid",
        domain="education",
        licence="LicenseRef-Northwind-Internal",
        access="restricted",
        description="Half real, half synthetic records, merged to enlarge the training set.",
        intended_uses="Internal model training.",
        prohibited_uses="Release outside Northwind.",
        tags=["students", "hybrid"],
    )
    rng = np.random.default_rng(7)
    half = len(real_frame) // 2
    merged = pd.concat(
        [
            real_frame.iloc[rng.permutation(len(real_frame))[:half]],
            synthetic_frame.iloc[rng.permutation(len(synthetic_frame))[:half]],
        ],
        ignore_index=True,
    )
    h1 = _version(hybrid, curator, merged, "placements_hybrid.csv")
    _roles(h1, curator, PLACEMENT_ROLES)
    services.version_lineage_set(
        version=h1,
        user=curator,
        parents=[
            services.ParentLink(real_v1.pk, "merged_with"),
            services.ParentLink(s1.pk, "merged_with"),
        ],
        generation={
            "generator_type": "rule_based",
            "generator_library": "pandas",
            "parameters": {"real_share": 0.5},
            "seed": 7,
        },
    )
    return [real, synthetic, chain, hybrid]


# --- A relational dataset: SDMetrics' multi-table demo --------------------

RELATIONAL_TABLES = ("users", "sessions", "transactions")


def _multi_table_demo_files() -> tuple[Path, dict[str, Any]]:
    """The folder of SDMetrics' multi-table demo (users, sessions, transactions; real
    and HMA1-synthetic CSV files installed with the package, read without a network)
    and its metadata, exactly as ``sdmetrics.demos.load_multi_table_demo`` reads them."""
    import sdmetrics

    folder = Path(sdmetrics.__file__).parent / "demos" / "multi_table"
    return folder, json.loads((folder / "metadata.json").read_text())


def _relational_version(
    dataset: Dataset, user: Any, folder: Path, suffix: str, metadata: dict[str, Any]
) -> DatasetVersion:
    contents = {t: (folder / f"{t}_{suffix}.csv").read_bytes() for t in RELATIONAL_TABLES}
    digest = version_sha256({t: hashlib.sha256(c).hexdigest() for t, c in contents.items()})
    existing = dataset.versions.filter(sha256=digest).first()
    if existing:
        return existing
    return table_services.relational_version_create(
        dataset=dataset,
        user=user,
        tables=[
            table_services.TableUpload(t, f"{t}_{suffix}.csv", iter([c]))
            for t, c in contents.items()
        ],
        metadata=metadata,
        note="SDMetrics multi-table demo: users, their browsing sessions and transactions.",
    )


def load_relational_demo(orgs: dict[str, Organisation]) -> list[Dataset]:
    """Two relational datasets from SDMetrics' multi-table demo: the real users,
    sessions and transactions, and the synthetic copy SDV's HMA1 made of them."""
    from django.contrib.auth import get_user_model

    curator = get_user_model().objects.get(username="curator")
    northwind = orgs["northwind"]
    folder, metadata = _multi_table_demo_files()
    sheet = {
        "composition": "Three linked tables: users (one row per user), sessions (each refers "
        "to its user) and transactions (each refers to its session). 10 rows each.",
        "collection": "Simulated browsing data published as the SDV / SDMetrics multi-table demo.",
        "distribution": "Within Northwind and its regulators; the synthetic copy is open.",
        "maintenance": "Maintained by the Northwind data team; report issues to the curator.",
    }
    real = _dataset(
        northwind,
        curator,
        name="Web sessions — real",
        kind="real",
        domain="retail",
        licence="MIT",
        access="restricted",
        description="Users, their browsing sessions and the transactions made in them.",
        intended_uses="Reference for audits of the synthetic copy.",
        prohibited_uses="Profiling individual users.",
        tags=["relational", "sessions", "reference"],
    )
    real_v1 = _relational_version(real, curator, folder, "real", metadata)
    services.version_datasheet_update(
        version=real_v1,
        user=curator,
        sections={
            **sheet,
            "motivation": "A small relational reference to show linked tables in SynthGov.",
        },
    )
    synthetic = _dataset(
        northwind,
        curator,
        name="Web sessions — synthetic",
        kind="fully_synthetic",
        domain="retail",
        licence="MIT",
        access="open",
        description="A synthetic copy of the three linked tables, made by SDV's HMA1.",
        intended_uses="Prototyping session analytics without real users.",
        prohibited_uses="Decisions about real users.",
        tags=["relational", "sessions", "synthetic"],
    )
    synthetic_v1 = _relational_version(synthetic, curator, folder, "synthetic", metadata)
    services.version_lineage_set(
        version=synthetic_v1,
        user=curator,
        parents=[services.ParentLink(real_v1.pk, "trained_on")],
        generation={
            "generator_type": "bayesian_network",
            "generator_library": "sdv",
            "parameters": {"model": "HMA1", "note": "SDMetrics multi-table demo"},
        },
    )
    services.version_datasheet_update(
        version=synthetic_v1,
        user=curator,
        sections={
            **sheet,
            "motivation": "Let analysts prototype on linked tables without real users.",
            "generation_method": "SDV's hierarchical modelling algorithm (HMA1) fitted on the "
            "real tables, as shipped with SDMetrics.",
            "real_sources": "Web sessions — real, version 1.",
        },
    )
    return [real, synthetic]
