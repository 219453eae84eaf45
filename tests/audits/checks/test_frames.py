"""Reading audited tables with text as categoricals gives the same audit as Python strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audits.checks import ColumnSpec
from audits.checks.runner import run_audit
from registry.ingest.tables import read_parquet_frame
from tests.audits.checks.conftest import CENSUS_COLUMNS, REGISTRY_FACTS, census, census_config


def _with_text(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The census table plus text columns with missing values, numbers written as text
    ("1" and "1.0" are the same category) and a value only some tables hold."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    out = frame.copy()
    out["grade"] = rng.choice(["1", "2", "3.0", "10", None], size=n)
    out["colour"] = rng.choice(["red", "green", "blue", f"only_{seed}", None], size=n)
    return out


def test_categorical_frames_give_every_figure_of_string_frames(tmp_path):
    config = census_config(
        columns=[
            *CENSUS_COLUMNS,
            ColumnSpec("grade", "categorical", "other"),
            ColumnSpec("colour", "categorical", "other"),
        ]
    )
    paths = {}
    for name, (rows, seed) in {
        "real": (3000, 1),
        "synthetic": (3000, 2),
        "holdout": (1500, 3),
    }.items():
        paths[name] = tmp_path / f"{name}.parquet"
        _with_text(census(rows, seed), seed).to_parquet(paths[name])
    strings = {name: pd.read_parquet(path) for name, path in paths.items()}
    categories = {name: read_parquet_frame(path) for name, path in paths.items()}
    assert isinstance(categories["real"]["colour"].dtype, pd.CategoricalDtype)
    assert strings["real"]["colour"].dtype == object
    # Only the text columns differ in type; numbers, booleans and dates read alike.
    for name in paths:
        for column in strings[name].columns:
            if column not in ("sex", "region", "grade", "colour"):
                assert strings[name][column].dtype == categories[name][column].dtype
    a = run_audit(config=config, **strings, registry_facts=REGISTRY_FACTS)
    b = run_audit(config=config, **categories, registry_facts=REGISTRY_FACTS)
    assert len(a.metrics) > 40
    assert [m.to_json() for m in a.metrics] == [m.to_json() for m in b.metrics]
    assert a.canonical_json() == b.canonical_json()


def test_only_the_named_columns_are_read(tmp_path):
    path = tmp_path / "t.parquet"
    _with_text(census(50, 1), 1).to_parquet(path)
    frame = read_parquet_frame(path, columns=["colour", "age"])
    assert list(frame.columns) == ["colour", "age"]
    expected = pd.read_parquet(path, columns=["colour", "age"])
    present = expected["colour"].notna()
    assert (frame["colour"].notna() == present).all()
    assert frame["colour"][present].astype(str).tolist() == expected["colour"][present].tolist()
    assert frame["age"].equals(expected["age"])


def test_reading_column_by_column_gives_the_whole_table_read(tmp_path):
    # The reader converts one column at a time (so the decoded file is never held beside
    # the frame): the frame must be what converting the whole Arrow table gives, with
    # one block per column, for text with missing cells, numbers, booleans and dates.
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    frame = _with_text(census(400, 1), 1)
    frame["when"] = pd.date_range("2024-01-01", periods=len(frame), freq="h")
    frame["flag"] = np.arange(len(frame)) % 3 == 0
    frame.to_parquet(path)
    text = ["sex", "region", "grade", "colour"]
    whole = pq.ParquetFile(path, read_dictionary=text).read()
    expected = whole.to_pandas(date_as_object=False, split_blocks=True)
    read = read_parquet_frame(path)
    pd.testing.assert_frame_equal(read, expected, check_exact=True)
    assert read._mgr.nblocks == len(read.columns)
    assert read_parquet_frame(path, columns=[]).shape == (400, 0)
