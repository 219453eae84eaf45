"""Benchmark: the full default audit at 10k, 100k and 1M rows.

Generates realistic mixed-type data (18 columns: identifiers, categories, numbers, dates,
protected attributes, a sensitive diagnosis and a binary outcome), runs
``audits.checks.runner.run_audit`` with the default configuration in a child process per
size (so ``ru_maxrss`` is that run's peak memory) and prints wall time per check family
and peak memory. The child reads the stored files as the worker does (``--loader
sources``: column by column inside the audit, prepared columns on disk above
``--spill-rows``); ``--loader categories`` reads three whole frames first, as before.
``--sdmetrics`` also times SDMetrics' own privacy metrics on 50k rows
against ours. The full audit includes the attack figures (``audits.checks.attacks``);
``bench/privacy_attacks.py`` times them against anonymeter at 50k rows and measures their
false-alarm and miss rates. Model validation (``audits.checks.model_validation``) is timed
per model fit, bootstrap and permutation importances under the family table.

    .venv/bin/python bench/audit_scale.py --quick
    .venv/bin/python bench/audit_scale.py --sizes 10000 100000 1000000 --json out.json
    .venv/bin/python bench/audit_scale.py --quick --compare out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGIONS = [f"R{i:02d}" for i in range(12)]
POSTCODES = [f"P{i:03d}" for i in range(120)]
OCCUPATIONS = [f"occ_{i:02d}" for i in range(20)]
EDUCATION = ["none", "primary", "secondary", "vocational", "bachelor", "master", "doctorate"]
ETHNICITY = ["group_a", "group_b", "group_c", "group_d", "group_e", "group_f"]
LANGUAGES = ["en", "es", "fr", "de", "pl", "ar", "zh", "hi"]
MARITAL = ["single", "married", "divorced", "widowed", "partnered"]
DIAGNOSES = [f"D{i:02d}" for i in range(25)]


def _zipf_probs(k: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** s
    return weights / weights.sum()


BLOCK_ROWS = 1_000_000
"""Rows per generated block. The data is defined block by block: block ``k`` of a table
with seed ``s`` is drawn from ``numpy.random.default_rng(s)`` when ``k == 0`` and from
``default_rng([s, k])`` after, so a table of at most ``BLOCK_ROWS`` rows is the same as
``generate(n, s)`` and a larger one is the same whatever batch size writes it."""


def generate(n: int, seed: int, *, drift: float = 0.0, block: int = 0) -> pd.DataFrame:
    """A census-like table; ``drift`` perturbs the generating process like an imperfect
    generator would (0 = the same process as the real data). ``block`` k > 0 draws from
    ``default_rng([seed, k])`` and numbers its people after the earlier blocks'."""
    rng = np.random.default_rng(seed if block == 0 else [seed, block])
    sex = rng.choice(["F", "M", "X"], size=n, p=[0.5, 0.495, 0.005])
    ethnicity = rng.choice(ETHNICITY, size=n, p=_zipf_probs(6, 1.3))
    region_idx = rng.choice(12, size=n, p=_zipf_probs(12, 0.8))
    # Postcodes nest in regions: ten per region.
    postcode_idx = region_idx * 10 + rng.choice(10, size=n, p=_zipf_probs(10, 1.0))
    age = np.clip(rng.gamma(6.0, 7.0, size=n) + 16, 18, 95).round()
    edu_idx = np.clip((rng.normal(3.2 + drift, 1.4, size=n) - (age > 70)).round(), 0, 6)
    edu_idx = edu_idx.astype(int)
    occupation_idx = (edu_idx * 3 + rng.integers(0, 6, size=n)) % 20
    log_income = 9.2 + 0.22 * edu_idx + 0.012 * np.minimum(age, 60) + rng.normal(0, 0.45, n)
    income = np.round(np.exp(log_income + drift * 0.1), 2)
    hours = np.clip(rng.normal(38 - 0.1 * (age > 60) * (age - 60), 7, size=n), 0, 80).round(1)
    credit = np.clip(rng.normal(620 + 25 * edu_idx, 60, size=n), 300, 850).round()
    dependents = rng.poisson(np.where(age < 30, 0.4, 1.3), size=n)
    disability = rng.random(n) < 0.06 + 0.002 * np.maximum(age - 50, 0)
    start = np.datetime64("2015-01-01")
    signup = start + rng.integers(0, 3000, size=n).astype("timedelta64[D]")
    last_visit = signup + rng.exponential(400, size=n).astype(int).astype("timedelta64[D]")
    diagnosis_idx = (rng.choice(25, size=n, p=_zipf_probs(25, 1.1)) + (age > 65) * 3) % 25
    score = (
        -4.0
        + 0.35 * (log_income - 9.2) * 3
        + 0.004 * (credit - 600)
        - 0.4 * (sex == "F") * (1 + drift)
        - 0.3 * (ethnicity == "group_c")
        - 0.2 * disability
    )
    approved = rng.random(n) < 1.0 / (1.0 + np.exp(-score))
    salary = np.where(rng.random(n) < 0.1, np.nan, income)  # a column with missing values
    return pd.DataFrame(
        {
            "person_id": rng.permutation(n) + seed * 10_000_000 + block * BLOCK_ROWS,
            "sex": sex,
            "ethnicity": ethnicity,
            "age": age,
            "region": np.array(REGIONS)[region_idx],
            "postcode": np.array([f"P{i:03d}" for i in range(120)])[postcode_idx],
            "education": np.array(EDUCATION)[edu_idx],
            "occupation": np.array(OCCUPATIONS)[occupation_idx],
            "marital_status": rng.choice(MARITAL, size=n, p=[0.35, 0.4, 0.1, 0.05, 0.1]),
            "language": rng.choice(LANGUAGES, size=n, p=_zipf_probs(8, 1.5)),
            "declared_income": salary,
            "hours_per_week": hours,
            "credit_score": credit,
            "dependents": dependents,
            "has_disability": disability,
            "signup_date": pd.to_datetime(signup),
            "last_visit": pd.to_datetime(last_visit),
            "diagnosis": np.array(DIAGNOSES)[diagnosis_idx],
            "approved": approved,
        }
    )


