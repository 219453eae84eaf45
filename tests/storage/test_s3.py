"""Stored files on S3 (SeaweedFS): uploads, downloads, the scrub, readers, watermarking."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from audits.provenance import services as provenance
from registry import services
from registry.models import DatasetVersion, StorageCheck
from registry.scrub import storage_check_version
from synthgov.env import s3_storage_from_env
from synthgov.storage import S3Storage, local_copy, stored_hash
from tests.audits.provenance.test_provenance import CATEGORICAL, TOLERANCES
from tests.audits.provenance.test_provenance import frame as placements_frame
from tests.registry.conftest import make_dataset, make_version, parquet_bytes, placements_csv
from tests.registry.conftest import upload as named_upload


def test_the_default_storage_is_the_bucket(s3):
    default_storage.exists("anything")  # resolves the lazy object
    assert isinstance(default_storage._wrapped, S3Storage)
    assert default_storage.bucket_name == s3.bucket


def test_an_upload_through_the_form_lands_in_the_bucket_under_its_hash(s3, world, client):
    dataset = make_dataset(world)
    content = placements_csv(rows=300)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload", args=[dataset.pk]), {"file": named_upload(content)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    version = DatasetVersion.objects.get(dataset=dataset)
    digest = hashlib.sha256(content).hexdigest()
    assert version.sha256 == digest
    key = f"versions/{digest[:2]}/{digest}.csv"
    assert version.file.name == key
    assert s3.names() == [key]
    assert s3.read(key) == content
    # Nothing of it stayed on this machine: not in MEDIA_ROOT, not in the upload folder.
    assert s3.local_files() == []
    assert s3.upload_leftovers() == []


def test_an_upload_through_the_api_lands_in_the_bucket(s3, world):
    dataset = make_dataset(world)
    content = parquet_bytes(placements_frame(rows=500))
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": named_upload(content, "placements.parquet")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    digest = hashlib.sha256(content).hexdigest()
    assert response.json()["sha256"] == digest
    assert s3.read(f"versions/{digest[:2]}/{digest}.parquet") == content
    assert s3.local_files() == []


def test_the_same_bytes_in_two_datasets_are_stored_once(s3, world):
    content = placements_csv(rows=50)
    first = make_version(make_dataset(world, name="One"), world.curator_a, content)
    second = make_version(make_dataset(world, name="Two"), world.curator_a, content)
    assert first.file.name == second.file.name
    assert s3.names() == [first.file.name]


def test_downloads_stream_the_bytes_from_the_bucket(s3, world, client):
    content = placements_csv(rows=2_000)
    version = make_version(make_dataset(world), world.curator_a, content)
    client.force_login(world.curator_a)
    response = client.get(f"/versions/{version.pk}/download/")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == content
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.get(f"/api/v1/versions/{version.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert s3.local_files() == []


def test_someone_who_may_not_read_the_version_learns_nothing(s3, world, client):
    version = make_version(make_dataset(world), world.curator_a)
    client.force_login(world.curator_b)  # another organisation's curator
    assert client.get(f"/versions/{version.pk}/download/").status_code == 404


def test_an_object_missing_from_the_bucket_answers_410_with_the_message(s3, world, client):
    version = make_version(make_dataset(world), world.curator_a)
    s3.delete(version.file.name)
    client.force_login(world.curator_a)
    page = client.get(f"/versions/{version.pk}/download/")
    assert page.status_code == 410
    assert "missing from storage" in page.content.decode()
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.get(f"/api/v1/versions/{version.pk}/download/")
    assert response.status_code == 410
    assert "missing from storage" in response.json()["detail"]


def test_the_storage_scrub_rehashes_objects_in_the_bucket(s3, world):
    version = make_version(make_dataset(world), world.curator_a)
    assert storage_check_version(version=version).outcome == StorageCheck.Outcome.OK
    s3.put(version.file.name, b"record_id,x\n1,2\n")
    altered = storage_check_version(version=version)
    assert altered.outcome == StorageCheck.Outcome.ALTERED
    assert altered.sha256 == hashlib.sha256(b"record_id,x\n1,2\n").hexdigest()
    s3.delete(version.file.name)
    assert storage_check_version(version=version).outcome == StorageCheck.Outcome.MISSING


def test_readers_get_a_temporary_copy_that_is_removed(s3, world):
    content = placements_csv(rows=1_000)
    version = make_version(make_dataset(world), world.curator_a, content)
    with services.stored_file(version) as path:
        assert path.read_bytes() == content
        assert path.parent == s3.uploads
        frame = services.ingest.read_frame(path, services.version_table_info(version))
    assert not path.exists()
    assert len(frame) == 1_000
    with pytest.raises(FileNotFoundError), local_copy("versions/00/absent.csv"):
        pass
    assert s3.upload_leftovers() == []


def test_a_stored_parquet_file_is_read_with_range_requests(s3, world):
    """Arrow reads the footer and one column by seeking the stored object: no copy."""
    table = placements_frame(rows=20_000)
    version = make_version(make_dataset(world), world.curator_a, parquet_bytes(table))
    with default_storage.open(version.file.name, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        assert parquet.metadata.num_rows == 20_000
        scores = parquet.read(columns=["score"]).column("score").to_pylist()
    assert scores == table["score"].tolist()


def test_seeking_reads_the_right_bytes(s3, world):
    content = placements_csv(rows=3_000)
    version = make_version(make_dataset(world), world.curator_a, content)
    with default_storage.open(version.file.name, "rb") as handle:
        assert handle.size == len(content)
        handle.seek(1_000)
        assert handle.read(50) == content[1_000:1_050]
        handle.seek(-20, io.SEEK_END)
        assert handle.read() == content[-20:]
        handle.seek(10)
        assert handle.read(5) == content[10:15]


def test_stored_files_have_no_public_url(s3, world):
    version = make_version(make_dataset(world), world.curator_a)
    with pytest.raises(NotImplementedError, match="no public URL"):
        default_storage.url(version.file.name)
    # And the bucket refuses a request without credentials.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3.server.endpoint}/{s3.bucket}/{s3.key(version.file.name)}")  # noqa: S310
    refused.value.close()
    assert refused.value.code == 403


@pytest.mark.usefixtures("org_keys")
def test_watermarking_writes_the_marked_file_to_the_bucket(s3, world, settings, tmp_path):
    source = make_version(
        make_dataset(world), world.curator_a, placements_frame().to_csv(index=False).encode()
    )
    marked = provenance.version_watermark(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical=CATEGORICAL
    )
    assert s3.names() == sorted([source.file.name, marked.file.name])
    stored = s3.read(marked.file.name)
    assert hashlib.sha256(stored).hexdigest() == marked.sha256
    before = pd.read_csv(io.BytesIO(s3.read(source.file.name)))
    after = pd.read_csv(io.BytesIO(stored))
    assert (after["score"] - before["score"]).abs().max() <= TOLERANCES["score"]
    assert marked.watermark["detection"]["present"] is True
    assert s3.local_files() == []
    assert stored_hash(marked.file.name) == marked.sha256


@pytest.fixture
def org_keys(settings, tmp_path):
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    return tmp_path / "keys"


def test_wrong_credentials_answer_503_not_500(s3, world, client, settings):
    version = make_version(make_dataset(world), world.curator_a)
    wrong = {**s3.env, "AWS_SECRET_ACCESS_KEY": "not-the-key"}
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_from_env(environ=wrong)}
    client.force_login(world.curator_a)
    page = client.get(f"/versions/{version.pk}/download/")
    assert page.status_code == 503
    assert "AWS_SECRET_ACCESS_KEY" not in page.content.decode()  # details are for the log
