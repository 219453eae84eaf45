"""Benchmark: Fairlearn's equalized-odds difference against the audit's weighted counts.

Why the model fairness figures (``fairness.model_*``) compute Fairlearn's definitions
themselves: their bootstrap calls them 200 times per grouping and model.

    .venv/bin/python bench/fairlearn_speed.py --rows 50000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> None:
    from fairlearn.metrics import equalized_odds_difference

    from audits.checks import model_validation as mv

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = args.rows
    y, predicted = rng.integers(0, 2, n), rng.integers(0, 2, n)
    groups = rng.integers(0, args.groups, n)
    weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)

    def timed(call) -> float:
        started = time.perf_counter()
        for _ in range(args.repeats):
            call()
        return (time.perf_counter() - started) / args.repeats

    plain = timed(lambda: equalized_odds_difference(y, predicted, sensitive_features=groups))
    weighted = timed(
        lambda: equalized_odds_difference(
            y, predicted, sensitive_features=groups, sample_weight=weights
        )
    )
    t = mv.Trained(task="classification", y_test=y, positive=y.astype(float))
    fit = mv.Fitted(None, predicted, rng.random(n), 0.0)
    grouping = mv.TestGrouping("g", [str(i) for i in range(args.groups)], groups)
    ours = timed(lambda: mv._group_figures(t, fit, grouping, weights, mv.MIN_GROUP_ROWS))
    ours_value = mv._group_figures(t, fit, grouping, np.ones(n), mv.MIN_GROUP_ROWS)
    theirs_value = equalized_odds_difference(y, predicted, sensitive_features=groups)
    calls = mv.BOOTSTRAP * 2
    print(f"{n:,} rows, {args.groups} groups")
    print(f"fairlearn equalized_odds_difference: {plain * 1000:.1f} ms, "
          f"with bootstrap weights {weighted * 1000:.1f} ms")  # fmt: skip
    print(f"ours (accuracy, TPR, FPR, both differences, calibration): {ours * 1000:.2f} ms")
    print(f"one grouping's bootstrap ({calls} calls): fairlearn {calls * weighted:.0f} s, "
          f"ours {calls * ours:.2f} s")  # fmt: skip
    print(
        f"same value: |ours - fairlearn| = {abs(ours_value['equalized_odds'] - theirs_value):.1e}"
    )


if __name__ == "__main__":
    main()
