"""Benchmark: the privacy distance step alone ("Privacy: distances to closest records").

Writes the same Parquet tables as ``bench/audit_scale.py`` (reference seed 1, synthetic
seed 3 with ``drift=0.1``, holdout seed 2, ``holdout_ratio`` of the rows) into
``--folder`` once (kept for the next run), reads them as the worker does, prepares the
columns as the audit does (``compact.prepare_compact``: narrow columns, each raw column
dropped once prepared) and runs the step's phases one by one, printing CPU seconds (user
+ system), wall seconds and the peak RSS of each phase (the kernel's high-water mark is
reset before each phase through ``/proc/self/clear_refs``), with the load average. The
figures and a hash of every neighbour array go to ``--json``, so two commits can be
compared value by value (``--compare a.json b.json``).

With ``--data-dir`` it reads the tables ``bench/audit_scale.py --data-dir`` generated
there (``rows{N}-holdout{M}-copies0.0/``, once its ``generated.json`` exists) instead.
The reference is encoded a range of rows at a time inside the search (see
``neighbours.nearest``), so the "encode" phase holds the samples only.

    PYTHONPATH=$PWD .venv/bin/python bench/distance_scale.py --rows 1000000 --json d-1M.json
    PYTHONPATH=$PWD .venv/bin/python bench/distance_scale.py --rows 10000000 \
        --data-dir /work/benchdata --json d-10M.json
    PYTHONPATH=$PWD .venv/bin/python bench/distance_scale.py --compare a.json b.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.audit_scale import (  # noqa: E402
    _on_local_cluster,
    bench_config,
    file_sources,
    write_table,
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status(field: str) -> float:
    """A ``/proc/self/status`` size in GiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Phases:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.resettable = _reset_peak()

    def run(self, name: str, call):
        self.resettable = _reset_peak()
        before = _status("VmRSS")
        wall, cpu = time.perf_counter(), _cpu()
        out = call()
        row = {
            "phase": name,
            "wall": time.perf_counter() - wall,
            "cpu": _cpu() - cpu,
            "rss_before_gib": before,
            "peak_gib": _status("VmHWM"),
            "rss_after_gib": _status("VmRSS"),
        }
        self.rows.append(row)
        print(
            f"{name:<34} cpu {row['cpu']:7.1f} s  wall {row['wall']:7.1f} s  "
            f"rss {before:5.2f} -> peak {row['peak_gib']:5.2f} -> {row['rss_after_gib']:5.2f} GiB",
            flush=True,
        )
        return out


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def ensure_data(folder: Path, rows: int, holdout_ratio: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "done").exists():
        return
    holdout_rows = max(int(rows * holdout_ratio), 100)
    write_table(folder / "real.parquet", rows, 1)
    write_table(folder / "synthetic.parquet", rows, 3, drift=0.1)
    write_table(folder / "holdout.parquet", holdout_rows, 2)
    (folder / "done").write_text(f"{rows} {holdout_rows}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--holdout-ratio", type=float, default=0.1)
    parser.add_argument(
        "--folder",
        default=str(Path(tempfile.gettempdir()) / "synthgov-distance-bench"),
        help="where the generated tables are kept between runs",
    )
    parser.add_argument(
        "--threads", type=int, help="threads of the search's reference scans (default: 2)"
    )
    parser.add_argument(
        "--data-dir",
        help="read the tables bench/audit_scale.py --data-dir generated in this folder",
    )
    parser.add_argument("--json")
    parser.add_argument(
        "--chunk-rows", type=int, help="reference rows searched at a time (neighbours)"
    )
    parser.add_argument("--profile", help="write cProfile stats of the search to this file")
    parser.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        help="search the reference on a local Dask cluster of this many worker processes "
        "(partitioned_search, as the worker does with SYNTHGOV_DASK_SCHEDULER)",
    )
    parser.add_argument("--dask-piece-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--dask-search-tasks",
        type=int,
        help="runs of reference pieces (default: 1 per worker, as the worker sends them)",
    )
    parser.add_argument("--compare", nargs=2)
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)

    import audits.checks.neighbours as neighbours
    from audits.checks.compact import narrow_every_column, prepare_compact, release_unused_memory
    from audits.checks.context import AuditContext
    from audits.checks.privacy_distance import closest_records, distance_sample, distances

    if args.data_dir:
        holdout_rows = max(int(args.rows * args.holdout_ratio), 100)
        folder = Path(args.data_dir) / f"rows{args.rows}-holdout{holdout_rows}-copies0.0"
        if not (folder / "generated.json").exists():
            raise SystemExit(f"{folder} holds no finished tables (no generated.json)")
    else:
        folder = Path(args.folder) / str(args.rows)
        ensure_data(folder, args.rows, args.holdout_ratio)
    load = os.getloadavg()
    print(f"rows {args.rows:,}  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    config = bench_config(families={"privacy"})
    if args.threads:
        neighbours.PLAN_THREADS = args.threads
    if args.chunk_rows and hasattr(neighbours, "REFERENCE_CHUNK_ROWS"):
        neighbours.REFERENCE_CHUNK_ROWS = args.chunk_rows
    phases = Phases()

    def read_and_prepare():
        # As the runner prepares them (``run_audit``): each column read from the stored
        # files (``audit_scale.file_sources``, the worker's sources) and narrowed, and
        # Arrow's freed buffers handed back, once its column is prepared.
        tables = file_sources(folder)
        data = prepare_compact(config.columns, *tables)
        narrow_every_column(data, tables)
        release_unused_memory()
        return data

    data = phases.run("read + prepare (not the step)", read_and_prepare)
    ctx = AuditContext(config, None, None, None, data, {})
    cluster = contextlib.ExitStack()
    on_cluster = None
    if args.dask_workers:
        # As the worker does with SYNTHGOV_DASK_SCHEDULER (audit_scale's local cluster,
        # the reference's column kinds only, then the search).
        on_cluster, (ctx.reference_search, _) = phases.run(
            "Dask: start, column kinds (not the step)",
            lambda: cluster.enter_context(
                _on_local_cluster(
                    folder,
                    config,
                    args.dask_workers,
                    args.dask_piece_rows,
                    figures=False,
                    search_tasks=args.dask_search_tasks,
                )
            ),
        )
    started_cpu, started_wall = _cpu(), time.perf_counter()
    sample = phases.run("encode (reference + samples)", lambda: distance_sample(ctx))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    found = phases.run("search: synthetic+holdout -> ref", lambda: closest_records(ctx))
    results = phases.run("figures (incl. closer-to-training)", lambda: distances(ctx))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    step_cpu, step_wall = _cpu() - started_cpu, time.perf_counter() - started_wall
    cluster.close()  # the workers' CPU and peak are in ``on_cluster`` now
    if on_cluster is not None:
        kinds_cpu = on_cluster["first_round_cpu_seconds"]
        print(
            f"on the Dask cluster ({args.dask_workers} workers, pieces of "
            f"{args.dask_piece_rows:,} rows, {on_cluster['search_tasks']} tasks): "
            f"{on_cluster['search_seconds']:.1f} s wall, "
            f"{on_cluster['worker_cpu_seconds'] - kinds_cpu:.1f} s CPU on the workers "
            f"(+ {kinds_cpu:.1f} s for the column kinds), worker peak "
            f"{on_cluster['worker_peak_rss_mib'] / 1024:.2f} GiB"
        )
    # Resetting the high-water mark resets ru_maxrss too: the peak is the phases' highest.
    peak = max(row["peak_gib"] for row in phases.rows[1:])
    load = os.getloadavg()
    print(
        f"distance step: cpu {step_cpu:.1f} s  wall {step_wall:.1f} s  peak "
        f"{peak:.2f} GiB  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    s, h = found.synthetic_to_reference, found.holdout_to_reference
    out = {
        "rows": args.rows,
        "commit": subprocess.run(
            [shutil.which("git") or "git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "threads": args.threads,
        "chunk_rows": getattr(neighbours, "REFERENCE_CHUNK_ROWS", None),
        "dask": on_cluster,
        "phases": phases.rows,
        "step_cpu": step_cpu,
        "step_wall": step_wall,
        "process_peak_gib": peak,
        "load_after": load,
        # The floors are the search's bookkeeping (any value at least the k-th best
        # distance of an exact record reads the same): digested apart.
        "digests": {
            "encoding": _digest(
                sample.encoding.synthetic.codes,
                sample.encoding.synthetic.numbers,
                sample.encoding.holdout.codes,
                sample.encoding.holdout.numbers,
            ),
            "synthetic_to_reference": _digest(s.dist, s.exact, s.index),
            "holdout_to_reference": _digest(h.dist, h.exact, h.index),
        },
        "floor_digests": [_digest(s.floor), _digest(h.floor)],
        "all_exact": bool(s.exact.all() and h.exact.all()),
        "figures": {
            r.key: {
                "value": r.value,
                "uncertainty": r.uncertainty,
                "details": json.loads(json.dumps(r.details, default=str)),
            }
            for r in results
        },
    }
    print(json.dumps(out["digests"]), "every record exact:", out["all_exact"])
    for key, fig in out["figures"].items():
        print(f"{key}: {fig['value']!r} ± {fig['uncertainty']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


def compare(a: str, b: str) -> None:
    old, new = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    same = old["digests"] == new["digests"] and old["figures"] == new["figures"]
    for key in sorted(set(old["figures"]) | set(new["figures"])):
        o, n = old["figures"].get(key), new["figures"].get(key)
        print(f"{key}: {'same' if o == n else 'DIFFERENT'}")
    print("digests", "same" if old["digests"] == new["digests"] else "DIFFERENT")
    print(f"cpu {old['step_cpu']:.1f} -> {new['step_cpu']:.1f} s")
    for o, n in zip(old["phases"], new["phases"], strict=False):
        print(
            f"  {o['phase']:<34} cpu {o['cpu']:6.1f} -> {n['cpu']:6.1f}  peak "
            f"{o['peak_gib']:.2f} -> {n['peak_gib']:.2f} GiB"
        )
    print("ALL SAME" if same else "VALUES DIFFER")


if __name__ == "__main__":
    main()
