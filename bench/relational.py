"""Benchmark: a whole relational audit of customers / accounts / transactions vs SDMetrics.

Generates a seeded three-level relational set (default 100,000 customers, about 1.1M
accounts and 3.4M transactions; ``--scales`` shrinks every table alike) three times: the
"real" reference (seed), a "synthetic" version drawn from the same generator with seed + 1,
a little noise and two planted defects (1% of customers get 40 accounts; 0.5% of
transactions point at an account that does not exist), and a holdout a tenth the size of
the reference (seed + 2). The tables are written as Parquet files, as the registry stores
them, by a process of their own. Then each run happens in a child process, so its
``ru_maxrss`` is that run's peak memory and its CPU seconds are its own:

* audit: what the audit worker does for a version of linked tables: hash every stored
  table file of the three versions, read every table (``registry.ingest.read_frame``, the
  category columns as pandas ``category`` as the worker reads linked tables) and
  run ``audits.checks.run_relational_audit`` with the families a default relational audit
  uses (``runner.RELATIONAL_FAMILIES``; ``--families`` to choose), the holdout's tables
  passed when that function takes them. Timed from the first byte hashed to the last figure.
* figures: the relational figures alone (orphan rate, key violations and
  ``relational_quality_metrics``) on the tables once read.
* sdmetrics: SDMetrics' ``MultiTableQualityReport`` on the same tables once read, killed
  after ``--budget`` seconds. When it does not finish at a size, it is tried at the
  ``--fallback`` sizes, largest first, and compared with ours at the largest it finishes.

Every line carries the load average (2-core machine shared with other sessions: CPU
seconds are steadier than wall time under load). Ratios are SDMetrics' time over ours,
three of them: (a) the relational figures and (b) ``run_relational_audit``, both from the
tables already in memory as SDMetrics starts from DataFrames, and (c) the whole audit,
hashing and reading the stored tables included.

    .venv/bin/python bench/relational.py                       # full size, 10-minute budget
    .venv/bin/python bench/relational.py --scales 0.1 1 --seed 7 --repeat 3
    .venv/bin/python bench/relational.py --scales 1 --no-sdmetrics
    .venv/bin/python bench/relational.py --scales 1 --no-sdmetrics --per-table

``--per-table`` adds what the worker also runs for a version of linked tables: each
table's own audit (``run_relational_audit``'s ``table_columns``: the columns with their
declared types and the roles in ``ROLES``, keys as identifiers) and the choices of the
figures across tables (``_choices``), so the privacy family includes each table's own
distance and attack figures. The holdout's tables are then read, as the worker reads them.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PARENTS = 100_000
ACCOUNTS_PER_CUSTOMER = 10
TRANSACTIONS_PER_ACCOUNT = 3
REGIONS = np.array(["north", "south", "east", "west", "midlands", "wales", "scotland", "ni"])
KINDS = np.array(["current", "savings", "isa", "loan"])
CHANNELS = np.array(["web", "app", "branch"])

METADATA = {
    "tables": {
        "customers": {
            "primary_key": "customer_id",
            "columns": {
                "customer_id": {"sdtype": "id"},
                "age": {"sdtype": "numerical"},
                "region": {"sdtype": "categorical"},
                "income": {"sdtype": "numerical"},
                "joined": {"sdtype": "datetime"},
            },
        },
        "accounts": {
            "primary_key": "account_id",
            "columns": {
                "account_id": {"sdtype": "id"},
                "customer_id": {"sdtype": "id"},
                "kind": {"sdtype": "categorical"},
                "balance": {"sdtype": "numerical"},
                "opened": {"sdtype": "datetime"},
            },
        },
        "transactions": {
            "primary_key": "transaction_id",
            "columns": {
                "transaction_id": {"sdtype": "id"},
                "account_id": {"sdtype": "id"},
                "amount": {"sdtype": "numerical"},
                "channel": {"sdtype": "categorical"},
                "approved": {"sdtype": "boolean"},
            },
        },
    },
    "relationships": [
        {
            "parent_table_name": "customers",
            "parent_primary_key": "customer_id",
            "child_table_name": "accounts",
            "child_foreign_key": "customer_id",
        },
        {
            "parent_table_name": "accounts",
            "parent_primary_key": "account_id",
            "child_table_name": "transactions",
            "child_foreign_key": "account_id",
        },
    ],
    "METADATA_SPEC_VERSION": "MULTI_TABLE_V1",
}


def generate(parents: int, seed: int, *, synthetic: bool) -> dict[str, pd.DataFrame]:
    """Customers, their accounts (count and balance follow age and income) and the
    accounts' transactions (amount and channel follow the account)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 95, parents)
    region = rng.choice(REGIONS, parents)
    income = np.exp(9.5 + age / 60 + rng.normal(0, 0.4, parents))
    joined = pd.Timestamp("2000-01-01") + pd.to_timedelta(
        rng.integers(0, 24 * 365, parents) * 3600 * 24 // 24, unit="s"
    )
    per_customer = rng.poisson(ACCOUNTS_PER_CUSTOMER * (0.5 + age / 95))
    if synthetic:
        income *= np.exp(rng.normal(0, 0.05, parents))
        per_customer[rng.random(parents) < 0.01] = 40  # the planted 40-children defect
    owner = np.repeat(np.arange(parents), per_customer)
    n_acc = owner.size
    kind = np.where(
        np.isin(region[owner], REGIONS[:4]), rng.choice(KINDS[:2], n_acc), rng.choice(KINDS, n_acc)
    )
    balance = income[owner] * rng.gamma(2.0, 0.2, n_acc)
    opened = joined[owner] + pd.to_timedelta(rng.integers(0, 3650, n_acc), unit="D")
    per_account = rng.poisson(TRANSACTIONS_PER_ACCOUNT, n_acc)
    account = np.repeat(np.arange(n_acc), per_account)
    n_tx = account.size
    amount = balance[account] * rng.beta(1.0, 30.0, n_tx)
    channel = np.where(age[owner[account]] > 60, "branch", rng.choice(CHANNELS, n_tx))
    approved = rng.random(n_tx) < np.clip(0.99 - amount / (balance[account] * 2), 0, 1)
    if synthetic:
        stray = rng.random(n_tx) < 0.005  # the planted orphans
        account = np.where(stray, n_acc + rng.integers(0, 1000, n_tx), account)
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": np.arange(parents),
                "age": age,
                "region": region,
                "income": income,
                "joined": joined,
            }
        ),
        "accounts": pd.DataFrame(
            {
                "account_id": np.arange(n_acc),
                "customer_id": owner,
                "kind": kind,
                "balance": balance,
                "opened": opened,
            }
        ),
        "transactions": pd.DataFrame(
            {
                "transaction_id": np.arange(n_tx),
                "account_id": account,
                "amount": amount,
                "channel": channel,
                "approved": approved,
            }
        ),
    }


