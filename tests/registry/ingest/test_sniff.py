from __future__ import annotations

import bz2
import gzip
import lzma

import pytest

from registry.ingest import ContentKind, detect_content
from registry.ingest.sniff import bom_less_utf16, looks_binary


@pytest.mark.parametrize(
    ("head", "tail", "kind"),
    [
        (b"PAR1\x15\x04", b"\x00\x00PAR1", ContentKind.PARQUET),
        (b"PAR1 truncated", b"ncated", ContentKind.PARQUET),
        (gzip.compress(b"a\n1\n", mtime=0), b"", ContentKind.GZIP),
        (bz2.compress(b"a\n1\n"), b"", ContentKind.BZIP2),
        (lzma.compress(b"a\n1\n"), b"", ContentKind.XZ),
        (b"PK\x03\x04rest", b"", ContentKind.ZIP),
        (b"\x28\xb5\x2f\xfd", b"", ContentKind.ZSTD),
        (b"a,b\n1,2\n", b"1,2\n", ContentKind.TEXT),
        (b"BZh9,other\n1,2\n", b"", ContentKind.TEXT),  # not bzip2 despite "BZh9"
        ("caf\u00e9;na\u00efve\n".encode("cp1252"), b"", ContentKind.TEXT),
        ("a,b\n".encode("utf-16"), b"", ContentKind.TEXT),
        ("a,b\n1,2\n".encode("utf-16-be"), b"", ContentKind.TEXT),
        (b"\x00\x01\x02\x03" * 100, b"", ContentKind.BINARY),
        (b"%PDF-1.4\n", b"", ContentKind.BINARY),
        (b"a,b\n\x00\x00\x00\x01\x02", b"", ContentKind.BINARY),
    ],
)
def test_detect_content(head: bytes, tail: bytes, kind: ContentKind) -> None:
    assert detect_content(head, tail) == kind


def test_control_bytes_in_text_make_it_binary_only_above_a_threshold() -> None:
    text = b"a,b\n" * 1000
    assert not looks_binary(text + b"\x07")
    assert looks_binary(text + b"\x07" * 200)


def test_bom_less_utf16() -> None:
    assert bom_less_utf16("id,name\n".encode("utf-16-le")) == "utf-16-le"
    assert bom_less_utf16("id,name\n".encode("utf-16-be")) == "utf-16-be"
    assert bom_less_utf16(b"id,name\n") is None
