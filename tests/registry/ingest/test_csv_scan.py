"""The vectorised CSV scan gives the reference scan's answer, and the sample cut out
by its row index is the sample the streamed reader takes.

The reference is ``csv_table``'s scan with Python's ``csv`` module (forced here by
making ``csv_scan.scan_csv`` unsure). Files are generated from a seed with what
makes CSV hard: quoted delimiters, doubled quotes, line breaks inside quotes (LF,
CR LF, CR), the three line endings mixed, blank and whitespace-only lines (before
the header too), a missing last line end, a byte-order mark, Windows-1252,
non-breaking and ideographic spaces, one column and 300 columns. Blocks are a few
dozen bytes, so records, quoted values and CR LF pairs straddle them.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.ingest import IngestError, csv_scan, ingest_upload, sample_frame
from registry.ingest.csv_table import validate_csv, validate_csv_indexed
from registry.ingest.stream import HEAD_BYTES, FileChunks

CELLS = [
    "",
    "  ",
    "42",
    "-3.5",
    "007",
    "NA",
    "?",
    "Zürich",
    "Łódź",
    "a b",
    '"quoted, with comma"',
    '"say ""hi"""',
    '"two\nlines"',
    '"cr lf\r\ninside"',
    '"lone\rcr"',
    '""',
    '"  "',
    "\u00a0",
    "\u3000x",
    "x;y|z\tw",
]
ENDINGS = ["\n", "\r\n", "\r"]


def _text(rng: random.Random, *, width: int, rows: int, delimiter: str) -> str:
    ending = rng.choice([*ENDINGS, None])  # None: mixed
    parts = []

    def end() -> str:
        return ending or rng.choice(ENDINGS)

    if rng.random() < 0.3:
        parts.append(rng.choice(["", "   ", '""']) + end())
    parts.append(delimiter.join(f"col{i}" for i in range(width)) + end())
    for _ in range(rows):
        roll = rng.random()
        if roll < 0.08:
            parts.append(rng.choice(["", "  ", '""', "\t"]) + end())
            continue
        cells = []
        for _ in range(width):
            cell = rng.choice(CELLS)
            if delimiter in cell and not cell.startswith('"'):
                cell = f'"{cell}"'
            cells.append(cell)
        parts.append(delimiter.join(cells) + end())
    text = "".join(parts)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")
    return text


def _reference(path: Path, head: bytes, encoding: str | None, monkeypatch: pytest.MonkeyPatch):
    def unsure(*args: object, **kwargs: object) -> None:
        raise csv_scan.Unsure("forced")

    with monkeypatch.context() as patch:
        patch.setattr(csv_scan, "scan_csv", unsure)
        try:
            return validate_csv(path, head=head, max_columns=500, encoding=encoding)
        except IngestError as error:
            return error.to_dict()


