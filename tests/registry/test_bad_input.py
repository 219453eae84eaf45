"""Every bad upload the registry issue lists, through the web form and the API:
a message that says what is wrong and what to do, and nothing stored."""

from __future__ import annotations

import gzip
import html
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import DatasetVersion
from tests.registry.conftest import make_dataset, make_version, placements_csv, upload

pytestmark = pytest.mark.usefixtures("registry_storage")

CP1252 = "name,city\nJosé,Málaga\nZoë,Köln\n".encode("cp1252")


def _stored_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _leftovers() -> list[str]:
    return os.listdir(settings.FILE_UPLOAD_TEMP_DIR)


CASES = [
    # id, file name, content, settings overrides, words the message must contain
    ("empty", "empty.csv", b"", {}, ["empty"]),
    ("not-tabular", "photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, {}, ["PNG"]),
    ("fake-parquet", "data.parquet", b"PAR1" + b"garbage" * 50 + b"PAR1", {}, ["Parquet"]),
    ("encoding", "latin.csv", CP1252, {}, ["UTF-8", "Windows-1252"]),
    ("ragged", "ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", {}, ["Line 3", "2 fields"]),
    ("duplicate-columns", "dup.csv", b"a,b,a\n1,2,3\n", {}, ["'a'"]),
    ("empty-column-name", "blank.csv", b"a,,c\n1,2,3\n", {}, ["column 2"]),
    ("header-only", "header.csv", b"a,b,c\n", {}, ["header", "no data rows"]),
    (
        "too-many-columns",
        "wide.csv",
        (",".join(f"c{i}" for i in range(12)) + "\n" + ",".join("1" * 12) + "\n").encode(),
        {"SYNTHGOV_MAX_COLUMNS": 10},
        ["12 columns", "10"],
    ),
    (
        "zip-bomb",
        "bomb.csv.gz",
        gzip.compress(b"a,b\n" + b"1,2\n" * 400_000),
        {"SYNTHGOV_MAX_UPLOAD_BYTES": 200_000},
        ["expands", "limit"],
    ),
    (
        "too-large",
        "big.csv",
        b"a,b\n" + b"1,2\n" * 100_000,
        {"SYNTHGOV_MAX_UPLOAD_BYTES": 50_000},
        ["larger than the limit"],
    ),
    ("long-name", "x" * 296 + ".csv", b"a,b\n1,2\n", {}, ["300 characters"]),
]


@pytest.fixture
def dataset_with_v1(world):
    dataset = make_dataset(world)
    v1 = make_version(dataset, world.curator_a)
    return dataset, v1


def _assert_nothing_stored(dataset, v1, files_before):
    assert list(DatasetVersion.objects.filter(dataset=dataset)) == [v1]
    assert _stored_files() == files_before
    assert _leftovers() == []
    v1.refresh_from_db()
    assert Path(settings.MEDIA_ROOT, v1.file.name).read_bytes() == placements_csv()


@pytest.mark.parametrize(
    ("name", "content", "overrides", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_upload_through_the_form(
    client, world, settings, dataset_with_v1, name, content, overrides, words
):
    dataset, v1 = dataset_with_v1
    files_before = _stored_files()
    for key, value in overrides.items():
        setattr(settings, key, value)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload", args=[dataset.pk]), {"file": upload(content, name)}
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode()).lower()
    for word in words:
        assert word.lower() in page, f"{word!r} missing from the error"
    _assert_nothing_stored(dataset, v1, files_before)


@pytest.mark.parametrize(
    ("name", "content", "overrides", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_upload_through_the_api(
    world, settings, dataset_with_v1, name, content, overrides, words
):
    dataset, v1 = dataset_with_v1
    files_before = _stored_files()
    for key, value in overrides.items():
        setattr(settings, key, value)
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": upload(content, name)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    text = " ".join(str(v) for v in body.values()).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} missing from {body}"
    assert body.get("hint"), "the API also says what to do"
    _assert_nothing_stored(dataset, v1, files_before)


def test_encoding_choice_offered_and_accepted(client, world, dataset_with_v1):
    dataset, _ = dataset_with_v1
    client.force_login(world.curator_a)
    url = reverse("registry:upload", args=[dataset.pk])
    refused = client.post(
        url, {"file": upload(CP1252, "latin.csv")}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert refused.status_code == 400
    choices = refused.json()["encoding_choices"]
    assert "cp1252" in choices
    accepted = client.post(url, {"file": upload(CP1252, "latin.csv"), "encoding": "cp1252"})
    assert accepted.status_code == 302
    version = dataset.versions.get(number=2)
    assert version.encoding == "cp1252"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("имя,город\nИван,Москва\nОльга,Санкт-Петербург\nСергей,Новосибирск\n", "koi8-r"),
        ("名前,都市,備考\n山田,東京,支払い済み\n佐藤,大阪,署名なし\n", "euc_jp"),
        ("الاسم,المدينة\nمحمد,القاهرة\nفاطمة,الرياض\nيوسف,بيروت\n", "cp1256"),
    ],
)
def test_encodings_the_old_detector_did_not_know_are_offered_and_accepted(
    client, world, dataset_with_v1, text, encoding
):
    # Before issue 14 the upload page could neither name nor accept these.
    dataset, _ = dataset_with_v1
    client.force_login(world.curator_a)
    url = reverse("registry:upload", args=[dataset.pk])
    data = text.encode(encoding)
    refused = client.post(
        url, {"file": upload(data, "legacy.csv")}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert refused.status_code == 400
    assert refused.json()["encoding_choices"][0] == encoding
    accepted = client.post(url, {"file": upload(data, "legacy.csv"), "encoding": encoding})
    assert accepted.status_code == 302
    version = dataset.versions.get(number=2)
    assert version.encoding == encoding
    assert version.schema[0]["name"] == text.split(",")[0]  # read in its own script


def test_oversize_upload_is_cut_off_while_streaming(rf, settings):
    """The handler refuses at the first chunk past the limit, before the rest arrives."""
    from django.core.files.uploadhandler import SkipFile

    from registry.uploads import LimitedTemporaryFileUploadHandler, upload_refusal

    settings.SYNTHGOV_MAX_UPLOAD_BYTES = 100_000
    request = rf.post("/")
    handler = LimitedTemporaryFileUploadHandler(request)
    handler.handle_raw_input(None, {}, 0, b"x")
    handler.new_file("file", "big.csv", "text/csv", None)
    handler.receive_data_chunk(b"x" * 65_536, 0)
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x" * 65_536, 65_536)
    assert upload_refusal(request).code == "too_large"
    assert handler.file.closed


def test_declared_length_far_past_the_limit_is_refused_before_reading(rf, settings):
    from django.core.files.uploadhandler import SkipFile

    from registry.uploads import LimitedTemporaryFileUploadHandler, upload_refusal

    settings.SYNTHGOV_MAX_UPLOAD_BYTES = 1000
    request = rf.post("/")
    handler = LimitedTemporaryFileUploadHandler(request)
    handler.handle_raw_input(None, {}, 50 * 1024**2, b"x")
    assert upload_refusal(request) is not None
    with pytest.raises(SkipFile):
        handler.new_file("file", "big.csv", "text/csv", None)


def test_path_like_name_never_becomes_a_path(client, world, dataset_with_v1):
    """The stored file is named by its hash whatever the upload was called, and the
    service refuses any path-like name it is handed directly. (Django's test client
    sends only the last part of a name; a path sent raw is refused at the request,
    see test_input_answers.py::test_file_names_are_checked_as_sent.)"""
    from django.core.exceptions import ValidationError

    from registry import services

    dataset, _ = dataset_with_v1
    client.force_login(world.curator_a)
    content = placements_csv(12, seed=5)
    response = client.post(
        reverse("registry:upload", args=[dataset.pk]),
        {"file": upload(content, "../../etc/passwd.csv")},
    )
    assert response.status_code == 302
    version = dataset.versions.get(number=2)
    assert version.original_name == "passwd.csv"
    assert version.file.name == f"versions/{version.sha256[:2]}/{version.sha256}.csv"
    with pytest.raises(ValidationError, match="looks like a path"):
        services.dataset_version_create(
            dataset=dataset,
            user=world.curator_a,
            chunks=iter([placements_csv(13)]),
            original_name="../../etc/passwd.csv",
        )
    assert dataset.versions.count() == 2


def test_bad_lineage_through_form_and_api(client, world, dataset_with_v1):
    _, v1 = dataset_with_v1
    other = make_version(make_dataset(world, org="org_b"), world.curator_b)
    client.force_login(world.curator_a)
    url = reverse("registry:lineage", args=[v1.pk])
    form = {
        "parents-TOTAL_FORMS": "1",
        "parents-INITIAL_FORMS": "0",
        "parents-0-parent": str(other.pk),
        "parents-0-relation": "trained_on",
        "parameters": "{not json",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Select a valid choice" in page  # invisible parent is not even offered
    form["parents-0-parent"] = ""
    page = client.post(url, form).content.decode()
    assert "not valid JSON" in page
    api = APIClient()
    api.force_authenticate(world.curator_a)
    bad_parent = api.put(
        f"/api/v1/versions/{v1.pk}/lineage/",
        {"parents": [{"parent": other.pk, "relation": "trained_on"}]},
        format="json",
    )
    assert bad_parent.status_code == 400
    assert "not visible" in str(bad_parent.json())
    missing = api.put(
        f"/api/v1/versions/{v1.pk}/lineage/",
        {"parents": [{"parent": 987654, "relation": "trained_on"}]},
        format="json",
    )
    assert missing.status_code == 400
    assert "does not exist" in str(missing.json())
    assert not v1.parent_edges.exists()
