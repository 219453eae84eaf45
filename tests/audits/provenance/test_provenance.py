"""Watermarking a version, signed provenance manifests and checking a file's origin."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from audits.checks import watermark
from audits.provenance import services as provenance
from registry import services
from registry.models import LineageEdge, Relation, WatermarkRun
from synthgov import verify_manifest
from synthgov.signing.manifests import (
    manifest_bytes,
    manifest_verify,
    organisation_keys_load,
    parquet_read_manifest,
)
from synthgov.trail.models import Event
from tests.registry.conftest import make_dataset, parquet_bytes

pytestmark = pytest.mark.usefixtures("registry_storage", "org_keys")

TOLERANCES = {"score": 0.2, "salary": 500.0}
CATEGORICAL = {"region": 0.1}


@pytest.fixture
def org_keys(settings: Any, tmp_path: Path) -> Path:
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    return tmp_path / "keys"


def frame(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "student_id": range(1, rows + 1),
            "score": rng.normal(66, 7, rows).round(3),
            "salary": rng.integers(200_000, 900_000, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "placed": rng.choice(["yes", "no"], rows),
        }
    )


def add_version(dataset: Any, user: Any, data: bytes, name: str = "placements.csv") -> Any:
    return services.dataset_version_create(
        dataset=dataset, user=user, chunks=iter([data]), original_name=name
    )


@pytest.fixture
def source(world: Any) -> Any:
    dataset = make_dataset(world)
    return add_version(dataset, world.curator_a, frame().to_csv(index=False).encode())


def stored_bytes(version: Any) -> bytes:
    with default_storage.open(version.file.name, "rb") as handle:
        return handle.read()


def watermark_it(version: Any, user: Any, **extra: Any) -> Any:
    return provenance.version_watermark(
        version=version,
        user=user,
        tolerances=extra.pop("tolerances", TOLERANCES),
        categorical=extra.pop("categorical", CATEGORICAL),
    )


# --- watermarking -------------------------------------------------------------


def test_watermarking_makes_a_linked_version_carrying_the_mark(world, source, org_keys):
    marked = watermark_it(source, world.curator_a)
    keys = organisation_keys_load(org_keys, "alpha", create=False)
    assert marked.dataset_id == source.dataset_id and marked.number == source.number + 1
    assert marked.row_count == source.row_count and marked.sha256 != source.sha256
    edge = LineageEdge.objects.get(child=marked)
    assert (edge.parent_id, edge.relation) == (source.pk, Relation.WATERMARKED_FROM)
    assert marked.watermark_key_id == keys.watermark_key_id
    assert marked.watermark["parameters"]["tolerances"] == TOLERANCES
    assert marked.watermark["parameters"]["anchor"] in TOLERANCES
    assert marked.watermark["detection"]["present"] is True
    assert marked.watermark["detection"]["strength"] > 10
    # The key itself is never in the database.
    assert keys.watermark_secret.hex() not in json.dumps(marked.watermark)
    event = Event.objects.get(action="registry.version.watermarked")
    assert event.payload["key_id"] == keys.watermark_key_id

    before = pd.read_csv(io.BytesIO(stored_bytes(source)))
    after = pd.read_csv(io.BytesIO(stored_bytes(marked)))
    for column, tolerance in TOLERANCES.items():
        assert (after[column] - before[column]).abs().max() <= tolerance
    assert (after["student_id"] == before["student_id"]).all()
    assert (after["placed"] == before["placed"]).all()
    assert 0 < (after["region"] != before["region"]).mean() <= CATEGORICAL["region"]
    # The curated schema and the documentation carry over.
    assert [c["name"] for c in marked.schema] == [c["name"] for c in source.schema]
    assert "Watermarked by SynthGov" in marked.datasheet.watermarking
    # The source itself does not carry the mark.
    params = marked.watermark["parameters"]
    unmarked = watermark.detect(
        before,
        keys.watermark_secret,
        params["tolerances"],
        categorical=params["categorical"],
        anchor=params["anchor"],
    )
    assert not unmarked.present
    # Standards can ask for the scheme as a registry fact.
    from audits.compliance.services import registry_facts

    assert registry_facts(marked)["provenance.watermark"] == "synthgov-keyed"
    assert registry_facts(source)["provenance.watermark"] is None


def test_quality_change_is_measured_and_small(world, source):
    marked = watermark_it(source, world.curator_a)
    change = marked.watermark["quality_change"]
    assert 0.9 < change["column_shapes"] < 1.0
    score = change["columns"]["score"]
    assert abs(score["mean_after"] - score["mean_before"]) < TOLERANCES["score"]
    assert abs(score["std_after"] - score["std_before"]) < TOLERANCES["score"]
    assert 0 < change["columns"]["region"]["changed_share"] <= 0.1


def test_quality_against_the_audit_reference_is_reported(client, world, source):
    from tests.audits.certification.helpers import record_audit

    assert watermark_it(source, world.curator_a).watermark["quality_against_reference"] is None
    real = add_version(
        make_dataset(world, kind="real", name="Real placements"),
        world.curator_a,
        frame(seed=11).to_csv(index=False).encode(),
    )
    other = add_version(
        source.dataset, world.curator_a, frame(seed=12).to_csv(index=False).encode()
    )
    run = record_audit(other, real, world.curator_a, {"quality.overall": 0.9})
    marked = watermark_it(other, world.curator_a)
    change = marked.watermark["quality_against_reference"]
    client.force_login(world.curator_a)
    page = client.get(marked.get_absolute_url())
    assert b'data-testid="watermark-reference-quality"' in page.content
    assert f"/audits/{run.pk}/".encode() in page.content
    assert (change["audit"], change["reference"]) == (run.pk, real.pk)
    assert set(change["columns"]) == {"score", "salary", "region"}
    for column in change["columns"].values():
        assert 0.8 < column["before"] <= 1 and abs(column["after"] - column["before"]) < 0.05
    assert abs(change["column_shapes_change"]) < 0.02


def test_the_same_organisation_key_is_reused(world, source):
    first = watermark_it(source, world.curator_a)
    other = add_version(source.dataset, world.curator_a, frame(seed=5).to_csv(index=False).encode())
    second = watermark_it(other, world.curator_a)
    assert first.watermark_key_id == second.watermark_key_id


@pytest.mark.parametrize(
    ("tolerances", "categorical", "message"),
    [
        ({}, {}, "at least one numerical column"),
        ({"score": 0.0}, {}, "greater than 0"),
        ({"score": -1.0}, {}, "greater than 0"),
        ({"region": 1.0}, {}, "not a numerical column"),
        ({"nope": 1.0}, {}, "not a numerical column"),
        ({"score": 0.2}, {"score": 0.1}, "not a categorical column"),
        ({"score": 0.2}, {"region": 0.9}, r"\(0, 0.5\]"),
    ],
)
def test_bad_requests_are_refused_with_reasons(world, source, tolerances, categorical, message):
    with pytest.raises(ValidationError, match=message):
        watermark_it(source, world.curator_a, tolerances=tolerances, categorical=categorical)
    assert source.dataset.versions.count() == 1


def test_a_failure_after_the_upload_leaves_no_half_made_version(world, source, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(provenance, "_copy_documentation", broken)
    with pytest.raises(RuntimeError):
        watermark_it(source, world.curator_a)
    assert source.dataset.versions.count() == 1
    assert not LineageEdge.objects.exists()


def test_real_data_is_not_watermarked(world):
    dataset = make_dataset(world, kind="real", name="Real placements")
    version = add_version(dataset, world.curator_a, frame().to_csv(index=False).encode())
    with pytest.raises(ValidationError, match="Only synthetic versions"):
        watermark_it(version, world.curator_a)


def test_a_watermarked_version_is_not_watermarked_again(world, source):
    marked = watermark_it(source, world.curator_a)
    with pytest.raises(ValidationError, match="already watermarked"):
        watermark_it(marked, world.curator_a)


def test_background_run_claims_once_and_records_the_result(world, source):
    run = provenance.watermark_run_request(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical={}
    )
    assert run.status == WatermarkRun.Status.QUEUED
    done = provenance.watermark_run_execute(run_id=run.pk)
    assert done.status == WatermarkRun.Status.SUCCEEDED
    assert done.result.watermark_key_id and done.finished
    # A second delivery of the task finds nothing to do.
    assert provenance.watermark_run_execute(run_id=run.pk) is None
    # The same request again would make the same bytes: it fails with the reason.
    again = provenance.watermark_run_request(
        version=source, user=world.curator_a, tolerances=TOLERANCES, categorical={}
    )
    failed = provenance.watermark_run_execute(run_id=again.pk)
    assert failed.status == WatermarkRun.Status.FAILED
    assert "already version" in failed.error


def test_a_request_is_checked_before_it_is_queued(world, source):
    with pytest.raises(ValidationError, match="greater than 0"):
        provenance.watermark_run_request(
            version=source, user=world.curator_a, tolerances={"score": 0}, categorical={}
        )
    assert not WatermarkRun.objects.exists()


def test_parquet_versions_are_watermarked_as_parquet(world):
    dataset = make_dataset(world)
    version = add_version(
        dataset, world.curator_a, parquet_bytes(frame()), name="placements.parquet"
    )
    marked = watermark_it(version, world.curator_a)
    assert marked.format == "parquet"
    assert marked.watermark["detection"]["present"] is True


def whole_frame(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    """``frame`` plus a count with missing values (read back as float with NaN)."""
    data = frame(rows, seed)
    visits = pd.array(np.random.default_rng(seed + 1).integers(0, 20_000, rows), dtype="Int64")
    visits[::10] = pd.NA
    data["visits"] = visits
    return data


WHOLE = {"score": 0.2, "salary": 500.0, "visits": 5.0}


def test_columns_of_whole_numbers_stay_whole_in_the_stored_csv(world):
    version = add_version(
        make_dataset(world), world.curator_a, whole_frame().to_csv(index=False).encode()
    )
    marked = watermark_it(version, world.curator_a, tolerances=WHOLE)
    params = marked.watermark["parameters"]
    assert params["integral_columns"] == ["salary", "visits"]
    assert marked.watermark["detection"]["present"] is True
    assert marked.watermark["embedding"]["max_change"]["visits"] <= 5
    assert "(salary, visits kept to whole numbers)" in marked.datasheet.watermarking

    # The stored text: whole numbers without decimals, missing counts still empty.
    text = pd.read_csv(io.BytesIO(stored_bytes(marked)), dtype=str, keep_default_na=False)
    before = pd.read_csv(io.BytesIO(stored_bytes(version)))
    after = pd.read_csv(io.BytesIO(stored_bytes(marked)))
    assert text["salary"].str.fullmatch(r"\d+").all()
    assert text["visits"][text["visits"] != ""].str.fullmatch(r"\d+").all()
    assert (text["visits"] == "").equals(before["visits"].isna())
    assert after["salary"].dtype == np.int64
    assert (after["salary"] != before["salary"]).sum() > 100
    for column, tolerance in WHOLE.items():
        assert (after[column] - before[column]).abs().max() <= tolerance
    # The profile still sees the counts as numbers, and the audit finds the mark.
    assert {c["name"]: c["type"] for c in marked.schema}["visits"] == "numerical"
    facts = provenance.version_watermark_facts(marked, hash_verified=True)
    results = {m.key: m.value for m in watermark.watermark_metrics(facts, after)}
    assert results["provenance.watermark_detected"] == 1.0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_unmarked_count_with_blanks_is_stored_as_it_was_uploaded(world, fmt):
    import pyarrow.parquet as pq

    data = whole_frame()
    content = data.to_csv(index=False).encode() if fmt == "csv" else parquet_bytes(data)
    version = add_version(make_dataset(world), world.curator_a, content, name=f"w.{fmt}")
    marked = watermark_it(version, world.curator_a, tolerances={"score": 0.2})
    if fmt == "csv":
        before = pd.read_csv(io.BytesIO(stored_bytes(version)), dtype=str, keep_default_na=False)
        after = pd.read_csv(io.BytesIO(stored_bytes(marked)), dtype=str, keep_default_na=False)
        assert after["visits"].equals(before["visits"])  # "52000", never "52000.0"
    else:
        with default_storage.open(marked.file.name, "rb") as handle:
            table = pq.read_table(handle)
        assert str(table.schema.field("visits").type) == "int64"
        assert table.column("visits").null_count == 300
    assert marked.watermark["detection"]["present"] is True


def test_columns_of_whole_numbers_stay_integers_in_the_stored_parquet(world):
    import pyarrow.parquet as pq

    version = add_version(
        make_dataset(world), world.curator_a, parquet_bytes(whole_frame()), name="p.parquet"
    )
    marked = watermark_it(version, world.curator_a, tolerances=WHOLE)
    with default_storage.open(marked.file.name, "rb") as handle:
        table = pq.read_table(handle)
    assert str(table.schema.field("salary").type) == "int64"
    assert str(table.schema.field("visits").type) == "int64"
    assert table.column("visits").null_count == 300
    assert marked.watermark["detection"]["present"] is True


def test_a_tolerance_too_small_for_whole_numbers_is_refused_with_the_smallest(world, source):
    with pytest.raises(ValidationError) as refused:
        watermark_it(source, world.curator_a, tolerances={"score": 0.2, "salary": 1.5})
    (message,) = refused.value.messages
    assert message.endswith(
        "cannot be watermarked: column 'salary' holds whole numbers, so its tolerance must "
        "be at least 2 to keep them whole (it is 1.5)."
    )
    assert source.dataset.versions.count() == 1


def test_parameters_recorded_before_whole_numbers_were_kept_still_detect(world, source):
    # Parameters without ``integral_columns`` cut every column as a float column; with a
    # whole tolerance those are the same buckets.
    marked = watermark_it(source, world.curator_a)
    params = {k: v for k, v in marked.watermark["parameters"].items() if k != "integral_columns"}
    data = pd.read_csv(io.BytesIO(stored_bytes(marked)))
    keys = provenance.organisation_keys(world.org_a)
    assert provenance._detect(data, keys.watermark_secret, params).present


def test_suggested_tolerances_keep_whole_numbers_whole(world):
    data = whole_frame()
    data["children"] = np.random.default_rng(3).integers(0, 5, len(data))
    version = add_version(make_dataset(world), world.curator_a, data.to_csv(index=False).encode())
    suggested = provenance.watermark_defaults(version)["tolerances"]
    assert suggested["visits"] == float(f"{0.01 * data['visits'].std():.3g}") >= 2
    assert "children" not in suggested  # a change of 2 is too coarse to suggest for it
    assert 0 < suggested["score"] < 2  # not whole: 1% of its standard deviation
    marked = watermark_it(version, world.curator_a, tolerances=suggested, categorical={})
    assert marked.watermark["detection"]["present"] is True


# --- manifests ------------------------------------------------------------------


def test_manifest_is_signed_and_names_the_version(world, source):
    marked = watermark_it(source, world.curator_a)
    document = provenance.version_manifest(version=marked)
    keys = provenance.organisation_keys(world.org_a)
    payload = document["manifest"]
    assert payload["version"]["sha256"] == marked.sha256
    assert payload["organisation"]["slug"] == "alpha"
    assert payload["parents"] == [
        {"version": source.pk, "sha256": source.sha256, "relation": "watermarked_from"}
    ]
    assert payload["watermark"]["key_id"] == marked.watermark_key_id
    assert manifest_verify(document, {keys.signing_kid: keys.public_key}).valid
    assert provenance.version_manifest_valid(marked)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["manifest"]["version"].update(sha256="0" * 64),
        lambda d: d["manifest"]["parents"].clear(),
        lambda d: d["manifest"].update(watermark=None),
        # Change the signature's first character for certain (a fixed replacement
        # would be a no-op whenever the signature already held it).
        lambda d: d["signature"].update(
            value=("B" if d["signature"]["value"][0] == "A" else "A") + d["signature"]["value"][1:]
        ),
        lambda d: d["signature"].update(kid="0123456789abcdef"),
    ],
)
def test_a_tampered_manifest_does_not_verify(world, source, tamper):
    document = provenance.version_manifest(version=watermark_it(source, world.curator_a))
    keys = provenance.organisation_keys(world.org_a)
    tamper(document)
    assert not manifest_verify(document, {keys.signing_kid: keys.public_key}).valid


def test_another_organisations_key_does_not_verify(world, source):
    document = provenance.version_manifest(version=source)
    other = provenance.organisation_keys(world.org_b)
    check = manifest_verify(document, {other.signing_kid: other.public_key})
    assert not check.valid and "no public key" in check.reason


def test_manifest_is_invalid_when_the_stored_file_changed(world, source):
    path = Path(default_storage.path(source.file.name))
    path.write_bytes(path.read_bytes() + b"1,2,3,north,yes\n")
    assert not provenance.version_manifest_valid(source)


def test_offline_verification_of_sidecar_and_parquet(world, source, tmp_path, capsys):
    keys = provenance.organisation_keys(world.org_a)
    key_file = tmp_path / "key.pem"
    key_file.write_text(keys.public_key_pem())
    json_key = tmp_path / "key.json"
    json_key.write_text(json.dumps(keys.public_document()))
    sidecar = tmp_path / "manifest.json"
    sidecar.write_bytes(manifest_bytes(provenance.version_manifest(version=source)))
    data = tmp_path / "data.csv"
    data.write_bytes(stored_bytes(source))

    assert verify_manifest.main([str(sidecar), "--public-key", str(key_file)]) == 0
    assert "VALID" in capsys.readouterr().out
    assert (
        verify_manifest.main([str(sidecar), "--public-key", str(json_key), "--data", str(data)])
        == 0
    )
    data.write_bytes(stored_bytes(source).replace(b"north", b"North", 1))
    assert (
        verify_manifest.main([str(sidecar), "--public-key", str(key_file), "--data", str(data)])
        == 1
    )
    assert "SHA-256 differs" in capsys.readouterr().out
    tampered = json.loads(sidecar.read_text())
    tampered["manifest"]["dataset"]["name"] = "Something else"
    sidecar.write_text(json.dumps(tampered))
    assert verify_manifest.main([str(sidecar), "--public-key", str(key_file)]) == 1
    assert verify_manifest.main([str(sidecar), "--public-key", str(tmp_path / "none.pem")]) == 3

    parquet_version = add_version(
        source.dataset, world.curator_a, parquet_bytes(frame(seed=9)), name="p.parquet"
    )
    embedded = tmp_path / "with-manifest.parquet"
    provenance.manifest_parquet_file(version=parquet_version, target=embedded)
    assert parquet_read_manifest(embedded)["manifest"]["version"]["id"] == parquet_version.pk
    assert pd.read_parquet(embedded).equals(
        pd.read_parquet(io.BytesIO(stored_bytes(parquet_version)))
    )
    assert verify_manifest.main([str(embedded), "--public-key", str(key_file)]) == 0
    other = provenance.organisation_keys(world.org_b)
    other_key = tmp_path / "other.pem"
    other_key.write_text(other.public_key_pem())
    assert verify_manifest.main([str(embedded), "--public-key", str(other_key)]) == 1


def test_a_csv_version_has_no_parquet_manifest_download(world, source, tmp_path):
    with pytest.raises(ValidationError, match="Only Parquet"):
        provenance.manifest_parquet_file(version=source, target=tmp_path / "x.parquet")


# --- audit figures ----------------------------------------------------------------


def test_audit_facts_find_the_mark_and_the_manifest(world, source):
    marked = watermark_it(source, world.curator_a)
    facts = provenance.version_watermark_facts(marked, hash_verified=True)
    results = {
        m.key: m
        for m in watermark.watermark_metrics(facts, pd.read_csv(io.BytesIO(stored_bytes(marked))))
    }
    assert results["provenance.watermark_detected"].value == 1.0
    assert results["provenance.watermark_strength"].value > 10
    assert results["provenance.manifest_valid"].value == 1.0
    assert "key" not in results["provenance.watermark_detected"].details

    plain = {
        m.key: m
        for m in watermark.watermark_metrics(
            provenance.version_watermark_facts(source, hash_verified=True),
            pd.read_csv(io.BytesIO(stored_bytes(source))),
        )
    }
    assert plain["provenance.watermark_detected"].value == 0.0
    assert "no SynthGov watermark" in plain["provenance.watermark_detected"].finding
    broken = provenance.version_watermark_facts(source, hash_verified=False)
    assert broken["manifest_valid"] is False


def test_an_audit_of_a_watermarked_version_reports_the_mark_and_the_manifest(world, source):
    from audits.runs import services as audit_services

    real = add_version(
        make_dataset(world, kind="real", name="Real placements"),
        world.curator_a,
        frame(seed=11).to_csv(index=False).encode(),
    )
    marked = watermark_it(source, world.curator_a)
    figures = {}
    for version in (marked, source):
        config = {**audit_services.default_config(version), "families": ["provenance"]}
        run = audit_services.audit_run_request(
            version=version, reference=real, holdout=None, config=config, user=world.curator_a
        )
        run = audit_services.audit_run_execute(
            run_id=run.pk, token=audit_services.audit_run_claim(run_id=run.pk)
        )
        assert run.status == "succeeded", run.error
        figures[version.pk] = {m.key: m.value for m in run.metrics.all()}
        # The key never reaches the stored evidence.
        secret = provenance.organisation_keys(world.org_a).watermark_secret.hex()
        assert secret not in json.dumps(run.results) + json.dumps(run.config)
    assert figures[marked.pk]["provenance.watermark_detected"] == 1.0
    assert figures[marked.pk]["provenance.watermark_strength"] > 10
    assert figures[marked.pk]["provenance.manifest_valid"] == 1.0
    assert figures[source.pk]["provenance.watermark_detected"] == 0.0
    assert figures[source.pk]["provenance.manifest_valid"] == 1.0


# --- checking a file's origin -------------------------------------------------------


def check(user: Any, data: bytes, name: str = "found.csv") -> dict[str, Any]:
    results = provenance.check_origin(user=user, chunks=iter([data]), original_name=name)
    return {r.organisation.slug: r for r in results}


def test_check_origin_finds_the_mark_after_shuffling_and_subsetting(world, source):
    marked = watermark_it(source, world.curator_a)
    data = pd.read_csv(io.BytesIO(stored_bytes(marked)))
    attacked = data.sample(frac=0.2, random_state=3).drop(columns=["student_id"])
    results = check(world.curator_a, attacked.to_csv(index=False).encode())
    assert results["alpha"].present
    assert results["alpha"].version == marked
    assert results["alpha"].p_value < provenance.ORIGIN_ALPHA
    assert "Carries Alpha Synthetics's watermark" in results["alpha"].wording


def test_check_origin_on_unmarked_data_names_nobody(world, source):
    watermark_it(source, world.curator_a)
    results = check(world.curator_a, frame(seed=77).to_csv(index=False).encode())
    assert not results["alpha"].present
    assert results["alpha"].p_value > provenance.ORIGIN_ALPHA


def test_check_origin_only_tests_marks_the_user_may_know_about(world, source):
    marked = watermark_it(source, world.curator_a)  # restricted dataset of org A
    data = stored_bytes(marked)
    assert set(check(world.curator_b, data)) == {"beta"}  # A's mark is not even tested
    assert not check(world.curator_b, data)["beta"].present
    assert check(world.outsider, data) == {}
    assert check(world.regulator, data)["alpha"].present  # EU regulator covers org A
    assert "alpha" not in check(world.regulator_b, data)


def test_check_origin_of_an_open_dataset_is_known_to_everyone(world):
    dataset = make_dataset(world, access="open")
    version = add_version(dataset, world.curator_a, frame().to_csv(index=False).encode())
    marked = watermark_it(version, world.curator_a)
    assert check(world.curator_b, stored_bytes(marked))["alpha"].present
    assert check(world.outsider, stored_bytes(marked))["alpha"].present


def test_check_origin_refuses_a_file_that_is_not_a_table(world, settings):
    with pytest.raises(ValidationError):
        check(world.curator_a, b"\x00\x01\x02 not a table", name="x.bin")
    leftovers = list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())
    assert leftovers == []


def test_a_manifest_repeating_a_key_is_refused_offline(world, source, tmp_path, capsys):
    # Readers that keep the first of repeated keys would show "Something else"
    # while the signature covers the last, true name.
    keys = provenance.organisation_keys(world.org_a)
    key_file = tmp_path / "key.pem"
    key_file.write_text(keys.public_key_pem())
    document = provenance.version_manifest(version=source)
    text = json.dumps(document, sort_keys=True)
    name = json.dumps(document["manifest"]["dataset"]["name"])
    assert text.count(f'"name": {name}') == 1
    sidecar = tmp_path / "manifest.json"
    sidecar.write_text(text.replace(f'"name": {name}', f'"name": "Something else", "name": {name}'))
    assert verify_manifest.main([str(sidecar), "--public-key", str(key_file)]) == 1
    assert 'repeats the key "name"' in capsys.readouterr().out
