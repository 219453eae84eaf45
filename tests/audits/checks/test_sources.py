"""Tables read column by column (``audits.checks.sources``) and prepared columns kept on
disk (``compact.SpillStore``) give the figures of whole frames in memory, bit for bit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.checks import AuditFrames, ColumnSpec, RealAncestor
from audits.checks.compact import (
    OWNER_FILE,
    SPILL_PREFIX,
    CompactColumn,
    SpillStore,
    prepare_compact,
    remove_abandoned,
)
from audits.checks.encoding import prepare
from audits.checks.runner import run_audit
from audits.checks.sources import FileSource, FrameSource
from audits.checks.watermark import embed
from registry.ingest.tables import TableFormat, TableInfo, read_parquet_frame
from tests.audits.checks.conftest import CENSUS_COLUMNS, REGISTRY_FACTS, census, census_config

ROOT = Path(__file__).resolve().parents[3]

KEY = b"sources-test-key"
TOLERANCES = {"income": 50.0}
PROFILE = {
    "profile_id": 1,
    "version": 1,
    "name": "sex and region",
    "source": "test",
    "source_url": "",
    "intended": False,
    "groupings": [
        {
            "attributes": ["sex"],
            "groups": [{"values": ["F"], "share": 0.5}, {"values": ["M"], "share": 0.5}],
        },
        {
            "attributes": ["sex", "region"],
            "groups": [
                {"values": ["F", "north"], "share": 0.2},
                {"values": ["M", "south"], "share": 0.15},
            ],
        },
    ],
}
FACTS = {
    **REGISTRY_FACTS,
    "synthetic": True,
    "watermark": {"key": KEY, "key_id": "k1", "tolerances": TOLERANCES},
    "manifest_valid": True,
}
COLUMNS = [
    *CENSUS_COLUMNS,
    ColumnSpec("grade", "categorical", "other"),
    ColumnSpec("colour", "categorical", "other"),
]


def _with_text(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Text columns with missing values and numbers written as text, and a column the
    schema does not list (the schema figure reports it)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["grade"] = rng.choice(np.array(["1", "2", "3.0", "10", None], dtype=object), len(out))
    out["colour"] = rng.choice(np.array(["red", "blue", f"only_{seed}", None]), len(out))
    out["note"] = "extra"
    return out


@pytest.fixture
def stored(tmp_path):
    """Reference, synthetic (watermarked), holdout and ancestor tables written as
    Parquet in several row groups (a dictionary each), and their sources."""
    frames = {
        "real": _with_text(census(2500, 1), 1),
        "synthetic": _with_text(census(2500, 2), 2),
        "holdout": _with_text(census(800, 3), 3),
        "ancestor": _with_text(census(1800, 4), 4),
    }
    frames["synthetic"], _ = embed(frames["synthetic"], KEY, TOLERANCES)
    paths = {}
    for name, frame in frames.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False, row_group_size=700)
    return paths


def _source(path) -> FileSource:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    columns = tuple(meta.schema.to_arrow_schema().names)
    return FileSource(path, TableInfo(TableFormat.PARQUET, meta.num_rows, columns))


def _config():
    return census_config(columns=COLUMNS, population=PROFILE, positive_outcome=True)


def _audit(tables: dict, **options):
    return run_audit(
        config=_config(),
        frames=AuditFrames(tables["real"], tables["synthetic"], tables["holdout"]),
        registry_facts=FACTS,
        ancestor=RealAncestor.measured(tables["ancestor"], generation_depth=2),
        **options,
    )


def test_file_sources_and_the_disk_store_give_the_figures_of_whole_frames(stored, tmp_path):
    whole = _audit({name: read_parquet_frame(path) for name, path in stored.items()})
    keys = {m.key for m in whole.metrics if m.status != "skipped"}
    # The raw-table readers all ran: schema sample, population, watermark, collapse.
    assert {
        "integrity.schema_matches_reference",
        "fairness.population_representation_gap",
        "provenance.watermark_detected",
        "collapse.record_diversity",
    } <= keys
    assert whole.metric("provenance.watermark_detected").value == 1.0
    assert whole.metric("integrity.schema_matches_reference").details[
        "extra_reference_columns"
    ] == ["note"]

    sources = _audit({name: _source(path) for name, path in stored.items()})
    spill = tmp_path / "spill"
    spill.mkdir()
    seen: list[int] = []

    def progress(label: str, fraction: float) -> None:
        seen.append(sum(len(list(folder.iterdir())) for folder in spill.iterdir()))

    on_disk = _audit(
        {name: _source(path) for name, path in stored.items()},
        spill_dir=spill,
        progress=progress,
    )
    assert max(seen) > 0  # the narrow arrays were in files while the checks ran
    assert list(spill.iterdir()) == []  # and removed at the end
    assert sources.canonical_json() == whole.canonical_json()
    assert on_disk.canonical_json() == whole.canonical_json()
    assert [m.to_json() for m in on_disk.metrics] == [m.to_json() for m in whole.metrics]


def test_a_csv_file_source_gives_the_figures_of_its_whole_read(tmp_path):
    from registry.ingest.tables import read_frame

    tables = {}
    for name, (rows, seed) in {
        "real": (900, 1),
        "synthetic": (900, 2),
        "holdout": (300, 3),
    }.items():
        path = tmp_path / f"{name}.csv"
        frame = _with_text(census(rows, seed), seed)
        frame.to_csv(path, index=False)
        info = TableInfo(
            TableFormat.CSV, rows, tuple(frame.columns), encoding="utf-8", delimiter=","
        )
        tables[name] = (path, info)
    config = census_config(columns=COLUMNS)
    whole = run_audit(
        config=config,
        **{name: read_frame(path, info) for name, (path, info) in tables.items()},
        registry_facts=FACTS,
    )
    sources = {name: FileSource(path, info) for name, (path, info) in tables.items()}
    by_source = run_audit(
        config=config, frames=AuditFrames(**sources), registry_facts=FACTS, spill_dir=tmp_path
    )
    assert not sources["real"].by_column
    assert by_source.canonical_json() == whole.canonical_json()


def test_the_spill_folder_is_removed_when_the_audit_raises(stored, tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    held: list[int] = []

    def cancel(label: str, fraction: float) -> None:
        held.append(sum(len(list(folder.iterdir())) for folder in spill.iterdir()))
        if label.startswith("Privacy"):
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        _audit(
            {name: _source(path) for name, path in stored.items()}, spill_dir=spill, progress=cancel
        )
    assert held[-1] > 0
    assert list(spill.iterdir()) == []


def test_spilled_columns_read_back_as_new_arrays_equal_to_the_prepared_ones(tmp_path):
    config = census_config()
    real, synthetic, holdout = census(400, 1), census(400, 2), census(100, 3)
    synthetic.loc[::7, "age"] = np.nan
    plain = prepare(config.columns, real, synthetic, holdout, eager=True)
    with SpillStore(tmp_path) as store:
        spilled = prepare_compact(
            config.columns,
            FrameSource(real),
            FrameSource(synthetic),
            FrameSource(holdout),
            store=store,
        )
        for name in plain.columns:
            got = spilled.columns[name]
            assert isinstance(got, CompactColumn)
            for frame in ("real", "synthetic", "holdout"):
                want, first, second = (getattr(c, frame) for c in (plain.columns[name], got, got))
                assert first.dtype == want.dtype
                np.testing.assert_array_equal(first.view(np.uint8), want.view(np.uint8))
                # A new, writable array on each read: not a memory map of the file.
                assert type(first) is np.ndarray and first.flags.writeable
                first[:] = 0
                np.testing.assert_array_equal(second.view(np.uint8), want.view(np.uint8))
        assert store.nbytes == sum(spilled.columns[n].nbytes for n in spilled.columns)
        folder = store.folder
    assert not folder.exists()


def test_a_file_source_reads_only_the_columns_asked_for(stored):
    source = _source(stored["real"])
    assert source.num_rows == 2500 and "note" in source.columns
    part = source.read(["region", "age"])
    assert list(part.columns) == ["region", "age"]
    whole = read_parquet_frame(stored["real"])
    pd.testing.assert_frame_equal(part, whole[["region", "age"]])


def test_a_store_left_by_a_killed_process_is_removed_by_the_next_one(tmp_path):
    # A worker SIGKILLed mid-audit runs no cleanup: its folder must not stay for good.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from audits.checks.compact import SpillStore; "
            "import numpy as np; s = SpillStore(sys.argv[1]); s.put(np.arange(1000)); "
            "print(s.folder, flush=True); os.kill(os.getpid(), 9)",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    abandoned = Path(child.stdout.strip())
    assert child.returncode == -9 and abandoned.is_dir()
    with SpillStore(tmp_path) as live:
        other = SpillStore(tmp_path)  # a running audit's folder stays
        with SpillStore(tmp_path):
            assert not abandoned.exists()
            assert live.folder.is_dir() and other.folder.is_dir()
        other.close()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_whose_owner_is_not_known_yet_is_left_alone(tmp_path):
    being_made = tmp_path / f"{SPILL_PREFIX}new"
    being_made.mkdir()
    (tmp_path / f"{SPILL_PREFIX}unreadable").mkdir()
    (tmp_path / f"{SPILL_PREFIX}unreadable" / OWNER_FILE).write_text("not a process")
    assert remove_abandoned(tmp_path) == []
    assert being_made.is_dir()
