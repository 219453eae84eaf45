"""An upload hashed and scanned while it is received gives exactly what reading the
stored file again gives: the same version, the same refusal, the same sample.

Each file of ``test_csv_scan``'s seeded set (quoted line breaks, mixed line ends,
byte-order marks, Windows-1252, one and 300 columns) and a set of bad files goes
through ``ingest_upload`` twice: as a plain ``FileChunks`` (linked and read again)
and with a ``Prescan`` fed the same bytes in uneven chunks. Blocks are a few dozen
bytes, so records straddle the chunks and the scan's blocks."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from registry.ingest import IngestError, csv_scan, ingest_upload, prescan, sample_frame
from registry.ingest.csv_table import validate_csv_indexed
from registry.ingest.stream import FileChunks

from .test_csv_scan import _files

LIMITS = {"max_bytes": 10**7, "max_columns": 500}


def _fed(data: bytes, seed: int) -> prescan.Prescan:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    scan = prescan.Prescan()
    at = 0
    while at < len(data):
        step = rng.choice([1, 7, 64, 1000, 70_000])
        scan.feed(data[at : at + step])
        at += step
    scan.finish()
    return scan


def _ingest(tmp_path: Path, data: bytes, name: str, *, scan: prescan.Prescan | None, **options):
    source = tmp_path / f"{name}.upload"
    source.write_bytes(data)
    work = tmp_path / name
    work.mkdir()
    try:
        found = ingest_upload(FileChunks(source, prescan=scan), work_dir=work, **LIMITS, **options)
    except IngestError as error:
        assert list(work.iterdir()) == [], "a refused upload left files behind"
        return error.to_dict(), None
    return found.to_dict(), found


def _count_file_scans(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every vectorised scan that reads a stored file."""
    calls: list[Path] = []
    original = csv_scan.scan_csv

    def counting(path: Path, **kwargs: object) -> csv_scan.ScanResult:
        calls.append(path)
        return original(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(csv_scan, "scan_csv", counting)
    return calls


@pytest.mark.parametrize("seed", [1, 2])
def test_prescanned_uploads_match_uploads_read_again(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_scan, "CHUNK_BYTES", 53)
    for case, (data, encoding) in enumerate(_files(seed)):
        options = {"encoding": encoding} if encoding else {}
        plain, plain_file = _ingest(tmp_path, data, f"p{case}", scan=None, **options)
        scan = _fed(data, seed * 100 + case)
        early, early_file = _ingest(tmp_path, data, f"e{case}", scan=scan, **options)
        assert early == plain, case
        seen = scan.result(timeout=10)
        assert seen is not None and seen.sha256 == hashlib.sha256(data).hexdigest()
        assert seen.size == len(data)
        if plain_file is not None and plain_file.index is not None:
            assert early_file is not None and early_file.index is not None
            pd.testing.assert_frame_equal(
                sample_frame(
                    early_file.path, early_file.info, rows=9, seed=1, index=early_file.index
                ),
                sample_frame(
                    plain_file.path, plain_file.info, rows=9, seed=1, index=plain_file.index
                ),
            )


def test_a_prescanned_csv_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"id,city\n" + b"".join(b'%d,"Z\xc3\xbcrich, %d"\n' % (i, i) for i in range(5000))
    scans = _count_file_scans(monkeypatch)
    found, ingested = _ingest(tmp_path, data, "once", scan=_fed(data, 1))
    assert ingested is not None and found["info"]["row_count"] == 5000
    assert found["sha256"] == hashlib.sha256(data).hexdigest()
    assert scans == [], "the stored file was scanned again"
    # Without the prescan it is (the check above can fail).
    _ingest(tmp_path, data, "twice", scan=None)
    assert len(scans) == 1


BAD = {
    "ragged": b"a,b\n1,2\n3,4,5\n",
    "quote inside a value": b'a,b\n1,x"y\n',
    "duplicate columns": b"a,a\n1,2\n",
    "empty column name": b"a,,c\n1,2,3\n",
    "too many columns": b",".join(b"c%d" % i for i in range(600)) + b"\n" + b"1," * 599 + b"1\n",
    "not UTF-8": b"a,b\n1,caf\xe9\n",
    "only a header": b"a,b\n",
    "json": b'{"a": 1}\n',
    "utf-16": "a,b\n1,2\n".encode("utf-16"),
    "binary": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_with_the_same_words(tmp_path: Path, name: str) -> None:
    data = BAD[name]
    plain, _ = _ingest(tmp_path, data, "plain", scan=None)
    early, _ = _ingest(tmp_path, data, "early", scan=_fed(data, 2))
    assert early == plain


def test_the_curators_encoding_choice_is_respected(tmp_path: Path) -> None:
    data = "a;b\n1;café\n".encode("cp1252")
    plain, _ = _ingest(tmp_path, data, "plain", scan=None, encoding="cp1252")
    early, _ = _ingest(tmp_path, data, "early", scan=_fed(data, 3), encoding="cp1252")
    assert early == plain and early["info"]["row_count"] == 1


def test_parquet_and_gzip_are_only_hashed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2, 3]}), buffer)
    for name, data in [
        ("parquet", buffer.getvalue()),
        ("gzip", gzip.compress(b"a,b\n1,2\n", mtime=0)),
    ]:
        scan = _fed(data, 4)
        seen = scan.result(timeout=10)
        assert seen is not None and seen.csv is None
        assert seen.sha256 == hashlib.sha256(data).hexdigest()
        plain, _ = _ingest(tmp_path, data, f"plain-{name}", scan=None)
        early, _ = _ingest(tmp_path, data, f"early-{name}", scan=_fed(data, 4))
        assert early == plain and "info" in early


