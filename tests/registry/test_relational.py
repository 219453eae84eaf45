"""Versions made of several linked tables (issue 17, phase 1): registration through the
API and the form, key inference and confirmation, the SDMetrics metadata round trip,
hashing, downloads, the version page, Croissant and PROV, and mismatched audits refused."""

from __future__ import annotations

import hashlib
import html
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.urls import reverse

from audits.runs.services import audit_run_request
from registry import services, table_services
from registry.documents.croissant import validate_croissant
from registry.documents.prov import validate_prov_json
from registry.models import DatasetVersion, TableRelationship, VersionTable
from registry.table_services import TableUpload
from tests.registry.conftest import (
    make_dataset,
    make_version,
    parquet_bytes,
    placements_csv,
    upload,
)
from tests.registry.relational_helpers import (
    CHILDREN,
    DEMO_TABLES,
    PAIR_KEYS,
    PARENTS,
    api_client,
    demo_bytes,
    demo_metadata,
    register_tables,
    sdmetrics_metadata,
    zip_of,
)

pytestmark = pytest.mark.usefixtures("registry_storage")


def _demo_files(kind: str = "real") -> list:
    return [upload(demo_bytes(t, kind), f"{t}.csv") for t in DEMO_TABLES]


def _register_demo(world, dataset=None, **extra):
    dataset = dataset or make_dataset(world)
    return dataset, register_tables(
        dataset, world.curator_a, {t: demo_bytes(t) for t in DEMO_TABLES}, **extra
    )


def _stored_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- Registration --------------------------------------------------------