def bench_config(*, families: set[str] | None = None):
    """The default audit configuration for the generated table (as the worker builds it
    from the schema roles)."""
    from audits.checks import AuditConfig, ColumnSpec
    from audits.checks.base import FAMILIES

    types = {
        "person_id": ("id", "identifier"),
        "sex": ("categorical", "protected"),
        "ethnicity": ("categorical", "protected"),
        "age": ("numerical", "quasi_identifier"),
        "postcode": ("categorical", "quasi_identifier"),
        "declared_income": ("numerical", "other"),
        "hours_per_week": ("numerical", "other"),
        "credit_score": ("numerical", "other"),
        "dependents": ("numerical", "other"),
        "has_disability": ("boolean", "protected"),
        "signup_date": ("datetime", "other"),
        "last_visit": ("datetime", "other"),
        "diagnosis": ("categorical", "sensitive"),
        "approved": ("boolean", "target"),
    }
    columns = [
        ColumnSpec(name, *types.get(name, ("categorical", "other")))
        for name in generate(1, 0).columns
    ]
    return AuditConfig(
        columns=columns,
        protected=["sex", "ethnicity", "has_disability"],
        quasi_identifiers=["age", "sex", "postcode"],
        sensitive=["diagnosis"],
        target="approved",
        families=set(families or FAMILIES),
    )


FACTS = {
    "datasheet_completeness": 0.9,
    "lineage_complete": True,
    "generator_documented": True,
    "licence": "CC-BY-4.0",
    "compute_disclosed": True,
    "hash_verified": True,
}


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _rss_mib() -> float:
    """Resident memory now (not the peak): what the process holds between steps."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _StepClock:
    """A progress callback that times each step (the runner calls it before each step)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.peak_after: dict[str, float] = {}
        self.rss_after: dict[str, float] = {}
        self._label: str | None = None
        self._started = self._cpu_started = 0.0

    def __call__(self, label: str, fraction: float) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        if self._label is not None:
            name = self._label
            self.seconds[name] = self.seconds.get(name, 0.0) + now - self._started
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + cpu - self._cpu_started
            # Peak memory so far when the step ends: the step where it jumps set the peak.
            self.peak_after[name] = _maxrss_mib()
            # Memory held when it ends (what the later steps start from).
            self.rss_after[name] = _rss_mib()
        self._label, self._started, self._cpu_started = label, now, cpu


# --- child processes -----------------------------------------------------------------


def generate_blocks(n: int, seed: int, *, drift: float = 0.0) -> Iterator[pd.DataFrame]:
    """The table ``generate`` defines, ``BLOCK_ROWS`` rows at a time (see ``BLOCK_ROWS``)."""
    for block, start in enumerate(range(0, n, BLOCK_ROWS)):
        yield generate(min(BLOCK_ROWS, n - start), seed, drift=drift, block=block)