def _files(seed: int) -> list[tuple[bytes, str | None]]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    files = []
    for case in range(24):
        delimiter = rng.choice([",", ";", "\t", "|"])
        width = rng.choice([1, 2, 3, 7]) if case % 12 else 300
        rows = rng.randrange(0, 40) if width < 300 else 8
        text = _text(rng, width=width, rows=rows, delimiter=delimiter)
        kind = case % 4
        if kind == 0:
            files.append((text.encode("utf-8"), None))
        elif kind == 1:
            files.append(("\ufeff".encode() + text.encode("utf-8"), None))
        elif kind == 2:
            latin = text.replace("Łódź", "Lodz").replace("\u3000", " ")
            files.append((latin.encode("cp1252"), "cp1252"))
        else:
            files.append((text.encode("utf-8"), "utf-8"))
    return files


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_scan_and_indexed_sample_match_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    block = random.Random(seed).randrange(16, 90)  # noqa: S311 - test data
    monkeypatch.setattr(csv_scan, "CHUNK_BYTES", block)
    # The streamed sample collects garbage after each read (for memory, not values):
    # in a test process that costs ~0.3 s a call.
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    fast_answers = compared = 0
    for number, (data, encoding) in enumerate(_files(seed)):
        path = tmp_path / f"case-{number}.csv"
        path.write_bytes(data)
        head = data[:HEAD_BYTES]
        expected = _reference(path, head, encoding, monkeypatch)
        digest = hashlib.sha256()
        try:
            info, index, hashed = validate_csv_indexed(
                path, head=head, max_columns=500, encoding=encoding, digest=digest
            )
        except IngestError as error:
            assert error.to_dict() == expected, (number, data[:300])
            continue
        assert info == expected, (number, data[:300])
        if index is None:
            continue
        fast_answers += 1
        assert hashed and digest.hexdigest() == hashlib.sha256(data).hexdigest()
        if index.header_start > index.bom:
            # Blank lines before the header: the streamed reader takes a line of
            # spaces for the header (and the header for a row), unlike the validation;
            # the cut sample leaves those lines out (test_blank_lines_before_the_header).
            continue
        rows = max(1, info.row_count // 3)
        if info.row_count <= rows:
            continue
        if number % 2:
            info = dataclasses.replace(info, missing_markers=("?",))
        streamed = sample_frame(path, info, rows=rows, seed=number)
        cut = sample_frame(path, info, rows=rows, seed=number, index=index)
        pd.testing.assert_frame_equal(cut, streamed)
        compared += 1
    # The fast scan answered for most files (not a test of the fallback alone).
    assert fast_answers >= 12 and compared >= 8


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'a,b\n1,5" screen\n2,3" tall\n', "a quote inside an unquoted value"),
        (b'a,b\n1,"x"y\n', "text after a closing quote"),
        (b'a,b\n1,"open\n', "a quoted value is not closed"),
        (b"a,b\n1,2,3\n", "a row of the wrong width"),
        (b"a,b\n1,\xff\n", "not UTF-8"),
        (b"a,b\n1,\xed\xa0\x80\n", "not UTF-8"),
    ],
)
def test_fast_scan_is_unsure_where_the_reference_must_decide(
    tmp_path: Path, data: bytes, why: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(csv_scan.Unsure, match=why):
        csv_scan.scan_csv(
            path, encoding="utf-8", delimiter=",", max_line_chars=10**6, check_header=list
        )


def test_a_quote_inside_a_value_is_still_accepted(tmp_path: Path) -> None:
    """The reference accepts it, so after the fast scan's doubt the file is accepted."""
    path = tmp_path / "t.csv"
    path.write_bytes(b'size,name\n5" screen,tv\n12,"a, b"\n')
    info = validate_csv(path, head=path.read_bytes(), max_columns=10)
    assert info.row_count == 2
    assert sample_frame(path, info)["size"].tolist() == ['5" screen', "12"]


def test_multibyte_encodings_go_to_the_reference() -> None:
    assert csv_scan.ascii_safe("utf-8") and csv_scan.ascii_safe("cp1252")
    assert csv_scan.ascii_safe("koi8-r") and csv_scan.ascii_safe("mac-roman")
    for name in ["shift_jis", "big5", "gb18030", "utf-16", "utf-32", "cp932"]:
        assert not csv_scan.ascii_safe(name), name


def test_a_linked_upload_matches_a_copied_one(tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    data = b"\xef\xbb\xbfid,city\r\n" + b"".join(
        b'%d,"Z\xc3\xbcrich, %d"\r\n' % (i, i) for i in range(500)
    )
    source.write_bytes(data)
    copied_dir, linked_dir = tmp_path / "copied", tmp_path / "linked"
    copied_dir.mkdir()
    linked_dir.mkdir()
    limits = {"max_bytes": 10**6, "max_columns": 10}
    copied = ingest_upload([data[:1000], data[1000:]], work_dir=copied_dir, **limits)
    linked = ingest_upload(FileChunks(source), work_dir=linked_dir, **limits)
    assert linked.to_dict() == copied.to_dict()
    assert linked.sha256 == hashlib.sha256(data).hexdigest()
    assert linked.path.read_bytes() == data and source.exists()
    assert linked.index is not None
    pd.testing.assert_frame_equal(
        sample_frame(linked.path, linked.info, rows=50, seed=3, index=linked.index),
        sample_frame(copied.path, copied.info, rows=50, seed=3),
    )


def test_a_linked_upload_is_refused_like_a_copied_one(tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    source.write_bytes(b"a,b\n1,2\n")
    (tmp_path / "w").mkdir()
    with pytest.raises(IngestError) as too_large:
        ingest_upload(FileChunks(source), work_dir=tmp_path / "w", max_bytes=4, max_columns=5)
    assert too_large.value.code == "too_large"
    with pytest.raises(IngestError) as ragged:
        source.write_bytes(b"a,b\n1,2,3\n")
        ingest_upload(FileChunks(source), work_dir=tmp_path / "w", max_bytes=99, max_columns=5)
    assert ragged.value.code == "ragged_rows"
    assert list((tmp_path / "w").iterdir()) == [] and source.exists()
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError) as nothing:
        ingest_upload(FileChunks(empty), work_dir=tmp_path / "w", max_bytes=99, max_columns=5)
    assert nothing.value.code == "empty_file"


def test_rows_straddling_blocks_are_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_scan, "CHUNK_BYTES", 7)
    path = tmp_path / "t.csv"
    rows = [f'{i},"v\r\n{i}"\r\n'.encode() for i in range(40)]
    path.write_bytes(b"id,v\r\n" + b"".join(rows))
    found = csv_scan.scan_csv(
        path, encoding="utf-8", delimiter=",", max_line_chars=10**6, check_header=list
    )
    assert found.rows == 40 and found.header == ["id", "v"]
    out = tmp_path / "rows.csv"
    with out.open("wb") as handle:
        csv_scan.gather_rows(path, found.index, np.array([0, 17, 39]), handle)
    assert out.read_bytes() == b"id,v\r\n" + rows[0] + rows[17] + rows[39]


def test_blank_lines_before_the_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"   \n\ncity\n" + b"".join(b"c%d\n" % i for i in range(20)))
    info, index, _ = validate_csv_indexed(path, head=path.read_bytes(), max_columns=5)
    assert info.columns == ("city",) and info.row_count == 20
    sample = sample_frame(path, info, rows=5, seed=1, index=index)
    assert list(sample.columns) == ["city"]
    assert set(sample["city"]) <= {f"c{i}" for i in range(20)} and len(sample) == 5