def _data(scale: float, seed: int) -> dict[str, dict[str, pd.DataFrame]]:
    parents = max(int(PARENTS * scale), 10)
    return {
        "real": generate(parents, seed, synthetic=False),
        "synthetic": generate(parents, seed + 1, synthetic=True),
        "holdout": generate(max(parents // 10, 10), seed + 2, synthetic=False),
    }


def _write(folder: Path, scale: float, seed: int) -> dict:
    """Write the three versions' tables as Parquet under ``folder/<role>/<table>.parquet``."""
    rows = {}
    for role, tables in _data(scale, seed).items():
        (folder / role).mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            frame.to_parquet(folder / role / f"{name}.parquet", index=False)
        rows[role] = {name: len(frame) for name, frame in tables.items()}
    return rows


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read(folder: Path, role: str, *, categories: bool = True) -> dict[str, pd.DataFrame]:
    """Every table of ``role`` as the relational audit reads it (``categories``: the
    category columns as pandas ``category``, ``audits.runs.services._load_tables``), or
    with every text column as Python strings (SDMetrics' input, as before)."""
    import pyarrow.parquet as pq

    from registry.ingest.tables import TableFormat, TableInfo, read_frame

    frames = {}
    for name in METADATA["tables"]:
        path = folder / role / f"{name}.parquet"
        meta = pq.ParquetFile(path).metadata
        info = TableInfo(
            format=TableFormat.PARQUET,
            row_count=meta.num_rows,
            columns=tuple(meta.schema.names),
        )
        columns = METADATA["tables"][name]["columns"]
        wanted = [c for c, m in columns.items() if m["sdtype"] in ("categorical", "ordinal")]
        frames[name] = read_frame(path, info, categories=wanted if categories else ())
    return frames


# With --per-table, each table's columns as a curator would declare them (type and role:
# the keys are identifiers; a few quasi-identifiers, sensitive columns and a target give
# each table's own privacy and fairness figures something to measure), and the choices
# of the figures across tables: customers hold the individuals; fairness is measured on
# accounts joined to their customer's region.
ROLES = {
    "customers": {"age": "quasi_identifier", "region": "quasi_identifier", "income": "sensitive"},
    "accounts": {"kind": "quasi_identifier", "balance": "sensitive"},
    "transactions": {"channel": "quasi_identifier", "amount": "sensitive", "approved": "target"},
}


def _table_columns() -> dict:
    from audits.checks.base import ColumnSpec

    return {
        name: [
            ColumnSpec(
                column,
                meta["sdtype"],
                "identifier" if meta["sdtype"] == "id" else ROLES[name].get(column, "other"),
            )
            for column, meta in table["columns"].items()
        ]
        for name, table in METADATA["tables"].items()
    }


def _choices(table_columns: dict):
    from audits.checks.relational_privacy import LinkedChoices

    return LinkedChoices(
        individuals_table="customers",
        fairness_table="accounts",
        fairness_parent_columns=["customers.region"],
        protected=["customers.region"],
        target="kind",
        positive_outcome="loan",
        seed=0,
        declared=table_columns,
    )


def _properties(metric) -> dict[str, float | None]:
    return {p["property"]: p["score"] for p in metric.details["properties"]}


def _audit(folder: Path) -> dict:
    """As the worker: hash the stored tables, read them, run the relational audit."""
    from audits.checks import run_relational_audit
    from audits.checks.relational import RelationalSchema
    from audits.checks.runner import RELATIONAL_FAMILIES
    from registry.relational.names import version_sha256

    schema = RelationalSchema.from_sdmetrics(METADATA)
    families = os.environ.get("BENCH_FAMILIES", ",".join(RELATIONAL_FAMILIES)).split(",")
    per_table = os.environ.get("BENCH_PER_TABLE") == "1"
    takes_holdout = "holdout" in inspect.signature(run_relational_audit).parameters
    # The worker reads the holdout whenever the run has one; without each table's own
    # audit only the privacy family across tables reads it.
    takes_holdout = takes_holdout and ("privacy" in families or per_table)
    extra_arguments = {}
    if per_table:
        table_columns = _table_columns()
        extra_arguments = {"table_columns": table_columns, "choices": _choices(table_columns)}
    steps = {}

    def step(name: str, since: tuple[float, float]) -> tuple[float, float]:
        now = time.perf_counter(), time.process_time()
        steps[name] = (now[0] - since[0], now[1] - since[1])
        return now

    started, cpu = time.perf_counter(), time.process_time()
    mark = started, cpu
    for role in ("synthetic", "real", "holdout"):
        version_sha256({n: _sha256(folder / role / f"{n}.parquet") for n in METADATA["tables"]})
    mark = step("hash the stored tables", mark)
    real, synthetic = _read(folder, "real"), _read(folder, "synthetic")
    extra = {"holdout": _read(folder, "holdout")} if takes_holdout else {}
    mark = step("read the tables", mark)
    outcome = run_relational_audit(
        families=set(families),
        real=real,
        synthetic=synthetic,
        schema=schema,
        hash_verified=True,
        **extra,
        **extra_arguments,
    )
    step("run_relational_audit", mark)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    overall = outcome.metric("quality.relational_overall")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "steps": steps,
        "family_seconds": outcome.timings,
        "families": [f for f in RELATIONAL_FAMILIES if f in families],
        "per_table": per_table,
        "holdout_read": takes_holdout,
        "metrics": len(outcome.metrics),
        "computed": sum(1 for m in outcome.metrics if m.value is not None),
        "overall": overall.value,
        "properties": _properties(overall),
    }


def _figures(folder: Path) -> dict:
    from audits.checks.relational import (
        RelationalSchema,
        key_violations,
        orphan_rate,
        relational_quality_metrics,
    )

    real, synthetic = _read(folder, "real"), _read(folder, "synthetic")
    schema = RelationalSchema.from_sdmetrics(METADATA)
    started, cpu = time.perf_counter(), time.process_time()
    metrics = [
        orphan_rate(synthetic, schema, reference=real),
        key_violations(synthetic, schema),
        *relational_quality_metrics(real, synthetic, schema),
    ]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    by_key = {m.key: m for m in metrics}
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "overall": by_key["quality.relational_overall"].value,
        "properties": _properties(by_key["quality.relational_overall"]),
        "orphan_rate": by_key["integrity.orphan_rate"].value,
        "key_violations": by_key["integrity.key_violations"].value,
    }