def test_api_registers_the_sdmetrics_demo_and_infers_its_keys(world):
    dataset = make_dataset(world)
    api = api_client(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/tables/", {"tables": _demo_files()}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["table_count"] == 3
    assert body["format"] == "tables"
    assert body["keys_confirmed"] is False  # inferred: the curator has to confirm
    assert [t["name"] for t in body["tables"]] == list(DEMO_TABLES)
    # The version hash: SHA-256 over "name\tsha256\n" lines in name order.
    by_name = {t["name"]: t["sha256"] for t in body["tables"]}
    for name in DEMO_TABLES:
        assert by_name[name] == hashlib.sha256(demo_bytes(name)).hexdigest()
    lines = "".join(f"{n}\t{by_name[n]}\n" for n in sorted(by_name))
    assert body["sha256"] == hashlib.sha256(lines.encode()).hexdigest()

    keys = api.get(f"/api/v1/versions/{body['id']}/keys/").json()
    expected = demo_metadata()
    assert keys["primary_keys"] == {t: expected["tables"][t]["primary_key"] for t in DEMO_TABLES}
    assert sorted(
        (f["child_table"], f["child_key"], f["parent_table"], f["parent_key"])
        for f in keys["foreign_keys"]
    ) == sorted(
        (
            r["child_table_name"],
            r["child_foreign_key"],
            r["parent_table_name"],
            r["parent_primary_key"],
        )
        for r in expected["relationships"]
    )
    # Confirm them as GET gave them.
    confirmed = api.put(f"/api/v1/versions/{body['id']}/keys/", keys, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["keys_confirmed"] is True


def test_sdmetrics_metadata_round_trips_as_is(world):
    """The real sdmetrics demo metadata, imported with a zip of the demo tables,
    comes back from the API unchanged."""
    dataset = make_dataset(world)
    api = api_client(world.curator_a)
    archive = zip_of({f"{t}.csv": demo_bytes(t) for t in DEMO_TABLES})
    response = api.post(
        f"/api/v1/datasets/{dataset.pk}/tables/",
        {"archive": upload(archive, "demo.zip"), "metadata": json.dumps(demo_metadata())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["keys_confirmed"] is True
    exported = api.get(f"/api/v1/versions/{response.json()['id']}/metadata/").json()
    assert exported == demo_metadata()
    # Re-importing the export changes nothing.
    again = api.put(f"/api/v1/versions/{response.json()['id']}/metadata/", exported, format="json")
    assert again.status_code == 200 and again.json() == demo_metadata()


def test_form_registers_tables_then_asks_to_confirm_the_proposed_keys(client, world):
    dataset = make_dataset(world)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload_tables", args=[dataset.pk]),
        {
            "tables": [upload(PARENTS, "p.csv"), upload(CHILDREN, "c.csv")],
            "names": "p.csv = parents\nc.csv = children",
        },
    )
    version = DatasetVersion.objects.get(dataset=dataset)
    assert response.status_code == 302
    assert response.url == reverse("registry:keys", args=[version.pk])
    assert sorted(version.tables.values_list("name", flat=True)) == ["children", "parents"]
    page = client.get(response.url)
    text = html.unescape(page.content.decode())
    assert "SynthGov's proposal" in text
    assert "children.pid -> parents.pid" in text  # the proposed foreign key, pre-filled
    saved = client.post(
        response.url,
        {"pk_parents": "pid", "pk_children": "cid", "foreign_keys": "children.pid -> parents.pid"},
    )
    assert saved.status_code == 302
    version.refresh_from_db()
    assert version.keys_confirmed
    link = TableRelationship.objects.get(version=version)
    assert (link.child_table.name, link.child_key, link.parent_table.name) == (
        "children",
        "pid",
        "parents",
    )


def test_single_table_version_is_one_table_with_the_file_hash(world):
    dataset = make_dataset(world)
    version = make_version(dataset, world.curator_a)
    (table,) = version.tables.all()
    assert table.name == "placements"  # the file's stem
    assert table.sha256 == version.sha256 == hashlib.sha256(placements_csv()).hexdigest()
    assert table.file.name == version.file.name
    assert not version.is_relational
    assert services.stored_sha256(version) == version.sha256


def test_the_version_hash_is_rechecked_from_every_stored_table(world):
    _, version = _register_demo(world)
    assert services.stored_sha256(version) == version.sha256
    table = version.tables.get(name="sessions")
    Path(settings.MEDIA_ROOT, table.file.name).write_bytes(b"session_id\n1\n")
    assert services.stored_sha256(version) != version.sha256
    Path(settings.MEDIA_ROOT, table.file.name).unlink()
    assert services.stored_sha256(version) is None


# --- Bad input: a 400 saying what to fix, nothing stored --------------------

PARENTS_DUPLICATE = b"pid,region\n1,north\n1,south\n3,north\n"
PARENTS_CYCLE = b"pid,region,favourite\n1,north,10\n2,south,11\n3,north,12\n"


def _meta(relationships=(), pk=("pid", "cid"), tables=("parents", "children")):
    return sdmetrics_metadata(
        {tables[0]: (pk[0], {}), tables[1]: (pk[1], {})}, *relationships, spec_version=True
    )


PAIR = {"parents.csv": PARENTS, "children.csv": CHILDREN}
PARENTS_PARQUET = parquet_bytes(pd.read_csv(io.BytesIO(PARENTS)))
BAD = [
    # id, files, archive, names, metadata, settings, words
    (
        "key-not-unique",
        {"parents.csv": PARENTS_DUPLICATE, "children.csv": CHILDREN},
        None,
        "",
        _meta([("parents", "pid", "children", "pid")]),
        {},
        ["parents.pid", "not unique", "1"],
    ),
    (
        "fk-missing-table",
        PAIR,
        None,
        "",
        _meta([("households", "hid", "children", "pid")]),
        {},
        ["households", "not in this version"],
    ),
    (
        "fk-missing-column",
        PAIR,
        None,
        "",
        _meta([("parents", "pid", "children", "person_id")]),
        {},
        ["person_id", "does not have"],
    ),
    (
        "fk-cycle",
        {"parents.csv": PARENTS_CYCLE, "children.csv": CHILDREN},
        None,
        "",
        _meta([("parents", "pid", "children", "pid"), ("children", "cid", "parents", "favourite")]),
        {},
        ["cycle", "children → parents → children"],
    ),
    (
        "metadata-other-tables",
        PAIR,
        None,
        "",
        _meta(tables=("parents", "kids")),
        {},
        ["'kids'", "not uploaded"],
    ),
    (
        "zip-folders",
        None,
        {"data/parents.csv": PARENTS, "children.csv": CHILDREN},
        "",
        None,
        {},
        ["folder", "data/parents.csv"],
    ),
    (
        "zip-duplicate-names",
        None,
        {"parents.csv": PARENTS, "Parents.csv": CHILDREN},
        "",
        None,
        {},
        ["'parents'", "ignoring case"],
    ),
    (
        "files-duplicate-names",
        {"parents.csv": PARENTS, "x.csv": CHILDREN},
        None,
        "x.csv = parents",
        None,
        {},
        ["'parents'", "twice"],
    ),
    (
        "too-many-tables",
        PAIR,
        None,
        "",
        None,
        {"SYNTHGOV_MAX_TABLES": 1},
        ["2 tables", "at most 1", "SYNTHGOV_MAX_TABLES"],
    ),
    (
        "zip-too-many-tables",
        None,
        PAIR,
        "",
        None,
        {"SYNTHGOV_MAX_TABLES": 1},
        ["2 tables", "at most 1"],
    ),
    (
        "zip-bomb",
        None,
        {"parents.csv": PARENTS, "children.csv": b"cid,pid\n" + b"1,2\n" * 400_000},
        "",
        None,
        {"SYNTHGOV_MAX_UPLOAD_BYTES": 200_000},
        ["expand", "limit"],
    ),
    (
        # An audit of linked tables reads each table whole, so Parquet gets the CSV limit.
        "parquet-table-over-the-csv-limit",
        {"parents.parquet": PARENTS_PARQUET, "children.csv": CHILDREN},
        None,
        "",
        None,
        {"SYNTHGOV_MAX_ROWS": 2, "SYNTHGOV_MAX_PARQUET_ROWS": 100},
        ["declares 3 rows", "the limit for a parquet table is 2"],
    ),
    (
        "name-path",
        PAIR,
        None,
        "parents.csv = ../parents",
        None,
        {},
        ["'../parents'", "cannot be a table name"],
    ),
    (
        "name-too-long",
        PAIR,
        None,
        "parents.csv = " + "p" * 64,
        None,
        {},
        ["cannot be a table name", "1 to 63"],
    ),
    (
        "name-confusable",
        PAIR,
        None,
        "parents.csv = p\u0430rents",  # a Cyrillic small a (U+0430)
        None,
        {},
        ["cannot be a table name", "ascii"],
    ),
    (
        "name-from-odd-file",
        {"my parents.csv": PARENTS, "children.csv": CHILDREN},
        None,
        "",
        None,
        {},
        ["'my parents.csv'", "does not suggest a table name"],
    ),
    (
        "name-unknown-file",
        PAIR,
        None,
        "people.csv = parents",
        None,
        {},
        ["'people.csv'", "not uploaded"],
    ),
    (
        "bad-table-file",
        {"parents.csv": PARENTS, "children.csv": b"a,b\n1,2\n3\n"},
        None,
        "",
        None,
        {},
        ["'children'", "line 3"],
    ),
]


def _post_data(files, archive, names, metadata) -> dict:
    data: dict = {}
    if files is not None:
        data["tables"] = [upload(content, name) for name, content in files.items()]
    if archive is not None:
        data["archive"] = upload(zip_of(archive), "tables.zip")
    if names:
        data["names"] = names
    if metadata is not None:
        data["metadata"] = json.dumps(metadata)
    return data


@pytest.fixture
def dataset_with_v1(world):
    dataset = make_dataset(world)
    return dataset, make_version(dataset, world.curator_a)


def _assert_nothing_stored(dataset, v1, files_before) -> None:
    assert list(DatasetVersion.objects.filter(dataset=dataset)) == [v1]
    assert VersionTable.objects.filter(version__dataset=dataset).count() == 1
    assert _stored_files() == files_before
    assert not list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())


@pytest.mark.parametrize(
    ("files", "archive", "names", "metadata", "overrides", "words"),
    [c[1:] for c in BAD],
    ids=[c[0] for c in BAD],
)
def test_bad_tables_through_the_api(
    world, settings, dataset_with_v1, files, archive, names, metadata, overrides, words
):
    dataset, v1 = dataset_with_v1
    before = _stored_files()
    for key, value in overrides.items():
        setattr(settings, key, value)
    response = api_client(world.curator_a).post(
        f"/api/v1/datasets/{dataset.pk}/tables/",
        _post_data(files, archive, names, metadata),
        format="multipart",
    )
    assert response.status_code == 400, response.content
    text = json.dumps(response.json(), ensure_ascii=False).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} missing from {text}"
    _assert_nothing_stored(dataset, v1, before)


@pytest.mark.parametrize(
    ("files", "archive", "names", "metadata", "overrides", "words"),
    [c[1:] for c in BAD],
    ids=[c[0] for c in BAD],
)
def test_bad_tables_through_the_form(
    client, world, settings, dataset_with_v1, files, archive, names, metadata, overrides, words
):
    dataset, v1 = dataset_with_v1
    before = _stored_files()
    for key, value in overrides.items():
        setattr(settings, key, value)
    client.force_login(world.curator_a)
    response = client.post(
        reverse("registry:upload_tables", args=[dataset.pk]),
        _post_data(files, archive, names, metadata),
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode()).lower()
    for word in words:
        assert word.lower() in page, f"{word!r} missing from the page"
    _assert_nothing_stored(dataset, v1, before)


def test_bad_keys_correction_changes_nothing(world):
    _, version = _register_demo(world)
    api = api_client(world.curator_a)
    before = api.get(f"/api/v1/versions/{version.pk}/keys/").json()
    bad = {
        "primary_keys": {
            "users": "country",
            "sessions": "session_id",
            "transactions": "transaction_id",
        },
        "foreign_keys": [],
    }
    response = api.put(f"/api/v1/versions/{version.pk}/keys/", bad, format="json")
    assert response.status_code == 400
    assert "users.country is not unique" in response.json()["keys"][0]
    assert api.get(f"/api/v1/versions/{version.pk}/keys/").json() == before


# --- Reading it back ------------------------------------------------------


def test_each_table_downloads_and_the_version_download_says_why_not(client, world):
    _, version = _register_demo(world)
    api = api_client(world.curator_a)
    got = api.get(f"/api/v1/versions/{version.pk}/tables/sessions/download/")
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == demo_bytes("sessions")
    assert api.get(f"/api/v1/versions/{version.pk}/tables/nothing/download/").status_code == 404
    whole = api.get(f"/api/v1/versions/{version.pk}/download/")
    assert whole.status_code == 409 and "tables/<name>/download/" in whole.json()["detail"]
    client.force_login(world.curator_a)
    page = client.get(reverse("registry:table_download", args=[version.pk, "users"]))
    assert b"".join(page.streaming_content) == demo_bytes("users")
    assert client.get(reverse("registry:download", args=[version.pk])).status_code == 409


def test_tables_of_a_restricted_version_are_not_shown_to_other_organisations(client, world):
    _, version = _register_demo(world)
    api = api_client(world.curator_b)
    for url in (
        f"/api/v1/versions/{version.pk}/tables/",
        f"/api/v1/versions/{version.pk}/keys/",
        f"/api/v1/versions/{version.pk}/metadata/",
        f"/api/v1/versions/{version.pk}/tables/users/download/",
    ):
        assert api.get(url).status_code == 404, url
    client.force_login(world.curator_b)
    assert (
        client.get(reverse("registry:table_download", args=[version.pk, "users"])).status_code
        == 404
    )
    assert client.get(reverse("registry:metadata", args=[version.pk])).status_code == 404


def test_version_page_shows_tables_keys_and_the_diagram(client, world):
    _, version = _register_demo(world, metadata=demo_metadata())
    client.force_login(world.curator_a)
    page = html.unescape(client.get(version.get_absolute_url()).content.decode())
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="relationships"' in page
    assert "sessions.user_id refers to users.user_id" in page  # the diagram's description
    for name in DEMO_TABLES:
        assert f'data-table="{name}"' in page
    assert "transactions.session_id</code> refers to <code>sessions.session_id" in page
    assert reverse("registry:table_download", args=[version.pk, "transactions"]) in page
    # Each table's schema through the shared schema table, without the single table's
    # distribution column (tables carry no bars).
    assert page.count('<tr data-column="user_id">') == 2  # users and sessions
    assert "<th>Distribution</th>" not in page
    # Watermarking works on one table: a note, not a button leading to a refusal.
    assert version.dataset.is_synthetic
    assert "this one holds 3 linked tables" in page
    assert reverse("audits:watermark", args=[version.pk]) not in page


def test_croissant_has_a_file_and_record_set_per_table_with_references(client, world):
    _, version = _register_demo(world, metadata=demo_metadata())
    doc = api_client(world.curator_a).get(f"/api/v1/versions/{version.pk}/croissant/").json()
    assert validate_croissant(doc) == []
    assert len(doc["distribution"]) == 3
    assert {f["sha256"] for f in doc["distribution"]} == set(
        version.tables.values_list("sha256", flat=True)
    )
    sets = {r["@id"]: r for r in doc["recordSet"]}
    assert sets["sessions"]["key"] == {"@id": "sessions/session_id"}
    user_id = next(f for f in sets["sessions"]["field"] if f["name"] == "user_id")
    assert user_id["references"] == {"field": {"@id": "users/user_id"}}


def test_prov_names_every_table_as_a_member_of_the_version(world):
    dataset, version = _register_demo(world)
    doc = api_client(world.curator_a).get(f"/api/v1/datasets/{dataset.pk}/prov/").json()
    assert validate_prov_json(doc) == []
    members = {m["prov:entity"] for m in doc["hadMember"].values()}
    assert members == {f"synthgov:versions/{version.pk}/#table-{t}" for t in DEMO_TABLES}
    sha = {doc["entity"][m]["synthgov:sha256"] for m in members}
    assert sha == set(version.tables.values_list("sha256", flat=True))
    # The W3C prov package reads the memberships (a third-party check).
    from prov.model import ProvDocument, ProvMembership

    parsed = ProvDocument.deserialize(content=json.dumps(doc), format="json")
    memberships = [r for r in parsed.get_records() if isinstance(r, ProvMembership)]
    assert len(memberships) == len(DEMO_TABLES)


def test_audit_of_linked_tables_against_one_table_is_refused_with_the_reason(world):
    _, version = _register_demo(world, metadata=demo_metadata())
    real = make_dataset(world, kind="real", name="Real placements")
    reference = make_version(real, world.curator_a)
    with pytest.raises(Exception) as refused:
        audit_run_request(
            version=version, reference=reference, holdout=None, config={}, user=world.curator_a
        )
    assert "tables do not match the reference's tables" in str(refused.value)
    response = api_client(world.curator_a).post(
        "/api/v1/audits/", {"version": version.pk, "reference": reference.pk}, format="json"
    )
    assert response.status_code == 400
    assert "missing placements; extra sessions, transactions, users" in json.dumps(response.json())
    assert not version.audits.exists()


def test_audit_page_of_linked_tables_says_what_is_measured_and_why_not(client, world):
    _, version = _register_demo(world, metadata=demo_metadata())
    real = make_dataset(world, kind="real", name="Real placements")
    reference = make_version(real, world.curator_a)
    client.force_login(world.curator_a)
    url = reverse("audits:request", args=[version.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "referential integrity" in html.unescape(page.content.decode())
    # The form starts with every family a relational audit computes.
    assert page.context["form"].initial["families"] == [
        "integrity",
        "quality",
        "fairness",
        "privacy",
        "provenance",
    ]
    posted = client.post(url, {"reference": reference.pk, "families": ["quality"], "seed": 0})
    assert "tables do not match the reference" in html.unescape(posted.content.decode())
    assert not version.audits.exists()


def test_audit_of_linked_tables_with_keys_not_confirmed_is_refused(world):
    _, version = _register_demo(world)
    assert not version.keys_confirmed
    real = make_dataset(world, kind="real", name="Real sessions")
    _, reference = _register_demo(world, dataset=real, metadata=demo_metadata())
    response = api_client(world.curator_a).post(
        "/api/v1/audits/", {"version": version.pk, "reference": reference.pk}, format="json"
    )
    assert response.status_code == 400
    assert "confirm" in json.dumps(response.json()).lower()
    assert not version.audits.exists()


def test_schema_correction_of_a_relational_version_is_refused_not_crashed(world):
    _, version = _register_demo(world)
    response = api_client(world.curator_a).patch(
        f"/api/v1/versions/{version.pk}/schema/", {"columns": []}, format="json"
    )
    assert response.status_code == 400
    assert "3 tables" in json.dumps(response.json())


def test_the_migration_gives_every_existing_version_its_one_table(world):
    """Versions stored before relational versions existed each get one table, named
    after the file's stem (or "table"), with the version's own hash. (The backfill
    function of migration 0008, run on versions whose table rows are removed: running
    the migration executor itself takes seconds.)"""
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("registry.migrations.0008_version_tables_backfill")
    dataset = make_dataset(world)
    first = make_version(dataset, world.curator_a)
    second = make_version(dataset, world.curator_a, placements_csv(rows=12))
    DatasetVersion.objects.filter(pk=second.pk).update(original_name="my data (2).csv.gz")
    VersionTable.objects.all().delete()
    backfill.forwards(apps, None)
    backfill.forwards(apps, None)  # twice: versions with a table are left alone

    tables = {t.version_id: t for t in VersionTable.objects.filter(version__in=[first, second])}
    assert VersionTable.objects.count() == 2
    assert (tables[first.pk].name, tables[second.pk].name) == ("placements", "table")
    for version in (first, second):
        version.refresh_from_db()
        table = tables[version.pk]
        assert version.table_count == 1 and not version.is_relational
        assert (table.sha256, table.file.name, table.schema, table.row_count) == (
            version.sha256,
            version.file.name,
            version.schema,
            version.row_count,
        )


def test_a_zip_with_names_and_keys_declared_in_the_api(world):
    dataset = make_dataset(world)
    keys = PAIR_KEYS
    response = api_client(world.curator_a).post(
        f"/api/v1/datasets/{dataset.pk}/tables/",
        {
            "archive": upload(zip_of({"p.csv": PARENTS, "c.csv": CHILDREN}), "pc.zip"),
            "names": "p.csv = parents\nc.csv = children",
            "keys": json.dumps(keys),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["keys_confirmed"] is True
    assert {t["name"]: t["primary_key"] for t in body["tables"]} == keys["primary_keys"]
    assert body["original_name"] == "pc.zip"


def test_collapse_skips_a_relational_real_ancestor_with_the_reason(world):
    from audits.runs.inputs import ANCESTOR_RELATIONAL, real_ancestor_load

    real = make_dataset(world, kind="real", name="Real sessions")
    _, real_version = _register_demo(world, dataset=real)
    synthetic = make_version(make_dataset(world, name="Synthetic placements"), world.curator_a)
    services.version_lineage_set(
        version=synthetic,
        user=world.curator_a,
        parents=[services.ParentLink(real_version.pk, "trained_on")],
        generation={},
    )
    ancestor = real_ancestor_load(version=synthetic, loaded={})
    assert ancestor.frame is None
    assert ancestor.reason == ANCESTOR_RELATIONAL


def test_the_schema_step_of_a_relational_version_leads_to_its_keys(client, world):
    _, version = _register_demo(world)
    client.force_login(world.curator_a)
    response = client.get(reverse("registry:schema", args=[version.pk]))
    assert response.status_code == 302
    assert response.url == reverse("registry:keys", args=[version.pk])


def test_upload_and_keys_pages_are_for_the_curator(client, world):
    dataset, version = _register_demo(world)
    client.force_login(world.curator_a)
    page = client.get(reverse("registry:upload_tables", args=[dataset.pk]))
    assert page.status_code == 200
    assert b'type="file" name="tables"' in page.content and b"multiple" in page.content
    assert client.get(reverse("registry:keys", args=[version.pk])).status_code == 200
    client.force_login(world.officer_a)  # may read the version, not change it
    assert client.get(reverse("registry:keys", args=[version.pk])).status_code == 403
    assert client.get(reverse("registry:upload_tables", args=[dataset.pk])).status_code == 403
    put = api_client(world.officer_a).put(
        f"/api/v1/versions/{version.pk}/keys/", {"primary_keys": {}}, format="json"
    )
    assert put.status_code == 403


def test_parquet_and_csv_tables_mix_and_download_as_stored(world):
    import io

    import pandas as pd

    from tests.registry.conftest import parquet_bytes

    parents = parquet_bytes(pd.read_csv(io.BytesIO(PARENTS)))
    dataset = make_dataset(world)
    version = table_services.relational_version_create(
        dataset=dataset,
        user=world.curator_a,
        tables=[
            TableUpload(None, "parents.parquet", iter([parents])),
            TableUpload(None, "children.csv", iter([CHILDREN])),
        ],
    )
    formats = dict(version.tables.values_list("name", "format"))
    assert formats == {"parents": "parquet", "children": "csv"}
    assert table_services.version_keys(version).foreign_keys[0].parent_table == "parents"
    got = api_client(world.curator_a).get(f"/api/v1/versions/{version.pk}/tables/parents/download/")
    assert got["Content-Type"] == "application/vnd.apache.parquet"
    assert b"".join(got.streaming_content) == parents
