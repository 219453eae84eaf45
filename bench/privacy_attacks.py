"""Benchmark: the attack figures against anonymeter, and their false-alarm and miss rates.

Two parts (both by default):

``--compare``: at ``--rows`` (default 50,000) rows of ``audit_scale``'s census-like data,
with 5% of the synthetic rows being training rows with one field nudged, each attack
figure is timed next to the same attack run by anonymeter 1.1.0 (Giomi et al. 2022's
reference implementation) with the same targets count (500), columns and sizes. Each of
ours is timed alone from the raw frames, as anonymeter's is: preparing the columns it
reads, drawing the samples, encoding and attacking (both singling-out variants are one
call, so both rows show that call's time, and a last line compares it with anonymeter's
two runs together). anonymeter runs in its own virtualenv (``var/bench-venv``, created on
first use with ``pip install anonymeter==1.1.0``): the project does not depend on it.
Prints both values, anonymeter's 95% interval, whether ours lies inside it, both times and
the speed ratio.

``--seeds``: over ``--seeds`` seeds (default 20) of the planted-leak scenarios of
``tests/audits/checks/test_attacks.py`` (clean data, exact copies, near copies, a copy
of the holdout, a memorised rare subgroup), how often each figure crosses its default
threshold: on clean data that is a false alarm, on a planted leak missing it is a miss.

    .venv/bin/python bench/privacy_attacks.py
    .venv/bin/python bench/privacy_attacks.py --compare --rows 20000
    .venv/bin/python bench/privacy_attacks.py --seeds 20 --seed-rows 3000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VENV = ROOT / "var" / "bench-venv"
N_ATTACKS = 500  # anonymeter's default
DATES = ("signup_date", "last_visit")

# The figure each planted leak must move beyond its default threshold.
EXPECTED = {
    "clean": set(),
    "exact": {"privacy.near_copy_rate", "privacy.membership_tpr_at_1pct_fpr"},
    "near": {"privacy.near_copy_rate", "privacy.membership_tpr_at_1pct_fpr"},
    "holdout": set(),
    "subgroup": {"privacy.near_copy_rate"},
}


# --- anonymeter, in its own environment ---------------------------------------------------

ANONYMETER_SCRIPT = r"""
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
spec = json.loads(sys.argv[1])
folder = spec["folder"]
ori, syn, control = (pd.read_parquet(f"{folder}/{name}.parquet")
                     for name in ("real", "synthetic", "holdout"))
n, qi, rest, secret = spec["n_attacks"], spec["qi"], spec["rest"], spec["secret"]
out = {}
def run(name, make, mode=None):
    started = time.perf_counter()
    evaluator = make()
    evaluator.evaluate(mode=mode) if mode else evaluator.evaluate(n_jobs=2)
    risk = evaluator.risk()
    results = evaluator.results()
    out[name] = {"seconds": time.perf_counter() - started, "value": risk.value,
                 "ci": list(risk.ci), "main": results.attack_rate.value,
                 "control": results.control_rate.value}
    print(name, out[name], file=sys.stderr, flush=True)
run("singling_out_univariate", lambda: SinglingOutEvaluator(
    ori, syn, n_attacks=n, control=control, seed=0), mode="univariate")
run("singling_out_multivariate", lambda: SinglingOutEvaluator(
    ori, syn, n_attacks=n, n_cols=3, control=control, seed=0), mode="multivariate")
run("linkability", lambda: LinkabilityEvaluator(
    ori, syn, aux_cols=(qi, rest), n_attacks=n, control=control, n_neighbors=1))
run("inference", lambda: InferenceEvaluator(
    ori, syn, aux_cols=qi, secret=secret, n_attacks=n, control=control))
