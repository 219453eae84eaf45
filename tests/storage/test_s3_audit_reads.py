"""An audit reads each stored input from the bucket once: the hash is verified on the
same bytes the readers parse (a temporary copy made while hashing), not by a second
download. Counted against the real S3 server (SeaweedFS): every GetObject request the
storage's client sends, and every byte read from the responses."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage

from audits.models import AuditStatus
from audits.runs import services
from audits.runs.inputs import StoredCopies
from registry import services as registry_services
from synthgov import storage
from synthgov.storage import COPY_CHUNK_BYTES, READ_BUFFER_BYTES
from tests.audits.conftest import placements, register
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    api_audit_now,
    demo_frames,
    demo_metadata,
    parquet_bytes,
    register_tables,
)
from tests.storage.test_s3_memory import MiB, peak

pytestmark = pytest.mark.django_db


class Reads:
    """GetObject requests (by the storage's boto3 client) and bytes read, per key,
    counted from ``start()`` on (the uploads that set a test up are not counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._monkeypatch = monkeypatch
        self._events: Any = None

    def start(self) -> Reads:
        self._events = default_storage.connection.meta.client.meta.events
        self._events.register("before-parameter-build.s3.GetObject", self._request)
        readinto = storage.S3Reader.readinto

        def counted(reader: storage.S3Reader, buffer: Any) -> int:
            count = readinto(reader, buffer)
            self.bytes[reader._key] += count
            return count

        self._monkeypatch.setattr(storage.S3Reader, "readinto", counted)
        return self

    def stop(self) -> None:
        if self._events is not None:
            self._events.unregister("before-parameter-build.s3.GetObject", self._request)

    def _request(self, params: dict[str, Any], **kwargs: Any) -> None:
        self.requests[params["Key"]] += 1


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    counter = Reads(monkeypatch)
    yield counter
    counter.stop()


def test_an_audit_reads_each_input_from_the_bucket_once(s3, world, reads, settings):
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    real_frame, synthetic_frame = placements()
    real_ds = make_dataset(world, name="Placements real", kind="real")
    ancestor = register(real_ds, world.curator_a, real_frame.iloc[:100], "train.csv")
    reference = register(real_ds, world.curator_a, real_frame.iloc[100:170], "reference.csv")
    holdout = register(real_ds, world.curator_a, real_frame.iloc[170:], "holdout.csv")
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    registry_services.version_lineage_set(
        version=synthetic,
        user=world.curator_a,
        parents=[registry_services.ParentLink(ancestor.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    run = services.audit_run_request(
        version=synthetic,
        reference=reference,
        holdout=holdout,
        config=services.default_config(synthetic),
        user=world.curator_a,
        enqueue=False,
    )
    reads.start()
    run = services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert run.integrity == "verified"
    # The collapse figures read the ancestor (not the reference): four inputs.
    assert run.metrics.filter(key__startswith="collapse.").exclude(status="skipped").exists()
    inputs = [synthetic, reference, holdout, ancestor]
    keys = {s3.key(v.file.name): default_storage.size(v.file.name) for v in inputs}
    assert len(keys) == 4
    assert dict(reads.bytes) == keys
    assert dict(reads.requests) == dict.fromkeys(keys, 1)
    # Each temporary copy was removed.
    assert s3.upload_leftovers() == []


def test_an_audit_of_linked_tables_reads_each_table_once(s3, world, reads):
    real = register_tables(
        make_dataset(world, kind="real", name="Sessions real"),
        world.curator_a,
        {t: parquet_bytes(f) for t, f in demo_frames("real").items()},
        suffix="parquet",
        metadata=demo_metadata(),
    )
    synthetic = register_tables(
        make_dataset(world, name="Sessions synthetic"),
        world.curator_a,
        {t: parquet_bytes(f) for t, f in demo_frames("synthetic").items()},
        suffix="parquet",
        metadata=demo_metadata(),
    )
    reads.start()
    run = api_audit_now(world.curator_a, synthetic, real, ["integrity", "quality"])
    assert run.integrity == "verified"
    tables = [t for v in (real, synthetic) for t in v.tables.all()]
    keys = {s3.key(t.file.name): default_storage.size(t.file.name) for t in tables}
    assert len(keys) == len(tables) > 2
    assert dict(reads.bytes) == keys
    assert dict(reads.requests) == dict.fromkeys(keys, 1)
    assert s3.upload_leftovers() == []


def test_hashing_keeps_a_copy_in_bounded_memory_and_removes_it(s3, tmp_path, reads):
    size = 32 * MiB
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    with source.open("rb") as handle:
        default_storage.save("versions/bb/big.bin", File(handle))
    reads.start()
    with StoredCopies() as copies:
        hashing = peak(lambda: copies.sha256("versions/bb/big.bin"))
        assert hashing < 3 * READ_BUFFER_BYTES + COPY_CHUNK_BYTES + 2 * MiB, hashing / MiB
        assert copies.sha256("versions/bb/big.bin") == digest.hexdigest()  # not read again
        with copies.path("versions/bb/big.bin") as path:
            assert path.parent == s3.uploads
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest.hexdigest()
        # Hashed twice (the same bytes as two inputs): kept for the second reader.
        assert len(s3.upload_leftovers()) == 1
        with copies.path("versions/bb/big.bin") as path:
            assert path.stat().st_size == size
        assert s3.upload_leftovers() == []
    assert dict(reads.bytes) == {s3.key("versions/bb/big.bin"): size}
    assert s3.upload_leftovers() == []
    print(f"\n{size // MiB} MiB file on S3: hashed while copied, peak {hashing / MiB:.1f} MiB")


def test_an_altered_input_fails_the_run_and_leaves_no_copy(s3, world):
    real_frame, synthetic_frame = placements()
    reference = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    synthetic = register(make_dataset(world, name="Synthetic"), world.curator_a, synthetic_frame)
    run = services.audit_run_request(
        version=synthetic,
        reference=reference,
        holdout=None,
        config=services.default_config(synthetic),
        user=world.curator_a,
        enqueue=False,
    )
    s3.put(reference.file.name, s3.read(reference.file.name) + b"1,2,3\n")
    run = services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    assert run.status == AuditStatus.FAILED
    assert "no longer matches the SHA-256" in run.error
    assert s3.upload_leftovers() == []
