"""Every download of a stored file (the page, the API and the public /open/ URL)
answers the same way: byte ranges, the SHA-256 as ETag and digest headers, 304 for a
current copy, cache headers that keep restricted files out of shared caches, and an
API token accepted where a browser session is."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage
from django.test import Client as DjangoClient
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import http_date
from rest_framework.authtoken.models import Token

from synthgov.downloads import (
    _UNSATISFIABLE,
    CHUNK_BYTES,
    StoredFile,
    byte_range,
    file_response,
)
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")

CONTENT = placements_csv(rows=60)
SIZE = len(CONTENT)


class Client(DjangoClient):
    """The test client, reading every streamed body at once so each response closes
    its file (a real server closes it when the response ends, read or not)."""

    def request(self, **request):
        response = super().request(**request)
        response.body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        )
        return response


def _body(response) -> bytes:
    return response.body


@pytest.fixture
def version(world):
    return make_version(make_dataset(world), world.curator_a, CONTENT)


@pytest.fixture
def published(world):
    version = make_version(make_dataset(world, access="open"), world.curator_a, CONTENT)
    version.published_at = timezone.now()
    version.published_by = world.curator_a
    version.save(update_fields=["published_at", "published_by"])
    return version


@pytest.fixture
def token(world) -> str:
    return Token.objects.create(user=world.curator_a).key


def _clients(world, version, token):
    """(client, path, headers) for the three ways to download ``version``."""
    session = Client()
    session.force_login(world.curator_a)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    return [
        (session, f"/versions/{version.pk}/download/", {}),
        (Client(), f"/versions/{version.pk}/download/", auth),
        (Client(), f"/api/v1/versions/{version.pk}/download/", auth),
    ]


# --- the Range header, parsed ----------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=10-", (10, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),  # more than the file: the whole file
        ("bytes=990-5000", (990, 999)),  # past the end: up to the end
        ("bytes=999-999", (999, 999)),
        ("BYTES = 5 - 6", (5, 6)),  # the unit is case-insensitive; spaces around = and -
        ("bytes=1000-", _UNSATISFIABLE),
        ("bytes=1000-2000", _UNSATISFIABLE),
        ("bytes=-0", _UNSATISFIABLE),
        ("bytes=99999999999999999999-", _UNSATISFIABLE),
        ("bytes=" + "9" * 5000 + "-", _UNSATISFIABLE),  # int() would refuse this string
        ("bytes=-" + "9" * 5000, (0, 999)),
        ("bytes=5-2", None),  # invalid: ignored, the whole file is sent
        ("bytes=" + "9" * 30 + "-5", None),
        ("bytes=0-1,5-6", None),  # several ranges: we send the whole file
        ("bytes=-", None),
        ("bytes=", None),
        ("bytes=a-b", None),
        ("bytes=\u0661-\u0662", None),  # Arabic-Indic digits are not ASCII digits
        ("items=0-5", None),
        ("0-5", None),
        ("", None),
        ("bytes=0-5\x00", None),
    ],
)
def test_byte_range(header, expected):
    assert byte_range(header, 1000) == expected


def test_nothing_of_an_empty_file_is_satisfiable():
    assert byte_range("bytes=0-", 0) is _UNSATISFIABLE
    assert byte_range("bytes=-5", 0) is _UNSATISFIABLE


# --- the responses ------------------------------------------------------------


def test_every_download_sends_the_file_with_its_checksum(world, version, token):
    digest = base64.b64encode(hashlib.sha256(CONTENT).digest()).decode()
    assert hashlib.sha256(CONTENT).hexdigest() == version.sha256
    for client, path, headers in _clients(world, version, token):
        response = client.get(path, **headers)
        assert response.status_code == 200, path
        assert _body(response) == CONTENT
        assert response["Content-Length"] == str(SIZE)
        assert response["Accept-Ranges"] == "bytes"
        assert response["ETag"] == f'"{version.sha256}"'
        assert response["Repr-Digest"] == f"sha-256=:{digest}:"
        assert response["Digest"] == f"SHA-256={digest}"
        assert response["Last-Modified"] == http_date(int(version.created.timestamp()))
        assert response["Content-Type"] == "text/csv"
        assert response["Content-Disposition"].startswith("attachment;")
        # Behind a sign-in: never in a shared cache, nor on the reader's disk.
        assert response["Cache-Control"] == "private, no-store"


def test_a_range_is_the_bytes_asked_for(world, version, token):
    for client, path, headers in _clients(world, version, token):
        part = client.get(path, HTTP_RANGE="bytes=100-199", **headers)
        assert part.status_code == 206, path
        assert _body(part) == CONTENT[100:200]
        assert part["Content-Range"] == f"bytes 100-199/{SIZE}"
        assert part["Content-Length"] == "100"
        # The digest is of the whole file (RFC 9530's Repr-Digest), not of the part.
        assert part["ETag"] == f'"{version.sha256}"'
        tail = client.get(path, HTTP_RANGE="bytes=-10", **headers)
        assert (tail.status_code, _body(tail)) == (206, CONTENT[-10:])
        rest = client.get(path, HTTP_RANGE=f"bytes={SIZE - 3}-", **headers)
        assert _body(rest) == CONTENT[-3:]
        assert rest["Content-Range"] == f"bytes {SIZE - 3}-{SIZE - 1}/{SIZE}"


def test_a_range_past_the_end_is_416_with_the_size(world, version, token):
    for client, path, headers in _clients(world, version, token):
        for header in (f"bytes={SIZE}-", "bytes=-0", "bytes=99999999999999999999-"):
            response = client.get(path, HTTP_RANGE=header, **headers)
            assert response.status_code == 416, (path, header)
            assert response["Content-Range"] == f"bytes */{SIZE}"
            assert CONTENT not in response.content


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-6",
        "bytes=5-2",
        "garbage",
        "bytes=--5",
        "bytes=\u0661-",
        "bytes=" + "1" * 10_000,
        "bytes=1-" + "9" * 5000,
        "bytes=0-0;DROP TABLE",
    ],
)
def test_a_range_we_do_not_serve_sends_the_whole_file(world, version, token, header):
    for client, path, headers in _clients(world, version, token):
        response = client.get(path, HTTP_RANGE=header, **headers)
        if header == "bytes=1-" + "9" * 5000:  # a valid range to the end
            assert (response.status_code, _body(response)) == (206, CONTENT[1:]), path
            continue
        assert response.status_code == 200, (path, header)
        assert _body(response) == CONTENT


def test_if_range_with_another_etag_sends_the_whole_file(world, version, token):
    for client, path, headers in _clients(world, version, token):
        current = client.get(
            path, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{version.sha256}"', **headers
        )
        assert (current.status_code, _body(current)) == (206, CONTENT[:10])
        changed = client.get(path, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"abc"', **headers)
        assert (changed.status_code, _body(changed)) == (200, CONTENT)
        weak = client.get(
            path, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'W/"{version.sha256}"', **headers
        )
        assert weak.status_code == 200  # If-Range compares strongly
        dated = client.get(
            path,
            HTTP_RANGE="bytes=0-9",
            HTTP_IF_RANGE=http_date(int(version.created.timestamp())),
            **headers,
        )
        assert dated.status_code == 206


def test_a_current_copy_gets_304(world, version, token):
    for client, path, headers in _clients(world, version, token):
        response = client.get(path, HTTP_IF_NONE_MATCH=f'"{version.sha256}"', **headers)
        assert response.status_code == 304, path
        assert response.content == b""
        assert response["ETag"] == f'"{version.sha256}"'
        stale = client.get(path, HTTP_IF_NONE_MATCH='"0123"', **headers)
        assert stale.status_code == 200
        since = client.get(
            path, HTTP_IF_MODIFIED_SINCE=http_date(timezone.now().timestamp() + 60), **headers
        )
        assert since.status_code == 304


def test_head_describes_the_file_without_sending_it(world, version, token):
    for client, path, headers in _clients(world, version, token):
        response = client.head(path, HTTP_RANGE="bytes=0-9", **headers)
        assert response.status_code == 200, path  # Range means nothing for HEAD
        assert response.content == b""
        assert response["Content-Length"] == str(SIZE)
        assert response["ETag"] == f'"{version.sha256}"'


def test_the_public_download_may_sit_in_shared_caches_for_five_minutes(published):
    response = Client().get(f"/open/versions/{published.pk}/download/")
    assert response.status_code == 200
    assert _body(response) == CONTENT
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["ETag"] == f'"{published.sha256}"'
    part = Client().get(f"/open/versions/{published.pk}/download/", HTTP_RANGE="bytes=5-9")
    assert (part.status_code, _body(part)) == (206, CONTENT[5:10])
    assert Client().head(f"/open/versions/{published.pk}/download/")["Content-Length"] == str(SIZE)


def test_a_missing_file_is_still_410(world, version, token):
    default_storage.delete(version.file.name)
    for client, path, headers in _clients(world, version, token):
        assert client.get(path, HTTP_RANGE="bytes=0-5", **headers).status_code == 410, path


# --- tokens on the pages ------------------------------------------------------


def test_a_page_download_takes_the_api_token_and_refuses_a_wrong_one(world, version, token):
    for path in (f"/versions/{version.pk}/download/", f"/versions/{version.pk}/croissant.json"):
        assert Client().get(path, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
        for wrong in ("Token nope", "Token", "Token a b", f"Token {token[:-1]}x", "token \xe9"):
            response = Client().get(path, HTTP_AUTHORIZATION=wrong)
            assert response.status_code == 401, (path, wrong)
            assert response["WWW-Authenticate"] == "Token"
            assert "Location" not in response  # not the login page a script would save
        # No token: the browser's way, unchanged (the login page).
        assert Client().get(path).status_code == 302
        # Another scheme is not ours to judge: the login page, as before.
        assert Client().get(path, HTTP_AUTHORIZATION="Basic dTpw").status_code == 302


def test_a_token_of_an_inactive_user_is_refused(world, version, token):
    world.curator_a.is_active = False
    world.curator_a.save(update_fields=["is_active"])
    response = Client().get(
        f"/versions/{version.pk}/download/", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 401


def test_a_token_sees_what_its_user_sees_and_no_more(world, version):
    """404 for a version the token's user may not see, as for an unknown id."""
    other = Token.objects.create(user=world.curator_b).key
    for path in (f"/versions/{version.pk}/download/", f"/versions/{version.pk}/croissant.json"):
        hidden = Client().get(path, HTTP_AUTHORIZATION=f"Token {other}")
        unknown = Client().get(
            path.replace(str(version.pk), "999999"), HTTP_AUTHORIZATION=f"Token {other}"
        )
        assert hidden.status_code == unknown.status_code == 404
        assert CONTENT not in hidden.content


