"""Fixtures for the plain-Python audit checks: no database, no Django."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditConfig, ColumnSpec
from audits.checks.context import AuditContext
from audits.checks.encoding import prepare

DEMO_TYPES = {
    "student_id": "id",
    "gender": "categorical",
    "second_perc": "numerical",
    "high_perc": "numerical",
    "high_spec": "categorical",
    "degree_perc": "numerical",
    "degree_type": "categorical",
    "work_experience": "boolean",
    "experience_years": "numerical",
    "employability_perc": "numerical",
    "mba_spec": "categorical",
    "mba_perc": "numerical",
    "salary": "numerical",
    "placed": "boolean",
    "start_date": "datetime",
    "end_date": "datetime",
    "duration": "numerical",
}


@pytest.fixture(scope="session")
def demo() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """SDMetrics' student placements demo (ships with the package): real, synthetic,
    single-table metadata."""
    from sdmetrics.demos import load_single_table_demo

    real, synthetic, metadata = load_single_table_demo()
    table = "student_placements"
    return real[table].copy(), synthetic[table].copy(), metadata["tables"][table]


@pytest.fixture(scope="session")
def demo_columns() -> list[ColumnSpec]:
    return [
        ColumnSpec(name, kind, "identifier" if kind == "id" else "other")
        for name, kind in DEMO_TYPES.items()
    ]


def make_context(
    config: AuditConfig,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    facts: dict | None = None,
) -> AuditContext:
    data = prepare(config.columns, real, synthetic, holdout)
    return AuditContext(config, real, synthetic, holdout, data, facts or {})


def census(n: int, seed: int, *, gap: float = 0.2, drop_group: str | None = None) -> pd.DataFrame:
    """A small census-like table: sex and region are protected, ``hired`` is the outcome
    with ``gap`` between the rates of women and men."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], size=n)
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    age = rng.integers(18, 70, size=n).astype(float)
    income = np.round(rng.lognormal(10, 0.4, size=n), 2)
    rate = np.where(sex == "M", 0.5 + gap / 2, 0.5 - gap / 2)
    frame = pd.DataFrame(
        {
            "id": np.arange(n) + seed * 100_000,
            "sex": sex,
            "region": region,
            "age": age,
            "income": income,
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "hired": rng.random(n) < rate,
        }
    )
    if drop_group is not None:
        frame = frame[frame["region"] != drop_group].reset_index(drop=True)
    return frame


# What the registry tells an audit about a version, all in order (``run_audit``'s
# ``registry_facts``).
REGISTRY_FACTS = {
    "datasheet_completeness": 0.9,
    "lineage_complete": True,
    "generator_documented": True,
    "licence": "CC-BY-4.0",
    "compute_disclosed": True,
    "hash_verified": True,
}

CENSUS_COLUMNS = [
    ColumnSpec("id", "id", "identifier"),
    ColumnSpec("sex", "categorical", "protected"),
    ColumnSpec("region", "categorical", "protected"),
    ColumnSpec("age", "numerical", "quasi_identifier"),
    ColumnSpec("income", "numerical", "sensitive"),
    ColumnSpec("joined", "datetime", "other"),
    ColumnSpec("hired", "boolean", "target"),
]


def census_config(**overrides) -> AuditConfig:
    options = {
        "columns": CENSUS_COLUMNS,
        "protected": ["sex", "region"],
        "quasi_identifiers": ["age", "sex", "region"],
        "sensitive": ["income"],
        "target": "hired",
        "sdmetrics_sample_rows": 2_000,
        "detection_sample_rows": 2_000,
        "utility_sample_rows": 2_000,
    }
    options.update(overrides)
    return AuditConfig(**options)
