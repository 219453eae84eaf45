"""An upload is hashed and validated while it is received (``registry.ingest.prescan``):
through the API the stored file is not scanned a second time, and gunicorn's request
body is read in large pieces with the same bytes arriving."""

from __future__ import annotations

import hashlib
import socket
import threading

import pytest
from django.core.handlers.wsgi import WSGIRequest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader
from rest_framework.test import APIClient

from registry.ingest import csv_scan
from registry.uploads import PRESCAN_ATTRIBUTE, LimitedTemporaryFileUploadHandler
from tests.registry.conftest import make_dataset, make_version, placements_csv, upload

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def dataset_with_v1(world):
    dataset = make_dataset(world)
    return dataset, make_version(dataset, world.curator_a)


def test_an_api_upload_is_validated_while_it_arrives(world, dataset_with_v1, monkeypatch):
    dataset, _ = dataset_with_v1
    content = placements_csv(3000, seed=11)
    scanned_files = []
    original = csv_scan.scan_csv

    def counting(path, **kwargs):
        scanned_files.append(path)
        return original(path, **kwargs)

    monkeypatch.setattr(csv_scan, "scan_csv", counting)
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": upload(content, "p.csv")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    version = dataset.versions.get(number=2)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.row_count == 3000
    assert scanned_files == [], "the stored file was read again to validate it"


def test_a_lying_upload_is_still_refused_and_nothing_stored(world, dataset_with_v1):
    """A ``.csv`` that is no CSV past its first megabytes: the prescan is unsure, and
    the reference scan words the error (a 400, no version)."""
    dataset, _ = dataset_with_v1
    good = placements_csv(20_000, seed=12)
    content = good + b"1,2\n"
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": upload(content, "p.csv")},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    words = " ".join(str(value) for value in response.json().values()).lower()
    assert "fields" in words and "line 20002 has 2 fields" in words, words
    assert not dataset.versions.filter(number=2).exists()


def _gunicorn_request(
    body: bytes, boundary: str
) -> tuple[WSGIRequest, threading.Thread, socket.socket]:
    """A request whose ``wsgi.input`` is gunicorn's own ``Body`` over a socket."""
    ours, theirs = socket.socketpair()

    def send() -> None:
        theirs.sendall(body)
        theirs.close()

    sender = threading.Thread(target=send)
    sender.start()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": Body(LengthReader(SocketUnreader(ours), len(body))),
        "wsgi.url_scheme": "http",
    }
    return WSGIRequest(environ), sender, ours


def test_a_gunicorn_body_is_read_in_large_pieces(settings):
    content = placements_csv(20_000, seed=13)
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    reads = []
    gunicorn_read = Body.read

    def watched(self, size=None):
        reads.append(size)
        return gunicorn_read(self, size)

    Body.read = watched  # before the request binds it
    try:
        request, sender, ours = _gunicorn_request(body, boundary)
        request.upload_handlers = [LimitedTemporaryFileUploadHandler(request)]
        received = request.FILES["file"]
    finally:
        Body.read = gunicorn_read
    sender.join()
    ours.close()
    with received:
        assert received.read() == content
    assert reads == [], "gunicorn's Body.read gathers 1 KiB at a time; it was not bypassed"
    seen = getattr(received, PRESCAN_ATTRIBUTE).result(timeout=30)
    assert seen.sha256 == hashlib.sha256(content).hexdigest()
    assert seen.csv is not None and seen.csv.result.rows == 20_000
