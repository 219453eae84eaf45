"""The figures computed in pieces (``partitioned.KEYS_COMPUTED``: duplicate rows, exact
copies, linkage, values outside the reference's domain, category and range coverage)
three ways, on the same stored CSV files: in memory as the worker computes them today,
in pieces in this process (``partitioned.LocalExecutor``), and in pieces on a local Dask
cluster (a scheduler and ``--workers`` single-threaded worker processes). Prints wall
time, this process's CPU seconds and peak RSS (for the pieces, each round's wall seconds:
column facts, the reference's counts and domain, the synthetic table's counts measured
against that domain), and checks the three give the same figures (the in-memory way is
``tests/audits/checks/rowhash_helpers.in_memory_figures``, the reference the tests use:
the bench imports the tests' helper, never the reverse, so tests stay independent of it).

    PYTHONPATH=. .venv/bin/python bench/dask_rowhash.py --rows 1000000 --seed 7

Needs the `dask` extra. Wall times on a shared machine mean little: read the load average
printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from audits.checks import partitioned
from audits.checks.base import ColumnSpec
from registry.ingest.tables import TableFormat, TableInfo, read_frame
from tests.audits.checks.rowhash_helpers import in_memory_figures

SPECS = [
    ColumnSpec("person", "id", "identifier"),
    ColumnSpec("age", "numerical", "quasi_identifier"),
    ColumnSpec("area", "categorical", "quasi_identifier"),
    ColumnSpec("sex", "categorical", "protected"),
    ColumnSpec("income", "numerical", "sensitive"),
    ColumnSpec("tenure", "categorical", "other"),
    ColumnSpec("joined", "datetime", "other"),
]
KEYS = ["age", "area"]


def table(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person": np.arange(rows),
            "age": rng.integers(0, 100, rows),
            "area": [f"{a:05d}" for a in rng.integers(0, 20_000, rows)],
            "sex": rng.choice(["F", "M"], rows),
            "income": np.round(rng.lognormal(10, 1, rows), 0),
            "tenure": rng.choice(["owned", "rented", "social", "other"], rows),
            "joined": rng.choice(
                pd.date_range("2000-01-01", periods=5000).strftime("%Y-%m-%d"), rows
            ),
        }
    )


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def in_memory(paths: dict[str, Path], infos: dict[str, TableInfo]) -> dict[str, dict]:
    frames = {name: read_frame(paths[name], infos[name]) for name in paths}
    return in_memory_figures(SPECS, KEYS, frames["real"], frames["synthetic"])


STAGES = ("memory", "pieces", "dask")


def generate(folder: Path, rows: int, seed: int) -> None:
    """The reference (``rows`` rows) and a synthetic table holding 10% copies of it."""
    rng = np.random.default_rng(seed)
    real = table(rows, rng)
    copies = real.sample(rows // 10, random_state=seed)
    synthetic = pd.concat([copies, table(rows - len(copies), rng)])
    for name, frame in (("real", real), ("synthetic", synthetic)):
        frame.to_csv(folder / f"{name}.csv", index=False)
    meta = {"real": len(real), "synthetic": len(synthetic), "columns": list(real.columns)}
    (folder / "meta.json").write_text(json.dumps(meta))


def stage(name: str, folder: Path, piece_rows: int, workers: int) -> dict:
    """One way of computing the figures, in a fresh process (so its peak RSS is its own)."""
    meta = json.loads((folder / "meta.json").read_text())
    paths = {n: folder / f"{n}.csv" for n in ("real", "synthetic")}
    infos = {n: TableInfo(TableFormat.CSV, meta[n], tuple(meta["columns"]), "utf-8", ",")
             for n in paths}  # fmt: skip
    sources = {
        n: partitioned.Source(str(paths[n]), "csv", tuple(meta["columns"]), meta[n], "utf-8", ",")
        for n in paths
    }
    worker_cpu = None
    rounds: dict[str, float] = {}
    started, spent = time.perf_counter(), cpu()
    if name == "memory":
        figures = in_memory(paths, infos)
    elif name == "pieces":
        got = partitioned.compute(
            partitioned.LocalExecutor(),
            SPECS,
            KEYS,
            sources,
            rows_per_piece=piece_rows,
            timings=rounds,
        )
        figures = {k: m.to_json() for k, m in got.items()}
    else:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, Client(cluster) as client:
            client.run(lambda: __import__("audits.checks.partitioned"))
            before = sum(client.run(cpu).values())
            started, spent = time.perf_counter(), cpu()
            executor = partitioned.DaskExecutor(client, "bench", lambda: None)
            got = partitioned.compute(
                executor, SPECS, KEYS, sources, rows_per_piece=piece_rows, timings=rounds
            )
            worker_cpu = sum(client.run(cpu).values()) - before
        figures = {k: m.to_json() for k, m in got.items()}
    return {
        "wall": time.perf_counter() - started,
        "cpu": cpu() - spent,
        "worker_cpu": worker_cpu,
        "rounds": rounds,
        "peak": peak_gib(),
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--piece-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=(*STAGES, "generate"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only == "generate":
        generate(args.folder, args.rows, args.seed)
        return
    if args.only:
        result = stage(args.only, args.folder, args.piece_rows, args.workers)
        print(json.dumps(result))
        return
    folder = Path(tempfile.mkdtemp(prefix="dask-rowhash-"))
    # Every step in its own process: Linux keeps a process's peak RSS across fork and
    # exec, so a parent that held the tables would lend its peak to every stage.
    generator = ["--only", "generate", "--folder", str(folder), "--rows", str(args.rows)]
    subprocess.run([sys.executable, __file__, *generator, "--seed", str(args.seed)], check=True)
    print(
        f"rows {args.rows:,} per table, seed {args.seed}, pieces of {args.piece_rows:,} rows, "
        f"{args.workers} Dask workers"
    )
    results = {}
    for name in STAGES:
        load = os.getloadavg()[0]
        options = ["--piece-rows", str(args.piece_rows), "--workers", str(args.workers)]
        command = [sys.executable, __file__, "--only", name, "--folder", str(folder), *options]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results[name] = result["figures"]
        workers = ""
        if result["worker_cpu"] is not None:
            workers = f"  workers' CPU {result['worker_cpu']:6.1f} s"
        print(
            f"{name:8s} wall {result['wall']:6.1f} s  CPU {result['cpu']:6.1f} s{workers}  "
            f"peak RSS {result['peak']:.2f} GiB  load {load:.1f}"
        )
        if result["rounds"]:
            print(
                "         rounds: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in result["rounds"].items())
            )
    first = results["memory"]
    print("same figures:", all(r == first for r in results.values()))
    for key, value in first.items():
        print(f"  {key} = {value['value']:.6f}")


if __name__ == "__main__":
    main()