def write_table(
    path: Path, n: int, seed: int, *, drift: float = 0.0, copy_from: Path | None = None,
    copy_share: float = 0.0,
) -> None:  # fmt: skip
    """Write the table block by block with a ParquetWriter: memory holds one block. With
    ``copy_from``, block k's rows chosen by ``default_rng(5)`` (k = 0) or
    ``default_rng([5, k])`` are replaced by the same rows of that file (copies of real
    records)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(copy_from) if copy_from is not None else None
    writer = None
    try:
        for block, frame in enumerate(generate_blocks(n, seed, drift=drift)):
            if source is not None and copy_share > 0:
                real = source.read_row_group(block).to_pandas()
                rng = np.random.default_rng(5 if block == 0 else [5, block])
                rows = rng.choice(len(frame), int(len(frame) * copy_share), replace=False)
                frame.iloc[rows] = real.iloc[rows].to_numpy()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            # One row group per block, so a copy can read the reference's matching block.
            writer.write_table(table, row_group_size=BLOCK_ROWS)
            del frame, table
    finally:
        if writer is not None:
            writer.close()


def child_generate(spec: dict) -> dict:
    """Write reference (seed 1), synthetic (seed 3, drift 0.1) and holdout (seed 2)
    Parquet files for one size, block by block."""
    n, holdout_n, folder = spec["rows"], spec["holdout_rows"], Path(spec["folder"])
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    write_table(folder / "real.parquet", n, 1)
    write_table(
        folder / "synthetic.parquet", n, 3, drift=0.1,
        copy_from=folder / "real.parquet", copy_share=spec.get("copy_share", 0),
    )  # fmt: skip
    write_table(folder / "holdout.parquet", holdout_n, 2)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "peak_rss_mib": _maxrss_mib(),
    }


LOADERS = ("sources", "categories", "pandas")
"""How the audit child reads the files: "sources" (the default) as the worker does,
``audits.checks.sources.FileSource`` reading each column when the audit prepares it
(``audits.runs.services._source``), never a whole table; "categories" reads the three
whole tables first, text columns as categoricals from Arrow's dictionaries with
``registry.ingest.tables.read_parquet_frame`` (the worker's reader before sources,
``audits.runs.services._load``); "pandas" is ``pd.read_parquet`` (one Python string per
text cell), as runs before that reader existed did."""

SPILL_ROWS = 10_000_000
"""The worker's default ``SYNTHGOV_AUDIT_SPILL_ROWS`` (``synthgov.settings``): above this
many rows in the three tables together the prepared columns are kept on disk."""


def _load(folder: Path, loader: str = "pandas") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if loader == "categories":
        from registry.ingest.tables import read_parquet_frame as read
    else:
        read = pd.read_parquet
    return (
        read(folder / "real.parquet"),
        read(folder / "synthetic.parquet"),
        read(folder / "holdout.parquet"),
    )


def file_sources(folder: Path):
    """The three stored files as the worker reads them (``audits.runs.services._source``):
    ``FileSource``s reading one column at a time."""
    import pyarrow.parquet as pq

    from audits.checks.sources import FileSource
    from registry.ingest.tables import TableFormat, TableInfo

    def source(name: str) -> FileSource:
        path = folder / f"{name}.parquet"
        meta = pq.ParquetFile(path).metadata
        names = tuple(meta.schema.to_arrow_schema().names)
        return FileSource(path, TableInfo(TableFormat.PARQUET, meta.num_rows, names), label=name)

    return source("real"), source("synthetic"), source("holdout")


def child_audit(spec: dict) -> dict:
    """Read the files as the worker does and run ``run_audit``; report time and memory.
    With the "sources" loader (the worker's) the files are read inside the audit, column
    by column, and the prepared columns go to disk above ``spill_rows`` rows in all (the
    worker's ``SYNTHGOV_AUDIT_SPILL_ROWS``); the other loaders read three whole frames
    first, as the worker did before."""
    from audits.checks.runner import run_audit

    try:
        from audits.checks import AuditFrames
    except ImportError:  # an earlier commit, measured for comparison
        AuditFrames = None

    folder = Path(spec["folder"])
    loader = spec.get("loader", "sources")
    started = time.perf_counter()
    if loader == "sources":
        real, synthetic, holdout = file_sources(folder)
    else:
        real, synthetic, holdout = _load(folder, loader)
    load_seconds = time.perf_counter() - started
    rss_loaded = _maxrss_mib()
    config = bench_config(families=set(spec["families"]) if spec.get("families") else None)
    clock = _StepClock()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    # As the worker does: the frames are handed over, so the audit can free them.
    if AuditFrames is None:
        inputs = {"real": real, "synthetic": synthetic, "holdout": holdout}
    else:
        inputs = {"frames": AuditFrames(real=real, synthetic=synthetic, holdout=holdout)}
    spill_rows = spec.get("spill_rows")
    if spill_rows is not None and loader == "sources":
        rows = sum(_rows(table) for table in (real, synthetic, holdout))
        if rows > spill_rows:
            inputs["spill_dir"] = tempfile.gettempdir()
    spilled = "spill_dir" in inputs
    del real, synthetic, holdout
    cluster = {}
    with contextlib.ExitStack() as stack:
        if spec.get("dask_workers"):
            # As the worker does with SYNTHGOV_DASK_SCHEDULER: the cluster's figures
            # first, from the stored files, then the audit with them given (those steps
            # skipped) and its distance search's reference side on the cluster too.
            clock("Dask cluster: figures from pieces of the stored files", 0.0)
            cluster, search = stack.enter_context(
                _on_local_cluster(folder, config, spec["dask_workers"], spec["piece_rows"])
            )
            inputs["precomputed"] = cluster.pop("precomputed")
            inputs["reference_search"], inputs["group_pieces"] = search
        outcome = run_audit(
            config=config,
            **inputs,
            registry_facts=FACTS,
            progress=clock,
        )
    return {
        "loader": loader,
        "spilled": spilled,
        "dask": cluster,
        "load_seconds": load_seconds,
        "audit_seconds": time.perf_counter() - started,
        "audit_cpu_seconds": _cpu_seconds() - cpu_started,
        "steps": clock.seconds,
        "step_cpu_seconds": clock.cpu_seconds,
        "step_peak_after_mib": clock.peak_after,
        "step_rss_after_mib": clock.rss_after,
        "details": {m.key: _small_details(m.details) for m in outcome.metrics},
        "timings": outcome.timings,
        "peak_rss_mib": _maxrss_mib(),
        "rss_after_load_mib": rss_loaded,
        "figures": {m.key: m.value for m in outcome.metrics},
        "samples": {m.key: [m.sample_size, m.population] for m in outcome.metrics},
        "uncertainty": {m.key: m.uncertainty for m in outcome.metrics},
    }


def _piece_sources(folder: Path, config) -> dict:
    """The bench's Parquet files as ``partitioned.Source``s (what the Dask path reads in
    pieces); RuntimeError when that path cannot read them as the audit does."""
    import pyarrow.parquet as pq

    from audits.checks import partitioned

    sources = {}
    for frame in partitioned.FRAMES:
        path = folder / f"{frame}.parquet"
        with pq.ParquetFile(path) as handle:
            header, rows = tuple(handle.schema_arrow.names), handle.metadata.num_rows
        sources[frame] = partitioned.Source(str(path), "parquet", header, rows)
    reason = partitioned.supported(config.columns, sources)
    if reason is not None:
        raise RuntimeError(f"the partitioned path cannot read these files: {reason}")
    return sources


@contextlib.contextmanager
def _on_local_cluster(
    folder: Path,
    config,
    workers: int,
    piece_rows: int,
    *,
    figures: bool = True,
    search_tasks: int | None = None,
):
    """A local cluster of ``workers`` worker processes (one thread each) doing the Dask
    path's work on pieces of ``piece_rows`` rows of the Parquet files: first the figures
    of ``partitioned.KEYS_COMPUTED``, then (while the audit runs) its fairness groups
    (``partitioned_groups``) and its distance search's reference side
    (``partitioned_search``, ``search_tasks`` runs of pieces: by default one per worker,
    as the worker sends them). Without ``figures`` the first round only reads the
    reference's column kinds, and only the search is offered (``bench/distance_scale.py``).
    Yields (the run's record, (the ``reference_search`` and the ``group_pieces`` for
    ``run_audit``)); the record gets the CPU seconds and peak memory of the workers when
    the audit is done."""
    from distributed import Client, LocalCluster

    from audits.checks import partitioned, partitioned_groups, partitioned_search

    sources = _piece_sources(folder, config)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        before = sum(client.run(_cpu_seconds).values())
        started = time.perf_counter()
        executor = partitioned.DaskExecutor(client, "bench", lambda: None)
        decided: dict = {}
        if figures:
            found = partitioned.compute(
                executor,
                config.columns,
                config.quasi_identifiers,
                sources,
                rows_per_piece=piece_rows,
                decided=decided,
            )
        else:
            found = {}
            decided = partitioned.column_kinds(
                executor, config.columns, {"real": sources["real"]}, rows_per_piece=piece_rows
            )
        record = {
            "precomputed": found,
            "keys": sorted(found),
            "workers": workers,
            "piece_rows": piece_rows,
            "seconds": time.perf_counter() - started,
            "first_round_cpu_seconds": sum(client.run(_cpu_seconds).values()) - before,
            "search_seconds": 0.0,
            "search_tasks": 0,
            "groups_seconds": 0.0,
        }

        def search(searches, layout):
            started = time.perf_counter()
            found = partitioned_search.search(
                partitioned.DaskExecutor(client, "bench-search", lambda: None),
                sources["real"],
                config.columns,
                decided["real"],
                layout,
                searches,
                rows_per_piece=piece_rows,
                task_count=search_tasks or workers,
                progress=lambda done, total: record.update(search_tasks=total),
            )
            record["search_seconds"] += time.perf_counter() - started
            return found

        def groups(layout):
            started = time.perf_counter()
            found = partitioned_groups.count(
                partitioned.DaskExecutor(client, "bench-groups", lambda: None),
                sources,
                config.columns,
                decided,
                layout,
                rows_per_piece=piece_rows,
            )
            record["groups_seconds"] += time.perf_counter() - started
            return found

        yield record, (search, groups if figures else None)
        record["worker_cpu_seconds"] = sum(client.run(_cpu_seconds).values()) - before
        record["worker_peak_rss_mib"] = max(client.run(_maxrss_mib).values())


def _rows(table) -> int:
    return table.num_rows if hasattr(table, "num_rows") else len(table)


def _small_details(details: dict) -> dict:
    """The scalar details of a figure (counts, bounds), for the report and comparisons."""
    return {k: v for k, v in (details or {}).items() if isinstance(v, int | float | bool)}


def _sdmetrics_metadata(config) -> dict:
    sdtypes = {"id": "id", "text": "id"}
    return {"columns": {c.name: {"sdtype": sdtypes.get(c.type, c.type)} for c in config.columns}}


def _ours(config, real, synthetic, holdout) -> dict:
    """Our privacy figures, each timed; preparing the columns is timed once and is added
    to every figure's time when comparing (it is shared work)."""
    from audits.checks import privacy, privacy_distance
    from audits.checks.context import AuditContext
    from audits.checks.encoding import prepare

    started = time.perf_counter()
    data = prepare(config.columns, real, synthetic, holdout)
    out = {"prepare_seconds": time.perf_counter() - started}
    ctx = AuditContext(config, real, synthetic, holdout, data, FACTS)
    checks = {
        "exact_match": privacy.exact_match_rate,
        "disclosure": privacy.attribute_disclosure,
        "distances": privacy_distance.distances,
    }
    for name, check in checks.items():
        started = time.perf_counter()
        results = {m.key: m.value for m in check(ctx)}
        out[name] = {"seconds": time.perf_counter() - started, "values": results}
    return out


