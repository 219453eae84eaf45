from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from registry.ingest import IngestError, safe_original_name, stream_to_file
from registry.ingest.stream import HEAD_BYTES, iter_chunks


def test_stream_hashes_and_keeps_head_and_tail() -> None:
    data = bytes(range(256)) * 1000  # 256 KB, more than the head
    dest = io.BytesIO()

    result = stream_to_file(iter_chunks(io.BytesIO(data), 10_000), dest, max_bytes=len(data))

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert result.head == data[:HEAD_BYTES]
    assert result.tail == data[-8:]
    assert dest.getvalue() == data
    assert result.to_dict() == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_tail_is_right_when_last_chunk_is_short() -> None:
    result = stream_to_file([b"abcdefghij", b"xyz"], io.BytesIO(), max_bytes=100)

    assert result.tail == b"fghijxyz"


def test_stops_reading_as_soon_as_limit_is_passed() -> None:
    chunk = b"x" * 1000
    limit = 10_500
    served: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            if len(served) * len(chunk) > limit:
                pytest.fail("stream_to_file asked for a chunk after the limit was passed")
            served.append(1)
            yield chunk

    dest = io.BytesIO()
    with pytest.raises(IngestError) as caught:
        stream_to_file(endless(), dest, max_bytes=limit)

    assert caught.value.code == "too_large"
    assert "10.5 KB" in caught.value.message
    assert len(served) == 11  # the 11th chunk crossed the limit; no 12th was requested
    assert len(dest.getvalue()) <= limit  # the crossing chunk was not written


def test_exactly_the_limit_is_accepted() -> None:
    result = stream_to_file([b"a" * 10], io.BytesIO(), max_bytes=10)

    assert result.size == 10


def test_zero_bytes_is_empty_file() -> None:
    with pytest.raises(IngestError) as caught:
        stream_to_file([b"", b""], io.BytesIO(), max_bytes=10)

    assert caught.value.code == "empty_file"


@pytest.mark.parametrize("name", ["data.csv", "Données 2024 (v2).parquet", "a" * 251 + ".csv"])
def test_plain_names_are_kept(name: str) -> None:
    assert safe_original_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "data/../x.csv",
        "sub/data.csv",
        "/abs/data.csv",
        "..\\windows\\data.csv",
        "C:data.csv",
        "..",
        "data\x00.csv",
        "data\n.csv",
        "evil\u202evsc.exe",
        "",
        "   ",
    ],
)
def test_path_like_or_invisible_names_are_refused(name: str) -> None:
    with pytest.raises(IngestError) as caught:
        safe_original_name(name)

    assert caught.value.code == "bad_filename"
    assert caught.value.hint


def test_300_character_name_is_refused() -> None:
    with pytest.raises(IngestError) as caught:
        safe_original_name("a" * 296 + ".csv")

    assert caught.value.code == "bad_filename"
    assert caught.value.message == "The file name is 300 characters long; the limit is 255."
