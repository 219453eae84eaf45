"""Registry inputs that used to end in a 500, or in a stored result that was wrong,
now get a clear 4xx saying what to fix, with nothing stored: deeply nested JSON, a
parent listed twice, out-of-range seeds, names with line breaks (and downloads named
after them), Parquet files declaring huge tables, over-coarse watermark tolerances and
file names with paths in them, judged as sent."""

from __future__ import annotations

import html
import io
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from registry import services
from registry.models import Dataset, DatasetVersion, LineageEdge, WatermarkRun
from tests.registry.conftest import make_dataset, make_version, parquet_bytes, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _stored_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def versions(world):
    real = make_version(make_dataset(world, name="Real", kind="real"), world.curator_a)
    child = make_version(make_dataset(world, name="Child"), world.curator_a)
    return real, child


# --- deeply nested JSON -----------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_a_json_body_nested_deeply_is_refused(world, versions, depth):
    _, child = versions
    api = _api(world.curator_a)
    body = '{"parents": [], "parameters": ' + _nested(depth) + "}"
    for method, url in [
        ("put", f"/api/v1/versions/{child.pk}/lineage/"),
        ("post", "/api/v1/datasets/"),
        ("post", "/api/v1/audits/"),
    ]:
        response = getattr(api, method)(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content[:200])
        assert "nested more than 32 levels" in response.json()["detail"]
    assert Dataset.objects.count() == 2


def test_generator_parameters_nested_deeply_are_refused_by_form_and_api(client, world, versions):
    _, child = versions
    api = _api(world.curator_a)
    response = api.put(
        f"/api/v1/versions/{child.pk}/lineage/",
        {"parents": [], "parameters": _loads(_nested(20))},
        format="json",
    )
    assert response.status_code == 400
    assert "nested more than 16 levels" in str(response.json()["parameters"])
    client.force_login(world.curator_a)
    page = client.post(
        reverse("registry:lineage", args=[child.pk]),
        {
            "parents-TOTAL_FORMS": "0",
            "parents-INITIAL_FORMS": "0",
            "parameters": _nested(100_000),
        },
    )
    assert page.status_code == 200
    assert "nested more than 16 levels" in page.content.decode()


def _loads(text: str):
    import json

    return json.loads(text)


# --- lineage ------------------------------------------------------------------------


def test_the_same_parent_twice_is_refused_by_api_and_form(client, world, versions):
    real, child = versions
    twice = [
        {"parent": real.pk, "relation": "trained_on"},
        {"parent": real.pk, "relation": "derived_from"},
    ]
    response = _api(world.curator_a).put(
        f"/api/v1/versions/{child.pk}/lineage/", {"parents": twice}, format="json"
    )
    assert response.status_code == 400, response.content
    assert f"#{real.pk} is listed 2 times" in str(response.json())
    client.force_login(world.curator_a)
    page = client.post(
        reverse("registry:lineage", args=[child.pk]),
        {
            "parents-TOTAL_FORMS": "2",
            "parents-INITIAL_FORMS": "0",
            "parents-0-parent": str(real.pk),
            "parents-0-relation": "trained_on",
            "parents-1-parent": str(real.pk),
            "parents-1-relation": "trained_on",
        },
    )
    assert page.status_code == 200
    assert "listed 2 times" in page.content.decode()
    assert not LineageEdge.objects.exists()


@pytest.mark.parametrize("seed", [2**63, -(2**63) - 1, 10**30])
def test_a_generator_seed_beyond_64_bits_is_refused(client, world, versions, seed):
    _, child = versions
    response = _api(world.curator_a).put(
        f"/api/v1/versions/{child.pk}/lineage/", {"parents": [], "seed": seed}, format="json"
    )
    assert response.status_code == 400 and "seed" in response.json()
    client.force_login(world.curator_a)
    page = client.post(
        reverse("registry:lineage", args=[child.pk]),
        {"parents-TOTAL_FORMS": "0", "parents-INITIAL_FORMS": "0", "seed": str(seed)},
    )
    assert page.status_code == 200 and "seed" in page.content.decode().lower()
    with pytest.raises(services.ValidationError, match="64 bits"):
        services.version_lineage_set(
            version=child, user=world.curator_a, parents=[], generation={"seed": seed}
        )


