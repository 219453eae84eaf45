"""Reading and writing stored files on S3 holds a bounded amount of memory,
however large the file: measured with tracemalloc (every Python allocation, all
threads: boto3's response bodies and upload parts are Python bytes)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Callable

from django.core.files import File
from django.core.files.storage import default_storage

from synthgov.env import S3_PART_BYTES, S3_UPLOAD_PARTS_IN_MEMORY
from synthgov.storage import COPY_CHUNK_BYTES, READ_BUFFER_BYTES, local_copy, stored_hash

SIZE = 96 * 1024**2
MiB = 1024**2


def peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_a_large_stored_file_holds_a_few_mebibytes(s3, tmp_path):
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(SIZE // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    with source.open("rb") as handle:
        writing = peak(lambda: default_storage.save("versions/aa/big.bin", File(handle)))
    # Parts of S3_PART_BYTES, at most S3_UPLOAD_PARTS_IN_MEMORY read ahead (each held
    # twice while s3transfer wraps it), plus one being read: not the file's size.
    assert writing < (2 * S3_UPLOAD_PARTS_IN_MEMORY + 1) * S3_PART_BYTES, writing / MiB

    hashing = peak(lambda: stored_hash("versions/aa/big.bin"))
    assert hashing < 3 * READ_BUFFER_BYTES + COPY_CHUNK_BYTES + 2 * MiB, hashing / MiB
    assert stored_hash("versions/aa/big.bin") == digest.hexdigest()

    def copy() -> None:
        with local_copy("versions/aa/big.bin") as path:
            assert path.stat().st_size == SIZE

    copying = peak(copy)
    assert copying < 3 * READ_BUFFER_BYTES + COPY_CHUNK_BYTES + 2 * MiB, copying / MiB
    print(
        f"\n{SIZE // MiB} MiB file on S3: peak Python memory "
        f"upload {writing / MiB:.1f} MiB, hash {hashing / MiB:.1f} MiB, "
        f"copy for readers {copying / MiB:.1f} MiB"
    )
