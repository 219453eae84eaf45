"""The fast paths of the relational figures give the figures of the plain code.

``data/relational_bench_pinned.json`` holds every figure, with all its details, of the
relational figures on ``bench/relational.py``'s generated customers / accounts /
transactions (3,000 customers, seeds 7 and 8, category columns as pandas ``category``),
written by the code before the speed-ups of December 2026 (commit 9251831). That data takes
the paths the pinned awkward tables (``test_relational_pinned``) do not: nothing missing,
consecutive integer keys, category and boolean columns, joins where every child has its
parent. Regenerate only on purpose, when a definition changes:
``PYTHONPATH=$PWD .venv/bin/python tests/audits/checks/test_relational_speedups.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.checks import relational
from audits.checks.relational import (
    RelationalSchema,
    key_violations,
    orphan_rate,
    relational_quality_metrics,
)
from tests.audits.checks.test_relational_pinned import _same

ROOT = Path(__file__).resolve().parents[3]
PINNED = Path(__file__).parent / "data" / "relational_bench_pinned.json"
CATEGORIES = {"customers": ["region"], "accounts": ["kind"], "transactions": ["channel"]}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_relational", ROOT / "bench/relational.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_tables(parents: int = 3000):
    bench = _bench()
    out = []
    for seed, synthetic in ((7, False), (8, True)):
        tables = bench.generate(parents, seed, synthetic=synthetic)
        for name, columns in CATEGORIES.items():
            tables[name] = tables[name].astype({c: "category" for c in columns})
        out.append(tables)
    return out[0], out[1], RelationalSchema.from_sdmetrics(bench.METADATA)


def figures(real, synthetic, schema) -> list[dict]:
    metrics = [
        orphan_rate(synthetic, schema, reference=real),
        key_violations(synthetic, schema),
        *relational_quality_metrics(real, synthetic, schema),
    ]
    return [json.loads(json.dumps(m.to_json(), default=str)) for m in metrics]


def test_the_bench_tables_give_the_figures_of_the_plain_code():
    pinned = json.loads(PINNED.read_text())
    got = figures(*bench_tables())
    assert [m["key"] for m in got] == [m["key"] for m in pinned]
    for want, have in zip(pinned, got, strict=True):
        _same(want, have, want["key"])
    overall = next(m for m in got if m["key"] == "quality.relational_overall")
    assert overall["value"] > 0.9  # the figures are computed, not skipped


def test_counting_each_pair_alone_gives_the_joint_counts_figures(monkeypatch):
    tables = bench_tables(800)
    joint = figures(*tables)
    monkeypatch.setattr(relational, "JOINT_CELLS", 0)
    alone = figures(*tables)
    assert alone == joint


def test_the_ks_bound_gives_the_statistic_of_every_point_exactly():
    from audits.checks.shapes import ks_complement

    rng = np.random.default_rng(4)
    n = 300_000
    cases = [
        (rng.normal(0, 1, n), rng.normal(0, 1, n - 7)),  # alike: the bound keeps many stretches
        (rng.normal(0, 1, n), rng.normal(0.02, 1, n)),
        (np.round(rng.exponential(1, n), 2), np.round(rng.exponential(1.1, n // 2), 2)),  # ties
        (rng.integers(0, 5, n) * 1e9 + 0.5, rng.integers(0, 6, n) * 1e9 + 0.5),  # few values
        (np.append(rng.normal(0, 1, n), [np.inf, -np.inf]), rng.normal(0, 1, 1000)),
    ]
    for real, synthetic in cases:
        assert relational._sorted_ks(real, synthetic) == ks_complement(real, synthetic)
        assert relational._sorted_ks(synthetic, real) == ks_complement(synthetic, real)
        with pytest.MonkeyPatch.context() as patch:  # a coarser bound, the same value
            patch.setattr(relational, "KS_BUCKETS", 16)
            assert relational._sorted_ks(real, synthetic) == ks_complement(real, synthetic)


def test_pair_bins_equal_numpy_digitize():
    rng = np.random.default_rng(5)
    samples = [
        rng.normal(0, 1, 5000),
        np.exp(rng.normal(5, 3, 5000)),
        rng.integers(-3, 4, 5000).astype(float),
        np.round(rng.normal(0, 1, 5000), 1) * 1e15,
        np.linspace(0, 1, 5000),
    ]
    for x in samples:
        x = x.copy()
        x[rng.random(x.size) < 0.1] = np.nan
        low, high = np.nanmin(x), np.nanmax(x)
        for span in ((low, high), (np.nanquantile(x, 0.2), np.nanquantile(x, 0.7)), (low, low)):
            if span[0] == span[1] and abs(span[0]) > 1e14:
                continue  # no 10 distinct edges around one huge value (numpy refuses)
            edges = relational._edges(span)
            assert np.array_equal(relational._bins(x, edges), np.digitize(x, edges))
            # every value on an edge, and just beside it
            on = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
            assert np.array_equal(relational._bins(on, edges), np.digitize(on, edges))
    assert relational._bins(np.array([np.nan, np.nan]), None).tolist() == [11, 11]
    # Narrow spans far from zero (dates in nanoseconds): the guesses near the edges.
    for _ in range(200):
        base, spread = 1.6e18 * rng.random(), 10.0 ** rng.integers(4, 12)
        x = base + spread * rng.random(2000)
        x[:11] = relational._edges((x.min(), x.max()))
        edges = relational._edges((x.min(), x.max()))
        assert np.array_equal(relational._bins(x, edges), np.digitize(x, edges))
    # Edges that are not equally spaced fail the check on the edges: searched instead.
    uneven = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100])
    x = np.linspace(-5, 120, 1001)
    assert np.array_equal(relational._bins(x, uneven), np.digitize(x, uneven))


def test_cramers_v_is_scipys_to_the_last_bit():
    from scipy.stats.contingency import association

    rng = np.random.default_rng(6)
    for _ in range(500):
        rows, columns = rng.integers(2, 14, 2)
        table = rng.integers(1, 10 ** rng.integers(1, 7), (rows, columns))
        assert relational._cramers_v(table) == float(association(table, method="cramer"))


def test_joined_correlations_from_sums_per_parent_equal_the_joined_rows():
    real, synthetic, schema = bench_tables(1500)
    for rel in schema.relationships:
        for tables in (real, synthetic):
            link = relational._link(tables, rel)
            links = {"real": link, "synthetic": link}
            for p in ("age", "income", "joined", "balance", "opened"):
                if p not in tables[rel.parent_table]:
                    continue
                for c in ("balance", "opened", "amount"):
                    if c not in tables[rel.child_table]:
                        continue
                    column = {"balance": "numerical", "opened": "datetime"}
                    parent = relational._encode(
                        tables[rel.parent_table][p], tables[rel.parent_table][p],
                        column.get(p, "datetime" if p == "joined" else "numerical"), None,
                    )  # fmt: skip
                    child = relational._encode(
                        tables[rel.child_table][c], tables[rel.child_table][c],
                        column.get(c, "numerical"), None,
                    )  # fmt: skip
                    fast = relational._joined_pearson(
                        relational._Member(parent, "parent", links),
                        relational._Member(child, "child", links),
                        "real",
                    )
                    rows = link.child_rows
                    y = child.real if rows is None else child.real[rows]
                    plain = relational._pearson_present(parent.real[link.parent_rows], y)
                    assert fast == pytest.approx(plain, abs=1e-12)
    assert relational._link(synthetic, schema.relationships[1]).child_rows is not None


def test_boolean_columns_are_coded_as_their_values_are():
    real = pd.Series([True, True, False, True])
    synthetic = pd.Series([False, False, True])
    fast = relational._encode(real, synthetic, "boolean", None)
    plain = relational._encode(real.astype(object), synthetic.astype(object), "boolean", None)
    assert fast.categories == plain.categories == 2
    assert fast.real.tolist() == plain.real.tolist() == [1, 1, 2, 1]
    assert fast.synthetic.tolist() == plain.synthetic.tolist() == [2, 2, 1]
    only_true = relational._encode(pd.Series([True]), pd.Series([True, False]), "boolean", None)
    assert only_true.real.tolist() == [1] and only_true.synthetic.tolist() == [1, 2]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    PINNED.write_text(json.dumps(figures(*bench_tables()), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINNED}")
