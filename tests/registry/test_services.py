import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from registry import services
from registry.models import DATASHEET_SECTIONS, DatasetVersion, LineageEdge
from registry.selectors import version_facts
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.registry.conftest import make_dataset, make_version, parquet_bytes, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


def test_create_dataset_normalises_licence_and_tags(world):
    dataset = make_dataset(world, licence="cc-by-4.0", tags=["Students", "placements", "students"])
    assert dataset.licence == "CC-BY-4.0"
    assert sorted(t.name for t in dataset.tags.all()) == ["placements", "students"]
    event = Event.objects.get(action="registry.dataset.created")
    assert event.payload["licence"] == "CC-BY-4.0"


def test_unknown_licence_is_refused(world):
    with pytest.raises(ValidationError, match="not an SPDX licence identifier"):
        make_dataset(world, licence="Do what you like")
    with pytest.raises(ValidationError):
        make_dataset(world, licence="LicenseRef-")
    assert (
        make_dataset(world, licence="LicenseRef-Internal-Use").licence == "LicenseRef-Internal-Use"
    )


def test_upload_stores_file_by_hash_with_facts(world):
    import hashlib

    dataset = make_dataset(world)
    content = placements_csv(40)
    version = make_version(dataset, world.curator_a, content)
    assert version.number == 1
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.file.name == f"versions/{version.sha256[:2]}/{version.sha256}.csv"
    with default_storage.open(version.file.name) as stored:
        assert stored.read() == content
    assert (version.row_count, version.column_count, version.size_bytes) == (40, 6, len(content))
    assert version.original_name == "placements.csv"
    schema = {c["name"]: c for c in version.schema}
    assert schema["student_id"]["type"] == "id"
    assert schema["gender"]["role"] == "protected"
    assert schema["degree_percentage"]["type"] == "numerical"
    assert version.profile["total_rows"] == 40
    assert Event.objects.filter(
        action="registry.version.uploaded", object_id=str(version.pk)
    ).exists()


def test_same_content_twice_is_refused_naming_the_version(world):
    dataset = make_dataset(world)
    make_version(dataset, world.curator_a)
    with pytest.raises(ValidationError, match="already version 1 of this dataset"):
        make_version(dataset, world.curator_a)
    assert dataset.versions.count() == 1


def test_second_version_numbers_up_and_diff_shows_schema_change(world):
    from registry.selectors import schema_changes

    dataset = make_dataset(world)
    make_version(dataset, world.curator_a)
    v2 = make_version(dataset, world.curator_a, placements_csv(40, extra="siblings"))
    assert v2.number == 2
    previous, changes = schema_changes(v2)
    assert previous.number == 1
    assert any("siblings" in line for line in changes)


def test_parquet_upload(world):
    import pandas as pd

    dataset = make_dataset(world)
    frame = pd.DataFrame({"age": [31, 45, 52], "sex": ["F", "M", "F"], "income": [1.5, 2.5, 3.5]})
    version = make_version(dataset, world.curator_a, parquet_bytes(frame))
    assert version.format == "parquet"
    assert version.file.name.endswith(".parquet")
    assert version.row_count == 3


def test_schema_correction_is_recorded_and_names_cannot_change(world):
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a)
    columns = [{**c} for c in version.schema]
    for c in columns:
        if c["name"] == "placed":
            c["role"] = "target"
    services.version_schema_update(version=version, user=world.curator_a, columns=columns)
    version.refresh_from_db()
    assert version.column("placed")["role"] == "target"
    event = Event.objects.get(action="registry.version.schema_corrected")
    assert event.payload["changes"][0]["column"] == "placed"
    renamed = [{**c, "name": c["name"] + "_x"} for c in columns]
    with pytest.raises(ValidationError, match="names cannot be changed"):
        services.version_schema_update(version=version, user=world.curator_a, columns=renamed)


def test_retyping_a_column_reprofiles_it(world):
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a)
    columns = [{**c, "type": "categorical"} if c["name"] == "salary" else c for c in version.schema]
    services.version_schema_update(version=version, user=world.curator_a, columns=columns)
    version.refresh_from_db()
    salary = next(c for c in version.profile["columns"] if c["name"] == "salary")
    assert "top" in salary and "histogram" not in salary


def _lineage(version, user, parents, **generation):
    return services.version_lineage_set(
        version=version,
        user=user,
        parents=[services.ParentLink(p.pk, r) for p, r in parents],
        generation=generation,
    )


