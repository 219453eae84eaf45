"""Relational test data: the SDMetrics multi-table demo's own files (users, sessions,
transactions; installed with sdmetrics, read offline) and small hand-made tables."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import sdmetrics

DEMO_DIR = Path(sdmetrics.__file__).parent / "demos" / "multi_table"
DEMO_TABLES = ("users", "sessions", "transactions")


def demo_metadata() -> dict[str, Any]:
    return copy.deepcopy(json.loads((DEMO_DIR / "metadata.json").read_text()))


def demo_bytes(table: str, kind: str = "real") -> bytes:
    return (DEMO_DIR / f"{table}_{kind}.csv").read_bytes()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


PARENTS = b"pid,region\n1,north\n2,south\n3,north\n"
CHILDREN = b"cid,pid,amount\n10,1,5.0\n11,1,7.5\n12,3,2.0\n13,2,1.0\n"