print(json.dumps(out))
"""


def _anonymeter_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "anonymeter==1.1.0", "pyarrow"],
            check=True,
        )
    return python


def _for_anonymeter(frame: pd.DataFrame) -> pd.DataFrame:
    # Dates as seconds, as our distance and predicates read them; identifiers left out.
    out = frame.drop(columns=["person_id"]).copy()
    for column in DATES:
        out[column] = out[column].astype("int64") / 1e9
    return out


def compare(rows: int) -> dict:
    from audit_scale import bench_config, generate

    from audits.checks import attacks
    from audits.checks.context import AuditContext
    from audits.checks.encoding import prepare

    real, holdout = generate(rows, 1), generate(rows, 2)
    synthetic = generate(rows, 3, drift=0.1)
    picked = np.random.default_rng(5).choice(rows, rows // 20, replace=False)
    nudged = real.iloc[picked].copy()
    nudged["credit_score"] = nudged["credit_score"] + 0.5
    synthetic.iloc[picked] = nudged.to_numpy()
    config = bench_config(families={"privacy"})
    config.attack_count = N_ATTACKS
    config.distance_sample_rows = max(rows, config.distance_sample_rows)
    audited = [c.name for c in config.columns if c.type != "id"]
    qi = list(config.quasi_identifiers)
    rest = [c for c in audited if c not in qi]

    def timed(quasi_identifiers: list[str], check):
        """One attack alone from the raw frames, as anonymeter is timed: preparing the
        columns it reads (``prepare`` converts each on first use), drawing the samples,
        encoding and attacking. In an audit the preparation is shared by every check."""
        config.quasi_identifiers = quasi_identifiers
        started = time.perf_counter()
        data = prepare(config.columns, real, synthetic, holdout)
        ctx = AuditContext(config, real, synthetic, holdout, data, {})
        result = check(ctx)[0]
        return result, time.perf_counter() - started

    ours = {}
    # anonymeter builds singling-out predicates from every column it is given; ours from
    # the quasi-identifiers, so they are compared with every column named.
    result, seconds = timed(audited, attacks.singling_out_risk)
    for mode in ("univariate", "multivariate"):
        variant = result.details["variants"][mode]
        ours[f"singling_out_{mode}"] = {
            "value": variant["risk"],
            "interval": variant["interval"],
            "seconds": seconds,
            "predicates": variant["predicates"],
            "main": variant["main"]["rate"],
            "control": variant["control"]["rate"],
        }
    for name, check in (
        ("linkability", attacks.linkability_risk),
        ("inference", attacks.inference_risk),
        ("membership", attacks.membership),
        ("near_copy", attacks.near_copy_rate),
    ):
        result, seconds = timed(qi, check)
        rates = result.details
        if name == "inference":
            rates = rates["attributes"][rates["headline_attribute"]]
        ours[name] = {
            "value": result.value,
            "interval": result.details.get("interval"),
            "seconds": seconds,
            "main": rates.get("main", {}).get("rate"),
            "control": rates.get("control", {}).get("rate"),
        }
    theirs = {}
    with tempfile.TemporaryDirectory(prefix="synthgov-attacks-") as folder:
        for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
            _for_anonymeter(frame).to_parquet(f"{folder}/{name}.parquet")
        spec = {"folder": folder, "n_attacks": N_ATTACKS, "qi": qi, "rest": rest,
                "secret": config.sensitive[0]}  # fmt: skip
        done = subprocess.run(
            [str(_anonymeter_python()), "-c", ANONYMETER_SCRIPT, json.dumps(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"anonymeter failed:\n{done.stderr[-4000:]}")
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
    return {"rows": rows, "attacks": N_ATTACKS, "ours": ours, "anonymeter": theirs}


def print_compare(result: dict) -> None:
    print(f"\nAttack figures at {result['rows']:,} rows, {result['attacks']} attacks each")
    print(
        "| attack | anonymeter (95% CI) | SynthGov (95% CI) | inside? "
        "| main / control success (anonymeter; SynthGov) | anonymeter | SynthGov | speed-up |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for name, ours in result["ours"].items():
        theirs = result["anonymeter"].get(name)
        interval = ours.get("interval")
        ours_text = f"{ours['value']:.4f}" + (
            f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval else ""
        )
        if theirs is None:
            print(f"| {name} | — | {ours_text} | — | — | — | {ours['seconds']:.2f} s | — |")
            continue
        rates = (
            f"{theirs['main']:.3f} / {theirs['control']:.3f}; "
            f"{ours['main']:.3f} / {ours['control']:.3f}"
        )
        low, high = theirs["ci"]
        inside = "yes" if low - 1e-9 <= ours["value"] <= high + 1e-9 else "no"
        print(
            f"| {name} | {theirs['value']:.4f} ({low:.3f}–{high:.3f}) | {ours_text} | {inside} "
            f"| {rates} | {theirs['seconds']:.1f} s | {ours['seconds']:.2f} s "
            f"| {theirs['seconds'] / max(ours['seconds'], 1e-9):.0f}× |"
        )
    variants = [f"singling_out_{mode}" for mode in ("univariate", "multivariate")]
    if all(v in result["anonymeter"] and v in result["ours"] for v in variants):
        theirs = sum(result["anonymeter"][v]["seconds"] for v in variants)
        ours = result["ours"][variants[0]]["seconds"]
        print(
            f"Singling out, both variants: anonymeter {theirs:.1f} s, SynthGov {ours:.2f} s "
            f"(one call), {theirs / max(ours, 1e-9):.0f}×"
        )


# --- false alarms and misses ---------------------------------------------------------------


def seeds(count: int, rows: int) -> dict:
    from audits.checks.attacks import DEFAULT_THRESHOLDS
    from tests.audits.checks.test_attacks import figures, plant

    keys = [*DEFAULT_THRESHOLDS, "privacy.dp_epsilon_lower_bound", "privacy.exact_match_rate"]
    out: dict = {"rows": rows, "seeds": count, "thresholds": DEFAULT_THRESHOLDS, "scenarios": {}}
    for scenario in EXPECTED:
        flags = {key: 0 for key in keys}
        values: dict[str, list] = {key: [] for key in keys}
        started = time.perf_counter()
        for seed in range(count):
            got = figures(*plant(scenario, rows, seed))
            for key in keys:
                values[key].append(got[key])
                limit = DEFAULT_THRESHOLDS.get(key, 0.0)
                flags[key] += int((got[key] or 0) > limit)
        out["scenarios"][scenario] = {
            "flag_rate": {k: v / count for k, v in flags.items()},
            "median": {k: float(np.median([x or 0 for x in v])) for k, v in values.items()},
            "min": {k: float(min(x or 0 for x in v)) for k, v in values.items()},
            "max": {k: float(max(x or 0 for x in v)) for k, v in values.items()},
            "seconds_per_seed": (time.perf_counter() - started) / count,
        }
        print(f"  {scenario}: {out['scenarios'][scenario]['flag_rate']}", flush=True)
    return out


def print_seeds(result: dict) -> None:
    print(f"\nFlag rates over {result['seeds']} seeds, {result['rows']:,} rows per table")
    keys = [*result["thresholds"], "privacy.dp_epsilon_lower_bound", "privacy.exact_match_rate"]
    short = [k.removeprefix("privacy.") for k in keys]
    print("| scenario | " + " | ".join(short) + " |")
    print("| --- |" + " --- |" * len(keys))
    for scenario, data in result["scenarios"].items():
        cells = []
        for key in keys:
            rate = data["flag_rate"][key]
            mark = ""
            if key in EXPECTED[scenario]:
                mark = " (miss " + f"{1 - rate:.0%})"
            elif key in result["thresholds"] and scenario in ("clean", "holdout"):
                mark = " (false alarm)" if rate else ""
            cells.append(f"{rate:.0%}{mark} · {data['median'][key]:.3f}")
        print(f"| {scenario} | " + " | ".join(cells) + " |")
    print("Cells: share of seeds over the default threshold · median value.")
    print("\nRange over the seeds (min–max), which standards' thresholds must clear:")
    print("| scenario | " + " | ".join(short) + " |")
    print("| --- |" + " --- |" * len(keys))
    for scenario, data in result["scenarios"].items():
        cells = [f"{data['min'][k]:.3f}–{data['max'][k]:.3f}" for k in keys]
        print(f"| {scenario} | " + " | ".join(cells) + " |")
    print("Thresholds: " + ", ".join(f"{k} > {v}" for k, v in result["thresholds"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="only the anonymeter part")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=0, help="only the seeds part, N seeds")
    parser.add_argument("--seed-rows", type=int, default=3_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    both = not args.compare and not args.seeds
    out = {}
    if args.compare or both:
        out["compare"] = compare(args.rows)
        print_compare(out["compare"])
    if args.seeds or both:
        out["seeds"] = seeds(args.seeds or 20, args.seed_rows)
        print_seeds(out["seeds"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