def test_lineage_declared_and_cycle_refused(world):
    real = make_dataset(world, name="Real placements", kind="real")
    synth = make_dataset(world, name="Synthetic placements")
    r1 = make_version(real, world.curator_a)
    s1 = make_version(synth, world.curator_a, placements_csv(40, seed=1))
    _lineage(
        s1,
        world.curator_a,
        [(r1, "trained_on")],
        generator_type="gan",
        generator_library="ctgan",
        parameters='{"epochs": 300}',
        seed=7,
    )
    edge = LineageEdge.objects.get(child=s1)
    assert (edge.parent, edge.relation) == (r1, "trained_on")
    assert s1.generation.parameters == {"epochs": 300}
    s2 = make_version(synth, world.curator_a, placements_csv(40, seed=2))
    _lineage(s2, world.curator_a, [(s1, "derived_from")])
    with pytest.raises(ValidationError, match="would make the lineage a loop"):
        _lineage(s1, world.curator_a, [(r1, "trained_on"), (s2, "derived_from")])
    assert list(LineageEdge.objects.filter(child=s1).values_list("parent", flat=True)) == [r1.pk]
    assert Event.objects.filter(action="registry.version.lineage_declared").count() == 2
    assert trail_verify().ok


def test_real_versions_refuse_parents_and_a_generator(world):
    real = make_dataset(world, name="Real placements", kind="real")
    r1 = make_version(real, world.curator_a)
    r2 = make_version(real, world.curator_a, placements_csv(40, seed=3))
    with pytest.raises(ValidationError) as info:
        _lineage(r2, world.curator_a, [(r1, "holdout_of")], generator_type="gan", seed=1)
    errors = info.value.message_dict
    assert "A real dataset has no parent versions" in errors["parents"][0]
    assert "has no generator" in errors["generator_type"][0]
    assert "has no generator" in errors["seed"][0]
    assert not LineageEdge.objects.filter(child=r2).exists()
    # Nothing declared is fine (clearing is allowed).
    _lineage(r2, world.curator_a, [])
    assert not LineageEdge.objects.filter(child=r2).exists()


def test_lineage_parameters_must_be_json(world):
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a)
    with pytest.raises(ValidationError) as info:
        _lineage(version, world.curator_a, [], parameters="{epochs: 300")
    assert "not valid JSON" in str(info.value.message_dict["parameters"])


def test_lineage_parent_must_exist_and_be_visible(world):
    mine = make_version(make_dataset(world), world.curator_a)
    theirs = make_version(make_dataset(world, org="org_b"), world.curator_b)
    with pytest.raises(ValidationError, match="does not exist or is not visible"):
        _lineage(mine, world.curator_a, [(theirs, "trained_on")])

    class Ghost:
        pk = 999_999

    with pytest.raises(ValidationError, match="does not exist or is not visible"):
        _lineage(mine, world.curator_a, [(Ghost, "trained_on")])


def test_datasheet_completeness(world):
    version = make_version(make_dataset(world), world.curator_a)
    sheet = services.version_datasheet_update(
        version=version,
        user=world.curator_a,
        sections={"motivation": "Teach placement models safely.", "uses": "too short"},
    )
    assert sheet.completeness == pytest.approx(1 / 12, abs=1e-4)
    event = Event.objects.get(action="registry.datasheet.updated")
    assert event.payload["sections_changed"] == ["motivation", "uses"]


def test_datasheet_completeness_counts_only_sections_for_the_kind(world):
    """Real data has no generation method, real sources or watermarking: nine sections
    count, and text left in those three (e.g. from before a kind change) does not."""
    real = make_version(make_dataset(world, name="Real", kind="real"), world.curator_a)
    synthetic = make_version(make_dataset(world, name="Synthetic"), world.curator_a)
    answers = {
        "motivation": "Teach placement models safely.",
        "generation_method": "CTGAN trained for 300 epochs.",
        "watermarking": "Keyed numeric watermark applied.",
    }
    real_sheet = services.version_datasheet_update(
        version=real, user=world.curator_a, sections=answers
    )
    synthetic_sheet = services.version_datasheet_update(
        version=synthetic, user=world.curator_a, sections=answers
    )
    assert real_sheet.completeness == pytest.approx(1 / 9, abs=1e-4)
    assert synthetic_sheet.completeness == pytest.approx(3 / 12, abs=1e-4)
    fresh = DatasetVersion.objects.get
    assert version_facts(fresh(pk=real.pk)).datasheet_completeness == pytest.approx(1 / 9, abs=1e-4)
    assert version_facts(fresh(pk=synthetic.pk)).datasheet_completeness == pytest.approx(0.25)
    every_real_section = {key: "Answered in three words." for key, _, _ in DATASHEET_SECTIONS}
    full = services.version_datasheet_update(
        version=real, user=world.curator_a, sections={**every_real_section, "watermarking": ""}
    )
    assert full.completeness == 1.0


def test_versions_are_immutable_facts(world):
    """Nothing in the services rewrites a stored version's file facts."""
    version = make_version(make_dataset(world), world.curator_a)
    before = DatasetVersion.objects.values("sha256", "size_bytes", "file").get(pk=version.pk)
    services.version_datasheet_update(
        version=version, user=world.curator_a, sections={"uses": "a b c"}
    )
    assert (
        DatasetVersion.objects.values("sha256", "size_bytes", "file").get(pk=version.pk) == before
    )