def _share_sdmetrics_convention(config, real, synthetic, holdout) -> float:
    """Our exact search with SDMetrics' conventions: holdout distances scaled by the
    holdout's own ranges, ties counted as closer to the holdout. Shows whether the two
    engines agree when the definitions match."""
    from audits.checks.encoding import encode_for_distance, prepare
    from audits.checks.neighbours import nearest

    def dcr(reference: pd.DataFrame) -> np.ndarray:
        data = prepare(config.columns, reference, synthetic, None)
        enc = encode_for_distance(data, np.arange(len(synthetic)))
        return nearest(enc.synthetic, enc.reference, k=1).dist[:, 0] / enc.n_columns

    return float(np.mean(dcr(real) < dcr(holdout)))


def _timed(call) -> tuple[float, float]:
    started = time.perf_counter()
    value = call()
    return float(value), time.perf_counter() - started


def _budgeted_rows(n: int, probe_rows: int, probe_seconds: float, power: float, budget: float):
    """Largest row count whose predicted time (``probe * (rows/probe_rows)**power``) fits
    the budget, capped at n."""
    if probe_seconds <= 0:
        return n
    rows = int(probe_rows * (budget / probe_seconds) ** (1 / power))
    return max(probe_rows, min(n, rows))


def _run_sdmetrics_metric(name, run, n, probe_rows, power, budget) -> dict:
    """Probe on a few rows, then run on all rows or the largest subsample that fits."""
    _, probe_seconds = _timed(lambda: run(probe_rows))
    rows = _budgeted_rows(n, probe_rows, probe_seconds, power, budget)
    value, seconds = _timed(lambda: run(rows))
    return {
        "metric": name,
        "rows": rows,
        "seconds": seconds,
        "full_rows": n,
        "extrapolated_full_seconds": seconds * (n / rows) ** power,
        "value": value,
    }


