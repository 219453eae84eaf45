"""Benchmark: relational figures on customers / accounts / transactions vs SDMetrics.

Generates a seeded three-level relational set (default 100,000 customers, about 1M
accounts and 3M transactions; ``--scale`` shrinks every table alike) twice: the "real"
one and a "synthetic" one drawn from the same generator with another seed, a little
noise and two planted defects (1% of customers get 40 accounts; 0.5% of transactions
point at an account that does not exist). Each run happens in a child process, so
``ru_maxrss`` is that run's peak memory:

* ours: ``audits.checks.relational`` (orphan rate, key violations, cardinality,
  inter-table trends and the multi-table overall score) on every row;
* SDMetrics' ``MultiTableQualityReport`` on the same tables, killed after ``--budget``
  seconds; sizes are tried smallest first and SDMetrics stops at the first size it does
  not finish, so its row is the largest size it finished.

    .venv/bin/python bench/relational.py --scales 0.01 0.03 0.1 --budget 600
    .venv/bin/python bench/relational.py --scales 1            # ours alone at full size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
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


def _data(scale: float, seed: int):
    parents = max(int(PARENTS * scale), 10)
    return generate(parents, seed, synthetic=False), generate(parents, seed + 1, synthetic=True)


def _ours(real, synthetic) -> dict:
    from audits.checks.relational import (
        RelationalSchema,
        key_violations,
        orphan_rate,
        relational_quality_metrics,
    )

    schema = RelationalSchema.from_sdmetrics(METADATA)
    started = time.perf_counter()
    metrics = [
        orphan_rate(synthetic, schema, reference=real),
        key_violations(synthetic, schema),
        *relational_quality_metrics(real, synthetic, schema),
    ]
    seconds = time.perf_counter() - started
    by_key = {m.key: m for m in metrics}
    properties = {
        p["property"]: p["score"]
        for p in by_key["quality.relational_overall"].details["properties"]
    }
    return {
        "seconds": seconds,
        "overall": by_key["quality.relational_overall"].value,
        "properties": properties,
        "orphan_rate": by_key["integrity.orphan_rate"].value,
        "key_violations": by_key["integrity.key_violations"].value,
    }


def _sdmetrics(real, synthetic) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports import MultiTableQualityReport

        started = time.perf_counter()
        report = MultiTableQualityReport()
        report.generate(real, synthetic, METADATA, verbose=False)
        seconds = time.perf_counter() - started
    table = report.get_properties()
    return {
        "seconds": seconds,
        "overall": float(report.get_score()),
        "properties": {k: float(v) for k, v in zip(table["Property"], table["Score"], strict=True)},
    }


def _worker(engine: str, scale: float, seed: int) -> None:
    sys.path.insert(0, str(ROOT))
    real, synthetic = _data(scale, seed)
    rows = {name: len(frame) for name, frame in synthetic.items()}
    out = _ours(real, synthetic) if engine == "ours" else _sdmetrics(real, synthetic)
    out["rows"] = rows
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _run(engine: str, scale: float, seed: int, budget: float | None) -> dict | None:
    command = [sys.executable, __file__, "--worker", engine, "--scales", str(scale)]
    command += ["--seed", str(seed)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value) -> str:
    return "   -  " if value is None else f"{value:6.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=600.0, help="SDMetrics time limit (s)")
    parser.add_argument("--no-sdmetrics", action="store_true")
    parser.add_argument("--worker", choices=["ours", "sdmetrics"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.scales[0], args.seed)
        return
    sdmetrics_on = not args.no_sdmetrics
    for scale in sorted(args.scales):
        ours = _run("ours", scale, args.seed, None)
        rows = ours["rows"]
        print(
            f"scale {scale:g}: customers {rows['customers']:,}, accounts {rows['accounts']:,}, "
            f"transactions {rows['transactions']:,} (seed {args.seed})"
        )
        print(
            f"  ours      {ours['seconds']:8.2f} s  peak {ours['peak_rss_mib']:7.0f} MiB  "
            f"overall {_fmt(ours['overall'])}  orphan rate {ours['orphan_rate']:.4f}  "
            f"key violations {ours['key_violations']:.4f}"
        )
        theirs = _run("sdmetrics", scale, args.seed, args.budget) if sdmetrics_on else None
        if sdmetrics_on and theirs is None:
            print(f"  sdmetrics did not finish within {args.budget:g} s; larger sizes skipped")
            sdmetrics_on = False
        if theirs:
            ratio = theirs["seconds"] / ours["seconds"]
            print(
                f"  sdmetrics {theirs['seconds']:8.2f} s  peak {theirs['peak_rss_mib']:7.0f} MiB  "
                f"overall {_fmt(theirs['overall'])}  SDMetrics time / ours {ratio:.1f}×"
            )
        for name, score in ours["properties"].items():
            other = theirs["properties"].get(name) if theirs else None
            print(f"    {name:<20} ours {_fmt(score)}  sdmetrics {_fmt(other)}")


if __name__ == "__main__":
    main()
