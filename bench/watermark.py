"""Benchmark: keyed watermark embed and detect on 1M rows, robustness, false positives.

Generates a mixed table (numbers and categories), embeds the watermark in four numeric
and two categorical columns with ``audits.checks.watermark.embed``, times embedding and
detection, checks detection after each attack the issue names (rows shuffled, 20% of
rows kept, a column dropped, light noise, all together), counts false positives on
unmarked tables with fresh keys, and reports how far the data moved (max and mean change
per numeric column against its tolerance, share of categorical cells changed, and the
Column Shapes score of the marked table against the original).

    .venv/bin/python bench/watermark.py
    .venv/bin/python bench/watermark.py --rows 100000 --unmarked 200 --json out.json
    .venv/bin/python bench/watermark.py --quick --compare out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from audits.checks.shapes import ks_complement  # noqa: E402
from audits.checks.watermark import DEFAULT_ALPHA, detect, embed  # noqa: E402

KEY = b"bench-organisation-watermark-secret"
TOLERANCES = {"age": 0.5, "income": 200.0, "score": 0.05, "height": 1.0}
CATEGORICAL = {"region": 0.05, "education": 0.05}
REGIONS = [f"R{i:02d}" for i in range(12)]
EDUCATION = ["none", "primary", "secondary", "vocational", "bachelor", "master", "doctorate"]


def generate(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "age": np.clip(rng.gamma(6.0, 7.0, rows) + 16, 18, 95),
            "income": rng.lognormal(10, 0.6, rows),
            "score": rng.uniform(0, 10, rows),
            "height": rng.normal(170, 10, rows),
            "region": rng.choice(REGIONS, rows),
            "education": rng.choice(EDUCATION, rows),
        }
    )


def _detect(frame: pd.DataFrame, anchor: str):
    return detect(frame, KEY, TOLERANCES, categorical=CATEGORICAL, anchor=anchor)


def attacks(marked: pd.DataFrame, anchor: str, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    noisy = marked.copy()
    for column, tolerance in TOLERANCES.items():
        noisy[column] = noisy[column] + rng.normal(0, 0.1 * tolerance, len(noisy))
    dropped = next(c for c in TOLERANCES if c != anchor)
    subset = marked.sample(frac=0.2, random_state=seed)
    everything = subset.drop(columns=[dropped]).sample(frac=1.0, random_state=seed + 1)
    for column in TOLERANCES:
        if column in everything:
            everything[column] = everything[column] + rng.normal(
                0, 0.1 * TOLERANCES[column], len(everything)
            )
    return {
        "shuffled": marked.sample(frac=1.0, random_state=seed),
        "20% of rows kept": subset,
        f"column '{dropped}' dropped": marked.drop(columns=[dropped]),
        f"anchor '{anchor}' dropped": marked.drop(columns=[anchor]),
        "noise (sd 0.1 x tolerance)": noisy,
        "20% kept + shuffled + column dropped + noise": everything,
    }


def quality(original: pd.DataFrame, marked: pd.DataFrame, report) -> dict:
    numeric = {
        column: {
            "tolerance": tolerance,
            "max_change": report.max_change[column],
            "mean_change": report.mean_change[column],
            "mean_shift": float(marked[column].mean() - original[column].mean()),
            "std_ratio": float(marked[column].std() / original[column].std()),
            "ks_complement": ks_complement(
                original[column].to_numpy(dtype="float64"), marked[column].to_numpy()
            ),
        }
        for column, tolerance in TOLERANCES.items()
    }
    categorical = {}
    for column, rate in CATEGORICAL.items():
        before = original[column].value_counts(normalize=True)
        after = marked[column].value_counts(normalize=True)
        categorical[column] = {
            "rate": rate,
            "changed_share": float((original[column] != marked[column]).mean()),
            "tv_complement": float(1 - 0.5 * before.sub(after, fill_value=0).abs().sum()),
        }
    scores = [c["ks_complement"] for c in numeric.values()] + [
        c["tv_complement"] for c in categorical.values()
    ]
    untouched = len(original.columns) - len(scores)
    return {
        "numeric": numeric,
        "categorical": categorical,
        "column_shapes": (sum(scores) + untouched) / len(original.columns),
    }


def false_positives(tables: int, rows: int) -> dict:
    p_values = []
    started = time.perf_counter()
    for i in range(tables):
        frame = generate(rows, seed=10_000 + i)
        found = detect(
            frame,
            f"unmarked-key-{i}".encode(),
            TOLERANCES,
            categorical=CATEGORICAL,
            anchor="income",
        )
        p_values.append(found.p_value)
    p = np.array(p_values)
    return {
        "tables": tables,
        "rows_each": rows,
        "alpha": DEFAULT_ALPHA,
        "detected": int((p < DEFAULT_ALPHA).sum()),
        "share_p_below_0.05": float((p < 0.05).mean()),
        "share_p_below_0.01": float((p < 0.01).mean()),
        "median_p": float(np.median(p)),
        "seconds": time.perf_counter() - started,
    }


def run(rows: int, unmarked: int, unmarked_rows: int, seed: int) -> dict:
    original = generate(rows, seed)
    started = time.perf_counter()
    marked, report = embed(original, KEY, TOLERANCES, categorical=CATEGORICAL)
    embed_seconds = time.perf_counter() - started
    started = time.perf_counter()
    found = _detect(marked, report.anchor)
    detect_seconds = time.perf_counter() - started
    robustness = {}
    for name, frame in attacks(marked, report.anchor, seed).items():
        result = _detect(frame, report.anchor)
        robustness[name] = {
            "rows": len(frame),
            "present": result.present,
            "p_value": result.p_value,
            "strength": result.strength,
            "matches": result.matches,
            "trials": result.trials,
        }
    return {
        "rows": rows,
        "embed_seconds": embed_seconds,
        "detect_seconds": detect_seconds,
        "cells_marked": report.cells_marked,
        "anchor": report.anchor,
        "detection": {
            "present": found.present,
            "strength": found.strength,
            "matches": found.matches,
            "trials": found.trials,
        },
        "robustness": robustness,
        "original_detected": _detect(original, report.anchor).present,
        "quality": quality(original, marked, report),
        "false_positives": false_positives(unmarked, unmarked_rows),
        "machine": {"cpus": len(os.sched_getaffinity(0))},
    }


def show(result: dict) -> None:
    print(f"== watermark on {result['rows']:,} rows ({result['cells_marked']:,} cells marked) ==")
    print(f"embed  {result['embed_seconds']:.2f} s")
    print(f"detect {result['detect_seconds']:.2f} s")
    d = result["detection"]
    print(
        f"round trip: present={d['present']} strength -log10 p = {d['strength']:.0f} "
        f"({d['matches']}/{d['trials']} keyed units)"
    )
    print(f"unmarked original detected: {result['original_detected']}")
    print("robustness:")
    for name, r in result["robustness"].items():
        print(
            f"  {name:<46} present={r['present']!s:<5} -log10 p = {r['strength']:8.1f} "
            f"({r['matches']}/{r['trials']}, {r['rows']:,} rows)"
        )
    q = result["quality"]
    print(f"quality: Column Shapes (marked vs original) = {q['column_shapes']:.5f}")
    for column, c in q["numeric"].items():
        print(
            f"  {column:<10} tolerance {c['tolerance']:<7g} max change {c['max_change']:.4g} "
            f"mean change {c['mean_change']:.4g} mean shift {c['mean_shift']:+.4g} "
            f"std ratio {c['std_ratio']:.5f} KS complement {c['ks_complement']:.5f}"
        )
    for column, c in q["categorical"].items():
        print(
            f"  {column:<10} rate {c['rate']:<7g} cells changed {c['changed_share']:.4f} "
            f"TV complement {c['tv_complement']:.5f}"
        )
    f = result["false_positives"]
    print(
        f"false positives: {f['detected']} of {f['tables']} unmarked tables "
        f"({f['rows_each']:,} rows, fresh key each) at alpha {f['alpha']:g}; "
        f"share p < 0.05 = {f['share_p_below_0.05']:.3f}, p < 0.01 = "
        f"{f['share_p_below_0.01']:.3f}, median p = {f['median_p']:.3f}"
    )


def compare(old: dict, new: dict) -> None:
    print("\n== compared with the earlier run ==")
    for key in ("embed_seconds", "detect_seconds"):
        a, b = old.get(key), new.get(key)
        if a:
            print(f"{key:<15}{a:>8.2f} s -> {b:>8.2f} s ({b / a:.2f}x)")
    a, b = old.get("detection", {}).get("strength"), new["detection"]["strength"]
    if a is not None:
        print(f"strength       {a:>8.0f}   -> {b:>8.0f}")
    a = old.get("quality", {}).get("column_shapes")
    if a is not None:
        print(f"column shapes  {a:.5f} -> {new['quality']['column_shapes']:.5f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--unmarked", type=int, default=200, help="unmarked tables to test")
    parser.add_argument("--unmarked-rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="100k rows, 50 unmarked tables")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    args = parser.parse_args(argv)
    rows, unmarked = (100_000, 50) if args.quick else (args.rows, args.unmarked)
    result = run(rows, unmarked, args.unmarked_rows, args.seed)
    show(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.compare:
        compare(json.loads(args.compare.read_text()), result)


if __name__ == "__main__":
    main()