def child_sdmetrics(spec: dict) -> dict:
    """SDMetrics' own privacy metrics against ours on the same data."""
    import warnings

    from sdmetrics.single_table import (
        DCROverfittingProtection,
        DisclosureProtection,
        NewRowSynthesis,
    )

    warnings.simplefilter("ignore")
    real, synthetic, holdout = _load(Path(spec["folder"]))
    config = bench_config(families={"privacy"})
    metadata = _sdmetrics_metadata(config)
    n, budget = len(synthetic), spec["budget_seconds"]
    known, sensitive = config.quasi_identifiers, config.sensitive
    numeric = [c.name for c in config.columns if c.type in ("numerical", "datetime")]

    def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
        return frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)

    def new_rows(rows: int) -> float:
        return 1 - NewRowSynthesis.compute(real, sample(synthetic, rows, 0), metadata)

    def dcr(rows: int) -> float:
        result = DCROverfittingProtection.compute_breakdown(
            sample(real, rows, 1),
            sample(synthetic, rows, 0),
            sample(holdout, rows, 2),
            {"tables": {"t": metadata}},
            "t",
        )
        return result["synthetic_data_percentages"]["closer_to_training"]

    def disclosure(rows: int) -> float:
        return DisclosureProtection.compute(
            sample(real, rows, 1),
            sample(synthetic, rows, 0),
            known,
            sensitive,
            continuous_column_names=[c for c in known + sensitive if c in numeric],
        )

    theirs = {
        "exact_match": _run_sdmetrics_metric("NewRowSynthesis", new_rows, n, 200, 1, budget),
        "distances": _run_sdmetrics_metric("DCROverfittingProtection", dcr, n, 300, 2, budget),
        "disclosure": _run_sdmetrics_metric("DisclosureProtection", disclosure, n, 1000, 1, budget),
    }
    ours_full = _ours(config, real, synthetic, holdout)
    same = {key: t["rows"] for key, t in theirs.items()}
    ours_same = {
        "exact_match": _ours(config, real, sample(synthetic, same["exact_match"], 0), holdout),
        "distances": _ours(
            config,
            sample(real, same["distances"], 1),
            sample(synthetic, same["distances"], 0),
            sample(holdout, same["distances"], 2),
        ),
        "disclosure": _ours(
            config,
            sample(real, same["disclosure"], 1),
            sample(synthetic, same["disclosure"], 0),
            holdout,
        ),
    }
    rows = same["distances"]
    convention = _share_sdmetrics_convention(
        config, sample(real, rows, 1), sample(synthetic, rows, 0), sample(holdout, rows, 2)
    )
    return {
        "rows": n,
        "theirs": theirs,
        "ours_full": ours_full,
        "ours_same_rows": ours_same,
        "ours_with_sdmetrics_dcr_convention": convention,
    }


def child_stream(spec: dict) -> dict:
    """The figures the Dask path computes (``partitioned.KEYS_COMPUTED``), here in one
    process: ``partitioned.compute`` with a ``LocalExecutor`` over pieces of
    ``batch_rows`` rows of the stored Parquet files (each piece's row hashes counted into
    a mergeable ``streaming.HashCounts``): time and peak memory of that path alone."""

    from audits.checks import partitioned

    folder, batch_rows = Path(spec["folder"]), spec["batch_rows"]
    config = bench_config()
    sources = _piece_sources(folder, config)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    figures = partitioned.compute(
        partitioned.LocalExecutor(),
        config.columns,
        config.quasi_identifiers,
        sources,
        rows_per_piece=batch_rows,
    )
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "peak_rss_mib": _maxrss_mib(),
        "batch_rows": batch_rows,
        "figures": {key: _small_details(m.details) for key, m in figures.items()},
        "values": {key: m.value for key, m in figures.items()},
    }


CHILDREN = {
    "generate": child_generate,
    "audit": child_audit,
    "sdmetrics": child_sdmetrics,
    "stream": child_stream,
}


# --- parent ------------------------------------------------------------------------------


