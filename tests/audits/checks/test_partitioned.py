"""The row-hash figures computed from stored files in pieces equal the in-memory figures,
including where a column's type is decided over the whole file (a word or a code with a
leading zero in the last piece only, whole numbers everywhere but one piece)."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audits.checks import partitioned
from audits.checks.base import ColumnSpec
from registry.ingest.tables import TableFormat, TableInfo, read_frame
from tests.audits.checks.rowhash_helpers import in_memory_figures

SPECS = [
    ColumnSpec("person", "id", "identifier"),
    ColumnSpec("age", "numerical", "quasi_identifier"),
    ColumnSpec("area", "categorical", "quasi_identifier"),
    ColumnSpec("band", "categorical", "other"),
    ColumnSpec("grade", "categorical", "other"),
    ColumnSpec("member", "boolean", "other"),
    ColumnSpec("joined", "datetime", "other"),
    ColumnSpec("note", "text", "other"),
]
KEYS = ["age", "area"]


def tables(seed: int, fraction: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(n: int, start: int) -> pd.DataFrame:
        age = rng.integers(18, 70, n).astype(float)
        age[rng.random(n) < 0.03] = np.nan
        return pd.DataFrame(
            {
                "person": np.arange(start, start + n),
                "age": age,
                # Codes: numbers everywhere; whether they stay text is decided per file.
                "area": rng.integers(1, 400, n).astype(str),
                "band": rng.choice(["1", "2", "3", "NA"], n),
                "grade": rng.choice(["1", "2.0", "3"], n),  # numbers, all whole
                "member": rng.choice(["True", "False", ""], n),
                "joined": rng.choice(["2020-01-01", "2021-06-30", "2022-12-31"], n),
                "note": rng.choice(['says "hi",\nthen leaves', "plain", "?"], n),
            }
        )

    real = frame(1500, 0)
    synthetic = pd.concat([real.sample(200, random_state=seed), frame(1300, 10_000)])
    synthetic = pd.concat([synthetic, synthetic.iloc[:50]]).reset_index(drop=True)
    # Decided over the whole file: a code with a leading zero and a word in the last
    # rows of the synthetic table only (the column is text there, so "12" no longer
    # equals the reference's 12), and with ``fraction`` a fraction in the reference's
    # last row only (its whole numbers then print as "1.0" and match no synthetic row).
    synthetic.loc[len(synthetic) - 3 :, "band"] = ["007", "x", "12"]
    if fraction:
        real.loc[len(real) - 1, "grade"] = "2.5"
    # For the domain and coverage figures: 80 real-only categories in an order unlike
    # their sorted one (more than the 50 listed, spread over several pieces), numbers and
    # dates outside the reference's range, and synthetic rows holding several of these.
    words = [f"b{k:03d}" for k in rng.permutation(80)]
    real.loc[len(real) - 80 :, "band"] = words
    synthetic.loc[[0, 5, len(synthetic) // 2], "age"] = [150.0, -4.0, 95.0]
    synthetic.loc[[5, 9], "joined"] = ["2030-01-01", "1999-12-31"]
    return real, synthetic


def stored(tmp_path, fmt: str, real: pd.DataFrame, synthetic: pd.DataFrame, **csv):
    sources, frames = {}, {}
    for name, frame in (("real", real), ("synthetic", synthetic)):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            path.write_bytes(frame.to_csv(index=False).encode(csv.get("encoding", "utf-8")))
        else:
            # Stored as numbers: whether they print as whole numbers is decided per file.
            frame.astype({"grade": float}).to_parquet(path, index=False, row_group_size=400)
        info = TableInfo(
            format=TableFormat(fmt),
            row_count=len(frame),
            columns=tuple(frame.columns),
            encoding=csv.get("encoding", "utf-8") if fmt == "csv" else None,
            delimiter="," if fmt == "csv" else None,
            missing_markers=("?",),
        )
        frames[name] = read_frame(path, info)
        sources[name] = partitioned.Source(
            str(path),
            fmt,
            info.columns,
            info.row_count,
            info.encoding,
            info.delimiter,
            info.missing_markers,
        )
    return sources, frames


@pytest.mark.parametrize(
    ("fmt", "encoding", "fraction"),
    [
        ("csv", "utf-8", False),
        ("csv", "utf-8-sig", True),
        ("parquet", None, False),
        ("parquet", None, True),
    ],
)
def test_pieces_give_the_in_memory_figures(tmp_path, fmt, encoding, fraction):
    real, synthetic = tables(seed=3, fraction=fraction)
    sources, frames = stored(tmp_path, fmt, real, synthetic, encoding=encoding or "utf-8")
    assert partitioned.supported(SPECS, sources) is None
    expected = in_memory_figures(SPECS, KEYS, frames["real"], frames["synthetic"])
    # Not trivially zero: duplicates, copies and linked rows are all there.
    assert expected["integrity.duplicate_rate"]["details"]["duplicates"] > 0
    assert expected["privacy.linkage_risk"]["details"]["linked_synthetic_rows"] > 0
    copies = expected["privacy.exact_match_rate"]["details"]["copies"]
    assert (copies == 0) if fraction else (copies > 0)
    outside = expected["integrity.out_of_domain_rate"]
    assert outside["details"]["columns"]["age"] == pytest.approx(3 / len(synthetic))
    assert outside["details"]["columns"]["joined"] == pytest.approx(2 / len(synthetic))
    assert outside["details"]["columns"]["band"] > 0  # "007", "x", "12"
    assert 5 / len(synthetic) < outside["value"] <= 1  # 1 with ``fraction``: every grade
    categories = expected["quality.category_coverage"]
    absent = categories["details"]["absent_categories"]["band"]
    assert len(absent) == 50 and absent != sorted(absent)
    assert categories["value"] < 1
    assert expected["quality.range_coverage"]["details"]["columns"]["age"] == 1.0
    for rows in (137, 500, 10_000):
        pieces = partitioned.plan(sources["synthetic"], "synthetic", rows)
        assert len(pieces) == -(-len(synthetic) // rows)
        got = partitioned.compute(
            partitioned.LocalExecutor(), SPECS, KEYS, sources, rows_per_piece=rows
        )
        assert {k: m.to_json() for k, m in got.items()} == expected, rows


def test_csv_pieces_hold_every_row_once(tmp_path):
    real, synthetic = tables(seed=4)
    sources, _ = stored(tmp_path, "csv", real, synthetic, encoding="utf-8-sig")
    source = sources["synthetic"]
    pieces = partitioned.plan(source, "synthetic", 97)
    raw = Path(source.location).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    # Contiguous, and every cut between records (the notes hold quoted line feeds).
    assert [p.start for p in pieces[1:]] == [p.stop for p in pieces[:-1]]
    assert pieces[-1].stop == len(raw)
    assert all(raw[: p.start].count(b'"') % 2 == 0 for p in pieces)
    rows = sum(len(partitioned.read_raw(p, ["person"])["person"]) for p in pieces)
    assert rows == len(synthetic)


def test_unsupported_columns_are_named(tmp_path):
    frame = pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2020-01-02"]), "n": [1, 2]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    source = partitioned.Source(str(path), "parquet", ("when", "n"), 2)
    specs = [ColumnSpec("when", "categorical", "other"), ColumnSpec("n", "numerical", "other")]
    reason = partitioned.supported(specs, {"real": source, "synthetic": source})
    assert reason == "the category column when holds dates or times"
    assert (
        partitioned.supported(
            [ColumnSpec("gone", "numerical", "other")], {"real": source, "synthetic": source}
        )
        == "the real table has no column gone"
    )


def test_typed_parquet_columns_give_the_in_memory_domain_and_coverage(tmp_path):
    """Parquet columns stored typed (booleans and integers with nulls, timestamps with
    missing values, whole floats as categories) read in pieces as the in-memory path
    reads them: the same domain, the same order of absent categories."""
    rng = np.random.default_rng(11)

    def frame(n: int, shift: int) -> pd.DataFrame:
        flag = pd.array(rng.choice([True, False], n), dtype="boolean")
        flag[rng.random(n) < 0.1] = pd.NA
        count = pd.array(rng.integers(0 + shift, 40 + shift, n), dtype="Int64")
        count[rng.random(n) < 0.05] = pd.NA
        when = pd.Series(
            pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900 + shift, n), "D")
        )
        when[rng.random(n) < 0.05] = pd.NaT
        return pd.DataFrame(
            {
                "flag": flag,
                "count": count,
                "code": rng.integers(0 + shift, 60 + shift, n).astype(float),
                "when": when,
                "amount": rng.normal(shift, 1, n),
            }
        )

    specs = [
        ColumnSpec("flag", "boolean", "other"),
        ColumnSpec("count", "categorical", "other"),
        ColumnSpec("code", "categorical", "quasi_identifier"),
        ColumnSpec("when", "datetime", "other"),
        ColumnSpec("amount", "numerical", "other"),
    ]
    real, synthetic = frame(900, 0), frame(700, 5)
    sources, frames = {}, {}
    for name, table in (("real", real), ("synthetic", synthetic)):
        path = tmp_path / f"{name}.parquet"
        table.to_parquet(path, index=False, row_group_size=128)
        info = TableInfo(TableFormat.PARQUET, len(table), tuple(table.columns))
        frames[name] = read_frame(path, info)
        sources[name] = partitioned.Source(str(path), "parquet", info.columns, len(table))
    assert partitioned.supported(specs, sources) is None
    expected = in_memory_figures(specs, ["code"], frames["real"], frames["synthetic"])
    outside = expected["integrity.out_of_domain_rate"]["details"]["columns"]
    assert outside["count"] > 0 and outside["code"] > 0 and outside["when"] > 0
    assert outside["flag"] == 0
    assert expected["quality.category_coverage"]["details"]["absent_categories"]["code"]
    for rows in (100, 333):
        got = partitioned.compute(
            partitioned.LocalExecutor(), specs, ["code"], sources, rows_per_piece=rows
        )
        assert {k: m.to_json() for k, m in got.items()} == expected, rows
