"""Benchmark: a census-scale audit through the product, as a user would run it.

In a fresh var dir (a temporary folder, SQLite, the default no-server filesystem
broker) this migrates, creates a curator with an API token, starts gunicorn and a real
Celery worker (``celery -A synthgov worker``, prefork pool, concurrency 1, as
``make run`` starts it), then through the HTTP API only:

1. creates a real dataset (reference), a real dataset (holdout) and a fully synthetic
   one, and uploads ``real.parquet``, ``holdout.parquet`` and ``synthetic.parquet`` from
   ``--data-dir`` (the layout bench/audit_scale.py writes: rows{N}-holdout{M}-copies0.0);
2. requests an audit of the synthetic version against the reference and holdout with
   every requestable family (the roles are those of bench/audit_scale.py's config);
3. polls ``GET /api/v1/audits/{id}/`` until the run ends, then reads its figures.

It prints each upload's wall time, MB/s and the web worker's peak RSS; the audit's wall
time (request to final status); the Celery pool process's peak RSS (the kernel's
``VmHWM`` of the child that ran the task, and the largest ``VmRSS`` sampled every
0.5 s); the run's status and a few figures; the load average before and after.

The server helpers (environment, gunicorn, curator and token, streamed upload, /proc
readers) are bench/upload_large.py's, imported rather than copied.

    .venv/bin/python bench/census_e2e.py --rows 1000000
    flock /work/wt/bench.lock .venv/bin/python bench/census_e2e.py --rows 50000000

Exits 1 when an upload is refused or the audit does not succeed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from upload_large import (  # bench/ is not a package: imported from its folder
    MB,
    ROOT,
    VENV_BIN,
    _git_revision,
    child_pids,
    create_dataset,
    load_average,
    manage,
    mib,
    proc_status,
    request_json,
    server_environment,
    setup_curator,
    start_server,
    upload_file,
)

DEFAULT_DATA = Path("/work/benchdata")
# The roles bench/audit_scale.py's bench_config gives the generated table.
ROLES = {
    "protected": ["sex", "ethnicity", "has_disability"],
    "quasi_identifiers": ["age", "sex", "postcode"],
    "sensitive": ["diagnosis"],
    "target": "approved",
}
SHOWN_FIGURES = (
    "integrity.duplicate_rate",
    "privacy.exact_match_rate",
    "privacy.near_copy_rate",
    "privacy.dcr_p05_ratio",
    "privacy.nndr_p05",
    "quality.overall",
    "quality.column_shapes",
    "fairness.parity_difference_synthetic",
)


class Peak:
    """Samples VmRSS of a process tree's children every ``interval`` seconds, keeping
    each pid's largest VmRSS and last VmHWM (the kernel's high-water mark)."""

    def __init__(self, parent: int, interval: float = 0.5) -> None:
        self.parent = parent
        self.interval = interval
        self.rss: dict[int, int] = {}
        self.hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        for pid in child_pids(self.parent):
            status = proc_status(pid)
            if status:
                self.rss[pid] = max(self.rss.get(pid, 0), status.get("VmRSS", 0))
                self.hwm[pid] = status.get("VmHWM", 0)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def busiest(self) -> tuple[int, int, int]:
        """(pid, peak VmHWM KiB, largest sampled VmRSS KiB) of the child that peaked."""
        if not self.hwm:
            return 0, 0, 0
        pid = max(self.hwm, key=lambda p: self.hwm[p])
        return pid, self.hwm[pid], self.rss.get(pid, 0)


def start_worker(env: dict[str, str], var_dir: Path) -> subprocess.Popen[bytes]:
    """A Celery worker as ``make run`` starts one (prefork, concurrency 1)."""
    log = (var_dir / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "python"),
            "-m",
            "celery",
            "-A",
            "synthgov",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"celery exited at start:\n{(var_dir / 'worker.log').read_text()}")
        if "ready." in (var_dir / "worker.log").read_text(errors="replace"):
            return process
        time.sleep(0.25)
    raise SystemExit("The Celery worker did not report ready in 60 s.")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def upload(port: int, token: str, server: Any, path: Path, kind: str) -> dict[str, Any]:
    dataset_id = create_dataset(port, token, f"census {path.stem}", kind)
    size = path.stat().st_size
    with Peak(server.process.pid, interval=0.2) as peak:
        result = upload_file(
            port, token=token, dataset_id=dataset_id, path=path, note="census", timeout=7200
        )
    if result.status != 201:
        raise SystemExit(f"Upload of {path} returned {result.status}: {result.body}")
    seconds = result.finished - result.started
    _, hwm, rss = peak.busiest()
    row = {
        "file": path.name,
        "bytes": size,
        "rows": result.body.get("row_count"),
        "version": int(result.body["id"]),
        "seconds": round(seconds, 1),
        "mb_per_s": round(size / MB / seconds, 1),
        "web_worker_hwm_mib": mib(hwm),
        "web_worker_rss_max_mib": mib(rss),
    }
    print(
        f"upload    {row['file']:<18} {size / MB:8.1f} MB  {row['rows']:>12,} rows  "
        f"{seconds:7.1f} s  {row['mb_per_s']:6.1f} MB/s  web worker VmHWM "
        f"{row['web_worker_hwm_mib']:,.0f} MiB",
        flush=True,
    )
    return row


def audit(port: int, token: str, worker: Any, versions: dict[str, int]) -> dict[str, Any]:
    payload = {
        "version": versions["synthetic"],
        "reference": versions["real"],
        "holdout": versions["holdout"],
        **ROLES,
    }
    with Peak(worker.pid) as peak:
        started = time.perf_counter()
        status, body = request_json(port, "POST", "/api/v1/audits/", token=token, payload=payload)
        if status != 202:
            raise SystemExit(f"POST /api/v1/audits/ returned {status}: {body}")
        run_id = body["id"]
        last_step = None
        while True:
            status, body = request_json(port, "GET", f"/api/v1/audits/{run_id}/", token=token)
            if status != 200:
                raise SystemExit(f"GET /api/v1/audits/{run_id}/ returned {status}: {body}")
            step = (body["progress"], body["step"])
            if step != last_step:
                elapsed = time.perf_counter() - started
                print(
                    f"  {elapsed:7.1f} s  {100 * float(body['progress']):5.1f}%  {body['step']}",
                    flush=True,
                )
                last_step = step
            if body["status"] not in {"queued", "running"}:
                break
            time.sleep(2)
        seconds = time.perf_counter() - started
    pid, hwm, rss = peak.busiest()
    _, metrics = request_json(port, "GET", f"/api/v1/audits/{run_id}/metrics/", token=token)
    figures = {}
    for metric in metrics if isinstance(metrics, list) else []:
        if metric.get("key") in SHOWN_FIGURES:
            figures[metric["key"]] = metric.get("value")
    return {
        "run": run_id,
        "status": body["status"],
        "error": body.get("error", ""),
        "attempts": body.get("attempts"),
        "seconds": round(seconds, 1),
        "pool_pid": pid,
        "pool_hwm_mib": mib(hwm),
        "pool_rss_max_mib": mib(rss),
        "figure_count": len(metrics) if isinstance(metrics, list) else 0,
        "figures": figures,
    }


def measure(args: argparse.Namespace, var_dir: Path) -> dict[str, Any]:
    folder = args.data_dir or DEFAULT_DATA / (
        f"rows{args.rows}-holdout{args.holdout or args.rows // 10}-copies0.0"
    )
    files = {name: folder / f"{name}.parquet" for name in ("real", "holdout", "synthetic")}
    for path in files.values():
        if not path.is_file():
            raise SystemExit(f"No {path}: generate it with bench/audit_scale.py --data-dir")
    env = server_environment(var_dir, args.max_upload_bytes)
    env["SYNTHGOV_MAX_PARQUET_ROWS"] = str(args.max_parquet_rows)
    manage(env, "migrate", "--noinput")
    token = setup_curator(env)
    server = start_server(env, var_dir, workers=1, timeout=7200)
    worker = None
    try:
        worker = start_worker(env, var_dir)
        result: dict[str, Any] = {
            "command": " ".join(sys.argv),
            "git": _git_revision(),
            "data_dir": str(folder),
            "load_before": load_average(),
        }
        print(f"command   {result['command']}  (git {result['git']})")
        print(f"data      {folder}")
        print(f"load      {result['load_before']} before")
        uploads, versions = [], {}
        for name, kind in (
            ("real", "real"),
            ("holdout", "real"),
            ("synthetic", "fully_synthetic"),
        ):
            row = upload(server.port, token, server, files[name], kind)
            uploads.append(row)
            versions[name] = row["version"]
        result["uploads"] = uploads
        result["load_after_uploads"] = load_average()
        print(f"load      {result['load_after_uploads']} after the uploads")
        run = audit(server.port, token, worker, versions)
        result["audit"] = run
        result["load_after"] = load_average()
        print(
            f"audit     run {run['run']}: {run['status']} in {run['seconds']:.1f} s "
            f"(attempts {run['attempts']}); {run['figure_count']} figures"
        )
        if run["error"]:
            print(f"error     {run['error']}")
        print(
            f"worker    pool process {run['pool_pid']}: VmHWM {run['pool_hwm_mib']:,.0f} MiB "
            f"({run['pool_hwm_mib'] / 1024:.2f} GiB), largest sampled VmRSS "
            f"{run['pool_rss_max_mib']:,.0f} MiB"
        )
        for key in SHOWN_FIGURES:
            if key in run["figures"]:
                print(f"figure    {key} = {run['figures'][key]}")
        print(f"load      {result['load_after']} after")
        return result
    finally:
        if worker is not None:
            stop(worker)
        server.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--holdout", type=int, default=0, help="default rows/10")
    parser.add_argument("--data-dir", type=Path, help="folder of real/synthetic/holdout.parquet")
    parser.add_argument("--max-upload-bytes", type=int, default=2 * 1024**3)
    parser.add_argument("--max-parquet-rows", type=int, default=50_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the var dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="census-e2e-"))
    try:
        result = measure(args, var_dir)
    finally:
        if args.keep:
            print(f"var dir   {var_dir} (kept)")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["audit"]["status"] == "succeeded" else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
