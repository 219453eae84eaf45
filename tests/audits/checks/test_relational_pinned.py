"""Every relational figure, with all its details, pinned on seeded tables full of the
awkward cases (missing values everywhere, orphans, empty and repeated keys, keys of another
dtype, unsorted keys, dates as text with unreadable ones, constant and empty columns).

The expected figures in ``data/relational_pinned.json`` were written by the straightforward
pandas version of ``audits.checks.relational`` before it was made faster; the faster code
must give the same figures (floats to 1e-12, everything else exactly). Regenerate only on
purpose, when a definition changes:
``PYTHONPATH=$PWD .venv/bin/python tests/audits/checks/test_relational_pinned.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.checks.relational import (
    RelationalSchema,
    key_violations,
    orphan_rate,
    relational_quality_metrics,
)

PINNED = Path(__file__).parent / "data" / "relational_pinned.json"

METADATA = {
    "tables": {
        "homes": {
            "primary_key": "hid",
            "columns": {
                "hid": {"sdtype": "id"},
                "size": {"sdtype": "numerical"},
                "rooms": {"sdtype": "numerical"},
                "area": {"sdtype": "categorical"},
                "built": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
                "flat": {"sdtype": "boolean"},
                "same": {"sdtype": "numerical"},
                "blank": {"sdtype": "categorical"},
                "note": {"sdtype": "text"},
            },
        },
        "people": {
            "primary_key": "pid",
            "columns": {
                "pid": {"sdtype": "id"},
                "hid": {"sdtype": "id"},
                "age": {"sdtype": "numerical"},
                "sex": {"sdtype": "categorical"},
                "band": {"sdtype": "ordinal"},
                "born": {"sdtype": "datetime"},
                "income": {"sdtype": "numerical"},
            },
        },
        "visits": {
            "primary_key": "vid",
            "columns": {
                "vid": {"sdtype": "id"},
                "pid": {"sdtype": "id"},
                "cost": {"sdtype": "numerical"},
                "kind": {"sdtype": "categorical"},
                "paid": {"sdtype": "boolean"},
            },
        },
        "codes": {
            "primary_key": "code",
            "columns": {"code": {"sdtype": "id"}, "label": {"sdtype": "categorical"}},
        },
        "uses": {
            "primary_key": None,
            "columns": {
                "code": {"sdtype": "id"},
                "pid": {"sdtype": "id"},
                "weight": {"sdtype": "numerical"},
            },
        },
    },
    "relationships": [
        {
            "parent_table_name": "homes",
            "parent_primary_key": "hid",
            "child_table_name": "people",
            "child_foreign_key": "hid",
        },
        {
            "parent_table_name": "people",
            "parent_primary_key": "pid",
            "child_table_name": "visits",
            "child_foreign_key": "pid",
        },
        {
            "parent_table_name": "codes",
            "parent_primary_key": "code",
            "child_table_name": "uses",
            "child_foreign_key": "code",
        },
        {
            "parent_table_name": "people",
            "parent_primary_key": "pid",
            "child_table_name": "uses",
            "child_foreign_key": "pid",
        },
    ],
}


def _holes(rng, values, share):
    out = pd.Series(values)
    if out.dtype.kind in "iub":
        out = out.astype(object) if out.dtype.kind == "b" else out.astype(float)
    out[rng.random(len(out)) < share] = None
    return out


def tables(seed: int, homes: int, *, broken: bool) -> dict[str, pd.DataFrame]:
    """Homes, their people, the people's visits, and a code list used by people. With
    ``broken``: orphans, empty and repeated keys, float keys, shuffled parents."""
    rng = np.random.default_rng(seed)
    size = rng.gamma(3, 30, homes).round(1)
    rooms = np.clip((size / 25).round(), 1, 12)
    area = rng.choice(["n", "s", "e", "w", "c"], homes, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    built = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 25000, homes), "D")
    built = pd.Series(built.strftime("%Y-%m-%d"))
    built[rng.random(homes) < 0.03] = "not a date"
    hid = np.arange(100, 100 + homes)
    per_home = rng.poisson(1 + rooms / 2)
    if broken:
        per_home[:5] = 30
    home_of = np.repeat(np.arange(homes), per_home)
    n = home_of.size
    age = rng.integers(0, 99, n)
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    band = np.where(age < 18, "child", np.where(age < 65, "adult", "old"))
    born = pd.Timestamp("2024-01-01") - pd.to_timedelta(age * 365.25 + rng.integers(0, 365, n), "D")
    income = np.where(age < 18, 0.0, np.exp(9 + size[home_of] / 200 + rng.normal(0, 0.3, n)))
    person_home = hid[home_of].astype(float)
    if broken:
        person_home[rng.random(n) < 0.04] = 9_999_999  # orphans
        person_home[rng.random(n) < 0.02] = np.nan  # empty keys
    visits_per = rng.poisson(np.where(age > 60, 4, 1))
    who = np.repeat(np.arange(n), visits_per)
    m = who.size
    cost = np.round(age[who] * 2.5 + rng.exponential(40, m), 2)
    kind = np.where(
        age[who] > 60, rng.choice(["gp", "ward"], m), rng.choice(["gp", "dent", "ae"], m)
    )
    paid = rng.random(m) < np.where(cost > 150, 0.3, 0.9)
    pid = np.arange(n)
    visit_pid = pid[who]
    if broken:
        visit_pid = np.where(rng.random(m) < 0.01, n + 7, visit_pid)
    codes = np.array([f"C{i:02d}" for i in range(12)], dtype=object)
    uses_n = n // 2
    homes_frame = pd.DataFrame(
        {
            "hid": hid,
            "size": _holes(rng, size, 0.05),
            "rooms": rooms.astype(int),
            "area": _holes(rng, area, 0.02),
            "built": built,
            "flat": _holes(rng, rooms < 3, 0.01),
            "same": np.full(homes, 3.0),
            "blank": pd.Series([None] * homes, dtype=object),
            "note": rng.choice(["x", "y"], homes),
        }
    )
    people = pd.DataFrame(
        {
            "pid": pid,
            "hid": person_home,
            "age": age,
            "sex": _holes(rng, sex, 0.01),
            "band": band,
            "born": born,
            "income": _holes(rng, income, 0.1),
        }
    )
    visits = pd.DataFrame(
        {
            "vid": np.arange(m),
            "pid": visit_pid,
            "cost": cost,
            "kind": kind,
            "paid": paid,
        }
    )
    code_frame = pd.DataFrame({"code": codes, "label": rng.choice(["a", "b"], 12)})
    uses = pd.DataFrame(
        {
            "code": rng.choice(codes, uses_n),
            "pid": rng.integers(0, n, uses_n),
            "weight": rng.normal(0, 1, uses_n),
        }
    )
    if broken:
        homes_frame = homes_frame.sample(frac=1.0, random_state=seed)  # unsorted keys
        people.loc[people.index[:3], "pid"] = 1  # repeated primary keys
        visits["vid"] = visits["vid"].astype(float)
        visits.loc[visits.index[5:8], "vid"] = np.nan  # empty primary keys
        code_frame.loc[11, "code"] = "C00"  # a repeated parent key: the join's other path
        code_frame.loc[10, "code"] = None
        uses.loc[uses.index[:20], "code"] = None
        uses.loc[uses.index[20:30], "code"] = "ZZ"
    return {
        "homes": homes_frame,
        "people": people,
        "visits": visits,
        "codes": code_frame,
        "uses": uses,
    }


def figures() -> dict[str, dict]:
    schema = RelationalSchema.from_sdmetrics(METADATA)
    real = tables(11, 600, broken=False)
    out = {}
    for name, synthetic in (
        ("clean", tables(12, 600, broken=False)),
        ("broken", tables(13, 600, broken=True)),
    ):
        metrics = [
            orphan_rate(synthetic, schema, reference=real),
            key_violations(synthetic, schema),
            *relational_quality_metrics(real, synthetic, schema),
        ]
        out[name] = json.loads(json.dumps([m.to_json() for m in metrics], default=str))
    return out


def _same(got, want, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool) and isinstance(got, int | float):
        if math.isnan(want):
            assert math.isnan(got), where
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=2e-12), where
    else:
        assert got == want, where


def test_every_relational_figure_and_detail_is_as_pinned():
    pinned = json.loads(PINNED.read_text())
    got = figures()
    _same(got, pinned, "figures")


def test_the_pinned_tables_reach_the_awkward_paths():
    # Guards the fixture itself: both pair kinds counted, orphans, both key faults.
    pinned = json.loads(PINNED.read_text())
    broken = {m["key"]: m for m in pinned["broken"]}
    assert broken["integrity.orphan_rate"]["value"] > 0
    tables_ = broken["integrity.key_violations"]["details"]["tables"]
    assert tables_["people"]["duplicate_key_rows"] > 0
    assert tables_["visits"]["empty_key_rows"] > 0
    pairs = broken["quality.relational_overall"]["details"]["column_pairs"]
    pairs += broken["quality.intertable_trends"]["details"]["pairs"]
    counted = {p["metric"] for p in pairs if p["meets_threshold"]}
    assert counted == {"CorrelationSimilarity", "ContingencySimilarity"}


if __name__ == "__main__":
    PINNED.parent.mkdir(exist_ok=True)
    PINNED.write_text(json.dumps(figures(), indent=1, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {PINNED}\n")


def _reversed_parents(tables_: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.iloc[::-1] if name == "homes" else frame for name, frame in tables_.items()}


@pytest.mark.parametrize("child_key", ["float", "int"])
def test_consecutive_integer_keys_give_what_any_other_order_gives(child_key):
    # Consecutive integer parent keys in order take a shortcut (subtraction, no hash
    # table); the same parents in reverse order take the general path: same figures.
    rng = np.random.default_rng(3)
    schema = RelationalSchema.from_sdmetrics(METADATA)
    real = tables(21, 300, broken=False)
    synthetic = tables(22, 300, broken=False)
    keys = synthetic["people"]["hid"].to_numpy(dtype=float)
    odd = rng.random(keys.size)
    keys[odd < 0.05] = 99_999  # past the last key
    keys[(odd >= 0.05) & (odd < 0.08)] = 42  # before the first
    keys[(odd >= 0.08) & (odd < 0.1)] = 150.5  # between two keys
    if child_key == "float":
        keys[(odd >= 0.1) & (odd < 0.12)] = np.nan
    else:
        keys = keys.astype(np.int64)
    synthetic["people"] = synthetic["people"].assign(hid=keys)
    for reference in (real, None):
        straight = [
            orphan_rate(synthetic, schema, reference=reference),
            key_violations(synthetic, schema),
        ]
        turned = [
            orphan_rate(
                _reversed_parents(synthetic),
                schema,
                reference=None if reference is None else _reversed_parents(reference),
            ),
            key_violations(_reversed_parents(synthetic), schema),
        ]
        if reference is not None:
            straight += relational_quality_metrics(reference, synthetic, schema)
            turned += relational_quality_metrics(
                _reversed_parents(reference), _reversed_parents(synthetic), schema
            )
        for a, b in zip(straight, turned, strict=True):
            _same(
                json.loads(json.dumps(a.to_json(), default=str)),
                json.loads(json.dumps(b.to_json(), default=str)),
                a.key,
            )
    assert straight[0].details["relationships"][0]["orphan_rows"] > 0


def test_the_relational_ks_shortcuts_equal_the_shapes_ks_exactly():
    from audits.checks.relational import _ks
    from audits.checks.shapes import ks_complement

    rng = np.random.default_rng(9)
    cases = [
        (rng.normal(0, 1, 3000), rng.normal(0.1, 1.1, 2000)),  # no ties
        (np.round(rng.normal(0, 1, 3000), 1), np.round(rng.normal(0, 1, 2500), 1)),  # ties
        (rng.integers(0, 40, 900).astype(float), rng.integers(3, 60, 700).astype(float)),
        (rng.integers(0, 9, 50) * 1e15, rng.integers(0, 9, 60) * 1e15),  # wide whole numbers
        (np.array([1.0, 1, 1, 2]), np.array([1.0, 2, 2, 2, 3])),
        (np.array([5.0]), np.array([5.0])),
        (np.array([-np.inf, 0.0, np.inf]), np.array([np.inf, 1.0])),
        (rng.exponential(1, 400) - 0.5, rng.exponential(1, 500) - 0.5),
    ]
    for real, synthetic in cases:
        with_missing = np.append(real, np.nan)
        assert _ks(with_missing, synthetic) == ks_complement(real, synthetic)
        assert _ks(synthetic, real) == ks_complement(synthetic, real)
    assert _ks(np.array([np.nan]), np.array([1.0])) is None
