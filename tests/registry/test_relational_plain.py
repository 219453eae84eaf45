"""The plain relational layer (no Django): names, the version hash, key inference and
checks, the SDMetrics metadata, the zip and the diagram."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from registry.relational import (
    ForeignKey,
    Keys,
    RelationalError,
    check_key_values,
    check_keys,
    check_table_name,
    infer_keys,
    keys_from_metadata,
    metadata_from,
    table_name_from_file,
    version_sha256,
)
from registry.relational.archive import archive_members, budget, member_chunks
from registry.relational.diagram import TableBox, render_relationships_svg
from registry.relational.metadata import apply_column_attributes
from tests.registry.relational_helpers import (
    DEMO_TABLES,
    demo_frames,
    demo_metadata,
    zip_of,
)


def test_version_hash_is_the_file_hash_for_one_table_and_stated_for_several():
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    assert version_sha256({"only": a}) == a
    text = f"alpha\t{a}\nbeta\t{b}\n".encode()
    assert version_sha256({"beta": b, "alpha": a}) == hashlib.sha256(text).hexdigest()
    assert version_sha256({"alpha": b, "beta": a}) != version_sha256({"alpha": a, "beta": b})


@pytest.mark.parametrize("name", ["users", "Tumours_2024", "a", "x" * 63])
def test_good_table_names(name):
    assert check_table_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a/b", "..", "a.b", "my table", "1st", "_x", "x" * 64, "p\u0430tients", "é"]
)
def test_odd_table_names_are_refused_with_the_rule(name):
    with pytest.raises(RelationalError, match="1 to 63 characters"):
        check_table_name(name)


def test_file_names_suggest_table_names():
    assert table_name_from_file("patients.csv.gz") == "patients"
    assert table_name_from_file("Visits.parquet") == "Visits"
    with pytest.raises(RelationalError, match="does not suggest"):
        table_name_from_file("my file.csv")


def test_inference_finds_the_sdmetrics_demo_keys():
    found = infer_keys(demo_frames())
    meta = demo_metadata()
    assert dict(found.proposed.primary_keys) == {
        t: meta["tables"][t]["primary_key"] for t in DEMO_TABLES
    }
    assert sorted(found.proposed.foreign_keys) == sorted(
        ForeignKey(
            r["child_table_name"],
            r["child_foreign_key"],
            r["parent_table_name"],
            r["parent_primary_key"],
        )
        for r in meta["relationships"]
    )
    # A column whose values merely fit (session ids 0..9 within user ids 0..9) is listed,
    # not proposed.
    assert ForeignKey("transactions", "session_id", "users", "user_id") in (
        found.foreign_key_candidates
    )


def test_keys_are_checked_against_the_columns_and_for_cycles():
    columns = {"a": ["id", "c_id"], "b": ["id", "a_id"], "c": ["id", "b_id"]}
    pks = {"a": "id", "b": "id", "c": "id"}
    check_keys(columns, Keys(pks, (ForeignKey("b", "a_id", "a", "id"),)))
    cycle = (
        ForeignKey("b", "a_id", "a", "id"),
        ForeignKey("c", "b_id", "b", "id"),
        ForeignKey("a", "c_id", "c", "id"),
    )
    with pytest.raises(RelationalError, match="cycle \\(a → b → c → a\\)"):
        check_keys(columns, Keys(pks, cycle))
    with pytest.raises(RelationalError, match="must point at the primary key"):
        check_keys(columns, Keys(pks, (ForeignKey("b", "a_id", "a", "c_id"),)))
    with pytest.raises(RelationalError, match="declared as a foreign key twice"):
        check_keys(
            columns,
            Keys(pks, (ForeignKey("b", "a_id", "a", "id"), ForeignKey("b", "a_id", "c", "id"))),
        )


def test_primary_key_values_must_be_unique_and_present():
    frames = {"t": pd.DataFrame({"id": [1, 2, 2, 3, 3], "k": [1.0, None, 2.0, 3.0, 4.0]})}
    with pytest.raises(RelationalError, match=r"2 value\(s\) occur more than once.*2, 3"):
        check_key_values(frames, Keys({"t": "id"}))
    with pytest.raises(RelationalError, match=r"empty in 1 row"):
        check_key_values(frames, Keys({"t": "k"}))


def test_metadata_round_trips_through_the_plain_layer():
    meta = demo_metadata()
    frames = demo_frames()
    columns = {t: list(f.columns) for t, f in frames.items()}
    keys, attributes = keys_from_metadata(meta, columns)
    schemas = [
        (
            t,
            apply_column_attributes(
                [{"name": c, "type": "text", "role": "other"} for c in columns[t]], attributes[t]
            ),
        )
        for t in DEMO_TABLES
    ]
    assert metadata_from(schemas, keys) == meta


def test_a_zip_skips_macos_metadata_and_counts_the_bytes_it_reads(tmp_path: Path):
    path = tmp_path / "t.zip"
    path.write_bytes(
        zip_of({"a.csv": b"x\n1\n", "__MACOSX/._a.csv": b"junk", "b.csv": b"y\n2\n" * 50})
    )
    members = archive_members(path, max_tables=5, max_bytes=10_000)
    assert [m.name for m in members] == ["a", "b"]
    shared = budget(100)
    assert b"".join(member_chunks(path, members[0], shared)) == b"x\n1\n"
    with pytest.raises(RelationalError, match="expand to more than"):
        b"".join(member_chunks(path, members[1], shared))


def test_the_diagram_escapes_names_and_describes_every_key():
    svg = render_relationships_svg(
        [TableBox("users", 10, "user_id"), TableBox("sessions", 10, "session_id")],
        [ForeignKey("sessions", "user_id", "users", "user_id")],
        title="<b>Tables</b>",
    )
    assert "&lt;b&gt;Tables&lt;/b&gt;" in svg and "<b>" not in svg
    assert "sessions.user_id refers to users.user_id" in svg
    assert svg.count('class="table"') == 2