def _sdmetrics(folder: Path) -> dict:
    real = _read(folder, "real", categories=False)
    synthetic = _read(folder, "synthetic", categories=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports import MultiTableQualityReport

        started, cpu = time.perf_counter(), time.process_time()
        report = MultiTableQualityReport()
        report.generate(real, synthetic, METADATA, verbose=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    table = report.get_properties()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "overall": float(report.get_score()),
        "properties": {k: float(v) for k, v in zip(table["Property"], table["Score"], strict=True)},
    }


def _worker(engine: str, folder: Path, scale: float, seed: int) -> None:
    sys.path.insert(0, str(ROOT))
    if engine == "write":
        out = {"rows": _write(folder, scale, seed)}
    else:
        out = {"audit": _audit, "figures": _figures, "sdmetrics": _sdmetrics}[engine](folder)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _load() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _run(engine: str, folder: Path, scale: float, seed: int, budget: float | None) -> dict | None:
    command = [sys.executable, __file__, "--worker", engine, "--folder", str(folder)]
    command += ["--scales", str(scale), "--seed", str(seed)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(f"{engine} at scale {scale:g} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["load"] = _load()
    return out


def _repeated(engine: str, folder: Path, scale: float, args) -> dict | None:
    """``args.repeat`` runs of one engine (each in its own process): the median run's wall
    and CPU seconds, the largest peak memory, and every run's seconds for the record.
    SDMetrics stops at its first run over budget."""
    budget = args.budget if engine == "sdmetrics" else None
    runs = []
    for _ in range(args.repeat):
        run = _run(engine, folder, scale, args.seed, budget)
        if run is None:
            return None
        runs.append(run)
    middle = len(runs) // 2
    out = dict(sorted(runs, key=lambda r: r["seconds"])[middle])
    out["cpu_seconds"] = sorted(r["cpu_seconds"] for r in runs)[middle]
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    out["runs"] = [(r["seconds"], r["cpu_seconds"], r["load"]) for r in runs]
    if "steps" in runs[0]:  # the audit alone, from in-memory frames: medians of that step
        step = [r["steps"]["run_relational_audit"] for r in runs]
        out["in_memory"] = {
            "seconds": sorted(w for w, _ in step)[middle],
            "cpu_seconds": sorted(c for _, c in step)[middle],
        }
    return out


def _fmt(value) -> str:
    return "   -  " if value is None else f"{value:6.4f}"


def _line(name: str, run: dict) -> str:
    line = (
        f"  {name:<34} {run['seconds']:8.2f} s wall  {run['cpu_seconds']:8.2f} s CPU  "
        f"peak {run['peak_rss_mib'] / 1024:5.2f} GiB  overall {_fmt(run['overall'])}  "
        f"({run['load']})"
    )
    if len(run.get("runs", ())) > 1:
        each = "; ".join(f"{w:.2f} s / {c:.2f} s CPU ({load})" for w, c, load in run["runs"])
        line += f"\n    median of {len(run['runs'])} runs: {each}"
    return line


class _Sizes:
    """The data of each size, written once into a temporary folder."""

    def __init__(self, root: Path, seed: int):
        self.root, self.seed, self.rows = root, seed, {}

    def folder(self, scale: float) -> Path:
        folder = self.root / f"scale-{scale:g}"
        if scale not in self.rows:
            self.rows[scale] = _run("write", folder, scale, self.seed, None)["rows"]
        return folder


def _compare(label: str, ours: dict, theirs: dict) -> None:
    print(f"  scores ({label}): SynthGov / SDMetrics")
    print(f"    {'Overall':<20} {_fmt(ours['overall'])} / {_fmt(theirs['overall'])}")
    for name, score in ours["properties"].items():
        print(f"    {name:<20} {_fmt(score)} / {_fmt(theirs['properties'].get(name))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=600.0, help="SDMetrics time limit (s)")
    parser.add_argument(
        "--fallback",
        type=float,
        nargs="+",
        default=[0.3, 0.1, 0.03, 0.01],
        help="smaller sizes for SDMetrics when it does not finish (largest first)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each engine; the median is reported"
    )
    parser.add_argument("--no-sdmetrics", action="store_true")
    parser.add_argument(
        "--families",
        nargs="+",
        choices=["integrity", "quality", "fairness", "privacy"],
        help="the audit's families (default: all a relational audit runs)",
    )
    parser.add_argument(
        "--per-table",
        action="store_true",
        help="also audit each table on its own, as the worker does (declared columns "
        "and roles, ROLES) and pass the choices of the figures across tables",
    )
    parser.add_argument(
        "--worker", choices=["write", "audit", "figures", "sdmetrics"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.families:  # the audit worker reads them (children inherit the environment)
        os.environ["BENCH_FAMILIES"] = ",".join(args.families)
    if args.per_table:
        os.environ["BENCH_PER_TABLE"] = "1"
    if args.worker:
        _worker(args.worker, args.folder, args.scales[0], args.seed)
        return
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(
        f"seed {args.seed} (real), {args.seed + 1} (synthetic), {args.seed + 2} (holdout); "
        f"{os.cpu_count()} CPUs; {_load()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-relational-") as tmp:
        sizes = _Sizes(Path(tmp), args.seed)
        for scale in sorted(args.scales):
            _one_size(sizes, scale, args)


def _one_size(sizes: _Sizes, scale: float, args) -> None:
    folder = sizes.folder(scale)
    rows = sizes.rows[scale]
    print(
        f"\nscale {scale:g}: "
        + "; ".join(
            f"{role} " + " / ".join(f"{n:,}" for n in tables.values())
            for role, tables in rows.items()
        )
        + " rows (customers / accounts / transactions)"
    )
    audit = _repeated("audit", folder, scale, args)
    figures = _repeated("figures", folder, scale, args)
    print(_line("SynthGov whole relational audit", audit))
    steps = ", ".join(f"{k} {w:.2f} s ({c:.2f} s CPU)" for k, (w, c) in audit["steps"].items())
    families = ", ".join(f"{k} {v:.2f} s" for k, v in audit["family_seconds"].items())
    print(f"    {steps}; by family: {families}")
    print(
        f"    families {', '.join(audit['families'])}"
        + (" and each table's own audit" if audit.get("per_table") else "")
        + f": {audit['computed']} of {audit['metrics']} figures computed; holdout "
        + (
            "read"
            if audit["holdout_read"]
            else "hashed, not read (no privacy family, or run_relational_audit takes none)"
        )
    )
    within = audit["seconds"] < 300 and audit["peak_rss_mib"] < 6 * 1024
    print(f"    under 5 minutes and 6 GiB: {'yes' if within else 'NO'}")
    print(_line("SynthGov relational figures alone", figures))
    print(
        f"    orphan rate {figures['orphan_rate']:.4f}, key violations "
        f"{figures['key_violations']:.4f}"
    )
    if args.no_sdmetrics:
        return
    theirs = _repeated("sdmetrics", folder, scale, args)
    if theirs is not None:
        print(_line("SDMetrics MultiTableQualityReport", theirs))
        _ratios(theirs, figures, audit)
        _compare(f"scale {scale:g}", figures, theirs)
        return
    print(f"  SDMetrics did not finish within {args.budget:g} s at scale {scale:g}")
    for smaller in sorted((s for s in args.fallback if s < scale), reverse=True):
        small = sizes.folder(smaller)
        theirs = _repeated("sdmetrics", small, smaller, args)
        if theirs is None:
            print(f"  SDMetrics did not finish within {args.budget:g} s at scale {smaller:g}")
            continue
        print(f"  compared at scale {smaller:g}, the largest SDMetrics finished:")
        audit = _repeated("audit", small, smaller, args)
        figures = _repeated("figures", small, smaller, args)
        print(_line("SynthGov whole relational audit", audit))
        print(_line("SynthGov relational figures alone", figures))
        print(_line("SDMetrics MultiTableQualityReport", theirs))
        _ratios(theirs, figures, audit)
        _compare(f"scale {smaller:g}", figures, theirs)
        return
    print("  SDMetrics finished at none of the sizes tried")


def _ratios(theirs: dict, figures: dict, audit: dict) -> None:
    """SDMetrics' time over ours, median against median: (a) the relational figures and
    (b) ``run_relational_audit``, each from the tables already in memory, as SDMetrics
    starts from DataFrames (its reading is not timed); (c) the whole audit, hashing and
    reading the stored tables included."""
    in_memory = audit["in_memory"]
    print(
        f"  SynthGov run_relational_audit alone (in-memory frames): {in_memory['seconds']:.2f} s "
        f"wall, {in_memory['cpu_seconds']:.2f} s CPU (median of the audit runs' step)"
    )
    for label, ours in (
        ("(a) relational figures alone, in-memory frames", figures),
        ("(b) run_relational_audit, in-memory frames", in_memory),
        ("(c) whole audit: hash + read + run_relational_audit", audit),
    ):
        wall = theirs["seconds"] / ours["seconds"]
        cpu = theirs["cpu_seconds"] / ours["cpu_seconds"]
        verdict = "reached" if min(wall, cpu) >= 20 else "NOT reached"
        print(f"  SDMetrics time / ours, {label}: {wall:.1f}x wall, {cpu:.1f}x CPU (20x {verdict})")


if __name__ == "__main__":
    main()
