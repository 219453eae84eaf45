"""Cells that crash pandas' number parser never reach it (pandas GH#63650).

``pd.to_numeric`` in pandas 2.x dies with SIGSEGV on text like
``2e08311970879c88`` (a hex id read as a number with an exponent of billions),
taking the web worker with it. The ingestion layer runs such files in a child
process here, so a regression fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

CRASHING_CSV = b"id,key\n1,2e08311970879c88\n2,3e9a\n"

CHILD = """
import json, sys
from pathlib import Path

import pandas as pd

from registry.ingest import (
    ColumnSchema, ColumnType, infer_schema, ingest_upload, profile_frame, read_frame,
    sample_frame,
)
from registry.ingest.numbers import to_numbers
from registry.ingest.tables import coerce_numeric_columns

source, work = Path(sys.argv[1]), Path(sys.argv[2])
table = ingest_upload([source.read_bytes()], work_dir=work, max_bytes=10**9, max_columns=50)
frame = read_frame(table.path, table.info)
whole = sample_frame(table.path, table.info)
sampled = sample_frame(table.path, table.info, rows=int(sys.argv[3]), seed=1)
schema = infer_schema(whole)
profile = profile_frame(whole, schema, total_rows=table.info.row_count)
# A curator who marks the column numerical gets a profile, not a crash.
as_number = profile_frame(whole, [ColumnSchema("key", ColumnType.NUMERICAL)])
# Hand-built frames go through the same guards.
built = pd.DataFrame({"key": frame["key"].tolist(), "n": ["1", "2"]})
hand_schema = infer_schema(built)
coerced = coerce_numeric_columns(built.copy())
print(json.dumps({
    "rows": len(frame),
    "dtype": str(frame["key"].dtype),
    "values": frame["key"].tolist(),
    "sampled": sampled["key"].tolist(),
    "sampled_dtype": str(sampled["key"].dtype),
    "types": {c.name: str(c.type) for c in schema},
    "profile_type": profile["columns"][1]["type"],
    "invalid_numbers": as_number["columns"][0]["invalid"],
    "hand_types": {c.name: str(c.type) for c in hand_schema},
    "coerced": {name: str(dtype) for name, dtype in coerced.dtypes.items()},
    "to_numbers": [None if v != v else v for v in to_numbers(built["key"]).tolist()],
}))
"""


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[3]
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_survived(completed: subprocess.CompletedProcess[str]) -> None:
    if completed.returncode < 0:
        name = signal.Signals(-completed.returncode).name
        pytest.fail(f"the ingestion child was killed by {name}:\n{completed.stderr[-3000:]}")
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_a_hex_id_that_looks_like_a_huge_exponent_is_text_not_a_crash(tmp_path: Path) -> None:
    source = tmp_path / "ids.csv"
    source.write_bytes(CRASHING_CSV)
    work = tmp_path / "work"
    work.mkdir()

    completed = run_child(CHILD, str(source), str(work), "1")

    assert_survived(completed)
    result = json.loads(completed.stdout)
    assert result["rows"] == 2
    assert result["dtype"] == "object"
    assert result["values"] == ["2e08311970879c88", "3e9a"]
    assert result["sampled_dtype"] == "object"
    assert result["sampled"][0] in {"2e08311970879c88", "3e9a"}
    assert result["types"] == {"id": "id", "key": "id"}
    assert result["profile_type"] == "id"
    assert result["invalid_numbers"] == 2
    assert result["hand_types"] == {"key": "id", "n": "numerical"}
    assert result["coerced"] == {"key": "object", "n": "int64"}
    assert result["to_numbers"] == [None, None]


def test_many_random_hex_ids_in_a_larger_file_stay_text(tmp_path: Path) -> None:
    # Random hex ids start with "<digit>e<digits>" every few thousand rows; here
    # two rows in three do, all with exponents in the crashing range [2**31, 2**32).
    lines = ["id,hash,score"]
    for i in range(3_000):
        key = f"{1 + i % 9}e{2**31 + i * 700_001}{'abcdef'[i % 6]}{i % 16:x}"
        lines.append(f"{i},{key if i % 3 else f'{i:016x}'},{i / 8}")
    source = tmp_path / "hashes.csv"
    source.write_text("\n".join(lines) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    code = """
import json, sys
from pathlib import Path
from registry.ingest import infer_schema, ingest_upload, profile_frame, sample_frame
source, work = Path(sys.argv[1]), Path(sys.argv[2])
table = ingest_upload([source.read_bytes()], work_dir=work, max_bytes=10**9, max_columns=50)
sample = sample_frame(table.path, table.info, rows=500, seed=3)
schema = infer_schema(sample)
profile_frame(sample, schema)
print(json.dumps({c.name: str(c.type) for c in schema}))
"""

    completed = run_child(code, str(source), str(work))

    assert_survived(completed)
    assert json.loads(completed.stdout) == {"id": "id", "hash": "categorical", "score": "numerical"}


def test_the_check_notices_a_child_killed_by_a_signal() -> None:
    completed = run_child("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")

    with pytest.raises(pytest.fail.Exception, match="SIGSEGV"):
        assert_survived(completed)
