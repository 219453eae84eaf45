"""PROV-JSON and Croissant exports: structure validated, contents asserted.

Plain Python: no database, no Django models.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.documents.croissant import (
    ColumnInfo,
    DatasetInfo,
    croissant_jsonld,
    data_type,
    licence_url,
    validate_croissant,
)
from registry.documents.prov import prov_json, validate_prov_json
from registry.lineage.graph import LineageEdge, LineageNode

BASE = "https://synthgov.example"
DOCUMENT = BASE + "/registry/datasets/2/prov/"
QNAME = re.compile(r"^[A-Za-z_][\w.-]*:[\w][\w./#-]*$")
SECRETS = ("Secret cohort", "Hidden Hospital", "deadbeef", "/registry/versions/99/", "secretgan")


def node(node_id: int, kind: str = "fully_synthetic", **extra: Any) -> LineageNode:
    values: dict[str, Any] = {
        "id": node_id,
        "label": f"Placements {node_id} v1",
        "dataset_id": node_id,
        "dataset_name": f"Placements {node_id}",
        "version_number": 1,
        "kind": kind,
        "organisation": "Alpha Synthetics",
        "sha256": f"{node_id:064x}",
        "created": datetime(2024, 5, node_id % 28 + 1, 9, 30, tzinfo=UTC),
        "url": f"/registry/versions/{node_id}/",
        "row_count": 215,
        "column_count": 6,
    }
    values.update(extra)
    return LineageNode(**values)


SECRET = node(
    99,
    "real",
    dataset_name="Secret cohort",
    label="Secret cohort v1",
    organisation="Hidden Hospital",
    sha256="deadbeef" * 8,
    generator_library="secretgan",
    visible=False,
)
GAN = node(
    2,
    dataset_name="Synthetic placements",
    label="Synthetic placements v1",
    generator_type="gan",
    generator_library="ctgan",
    generator_version="0.10",
    parameters={"epochs": 300, "batch_size": 500},
    seed=42,
    privacy_mechanism="differential_privacy",
    epsilon=1.5,
    energy_kwh=0.8,
    carbon_kg=0.2,
)


@pytest.fixture
def graph() -> tuple[list[LineageNode], list[LineageEdge]]:
    """Secret(99, hidden) → real(1) → GAN(2) → s2(3); hybrid(4) merged from 1 and 2."""
    nodes = [
        node(1, "real", organisation="Beta Data"),
        GAN,
        node(3, generator_type="copula", generator_library="sdv", generator_version="1.2"),
        node(4, "hybrid"),
        SECRET,
    ]
    edges = [
        LineageEdge(99, 1, "derived_from"),
        LineageEdge(1, 2, "trained_on"),
        LineageEdge(2, 3, "trained_on"),
        LineageEdge(1, 4, "merged_with"),
        LineageEdge(2, 4, "merged_with"),
    ]
    return nodes, edges


@pytest.fixture
def prov(graph: tuple[list[LineageNode], list[LineageEdge]]) -> dict[str, Any]:
    nodes, edges = graph
    return prov_json(nodes, edges, base_uri=BASE + "/", document_uri=DOCUMENT)


# --- PROV-JSON ------------------------------------------------------------------------


def test_prov_json_is_structurally_valid(prov: dict[str, Any]) -> None:
    assert validate_prov_json(prov) == []
    assert prov["prefix"] == {
        "synthgov": BASE + "/",
        "lineage": DOCUMENT + "#",
        "prov": "http://www.w3.org/ns/prov#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }
    json.dumps(prov, allow_nan=False)  # plain JSON, no NaN
    for section, records in prov.items():
        if section != "prefix":
            assert all(QNAME.match(record_id) for record_id in records), section


def test_prov_json_entities_carry_label_kind_hash_and_size(prov: dict[str, Any]) -> None:
    entity = prov["entity"]
    assert set(entity) == {
        "synthgov:registry/versions/1/",
        "synthgov:registry/versions/2/",
        "synthgov:registry/versions/3/",
        "synthgov:registry/versions/4/",
        "lineage:restricted-1",
    }
    gan = entity["synthgov:registry/versions/2/"]
    assert gan["prov:label"] == "Synthetic placements v1"
    assert gan["prov:type"] == {"$": "synthgov:DatasetVersion", "type": "xsd:QName"}
    assert gan["synthgov:sha256"] == f"{2:064x}"
    assert gan["synthgov:kind"] == "fully_synthetic"
    assert gan["synthgov:rows"] == 215 and gan["synthgov:columns"] == 6
    assert gan["prov:location"]["$"] == BASE + "/registry/versions/2/"
    created = gan["synthgov:created"]
    assert created["type"] == "xsd:dateTime"
    assert datetime.fromisoformat(created["$"]) == GAN.created
    for record_id, attrs in entity.items():
        if record_id.startswith("synthgov:"):
            assert re.fullmatch(r"[0-9a-f]{64}", attrs["synthgov:sha256"])


def test_prov_json_restricted_source_leaks_nothing(prov: dict[str, Any]) -> None:
    assert prov["entity"]["lineage:restricted-1"] == {
        "prov:type": {"$": "synthgov:RestrictedSource", "type": "xsd:QName"},
        "prov:label": "restricted source",
    }
    text = json.dumps(prov)
    for leak in SECRETS:
        assert leak not in text
    assert "versions/99" not in text and "-99" not in text  # not even its id
    # Its derivation is kept, pointing at the anonymous entity.
    derived = [
        d
        for d in prov["wasDerivedFrom"].values()
        if d["prov:generatedEntity"] == "synthgov:registry/versions/1/"
    ]
    assert [d["prov:usedEntity"] for d in derived] == ["lineage:restricted-1"]


def test_prov_json_derivations_and_usage(prov: dict[str, Any]) -> None:
    derivations = list(prov["wasDerivedFrom"].values())
    assert len(derivations) == 5
    pairs = {
        (d["prov:generatedEntity"], d["prov:usedEntity"], d["prov:label"]) for d in derivations
    }
    assert ("synthgov:registry/versions/2/", "synthgov:registry/versions/1/", "trained on") in pairs
    assert (
        "synthgov:registry/versions/4/",
        "synthgov:registry/versions/2/",
        "merged with",
    ) in pairs
    hybrid = [
        d for d in derivations if d["prov:generatedEntity"] == "synthgov:registry/versions/4/"
    ]
    assert {d["prov:type"]["$"] for d in hybrid} == {"synthgov:merged_with"}
    used = prov["used"]
    gan_usage = [
        u for u in used.values() if u["prov:activity"] == "synthgov:registry/versions/2/#generation"
    ]
    assert gan_usage == [
        {
            "prov:activity": "synthgov:registry/versions/2/#generation",
            "prov:entity": "synthgov:registry/versions/1/",
            "prov:role": {"$": "synthgov:trained_on", "type": "xsd:QName"},
            "synthgov:relation": "trained_on",
        }
    ]
    # A derivation names the activity, generation and usage behind it.
    gan_derivation = next(
        d for d in derivations if d["prov:generatedEntity"] == "synthgov:registry/versions/2/"
    )
    assert gan_derivation["prov:activity"] == "synthgov:registry/versions/2/#generation"
    assert used[gan_derivation["prov:usage"]]["prov:entity"] == "synthgov:registry/versions/1/"
    generated = prov["wasGeneratedBy"][gan_derivation["prov:generation"]]
    assert generated["prov:entity"] == "synthgov:registry/versions/2/"


def test_prov_json_generation_activity_records_the_generator(prov: dict[str, Any]) -> None:
    activity = prov["activity"]["synthgov:registry/versions/2/#generation"]
    assert activity["prov:label"] == "generation of Synthetic placements v1"
    assert activity["synthgov:generatorType"] == "gan"
    assert activity["synthgov:generatorLibrary"] == "ctgan"
    assert activity["synthgov:generatorVersion"] == "0.10"
    assert json.loads(activity["synthgov:parameters"]) == {"epochs": 300, "batch_size": 500}
    assert activity["synthgov:seed"] == 42
    assert activity["synthgov:privacyMechanism"] == "differential_privacy"
    assert activity["synthgov:epsilon"] == 1.5
    assert activity["synthgov:energyKwh"] == 0.8
    assert activity["synthgov:carbonKg"] == 0.2
    assert datetime.fromisoformat(activity["prov:endTime"]) == GAN.created
    # No activity for a version with neither parents nor generator, nor for a hidden one.
    assert "synthgov:registry/versions/99/#generation" not in prov["activity"]
    assert set(prov["activity"]) == {
        f"synthgov:registry/versions/{i}/#generation" for i in (1, 2, 3, 4)
    }


def test_prov_json_agents_and_their_relations(prov: dict[str, Any]) -> None:
    agents = prov["agent"]
    software = {k: v for k, v in agents.items() if v["prov:type"]["$"] == "prov:SoftwareAgent"}
    assert {v["prov:label"] for v in software.values()} == {"ctgan 0.10", "sdv 1.2"}
    organisations = {
        v["prov:label"] for v in agents.values() if v["prov:type"]["$"] == "prov:Organization"
    }
    assert organisations == {"Alpha Synthetics", "Beta Data"}  # never Hidden Hospital
    associations = {
        (a["prov:activity"], a["prov:agent"]) for a in prov["wasAssociatedWith"].values()
    }
    ctgan = next(k for k, v in software.items() if v["prov:label"] == "ctgan 0.10")
    assert ("synthgov:registry/versions/2/#generation", ctgan) in associations
    assert len(associations) == 2
    attributions = {(a["prov:entity"], a["prov:agent"]) for a in prov["wasAttributedTo"].values()}
    assert len(attributions) == 4
    assert ("synthgov:registry/versions/1/", "lineage:organisation-beta-data") in attributions


def expand(doc: dict[str, Any], name: str) -> str:
    prefix, local = name.split(":", 1)
    return doc["prefix"][prefix] + local


def test_prov_json_identifiers_are_the_pages_they_name(prov: dict[str, Any]) -> None:
    # A version is its page; its generation is that page's "generation" part.
    for record_id, attrs in prov["entity"].items():
        if "prov:location" in attrs:
            assert expand(prov, record_id) == attrs["prov:location"]["$"]
    assert expand(prov, "synthgov:registry/versions/2/") == BASE + "/registry/versions/2/"
    assert (
        expand(prov, "synthgov:registry/versions/2/#generation")
        == BASE + "/registry/versions/2/#generation"
    )
    # Everything else is named inside the document itself.
    others = [
        record_id
        for section, records in prov.items()
        if section not in ("prefix", "entity", "activity")
        for record_id in records
    ]
    assert others and all(expand(prov, r).startswith(DOCUMENT + "#") for r in others)
    assert expand(prov, "lineage:restricted-1") == DOCUMENT + "#restricted-1"


def test_prov_json_names_a_version_without_a_page_inside_the_document() -> None:
    doc = prov_json(
        [node(1, url="", generator_type="gan")], [], base_uri=BASE, document_uri=DOCUMENT
    )
    assert validate_prov_json(doc) == []
    assert set(doc["entity"]) == {"lineage:version-1"}
    assert doc["entity"]["lineage:version-1"]["prov:label"] == "Placements 1 v1"  # not restricted
    assert set(doc["activity"]) == {"lineage:generation-1"}


def test_prov_json_of_a_lone_version() -> None:
    doc = prov_json([node(1, "real")], [], base_uri=BASE, document_uri=DOCUMENT)
    assert validate_prov_json(doc) == []
    assert "activity" not in doc and "wasDerivedFrom" not in doc


def test_prov_json_drops_non_finite_numbers() -> None:
    doc = prov_json(
        [node(1, generator_type="gan", epsilon=float("nan"))],
        [],
        base_uri=BASE,
        document_uri=DOCUMENT,
    )
    assert "synthgov:epsilon" not in doc["activity"]["synthgov:registry/versions/1/#generation"]
    json.dumps(doc, allow_nan=False)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d.__setitem__("extra", {}), "Unknown top-level key 'extra'"),
        (
            lambda d: d["wasDerivedFrom"]["lineage:wasDerivedFrom-1"].__setitem__(
                "prov:usedEntity", "synthgov:registry/versions/404/"
            ),
            "prov:usedEntity 'synthgov:registry/versions/404/' is not a declared entity",
        ),
        (
            lambda d: d["entity"].__setitem__("ex:thing", {}),
            "uses the undeclared prefix 'ex'",
        ),
        (
            lambda d: d["entity"]["synthgov:registry/versions/1/"].__setitem__("bad attr", 1),
            "'bad attr' is not a qualified name",
        ),
        (
            lambda d: d["activity"]["synthgov:registry/versions/2/#generation"].__setitem__(
                "prov:endTime", "soon"
            ),
            "'soon' is not an ISO 8601 date-time",
        ),
        (
            lambda d: d["used"]["lineage:used-1"].pop("prov:activity"),
            "has no prov:activity",
        ),
        (
            lambda d: d["agent"].__setitem__("synthgov:registry/versions/1/", {}),
            "'synthgov:registry/versions/1/' is both an entity and an agent",
        ),
        (
            lambda d: d["entity"]["synthgov:registry/versions/1/"].__setitem__(
                "prov:type", {"$": "foo:Bar", "type": "xsd:QName"}
            ),
            "'foo:Bar' uses the undeclared prefix 'foo'",
        ),
    ],
)
def test_validate_prov_json_reports_broken_documents(
    prov: dict[str, Any], breakage: Any, message: str
) -> None:
    broken = copy.deepcopy(prov)
    breakage(broken)
    errors = validate_prov_json(broken)
    assert any(message in e for e in errors), errors


def test_validate_prov_json_rejects_non_objects() -> None:
    assert validate_prov_json([]) == ["The document is not a JSON object."]
    assert validate_prov_json({"prefix": {"x": "not a uri"}}) == [
        "Prefix 'x' must map to an absolute URI."
    ]


# --- Croissant ---------------------------------------------------------------------

# Croissant 1.0 @context as published with the spec's examples.
SPEC_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
DATASHEET = {
    "motivation": "Let teams prototype placement models without touching student records.",
    "composition": "One row per student: scores, degree, work experience and placement.",
    "collection": "Placement office records of one business school, 2020 intake.",
    "preprocessing": "Dropped rows with a missing salary; normalised degree names.",
    "uses": "Prototyping and teaching classification models.",
    "distribution": "Open to signed-in users under CC-BY-4.0.",
    "maintenance": "The data team regenerates it each intake and answers issues within a week.",
    "generation_method": "CTGAN trained for 300 epochs on the real placements table.",
    "real_sources": "Student placements v1 (real, Beta Data).",
    "known_limitations": "Salary tails are thinner than in the real data.",
    "bias_mitigation": "Conditional sampling on gender to keep both groups represented.",
    "watermarking": "",
}
COLUMNS = [
    ColumnInfo("student_id", "id", "identifier"),
    ColumnInfo("gender", "categorical", "protected"),
    ColumnInfo("salary", "numerical", "sensitive", "Annual salary offered"),
    ColumnInfo("degree_p", "numerical", "quasi_identifier"),
    ColumnInfo("placed", "boolean", "target"),
    ColumnInfo("start date", "datetime", "other"),
    ColumnInfo("notes/free", "text", "other"),
]
SYNTHETIC_DATASET = DatasetInfo(
    name="Synthetic placements",
    description="A CTGAN copy of the student placements table.",
    licence="CC-BY-4.0",
    organisation="Alpha Synthetics",
    tags=["education", "placements"],
    kind="fully_synthetic",
    domain="education",
    intended_uses="Teaching and model prototyping.",
    prohibited_uses="Decisions about real students.",
    access="open",
)


def croissant(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "dataset": SYNTHETIC_DATASET,
        "version": GAN,
        "columns": COLUMNS,
        "datasheet": DATASHEET,
        "parents": [(node(1, "real", organisation="Beta Data"), "trained_on")],
        "download_url": BASE + "/registry/versions/2/download/",
        "page_url": BASE + "/registry/versions/2/",
        "file_format": "csv",
        "file_size": 12345,
    }
    arguments.update(overrides)
    return croissant_jsonld(**arguments)


def test_croissant_is_valid_and_carries_the_spec_context() -> None:
    doc = croissant()
    assert validate_croissant(doc) == []
    for key, value in SPEC_CONTEXT.items():
        assert doc["@context"][key] == value, key
    assert doc["@context"]["prov"] == "http://www.w3.org/ns/prov#"
    assert doc["@type"] == "sc:Dataset"
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    json.dumps(doc, allow_nan=False)


def test_croissant_dataset_properties() -> None:
    doc = croissant()
    assert doc["name"] == "Synthetic placements"
    assert doc["description"] == "A CTGAN copy of the student placements table."
    assert doc["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert doc["url"] == BASE + "/registry/versions/2/"
    assert doc["version"] == "1.0.0"
    assert datetime.fromisoformat(doc["datePublished"]) == GAN.created
    assert doc["creator"] == {"@type": "sc:Organization", "name": "Alpha Synthetics"}
    assert doc["keywords"] == ["education", "placements"]


def test_croissant_file_object_carries_the_hash() -> None:
    (file_object,) = croissant()["distribution"]
    assert file_object["@type"] == "cr:FileObject"
    assert file_object["sha256"] == GAN.sha256
    assert file_object["contentUrl"] == BASE + "/registry/versions/2/download/"
    assert file_object["encodingFormat"] == "text/csv"
    assert file_object["contentSize"] == "12345 B"
    (parquet,) = croissant(file_format="parquet")["distribution"]
    assert parquet["encodingFormat"] == "application/x-parquet"
    assert parquet["@id"].endswith(".parquet")


def test_croissant_fields_follow_the_schema() -> None:
    doc = croissant()
    file_id = doc["distribution"][0]["@id"]
    (record_set,) = doc["recordSet"]
    assert record_set["@type"] == "cr:RecordSet"
    assert record_set["description"] == DATASHEET["composition"]
    fields = {f["name"]: f for f in record_set["field"]}
    assert list(fields) == [c.name for c in COLUMNS]
    assert {name: f["dataType"] for name, f in fields.items()} == {
        "student_id": "sc:Text",
        "gender": "sc:Text",
        "salary": "sc:Float",
        "degree_p": "sc:Float",
        "placed": "sc:Boolean",
        "start date": "sc:Date",
        "notes/free": "sc:Text",
    }
    for name, item in fields.items():
        assert item["@type"] == "cr:Field"
        assert item["source"] == {"fileObject": {"@id": file_id}, "extract": {"column": name}}
    ids = [f["@id"] for f in record_set["field"]]
    assert len(set(ids)) == len(ids)
    assert fields["notes/free"]["@id"] == "records/notes%2Ffree"
    assert "Annual salary offered" in fields["salary"]["description"]
    assert "sensitive attribute" in fields["salary"]["description"]


def test_croissant_rai_fields_come_from_the_datasheet_and_lineage() -> None:
    doc = croissant()
    assert doc["rai:dataCollection"] == DATASHEET["collection"]
    assert doc["rai:dataCollectionType"] == "Synthetic"
    assert doc["rai:dataCollectionRawData"] == DATASHEET["real_sources"]
    assert doc["rai:dataPreprocessingProtocol"] == DATASHEET["preprocessing"]
    assert DATASHEET["known_limitations"] in doc["rai:dataLimitations"]
    assert "Prohibited uses: Decisions about real students." in doc["rai:dataLimitations"]
    assert DATASHEET["bias_mitigation"] in doc["rai:dataBiases"]
    assert "Protected attributes: gender." in doc["rai:dataBiases"]
    assert DATASHEET["uses"] in doc["rai:dataUseCases"]
    assert "Intended uses: Teaching and model prototyping." in doc["rai:dataUseCases"]
    assert DATASHEET["motivation"] in doc["rai:dataSocialImpact"]
    assert DATASHEET["maintenance"] in doc["rai:dataReleaseMaintenancePlan"]
    assert doc["rai:personalSensitiveInformation"] == [
        "student_id (direct identifier)",
        "gender (protected attribute)",
        "salary (sensitive attribute)",
        "degree_p (quasi-identifier)",
    ]
    manipulation = doc["rai:dataManipulationProtocol"]
    assert DATASHEET["generation_method"] in manipulation
    assert "Generated with GAN (ctgan 0.10)." in manipulation
    assert "Seed 42." in manipulation
    assert "differential privacy (epsilon 1.5)" in manipulation
    assert "Watermarking" not in manipulation  # empty section: left out
    assert doc["rai:hasSyntheticData"] is True


def test_croissant_for_real_data_and_an_empty_datasheet() -> None:
    real = replace(SYNTHETIC_DATASET, kind="real", prohibited_uses="", intended_uses="")
    plain = node(1, "real")
    doc = croissant(dataset=real, version=plain, datasheet={}, parents=[], columns=COLUMNS[4:])
    assert validate_croissant(doc) == []
    assert doc["rai:hasSyntheticData"] is False
    assert "rai:dataCollectionType" not in doc
    assert "rai:personalSensitiveInformation" not in doc
    assert "prov:wasGeneratedBy" not in doc and "prov:wasDerivedFrom" not in doc
    assert not [k for k, v in doc.items() if v in ("", None)]


def test_croissant_provenance_names_parents_and_generator() -> None:
    doc = croissant(parents=[(node(1, "real", organisation="Beta Data"), "trained_on")])
    (parent,) = doc["prov:wasDerivedFrom"]
    assert parent["name"] == "Placements 1 v1"
    assert parent["@id"] == BASE + "/registry/versions/1/"
    assert parent["sha256"] == f"{1:064x}"
    assert "trained on" in parent["description"]
    activity = doc["prov:wasGeneratedBy"]
    assert activity["@type"] == "prov:Activity"
    assert activity["prov:wasAssociatedWith"]["name"] == "ctgan"
    assert activity["prov:wasAssociatedWith"]["softwareVersion"] == "0.10"
    facts = {p["name"]: p["value"] for p in activity["additionalProperty"]}
    assert facts["seed"] == 42 and facts["epsilon"] == 1.5
    assert facts["energy (kWh)"] == 0.8 and facts["carbon (kg CO2e)"] == 0.2
    assert json.loads(facts["parameters"]) == GAN.parameters


def test_croissant_restricted_parent_leaks_nothing() -> None:
    doc = croissant(parents=[(SECRET, "derived_from"), (node(1, "real"), "trained_on")])
    text = json.dumps(doc)
    for leak in SECRETS:
        assert leak not in text
    names = [p["name"] for p in doc["prov:wasDerivedFrom"]]
    assert names == ["restricted source", "Placements 1 v1"]
    assert "@id" not in doc["prov:wasDerivedFrom"][0]


def test_licence_url() -> None:
    assert licence_url("MIT") == "https://spdx.org/licenses/MIT.html"
    assert licence_url("LicenseRef-Internal-1") == "LicenseRef-Internal-1"
    assert licence_url("") == ""


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d["distribution"][0].pop("sha256"), "lacks sha256"),
        (lambda d: d["distribution"][0].__setitem__("sha256", "abc"), "64 lowercase hex"),
        (lambda d: d["distribution"][0].pop("contentUrl"), "lacks contentUrl"),
        (lambda d: d["@context"].pop("recordSet"), "@context lacks 'recordSet'"),
        (lambda d: d["@context"].__setitem__("dataType", "cr:dataType"), "'dataType' is"),
        (lambda d: d.__setitem__("@type", "sc:Thing"), "@type must be sc:Dataset"),
        (lambda d: d.pop("license"), "'license' is required"),
        (lambda d: d.pop("conformsTo"), "conformsTo must include"),
        (lambda d: d["recordSet"][0]["field"][0].pop("dataType"), "lacks dataType"),
        (
            lambda d: d["recordSet"][0]["field"][0]["source"]["fileObject"].__setitem__(
                "@id", "missing.csv"
            ),
            "source does not name a file",
        ),
        (
            lambda d: d["recordSet"][0]["field"][1].__setitem__(
                "@id", d["recordSet"][0]["field"][0]["@id"]
            ),
            "is used twice",
        ),
        (lambda d: d["recordSet"][0]["field"][0]["source"].pop("extract"), "has no extract"),
        (lambda d: d.__setitem__("distribution", []), "at least one FileObject"),
    ],
)
def test_validate_croissant_reports_broken_documents(breakage: Any, message: str) -> None:
    broken = copy.deepcopy(croissant())
    breakage(broken)
    errors = validate_croissant(broken)
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize(
    ("spellings", "expected"),
    [
        ((), "sc:Boolean"),  # not known: as the schema says
        (("True", "False"), "sc:Boolean"),
        (("false", "true"), "sc:Boolean"),
        (("0", "1"), "sc:Boolean"),
        (("Yes", "No"), "sc:Text"),  # bool("No") is True in a loader
        (("t", "f"), "sc:Text"),
        (("True", "False", "yes"), "sc:Text"),
    ],
)
def test_a_boolean_column_is_declared_as_a_loader_reads_it(spellings, expected) -> None:
    column = ColumnInfo(name="placed", type="boolean", role="target", spellings=spellings)
    assert data_type(column) == expected
    doc = croissant(columns=[column])
    (field,) = doc["recordSet"][0]["field"]
    assert field["dataType"] == expected
    if expected == "sc:Text":
        assert "Yes/no values written as: " + ", ".join(sorted(spellings)) in field["description"]
