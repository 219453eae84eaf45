"""Missing-value markers ("?" in UCI Adult) declared at upload count as missing in
the schema, the profile and every reader of the stored file (audits, watermarking),
while the stored bytes stay exactly as uploaded."""

import hashlib
import html

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from registry import ingest, services
from registry.models import DatasetVersion
from tests.registry.conftest import make_dataset, parquet_bytes, upload

pytestmark = pytest.mark.usefixtures("registry_storage")


def adult_csv(rows: int = 40) -> bytes:
    """A slice shaped like UCI Adult: '?' for a missing age or workclass, sometimes
    with the space UCI's own files put after the comma."""
    lines = ["age,workclass,hours_per_week"]
    for i in range(rows):
        age = "?" if i % 10 == 3 else str(20 + i)
        work = " ?" if i % 8 == 5 else ("?" if i % 8 == 6 else ["Private", "State-gov"][i % 2])
        lines.append(f"{age},{work},{30 + i % 20}")
    return ("\n".join(lines) + "\n").encode()


ADULT = adult_csv()
AGE_MISSING = sum(1 for i in range(40) if i % 10 == 3)  # 4
WORK_MISSING = sum(1 for i in range(40) if i % 8 in (5, 6))  # 10


def _profile(version: DatasetVersion, name: str) -> dict:
    return next(c for c in version.profile["columns"] if c["name"] == name)


def _assert_markers_applied(version: DatasetVersion) -> None:
    assert version.missing_markers == ["?"]
    assert version.column("age")["type"] == "numerical"
    age = _profile(version, "age")
    assert age["missing"] == AGE_MISSING and age["min"] == 20
    work = _profile(version, "workclass")
    assert work["missing"] == WORK_MISSING
    assert "?" not in {t["value"].strip() for t in work["top"]}
    # Stored exactly as uploaded: the hash is the upload's and the '?' are still there.
    with services.stored_file(version) as path:
        stored = path.read_bytes()
    assert stored == ADULT
    assert version.sha256 == hashlib.sha256(ADULT).hexdigest()


def test_without_markers_question_marks_are_values(world):
    version = services.dataset_version_create(
        dataset=make_dataset(world),
        user=world.curator_a,
        chunks=iter([ADULT]),
        original_name="a.csv",
    )
    assert version.missing_markers == []
    assert version.column("age")["type"] != "numerical"
    assert _profile(version, "workclass")["missing"] == 0


def test_markers_declared_through_the_web_form(client, world):
    dataset = make_dataset(world)
    client.force_login(world.curator_a)
    url = reverse("registry:upload", args=[dataset.pk])
    page = client.get(url).content.decode()
    assert 'name="missing_markers"' in page and "Missing-value markers" in page
    assert "data-marker-suggestion" in page
    response = client.post(url, {"file": upload(ADULT, "adult.csv"), "missing_markers": " ?, "})
    assert response.status_code == 302, response.content.decode()[:2000]
    version = dataset.versions.get()
    _assert_markers_applied(version)
    detail = client.get(version.get_absolute_url()).content.decode()
    assert "“<code>?</code>” (declared at upload)" in detail


def test_markers_declared_through_the_api(world):
    dataset = make_dataset(world)
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": upload(ADULT, "adult.csv"), "missing_markers": "?"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["missing_markers"] == ["?"]
    age = next(c for c in body["schema"] if c["name"] == "age")
    assert age["type"] == "numerical"
    _assert_markers_applied(DatasetVersion.objects.get(pk=body["id"]))


BAD_MARKERS = [
    (",".join(f"m{i}" for i in range(21)), "at most 20"),
    ("?," + "x" * 41, "longer than 40 characters"),
    ("?,\tNA", None),  # tab is trimmed: fine
    ("a\nb", "control character"),
]


