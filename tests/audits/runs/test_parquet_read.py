"""A Parquet version is read by the worker with its text columns as pandas ``category``
(``registry.ingest.tables.read_parquet_frame``) and audited to exactly the figures of the
same files read as one Python string per cell (the read before it)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from audits.models import AuditMetric, AuditStatus
from audits.runs import services
from registry import services as registry_services
from registry.ingest import tables
from tests.audits.conftest import ROLES, placements
from tests.registry.conftest import make_dataset


def _with_awkward_columns(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Missing text cells, numbers written as text, text mixing numbers and words, a
    boolean with missing cells, a date column and a date written as text."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    out = frame.copy()
    out["gender"] = out["gender"].where(rng.random(n) > 0.1, None)
    out["grade"] = rng.choice(np.array(["1", "2.0", "10", None], dtype=object), size=n)
    out["comment"] = rng.choice(np.array(["12", "abc", "3.5", f"only_{seed}", None]), size=n)
    out["mentored"] = pd.Series(rng.choice([True, False, None], size=n), dtype=object)
    out["start_date"] = pd.to_datetime(out["start_date"]).dt.date  # Parquet date32
    return out  # end_date stays text ("2020-10-12" or missing)


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False, row_group_size=64)  # a dictionary per row group
    return out.getvalue()


def _register(dataset, user, frame: pd.DataFrame, name: str):
    version = registry_services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([_parquet(frame)]), original_name=name
    )
    columns = [{**c, "role": ROLES.get(c["name"], c["role"])} for c in version.schema]
    return registry_services.version_schema_update(version=version, user=user, columns=columns)


@pytest.fixture
def parquet_world(world, registry_storage):
    real_frame, synthetic_frame = placements()
    real_frame = _with_awkward_columns(real_frame, 1)
    synthetic_frame = _with_awkward_columns(synthetic_frame, 2)
    real_ds = make_dataset(world, name="Placements real parquet", kind="real")
    synth_ds = make_dataset(world, name="Placements synthetic parquet", kind="fully_synthetic")
    user = world.curator_a
    real = _register(real_ds, user, real_frame.iloc[:160], "train.parquet")
    holdout = _register(real_ds, user, real_frame.iloc[160:], "holdout.parquet")
    synthetic = _register(synth_ds, user, synthetic_frame, "synthetic.parquet")
    # The reference is the synthetic version's real ancestor: collapse figures read it too.
    registry_services.version_lineage_set(
        version=synthetic,
        user=user,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    return {"real": real, "holdout": holdout, "synthetic": synthetic, "world": world}


def _audit(pw):
    run = services.audit_run_request(
        version=pw["synthetic"],
        reference=pw["real"],
        holdout=pw["holdout"],
        config=services.default_config(pw["synthetic"]),
        user=pw["world"].curator_a,
    )
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    return services.audit_run_execute(run_id=run.pk, token=token)


def _figures(run) -> dict:
    return {
        (m.table, m.key): (m.value, m.status, m.finding, m.uncertainty, m.sample_size, m.population)
        for m in AuditMetric.objects.filter(run=run)
    }


def test_parquet_versions_read_as_categories_give_the_figures_of_strings(
    parquet_world, monkeypatch
):
    read = services._load(parquet_world["synthetic"], "audited version")
    text = ["gender", "high_spec", "degree_type", "mba_spec", "grade", "comment", "end_date"]
    for column in text:
        assert isinstance(read[column].dtype, pd.CategoricalDtype), column
    assert read["grade"].isna().any() and read["comment"].isna().any()
    assert pd.api.types.is_datetime64_any_dtype(read["start_date"])
    assert read["mentored"].dtype == object and read["mentored"].isna().any()

    categories = _audit(parquet_world)
    assert categories.status == AuditStatus.SUCCEEDED, categories.error

    # The read before the shared loader: one Python string per text cell, None missing.
    def plain(path, *, columns=None, categories=True):
        return tables._read_parquet(path, nrows=None, columns=columns)

    monkeypatch.setattr(tables, "read_parquet_frame", plain)
    assert services._load(parquet_world["synthetic"], "audited version")["grade"].dtype == object
    strings = _audit(parquet_world)
    assert strings.status == AuditStatus.SUCCEEDED, strings.error

    figures = _figures(categories)
    assert len(figures) > 40
    keys = {key for _, key in figures}
    assert {"collapse.category_retention", "privacy.exact_match_rate"} <= keys
    assert figures == _figures(strings)
    assert categories.results["metrics"] == strings.results["metrics"]
    assert categories.results_sha256 == strings.results_sha256


def test_unreadable_and_missing_parquet_files_fail_the_audit_in_words(parquet_world):
    from django.core.files.storage import default_storage

    synthetic = parquet_world["synthetic"]
    with default_storage.open(synthetic.file.name, "wb") as handle:
        handle.write(b"PAR1 not a parquet file at all PAR1")
    with pytest.raises(services.AuditInputError, match=r"could not be read as a table"):
        services._load(synthetic, "audited version")
    default_storage.delete(synthetic.file.name)
    with pytest.raises(services.AuditInputError, match=r"is missing from storage"):
        services._load(synthetic, "audited version")


def test_the_worker_reads_sources_and_spills_prepared_columns_with_the_same_figures(
    parquet_world, settings, monkeypatch
):
    from pathlib import Path

    from audits.checks import runner
    from audits.checks.compact import SpillStore

    folders: list[Path] = []
    written: list[int] = []

    class Recorded(SpillStore):
        def __init__(self, parent=None):
            super().__init__(parent)
            folders.append(self.folder)

        def close(self):
            written.append(self.nbytes)
            super().close()

    monkeypatch.setattr(runner, "SpillStore", Recorded)
    settings.SYNTHGOV_AUDIT_SPILL_ROWS = 10**9
    in_memory = _audit(parquet_world)
    assert in_memory.status == AuditStatus.SUCCEEDED, in_memory.error
    assert folders == []

    settings.SYNTHGOV_AUDIT_SPILL_ROWS = 0
    on_disk = _audit(parquet_world)
    assert on_disk.status == AuditStatus.SUCCEEDED, on_disk.error
    assert len(folders) == 1 and written[0] > 0
    assert folders[0].parent == Path(settings.FILE_UPLOAD_TEMP_DIR)
    assert not folders[0].exists()

    figures = _figures(in_memory)
    assert {"collapse.category_retention", "privacy.exact_match_rate"} <= {k for _, k in figures}
    assert figures == _figures(on_disk)
    assert in_memory.results["metrics"] == on_disk.results["metrics"]
    assert in_memory.results_sha256 == on_disk.results_sha256