# --- names and downloads ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Two\r\nlines", "Tab\there", "Hidden\u202ecsv.exe", "Nul\x00"])
def test_a_dataset_name_with_control_characters_is_refused(world, name):
    fields = {"kind": "fully_synthetic", "domain": "education", "licence": "CC-BY-4.0"}
    response = _api(world.curator_a).post(
        "/api/v1/datasets/", {"name": name, "access": "restricted", **fields}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "name" in response.json()
    assert not Dataset.objects.exists()


def _parquet_version(world, name: str):
    dataset = make_dataset(world, name="Parquet placeholder")
    frame = pd.read_csv(io.BytesIO(placements_csv(30)))
    version = services.dataset_version_create(
        dataset=dataset,
        user=world.curator_a,
        chunks=iter([parquet_bytes(frame)]),
        original_name="placements.parquet",
    )
    # Names saved before names were checked may hold anything.
    Dataset.objects.filter(pk=dataset.pk).update(name=name)
    return version


def _downloads(version) -> list[str]:
    return [
        reverse("registry:download", args=[version.pk]),
        reverse("audits:manifest", args=[version.pk]),
        reverse("audits:manifest_parquet", args=[version.pk]),
        reverse("registry:croissant", args=[version.pk]),
        reverse("registry:prov", args=[version.dataset_id]),
        f"/api/v1/versions/{version.pk}/download/",
    ]


def _consume(response) -> None:
    if response.streaming:
        b"".join(response.streaming_content)


def test_downloads_of_a_dataset_named_with_line_breaks_work(world, settings, tmp_path):
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    version = _parquet_version(world, 'Bad\r\nSet-Cookie: x=1\r\n"name"\t\u202e')
    client = Client()
    client.force_login(world.curator_a)
    for url in _downloads(version):
        response = client.get(url)
        _consume(response)
        assert response.status_code == 200, url
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment; ")
        assert not any(ch in disposition for ch in "\r\n\t\u202e"), disposition
        assert "Set-Cookie" not in response.cookies


def test_non_ascii_names_download_under_their_own_name(world, settings, tmp_path):
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    version = _parquet_version(world, "Données élèves 学生")
    client = Client()
    client.force_login(world.curator_a)
    for url in _downloads(version)[:3]:
        response = client.get(url)
        _consume(response)
        disposition = response["Content-Disposition"]
        disposition.encode("ascii")  # a header value is ASCII, never raw UTF-8
        fallback, encoded = disposition.split("; ")[1:]
        assert fallback.startswith('filename="Donnees eleves')
        assert encoded.startswith("filename*=UTF-8''")
        assert unquote(encoded.removeprefix("filename*=UTF-8''")).startswith(
            "Données élèves 学生-v1."
        )


# --- Parquet declaring a huge table -----------------------------------------------------


def _repeated_parquet(rows: int) -> bytes:
    """A small file declaring ``rows`` rows of one value (8 bytes each uncompressed)."""
    table = pa.table({"x": pa.array(np.zeros(rows, dtype=np.int64))})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", use_dictionary=False)
    return buffer.getvalue()


def _lying_parquet(rows: int, declared: int) -> bytes:
    """A Parquet file holding ``rows`` rows whose footer declares only ``declared``
    (both below 8,192 so each is a two-byte varint): the file-level ``num_rows`` is the
    first i64 field 3 of the footer, ahead of the row groups' own counts."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": np.arange(rows, dtype=np.int64)}), buffer)
    data = buffer.getvalue()
    footer_length = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_length

    def field(value: int) -> bytes:  # thrift compact: field delta 1, i64, zigzag varint
        zigzag = value << 1
        return bytes([0x16, (zigzag & 0x7F) | 0x80, zigzag >> 7])

    at = data.index(field(rows), start)
    lying = data[:at] + field(declared) + data[at + 3 :]
    assert pq.ParquetFile(io.BytesIO(lying)).metadata.num_rows == declared
    return lying


def _post_table(user, dataset, data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return _api(user).post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"file": handle}, format="multipart"
    )


@pytest.mark.parametrize("limit", ["rows", "bytes"])
def test_a_parquet_file_declaring_more_than_the_limits_is_refused(world, settings, limit):
    data = _repeated_parquet(2_000_000)
    assert len(data) < 100_000  # small on the wire
    if limit == "rows":
        settings.SYNTHGOV_MAX_PARQUET_ROWS = 1_000_000
        words = "declares 2,000,000 rows; the limit for a Parquet table is 1,000,000"
    else:
        settings.SYNTHGOV_MAX_UPLOAD_BYTES = 2_000_000
        words = "of data once uncompressed; the limit is"
    dataset = make_dataset(world)
    before = _stored_files()
    response = _post_table(world.curator_a, dataset, data, "huge.parquet")
    assert response.status_code == 400, response.content
    assert words in str(response.json()["file"])
    assert not DatasetVersion.objects.exists()
    assert _stored_files() == before


def test_row_limits_differ_by_format_through_the_api(world, settings):
    """An audit reads a CSV whole and a Parquet table column by column, so the same
    rows pass as Parquet and are refused as CSV, with the Parquet limit in the hint;
    Parquet is held to its own limit, not the CSV one."""
    settings.SYNTHGOV_MAX_ROWS = 30
    settings.SYNTHGOV_MAX_PARQUET_ROWS = 40
    dataset = make_dataset(world)
    frame = pd.read_csv(io.BytesIO(placements_csv(31)))

    refused = _post_table(world.curator_a, dataset, placements_csv(31), "placements.csv")
    assert refused.status_code == 400, refused.content
    answer = refused.json()
    assert answer["file"] == ["The CSV file has 31 rows; the limit for a CSV table is 30."]
    assert answer["code"] == "too_many_rows"
    assert "a Parquet table may have up to 40 rows" in answer["hint"]
    assert not DatasetVersion.objects.exists()

    accepted = _post_table(world.curator_a, dataset, parquet_bytes(frame), "placements.parquet")
    assert accepted.status_code == 201, accepted.content
    assert DatasetVersion.objects.get().row_count == 31

    longer = pd.read_csv(io.BytesIO(placements_csv(41)))
    over = _post_table(world.curator_a, dataset, parquet_bytes(longer), "longer.parquet")
    assert over.status_code == 400, over.content
    assert "declares 41 rows; the limit for a Parquet table is 40." in str(over.json()["file"])
    assert DatasetVersion.objects.count() == 1


def test_a_csv_too_long_even_for_parquet_is_told_to_split_it(world, settings):
    settings.SYNTHGOV_MAX_ROWS = 30
    settings.SYNTHGOV_MAX_PARQUET_ROWS = 30
    dataset = make_dataset(world)
    response = _post_table(world.curator_a, dataset, placements_csv(31), "placements.csv")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert "31 rows; the limit for a CSV table is 30" in str(answer["file"])
    assert "split it into several datasets" in answer["hint"]
    assert "Parquet" not in answer["hint"]


def test_a_parquet_footer_declaring_fewer_rows_than_it_holds_is_refused(world, settings):
    """The declared count is checked before reading, so a footer that understates the
    rows would slip a table past the limit; the rows read must match it."""
    settings.SYNTHGOV_MAX_PARQUET_ROWS = 100
    dataset = make_dataset(world)
    before = _stored_files()
    response = _post_table(world.curator_a, dataset, _lying_parquet(1_000, 20), "lying.parquet")
    assert response.status_code == 400, response.content
    assert "promises 20 rows but 1,000 could be read" in str(response.json()["file"])
    assert not DatasetVersion.objects.exists()
    assert _stored_files() == before


def test_a_csv_with_more_rows_than_the_limit_is_refused(world, settings):
    settings.SYNTHGOV_MAX_ROWS = 30
    dataset = make_dataset(world)
    with pytest.raises(services.UploadRefused, match="31 rows; the limit for a CSV table is 30"):
        services.dataset_version_create(
            dataset=dataset,
            user=world.curator_a,
            chunks=iter([placements_csv(31)]),
            original_name="placements.csv",
        )
    assert not DatasetVersion.objects.exists()


# --- watermark tolerances -----------------------------------------------------------------


def test_a_watermark_tolerance_too_large_to_mark_anything_is_refused(
    client, world, settings, tmp_path
):
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a, placements_csv(300))
    api = _api(world.curator_a)
    for tolerance in (1e9, 1e300, 40.0):
        response = api.post(
            f"/api/v1/versions/{version.pk}/watermark/",
            {"tolerances": {"degree_percentage": tolerance}, "categorical": {}},
            format="json",
        )
        assert response.status_code == 400, response.content
        assert "too large for the values" in str(response.json())
    client.force_login(world.curator_a)
    page = client.post(
        reverse("audits:watermark", args=[version.pk]),
        {"tol_2": "1e9", "category_rate": "0.1"},
    )
    assert page.status_code == 200
    assert "too large for the values" in page.content.decode()
    assert not WatermarkRun.objects.exists()
    assert dataset.versions.count() == 1


def test_a_watermark_that_marks_no_cell_makes_no_version(world, settings, tmp_path):
    """Behind the request-time check: when the keyed selection picks no unit of the
    values, the run fails with the reason and no version labelled watermarked is made.
    Which column's single unit goes unselected depends on the key: with 20 columns,
    at least one does (all 20 selected has probability 3**-20)."""
    from django.core.exceptions import ValidationError

    from audits.checks import watermark
    from audits.provenance import services as provenance

    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.uniform(10, 20, 50).round(3) for i in range(20)})
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a, frame.to_csv(index=False).encode())
    DatasetVersion.objects.filter(pk=version.pk).update(profile={})  # no ranges to judge
    version.refresh_from_db()
    secret = provenance.organisation_keys(dataset.organisation).watermark_secret
    unmarked = next(
        c for c in frame if watermark.embed(frame, secret, {c: 1e9})[1].cells_marked == 0
    )
    with pytest.raises(ValidationError, match="No cell"):
        provenance.version_watermark(
            version=version, user=world.curator_a, tolerances={unmarked: 1e9}, categorical={}
        )
    assert dataset.versions.count() == 1


# --- file names as sent ---------------------------------------------------------------


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body whose file name is exactly ``name`` (Django's test client
    would strip a path from it before sending)."""
    boundary = "synthgovboundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../../etc/passwd.csv", "looks like a path"),
        ("C:\\Users\\x\\data.csv", "looks like a path"),
        ("..", "not a file name"),
        ("data\u202ecsv.exe", "invisible control character"),
    ],
)
def test_file_names_are_checked_as_sent(world, name, words):
    dataset = make_dataset(world)
    client = Client()
    client.force_login(world.curator_a)
    before = _stored_files()
    body, content_type = _multipart(name, placements_csv(12))
    page = client.generic(
        "POST", reverse("registry:upload", args=[dataset.pk]), body, content_type=content_type
    )
    assert page.status_code == 400
    assert words in html.unescape(page.content.decode())
    api = client.generic(
        "POST", f"/api/v1/datasets/{dataset.pk}/versions/", body, content_type=content_type
    )
    assert api.status_code == 400, api.content
    assert words in str(api.json())
    assert not DatasetVersion.objects.exists()
    assert _stored_files() == before