@pytest.mark.parametrize(("markers", "words"), BAD_MARKERS)
def test_bad_markers_are_refused_with_the_reason(client, world, markers, words):
    dataset = make_dataset(world)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload", args=[dataset.pk]),
        {"file": upload(ADULT, "adult.csv"), "missing_markers": markers},
    )
    if words is None:
        assert response.status_code == 302
        assert dataset.versions.get().missing_markers == ["?", "NA"]
        return
    assert response.status_code == 400
    assert words in html.unescape(response.content.decode())
    assert not dataset.versions.exists()
    api = APIClient()
    api.force_authenticate(world.curator_a)
    refused = api.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"file": upload(ADULT, "adult.csv"), "missing_markers": markers},
        format="multipart",
    )
    assert refused.status_code == 400
    assert words in " ".join(refused.json()["missing_markers"])
    assert not dataset.versions.exists()


def test_overlong_marker_text_is_refused_before_parsing(client, world):
    dataset = make_dataset(world)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload", args=[dataset.pk]),
        {"file": upload(ADULT, "adult.csv"), "missing_markers": "?" * 5000},
    )
    assert response.status_code == 400
    assert "at most" in html.unescape(response.content.decode())
    assert not dataset.versions.exists()


def test_parse_missing_markers_rules():
    assert ingest.parse_missing_markers("?, -999 ,?,") == ("?", "-999")
    assert ingest.parse_missing_markers(["?", " n/a "]) == ("?", "n/a")
    assert ingest.parse_missing_markers("") == ()
    assert ingest.parse_missing_markers(" , ") == ()
    with pytest.raises(ingest.MarkerError, match="comma"):
        ingest.parse_missing_markers(["a,b"])
    with pytest.raises(ValidationError) as info:
        services.missing_markers_clean("x" * 41)
    assert "missing_markers" in info.value.message_dict


def test_audit_input_reads_markers_as_nan(world):
    """What an audit (and watermarking) reads: version_table_info + read_frame."""
    version = services.dataset_version_create(
        dataset=make_dataset(world),
        user=world.curator_a,
        chunks=iter([ADULT]),
        original_name="adult.csv",
        missing_markers="?",
    )
    stored = DatasetVersion.objects.get(pk=version.pk)
    info = services.version_table_info(stored)
    assert info.missing_markers == ("?",)
    with services.stored_file(stored) as path:
        frame = ingest.read_frame(path, info)
        sample = ingest.sample_frame(path, info, rows=10, seed=1)
    assert frame["age"].dtype.kind in "if"
    assert np.isnan(frame.loc[3, "age"]) and frame["age"].isna().sum() == AGE_MISSING
    assert pd.isna(frame.loc[5, "workclass"]) and pd.isna(frame.loc[6, "workclass"])
    assert frame["workclass"].isna().sum() == WORK_MISSING
    assert not sample.isin(["?", " ?"]).any().any()


def test_markers_apply_to_parquet_text_columns(world):
    frame = pd.DataFrame(
        {
            "age": ["39", "?", "50", "41"] * 10,
            "workclass": ["Private", "?", "State-gov", " ?"] * 10,
            "hours": [40, 13, 40, 45] * 10,
        }
    )
    version = services.dataset_version_create(
        dataset=make_dataset(world),
        user=world.curator_a,
        chunks=iter([parquet_bytes(frame)]),
        original_name="adult.parquet",
        missing_markers="?",
    )
    assert version.column("age")["type"] == "numerical"
    assert _profile(version, "workclass")["missing"] == 20
    with services.stored_file(version) as path:
        read = ingest.read_frame(path, services.version_table_info(version))
    assert read["age"].isna().sum() == 10 and read["age"].dtype.kind in "if"
    assert read["hours"].tolist()[:4] == [40, 13, 40, 45]


def test_table_info_round_trips_markers():
    info = ingest.TableInfo(
        format=ingest.TableFormat.CSV, row_count=1, columns=("a",), missing_markers=("?",)
    )
    assert ingest.TableInfo.from_dict(info.to_dict()) == info