def _child(mode: str, spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--spec", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(
    rows: int,
    *,
    holdout_ratio: float,
    per_family: bool,
    copy_share: float,
    stream_batch_rows: int = 0,
    loader: str = "sources",
    data_dir: Path | None = None,
    spill_rows: int | None = SPILL_ROWS,
    dask_workers: int = 0,
    dask_piece_rows: int = 1_000_000,
) -> dict:
    from audits.checks.base import FAMILIES

    holdout_rows = max(int(rows * holdout_ratio), 100)
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="synthgov-bench-"))
        else:
            # Kept between runs: the same rows, seeds and copy share give the same files.
            folder = data_dir / f"rows{rows}-holdout{holdout_rows}-copies{copy_share}"
            folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "rows": rows,
            "holdout_rows": holdout_rows,
            "folder": str(folder),
            "copy_share": copy_share,
            "loader": loader,
            "spill_rows": spill_rows,
        }
        done = Path(folder) / "generated.json"
        if data_dir is not None and done.exists():
            generated = {**json.loads(done.read_text()), "reused": True}
        else:
            generated = _child("generate", spec)
            if data_dir is not None:
                done.write_text(json.dumps(generated))
        full = _child("audit", spec)
        on_cluster = None
        if dask_workers:
            on_cluster = _child(
                "audit", {**spec, "dask_workers": dask_workers, "piece_rows": dask_piece_rows}
            )
        streamed = None
        if stream_batch_rows:
            streamed = _child("stream", {**spec, "batch_rows": stream_batch_rows})
        families = {}
        if per_family:
            for family in FAMILIES:
                alone = _child("audit", {**spec, "families": [family]})
                families[family] = {
                    "seconds": alone["timings"].get(family, 0.0),
                    "peak_rss_mib": alone["peak_rss_mib"],
                    "rss_after_load_mib": alone["rss_after_load_mib"],
                }
    return {
        "rows": rows,
        "holdout_rows": holdout_rows,
        "generate_seconds": generated["seconds"],
        "data_reused": generated.get("reused", False),
        "full": full,
        "families": families,
        "streamed": streamed,
        "on_cluster": on_cluster,
    }


def print_size(result: dict) -> None:
    full = result["full"]
    print(
        f"\n== {result['rows']:,} synthetic vs {result['rows']:,} reference vs "
        f"{result['holdout_rows']:,} holdout rows =="
    )
    if full.get("loader", "categories") == "sources":
        print(
            "Parquet files read column by column inside the audit (the worker's sources); "
            f"prepared columns {'on disk' if full.get('spilled') else 'in memory'}"
        )
    else:
        print(f"read Parquet files: {full['load_seconds']:.1f} s (not part of the audit time)")
    print(
        f"full default audit: {full['audit_seconds']:.1f} s wall, "
        f"{full.get('audit_cpu_seconds', 0.0):.1f} s CPU, peak memory "
        f"{full['peak_rss_mib'] / 1024:.2f} GiB (after loading the frames: "
        f"{full['rss_after_load_mib'] / 1024:.2f} GiB)"
    )
    print(f"{'step':<12}{'seconds (full run)':>20}{'peak GiB (family alone)':>26}")
    models = {k: v for k, v in full["timings"].items() if k.startswith("model ")}
    for name, seconds in full["timings"].items():
        if name in models:
            continue
        alone = result["families"].get(name)
        peak = f"{alone['peak_rss_mib'] / 1024:.2f}" if alone else "-"
        print(f"{name:<12}{seconds:>20.1f}{peak:>26}")
    print_models(full, models)
    print_streamed(result)
    print_on_cluster(result)
    print(
        "slowest steps (full run): wall, CPU, peak GiB so far at the step's end, "
        "GiB held at its end"
    )
    cpu = full.get("step_cpu_seconds", {})
    peak = full.get("step_peak_after_mib", {})
    held = full.get("step_rss_after_mib", {})
    for label, seconds in sorted(full.get("steps", {}).items(), key=lambda x: -x[1])[:10]:
        print(
            f"  {label:<56}{seconds:>8.1f} s{cpu.get(label, float('nan')):>8.1f} s"
            f"{peak.get(label, float('nan')) / 1024:>7.2f}"
            f"{held.get(label, float('nan')) / 1024:>7.2f}"
        )
    if "Preparing columns" in held:
        print(f"held after preparing the columns: {held['Preparing columns'] / 1024:.2f} GiB")
    rises = [(label, mib) for label, mib in peak.items()]
    steps_up = [
        f"{label} ({mib / 1024:.2f})"
        for (label, mib), (_, before) in zip(rises[1:], rises[:-1], strict=True)
        if mib > before + 50
    ]
    if steps_up:
        print("peak memory rose in: " + "; ".join(steps_up))


def print_streamed(result: dict) -> None:
    streamed = result.get("streamed")
    if not streamed:
        return
    full = result["full"]
    same = all(
        full["details"].get(key) == details and full["figures"].get(key) == streamed["values"][key]
        for key, details in streamed["figures"].items()
    )
    print(
        f"the Dask path's figures from pieces of {streamed['batch_rows']:,} rows of the "
        f"stored files (partitioned path, local executor): {streamed['seconds']:.1f} s wall, "
        f"{streamed['cpu_seconds']:.1f} s CPU, peak {streamed['peak_rss_mib'] / 1024:.2f} GiB; "
        f"values and details {'equal' if same else 'DIFFER from'} the in-memory audit's"
    )


def print_on_cluster(result: dict) -> None:
    """The same audit with the cluster's figures computed on a local Dask cluster."""
    run = result.get("on_cluster")
    if not run:
        return
    full, dask = result["full"], run["dask"]
    same = all(full[part] == run[part] for part in ("figures", "details", "samples", "uncertainty"))
    print(
        f"on a local Dask cluster ({dask['workers']} worker processes, pieces of "
        f"{dask['piece_rows']:,} rows; {', '.join(dask['keys'])}, the fairness groups and "
        f"the distance search's reference side as Dask tasks): "
        f"{run['audit_seconds']:.1f} s wall, {run['audit_cpu_seconds']:.1f} s CPU in the "
        f"audit's process (of which the cluster's figures {dask['seconds']:.1f} s wall, "
        f"its fairness groups {dask.get('groups_seconds', 0.0):.1f} s wall, "
        f"its distance search {dask.get('search_seconds', 0.0):.1f} s wall) + "
        f"{dask['worker_cpu_seconds']:.1f} s CPU on the Dask workers; peak "
        f"{run['peak_rss_mib'] / 1024:.2f} GiB in the audit's process, "
        f"{dask['worker_peak_rss_mib'] / 1024:.2f} GiB in a Dask worker; every figure "
        f"{'equal to' if same else 'DIFFERENT from'} the local audit's"
    )
    for family, seconds in run["timings"].items():
        if family in full["timings"]:
            local = full["timings"][family]
            print(f"  {family:<11}{local:>8.1f} s local {seconds:>8.1f} s with Dask")