def test_file_pages_answer_only_get_and_head(world, version, token):
    for path in (f"/versions/{version.pk}/download/", f"/versions/{version.pk}/croissant.json"):
        response = Client().post(path, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 405


# --- reading only what is sent ------------------------------------------------


class _CountingFile:
    """A real open file that records each read's size."""

    def __init__(self, handle, reads: list[int]) -> None:
        self._handle, self._reads = handle, reads

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._reads.append(len(data))
        return data

    def __getattr__(self, name: str):
        return getattr(self._handle, name)


class CountingStorage(FileSystemStorage):
    """The local storage, noting how many bytes each read returned: a range must
    be read by seeking, and a whole file in bounded chunks, never at once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reads: list[int] = []

    def _open(self, name: str, mode: str = "rb") -> File:
        opened = super()._open(name, mode)
        return File(_CountingFile(opened.file, self.reads), name=opened.name)


def test_a_range_reads_only_its_bytes_and_a_whole_file_reads_in_chunks(db, tmp_path):
    storage = CountingStorage(location=tmp_path)
    content = bytes(range(256)) * 20_000  # 5 MB
    name = storage.save("big.bin", ContentFile(content))
    stored = StoredFile(
        name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        modified=timezone.now(),
        content_type="application/octet-stream",
        filename="big.bin",
    )
    factory = RequestFactory()

    tail = file_response(
        factory.get("/", HTTP_RANGE="bytes=-10"), stored, public=True, storage=storage
    )
    assert b"".join(tail.streaming_content) == content[-10:]
    tail.close()
    assert sum(storage.reads) == 10

    storage.reads.clear()
    middle = file_response(
        factory.get("/", HTTP_RANGE="bytes=3000000-3000099"), stored, public=True, storage=storage
    )
    assert b"".join(middle.streaming_content) == content[3_000_000:3_000_100]
    middle.close()
    assert sum(storage.reads) == 100

    storage.reads.clear()
    whole = file_response(factory.get("/"), stored, public=True, storage=storage)
    assert b"".join(whole.streaming_content) == content
    whole.close()
    assert sum(storage.reads) == len(content)
    assert max(storage.reads) == CHUNK_BYTES

    storage.reads.clear()
    current = file_response(
        factory.get("/", HTTP_IF_NONE_MATCH=f'"{stored.sha256}"'),
        stored,
        public=True,
        storage=storage,
    )
    assert current.status_code == 304
    head = file_response(factory.head("/"), stored, public=True, storage=storage)
    assert head["Content-Length"] == str(len(content))
    assert storage.reads == []  # neither reads the file
