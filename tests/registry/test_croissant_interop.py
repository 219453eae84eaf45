"""An openly published version loads in ``mlcroissant`` (MLCommons' reference
loader) straight from the live test server: it fetches our public Croissant, then the
file its ``contentUrl`` names, checks the file against ``sha256`` and yields the
records. Nothing leaves the machine: connections to anything but the loopback
interface fail during these tests, so a loader that tried to fetch a JSON-LD context
from the internet would fail here, not pass by luck."""

from __future__ import annotations

import io
import socket
from typing import Any

import mlcroissant as mlc
import pandas as pd
import pytest
import requests
from django.core.files.storage import default_storage
from django.utils import timezone
from mlcroissant._src.core import constants
from rest_framework.authtoken.models import Token

from registry import services
from tests.registry.conftest import make_dataset, parquet_bytes, placements_csv

pytestmark = [
    pytest.mark.usefixtures("registry_storage"),
    # rdflib warns about its own ConjunctiveGraph, which mlcroissant's JSON-LD
    # expansion goes through; nothing of ours.
    pytest.mark.filterwarnings(
        "ignore:ConjunctiveGraph is deprecated:DeprecationWarning:mlcroissant|rdflib"
    ),
]


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections to anything but 127.0.0.1/::1 are refused for the test."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise OSError(f"test is offline: refused a connection to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def croissant_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """mlcroissant caches downloads by URL under ~/.cache/croissant; a live server's
    port repeats between runs, so each test gets its own cache."""
    monkeypatch.setattr(constants, "DOWNLOAD_PATH", tmp_path / "croissant" / "download")
    monkeypatch.setattr(constants, "EXTRACT_PATH", tmp_path / "croissant" / "extract")
    return tmp_path / "croissant"


def _publish(world: Any, content: bytes, name: str) -> Any:
    dataset = make_dataset(world, access="open", name=f"Open placements {name}")
    version = services.dataset_version_create(
        dataset=dataset, user=world.curator_a, chunks=iter([content]), original_name=name
    )
    # Publishing itself is the publishing service's (audits.publishing); the fixture
    # only marks the version published, as that service does once its checks pass.
    version.published_at = timezone.now()
    version.published_by = world.curator_a
    version.save(update_fields=["published_at", "published_by"])
    return version


def _records(url: str) -> pd.DataFrame:
    dataset = mlc.Dataset(jsonld=url)
    rows = list(dataset.records(record_set="records"))
    return pd.DataFrame(
        [
            {
                key.split("/", 1)[1]: value.decode() if isinstance(value, bytes) else value
                for key, value in row.items()
            }
            for row in rows
        ]
    )


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """The uploaded rows as the Croissant's data types read them: identifiers and
    categories as text, numbers as floats, booleans as booleans."""
    return pd.DataFrame(
        {
            "student_id": frame["student_id"].astype(str),
            "gender": frame["gender"].astype(str),
            "degree_percentage": frame["degree_percentage"].astype(float),
            "work_experience": frame["work_experience"].astype(str),
            "placed": frame["placed"].astype(bool),
            "salary": frame["salary"].astype(float),
        }
    )


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_published_version_loads_in_mlcroissant(
    world, live_server, loopback_only, croissant_cache, file_format
):
    content = placements_csv(rows=25, seed=3)
    frame = pd.read_csv(io.BytesIO(content))
    if file_format == "parquet":
        content = parquet_bytes(frame)
    version = _publish(world, content, f"placements.{file_format}")
    url = f"{live_server.url}/open/versions/{version.pk}/croissant.json"
    with pytest.raises(requests.ConnectionError, match="test is offline"):
        requests.get("http://192.0.2.1/", timeout=2)  # the offline guard holds

    doc = requests.get(url, timeout=10).json()
    (file_object,) = doc["distribution"]
    assert file_object["contentUrl"] == f"{live_server.url}/open/versions/{version.pk}/download/"
    assert file_object["sha256"] == version.sha256

    loaded = _records(url)
    types = {c["name"]: c["type"] for c in version.schema}
    assert list(loaded.columns) == list(frame.columns), types
    pd.testing.assert_frame_equal(loaded, _expected(frame), check_dtype=False)
    # mlcroissant raises on a hash mismatch (it did so on the login page before);
    # the file it checked is the one it saved, byte for byte what was uploaded.
    (saved,) = (croissant_cache / "download").iterdir()
    assert saved.read_bytes() == content


def test_mlcroissant_refuses_a_file_that_does_not_match_its_hash(
    world, live_server, loopback_only, croissant_cache
):
    """The hash check that passed above is a real check: the same loader stops when
    the bytes served differ from the Croissant's sha256."""
    version = _publish(world, placements_csv(rows=10), "placements.csv")
    with default_storage.open(version.file.name, "wb") as handle:
        handle.write(placements_csv(rows=10, seed=9))
    with pytest.raises(Exception) as raised:  # mlcroissant wraps its own ValueError
        _records(f"{live_server.url}/open/versions/{version.pk}/croissant.json")
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("Hash of downloaded file" in cause for cause in causes), causes


def test_the_api_download_takes_a_token_from_a_real_http_client(world, live_server):
    content = placements_csv(rows=30)
    dataset = make_dataset(world)
    version = services.dataset_version_create(
        dataset=dataset, user=world.curator_a, chunks=iter([content]), original_name="p.csv"
    )
    key = Token.objects.create(user=world.curator_a).key
    for path in (f"/api/v1/versions/{version.pk}/download/", f"/versions/{version.pk}/download/"):
        response = requests.get(
            live_server.url + path, headers={"Authorization": f"Token {key}"}, timeout=10
        )
        assert response.status_code == 200, path
        assert response.content == content
        assert response.headers["ETag"] == f'"{version.sha256}"'
        part = requests.get(
            live_server.url + path,
            headers={"Authorization": f"Token {key}", "Range": "bytes=10-99"},
            timeout=10,
        )
        assert part.status_code == 206
        assert part.content == content[10:100]
        assert part.headers["Content-Range"] == f"bytes 10-99/{len(content)}"
        tail = requests.get(
            live_server.url + path,
            headers={"Authorization": f"Token {key}", "Range": "bytes=-7"},
            timeout=10,
        )
        assert tail.content == content[-7:]
    # Another organisation's curator holds a valid token but may not see the version.
    other = Token.objects.create(user=world.curator_b).key
    refused = requests.get(
        f"{live_server.url}/versions/{version.pk}/download/",
        headers={"Authorization": f"Token {other}"},
        timeout=10,
    )
    assert refused.status_code == 404
    assert content not in refused.content


def test_a_download_resumes_from_where_it_stopped(world, live_server):
    """What a download manager does after a dropped connection: HEAD for the size
    and validator, then the rest with If-Range so a changed file is sent whole."""
    content = placements_csv(rows=400)
    version = _publish(world, content, "placements.csv")
    url = f"{live_server.url}/open/versions/{version.pk}/download/"
    head = requests.head(url, timeout=10)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(content)
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.content == b""
    first = requests.get(url, headers={"Range": "bytes=0-4095"}, timeout=10).content
    rest = requests.get(
        url, headers={"Range": "bytes=4096-", "If-Range": head.headers["ETag"]}, timeout=10
    )
    assert rest.status_code == 206
    assert first + rest.content == content
    stale = requests.get(url, headers={"Range": "bytes=4096-", "If-Range": '"0000"'}, timeout=10)
    assert stale.status_code == 200
    assert stale.content == content