def test_a_prescan_of_other_bytes_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is used only when its size and first bytes are the stored file's: a
    prescan of a shorter file, or of one differing in its last bytes, leaves the file
    to be read again (the bytes in between are trusted because the handler that wrote
    the file fed them, registry.uploads)."""
    data = b"a,b\n" + b"1,2\n" * 100
    shorter = _fed(data[:-4], 5)
    other = _fed(data[:-4] + b"1,23", 5)
    scans = _count_file_scans(monkeypatch)
    for scan in (shorter, other):
        found, _ = _ingest(tmp_path, data, f"x{len(scans)}", scan=scan)
        assert found["info"]["row_count"] == 100
        assert found["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(scans) == 2


def test_an_abandoned_prescan_answers_nothing_and_never_blocks() -> None:
    scan = prescan.Prescan()
    scan.feed(b"a,b\n1,2\n")
    scan.abandon()
    started = time.monotonic()
    for _ in range(3 * prescan.QUEUED_CHUNKS):
        scan.feed(b"3,4\n")  # after abandon: ignored, never waits
    scan.finish()
    assert scan.result(timeout=10) is None
    assert time.monotonic() - started < 5


def test_a_refused_header_is_checked_with_the_requests_limits(tmp_path: Path) -> None:
    data = b"a,b,c\n1,2,3\n"
    scan = _fed(data, 6)
    seen = scan.result(timeout=10)
    assert seen is not None and seen.csv is not None and seen.csv.result is not None
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(IngestError) as caught:
        validate_csv_indexed(path, head=data, max_columns=2, prescanned=seen.csv)
    with pytest.raises(IngestError) as reference:
        validate_csv_indexed(path, head=data, max_columns=2)
    assert caught.value.to_dict() == reference.value.to_dict()
    assert caught.value.code == "too_many_columns"


def test_an_abandoned_prescans_thread_ends_at_once() -> None:
    scan = prescan.Prescan()
    scan.feed(b"a,b\n")
    scan.abandon()
    scan._thread.join(timeout=5)
    assert not scan._thread.is_alive()
