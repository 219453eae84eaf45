"""Helpers for the ingestion tests: run the real upload path on bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from registry.ingest import IngestedFile, ingest_upload

DEFAULT_MAX_BYTES = 10_000_000
DEFAULT_MAX_COLUMNS = 100


def chunked(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Ingest:
    """Calls ``ingest_upload`` on bytes, in 64 KiB chunks like a real upload."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir

    def __call__(
        self,
        data: bytes,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_columns: int = DEFAULT_MAX_COLUMNS,
        encoding: str | None = None,
    ) -> IngestedFile:
        return ingest_upload(
            chunked(data),
            work_dir=self.work_dir,
            max_bytes=max_bytes,
            max_columns=max_columns,
            encoding=encoding,
        )

    def leftovers(self) -> list[Path]:
        return sorted(self.work_dir.iterdir())


@pytest.fixture
def ingest(tmp_path: Path) -> Ingest:
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    return Ingest(work_dir)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()