def print_models(full: dict, models: dict[str, float]) -> None:
    """Model validation's share of the quality and fairness times: each model's fit (and
    prediction on the holdout test rows), the bootstrap and the permutation importances."""
    if not models:
        return
    samples = full["samples"].get("utility.tstr_auc", [0, 0])
    print(
        f"model validation (inside quality/fairness): {sum(models.values()):.1f} s; "
        f"trained on {samples[0]:,} of {samples[1]:,} synthetic rows and as many real rows"
    )
    for name, seconds in models.items():
        print(f"  {name[len('model ') :]:<44}{seconds:>8.1f} s")
    for key in ("utility.tstr_auc", "utility.trtr_auc", "utility.tstr_ratio",
                "utility.group_performance_gap", "fairness.model_equalized_odds_difference",
                "fairness.model_amplification", "utility.feature_importance_agreement",
                "utility.calibration_gap"):  # fmt: skip
        value = full["figures"].get(key)
        shown = "skipped" if value is None else f"{value:.3f}"
        half = full.get("uncertainty", {}).get(key)
        print(f"  {key:<44}{shown:>8}" + (f" ± {half:.3f}" if half is not None else ""))


def print_sdmetrics(result: dict) -> None:
    print(f"\n== SDMetrics privacy metrics vs ours, {result['rows']:,} rows ==")
    ours_full, same = result["ours_full"], result["ours_same_rows"]
    pairs = {
        "exact_match": ("privacy.exact_match_rate", "1 - NewRowSynthesis"),
        "distances": ("privacy.dcr_closer_to_training_share", "closer_to_training"),
        "disclosure": ("privacy.attribute_disclosure", "score"),
    }
    total_theirs = total_ours = 0.0
    for name, (key, label) in pairs.items():
        theirs = result["theirs"][name]
        ours_seconds = ours_full[name]["seconds"] + ours_full["prepare_seconds"]
        total_theirs += theirs["extrapolated_full_seconds"]
        total_ours += ours_seconds
        ours_value = ours_full[name]["values"][key]
        same_value = same[name][name]["values"][key]
        scope = (
            "all rows"
            if theirs["rows"] == theirs["full_rows"]
            else (
                f"largest subsample that fits the budget: {theirs['rows']:,} rows; full-size time "
                "extrapolated"
            )
        )
        print(
            f"{theirs['metric']} ({label}; {scope}):\n"
            f"  SDMetrics {theirs['seconds']:.1f} s measured, "
            f"{theirs['extrapolated_full_seconds']:.1f} s at {theirs['full_rows']:,} rows; "
            f"ours {ours_seconds:.2f} s on all rows -> "
            f"{theirs['extrapolated_full_seconds'] / ours_seconds:.0f}x\n"
            f"  value: SDMetrics {theirs['value']:.4f}; ours on the same rows {same_value:.4f} "
            f"(diff {abs(same_value - theirs['value']):.4f}); ours on all rows {ours_value:.4f}"
        )
    convention = result.get("ours_with_sdmetrics_dcr_convention")
    if convention is not None:
        theirs = result["theirs"]["distances"]["value"]
        print(
            f"DCR share with SDMetrics' conventions (holdout scaled by its own ranges, ties to "
            f"holdout), same rows: ours {convention:.4f} vs SDMetrics {theirs:.4f} "
            f"(diff {abs(convention - theirs):.4f})"
        )
    print(
        f"all three: SDMetrics {total_theirs:.0f} s vs ours {total_ours:.1f} s -> "
        f"{total_theirs / total_ours:.0f}x"
    )


SEEDS = (
    "data: reference seed 1, synthetic seed 3 (drift 0.1), holdout seed 2; each table in "
    f"blocks of {BLOCK_ROWS:,} rows, block k > 0 drawn from default_rng([seed, k]); "
    "audit: AuditConfig(seed=0)"
)


def _exponent(rows: list[float], values: list[float]) -> float | None:
    """Least-squares slope of log(value) on log(rows): value grows as rows**slope."""
    if len(rows) < 2 or min(values) <= 0:
        return None
    return float(np.polyfit(np.log(rows), np.log(values), 1)[0])


def print_scaling(results: list[dict]) -> None:
    """One line per size and the exponents of time and memory in rows, fitted over every
    size given (two sizes: the slope between them)."""
    results = sorted(results, key=lambda r: r["rows"])
    print("\n== scaling ==")
    print(
        f"{'rows (syn / ref / holdout)':<36}{'wall s':>9}{'CPU s':>9}{'peak GiB':>10}"
        f"{'after load GiB':>16}  {'load avg (1, 5, 15 min)'}"
    )
    for r in results:
        full = r["full"]
        size = f"{r['rows']:,} / {r['rows']:,} / {r['holdout_rows']:,}"
        print(
            f"{size:<36}{full['audit_seconds']:>9.1f}{full.get('audit_cpu_seconds', 0.0):>9.1f}"
            f"{full['peak_rss_mib'] / 1024:>10.2f}{full['rss_after_load_mib'] / 1024:>16.2f}"
            f"  {r.get('load_average', '-')}"
        )
    rows = [float(r["rows"]) for r in results]
    fits = {
        "wall": _exponent(rows, [r["full"]["audit_seconds"] for r in results]),
        "CPU": _exponent(rows, [r["full"].get("audit_cpu_seconds", 0.0) for r in results]),
        "peak memory": _exponent(rows, [r["full"]["peak_rss_mib"] for r in results]),
    }
    shown = [f"{name} rows^{value:.2f}" for name, value in fits.items() if value is not None]
    if shown:
        print(f"exponents over {len(results)} sizes: " + ", ".join(shown))


def compare(old: dict, new: dict) -> None:
    print("\n== compared with the earlier run ==")
    before = {r["rows"]: r for r in old.get("sizes", [])}
    for result in new.get("sizes", []):
        prior = before.get(result["rows"])
        if prior is None:
            continue
        a, b = prior["full"], result["full"]
        print(
            f"{result['rows']:,} rows: audit {a['audit_seconds']:.1f} s -> "
            f"{b['audit_seconds']:.1f} s ({b['audit_seconds'] / a['audit_seconds']:.2f}x), "
            f"peak {a['peak_rss_mib'] / 1024:.2f} -> {b['peak_rss_mib'] / 1024:.2f} GiB"
        )
        for family, seconds in b["timings"].items():
            old_seconds = a["timings"].get(family)
            if old_seconds:
                print(f"  {family:<11}{old_seconds:>8.1f} s -> {seconds:>8.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[10_000, 100_000, 1_000_000],
        help="row counts to audit (none: only the SDMetrics comparison)",
    )
    parser.add_argument("--quick", action="store_true", help="10k rows only, no SDMetrics")
    parser.add_argument("--holdout-ratio", type=float, default=0.2)
    parser.add_argument(
        "--copy-share",
        type=float,
        default=0.0,
        help="share of synthetic rows copied from the reference",
    )
    parser.add_argument(
        "--no-per-family",
        action="store_true",
        help="skip the per-family runs that measure peak memory",
    )
    parser.add_argument("--sdmetrics-rows", type=int, default=50_000, help="0 to skip")
    parser.add_argument(
        "--sdmetrics-budget", type=float, default=180.0, help="seconds allowed per SDMetrics metric"
    )
    parser.add_argument(
        "--stream-batch-rows",
        type=int,
        default=0,
        help="also compute the duplicate, copy and linkage figures from pieces of this many "
        "rows of the stored Parquet files, as the Dask path does but in one process "
        "(partitioned.compute with a LocalExecutor; 0: not)",
    )
    parser.add_argument(
        "--loader",
        choices=LOADERS,
        default="sources",
        help="how the audit child reads the files: column by column inside the audit, as "
        "the worker does (default); three whole frames first with text as categoricals "
        "from Arrow's dictionaries (the worker before); or pd.read_parquet's Python strings",
    )
    parser.add_argument(
        "--spill-rows",
        type=int,
        default=int(os.environ.get("SYNTHGOV_AUDIT_SPILL_ROWS", SPILL_ROWS)),
        help="with the sources loader, keep the prepared columns on disk above this many "
        "rows in the three tables together, as the worker does (default: "
        "SYNTHGOV_AUDIT_SPILL_ROWS or the worker's default; -1: never)",
    )
    parser.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        help="also run the audit with the Dask path's figures computed on a local Dask "
        "cluster of this many worker processes (as the worker does with "
        "SYNTHGOV_DASK_SCHEDULER), and compare every figure with the local run (0: not)",
    )
    parser.add_argument("--dask-piece-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the generated Parquet files here and reuse them in later runs of the same "
        "size (default: a temporary folder, generated each run)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--table",
        type=Path,
        nargs="+",
        help="print the scaling table (and exponents in rows) of earlier --json files, run nothing",
    )
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.spec))))
        return
    if args.table:
        print_scaling([r for path in args.table for r in json.loads(path.read_text())["sizes"]])
        return
    sizes = [10_000] if args.quick else args.sizes
    report: dict = {
        "sizes": [],
        "machine": {"cpus": len(os.sched_getaffinity(0))},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seeds": SEEDS,
    }
    print(f"command: {report['command']}\nseeds: {SEEDS}")
    for rows in sizes:
        result = run_size(
            rows,
            holdout_ratio=args.holdout_ratio,
            per_family=not args.no_per_family,
            copy_share=args.copy_share,
            stream_batch_rows=args.stream_batch_rows,
            loader=args.loader,
            data_dir=args.data_dir,
            spill_rows=None if args.spill_rows < 0 else args.spill_rows,
            dask_workers=args.dask_workers,
            dask_piece_rows=args.dask_piece_rows,
        )
        result["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        report["sizes"].append(result)
        print_size(result)
        print(f"load average at the end (1, 5, 15 min): {result['load_average']}")
    if len(report["sizes"]) > 1:
        print_scaling(report["sizes"])
    if args.sdmetrics_rows and not args.quick:
        with tempfile.TemporaryDirectory(prefix="synthgov-bench-") as folder:
            spec = {
                "rows": args.sdmetrics_rows,
                "holdout_rows": args.sdmetrics_rows,
                "folder": folder,
                "budget_seconds": args.sdmetrics_budget,
            }
            _child("generate", spec)
            report["sdmetrics"] = _child("sdmetrics", spec)
        print_sdmetrics(report["sdmetrics"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.compare:
        compare(json.loads(args.compare.read_text()), report)


if __name__ == "__main__":
    main()
