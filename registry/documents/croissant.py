"""A dataset version's documentation as MLCommons Croissant 1.0 JSON-LD with
the Responsible-AI (RAI) vocabulary (https://docs.mlcommons.org/croissant/),
and a check that a document is usable Croissant.

Plain Python fed with ``DatasetInfo``, ``ColumnInfo`` and the dataclasses of
``registry.lineage.graph``; nothing here imports Django. A parent the reader
may not see (``visible=False``) appears only as "restricted source": no name,
hash, organisation, URL, kind or generator from it reaches the document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from registry.documents.prov import PROV_NS
from registry.documents.values import absolute_url, compact, finite, iso_time, slug
from registry.lineage.graph import (
    KIND_LABELS,
    RELATION_LABELS,
    RESTRICTED_LABEL,
    LineageNode,
    generator_label,
)

SYNTHETIC_KINDS = frozenset({"fully_synthetic", "partially_synthetic", "hybrid"})

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# The context every Croissant 1.0 document carries, plus "prov" for lineage.
CROISSANT_CONTEXT: dict[str, Any] = {
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
    "equivalentProperty": "cr:equivalentProperty",
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
    "prov": PROV_NS,
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
# What the 1.0 spec's examples all carry; citeAs, equivalentProperty and prov may be absent.
CROISSANT_REQUIRED_CONTEXT = tuple(
    k for k in CROISSANT_CONTEXT if k not in {"citeAs", "equivalentProperty", "prov"}
)
ENCODING_FORMATS = {"csv": "text/csv", "parquet": "application/x-parquet"}
DATA_TYPES = {
    "numerical": "sc:Float",
    "categorical": "sc:Text",
    "boolean": "sc:Boolean",
    "datetime": "sc:Date",
    "id": "sc:Text",
    "text": "sc:Text",
}
ROLE_LABELS = {
    "identifier": "direct identifier",
    "quasi_identifier": "quasi-identifier",
    "sensitive": "sensitive attribute",
    "protected": "protected attribute",
    "target": "target",
    "other": "other",
}
# Columns that describe people; direct identifiers belong here as much as the
# three roles an audit uses.
PERSONAL_ROLES = ("identifier", "quasi_identifier", "sensitive", "protected")
RECORD_SET_ID = "records"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    licence: str  # SPDX id, or LicenseRef-… for in-house terms
    organisation: str
    tags: list[str]
    kind: str
    domain: str
    intended_uses: str
    prohibited_uses: str
    access: str


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # numerical, categorical, boolean, datetime, id, text
    role: str  # identifier, quasi_identifier, sensitive, protected, target, other
    description: str = ""
    # How a boolean column's values are written in the file (from its profile);
    # empty when not known.
    spellings: tuple[str, ...] = ()


# Values a Croissant loader reads as true or false: mlcroissant reads the file with
# pandas, which turns these into booleans or the numbers 0 and 1, then casts with
# bool(). Any other spelling ("yes"/"no", "t"/"f") is a non-empty string, which
# bool() makes True whatever it says, so such a column is declared as text instead.
LOADER_BOOLEANS = frozenset(
    {"True", "TRUE", "true", "False", "FALSE", "false", "0", "1", "0.0", "1.0"}
)


@dataclass(frozen=True)
class TableInfo:
    """One table of a version of several tables: its file and columns, its primary
    key, and its foreign keys (column → (parent table, parent column))."""

    name: str
    columns: list[ColumnInfo]
    download_url: str
    file_format: str
    file_size: int
    sha256: str
    primary_key: str | None = None
    references: dict[str, tuple[str, str]] | None = None


def data_type(column: ColumnInfo) -> str:
    """The Croissant dataType a loader reads ``column`` correctly with."""
    if column.type == "boolean" and not set(column.spellings) <= LOADER_BOOLEANS:
        return "sc:Text"
    return DATA_TYPES.get(column.type, "sc:Text")


def licence_url(licence: str) -> str:
    """The SPDX page of a licence id; LicenseRef-… ids have none and stay as text."""
    licence = licence.strip()
    if not licence or licence.startswith("LicenseRef-"):
        return licence
    return f"https://spdx.org/licenses/{quote(licence)}.html"


def croissant_jsonld(
    *,
    dataset: DatasetInfo,
    version: LineageNode,
    columns: list[ColumnInfo],
    datasheet: dict[str, str],
    parents: list[tuple[LineageNode, str]],
    download_url: str,
    page_url: str,
    file_format: str,
    file_size: int,
    tables: list[TableInfo] | None = None,
) -> dict[str, Any]:
    """A version's documentation as Croissant 1.0 JSON-LD with RAI fields.

    One FileObject (the stored file, with its sha256), one RecordSet with a
    Field per column, RAI properties from the datasheet and the lineage, and
    ``prov:wasDerivedFrom`` / ``prov:wasGeneratedBy`` for the parents and
    generator. Empty datasheet sections are left out rather than sent blank.

    A version of several ``tables`` has one FileObject and one RecordSet per table
    (the RecordSet's ``@id`` is the table name, its ``key`` the primary key), and each
    foreign key's Field ``references`` the parent's primary-key Field.
    """
    sheet = {k: (v or "").strip() for k, v in datasheet.items()}
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page_url)) if page_url else ""
    extension = file_format if file_format in ENCODING_FORMATS else "csv"
    file_id = f"{slug(dataset.name)}-v{version.version_number}.{extension}"
    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": file_id,
            "name": file_id,
            "description": f"{version.title} as uploaded; check it against sha256.",
            "contentUrl": download_url,
            "encodingFormat": ENCODING_FORMATS[extension],
            "contentSize": f"{file_size} B",
            "sha256": version.sha256,
        }
    ]
    record_sets = [_record_set(columns, file_id, sheet.get("composition", ""))]
    if tables:
        distribution, record_sets = _tables(dataset, version, tables)
        columns = [c for t in tables for c in t.columns]
    doc: dict[str, Any] = {
        "@context": json.loads(json.dumps(CROISSANT_CONTEXT)),  # a copy callers may edit
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_CONFORMS_TO,
        "name": dataset.name,
        "description": dataset.description
        or f"{KIND_LABELS.get(dataset.kind, dataset.kind)} dataset registered in SynthGov.",
        "license": licence_url(dataset.licence),
        "url": page_url,
        "version": f"{version.version_number}.0.0",
        "datePublished": iso_time(version.created),
        "creator": {"@type": "sc:Organization", "name": dataset.organisation},
        "keywords": list(dataset.tags),
        "citeAs": f"{dataset.organisation}. {version.title}. SynthGov registry. {page_url}",
        "distribution": distribution,
        "recordSet": record_sets,
        **_rai(dataset, version, columns, sheet),
        **_provenance(version, parents, origin),
    }
    return compact(doc)


def _tables(
    dataset: DatasetInfo, version: LineageNode, tables: list[TableInfo]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One FileObject and one RecordSet per table, with keys and references."""
    distribution, record_sets = [], []
    for table in tables:
        extension = table.file_format if table.file_format in ENCODING_FORMATS else "csv"
        file_id = f"{slug(dataset.name)}-v{version.version_number}-{table.name}.{extension}"
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": file_id,
                "description": f"Table {table.name} of {version.title} as uploaded; check it "
                "against sha256.",
                "contentUrl": table.download_url,
                "encodingFormat": ENCODING_FORMATS[extension],
                "contentSize": f"{table.file_size} B",
                "sha256": table.sha256,
            }
        )
        record_set = _record_set(
            table.columns,
            file_id,
            f"One record per row of table {table.name}.",
            record_set_id=table.name,
        )
        references = table.references or {}
        for field in record_set["field"]:
            parent = references.get(field["name"])
            if parent is not None:
                field["references"] = {"field": {"@id": f"{parent[0]}/{quote(parent[1], safe='')}"}}
        if table.primary_key:
            record_set["key"] = {"@id": f"{table.name}/{quote(table.primary_key, safe='')}"}
        record_sets.append(record_set)
    return distribution, record_sets


def _record_set(
    columns: list[ColumnInfo],
    file_id: str,
    composition: str,
    *,
    record_set_id: str = RECORD_SET_ID,
) -> dict[str, Any]:
    fields = []
    for column in columns:
        role = ROLE_LABELS.get(column.role, column.role)
        described = column.description.strip()
        kind = data_type(column)
        if column.type == "boolean" and kind == "sc:Text":
            written = ", ".join(sorted(column.spellings))
            described = _sentences(described, f"Yes/no values written as: {written}")
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{record_set_id}/{quote(column.name, safe='')}",
                "name": column.name,
                "description": f"{described} (role: {role})" if described else f"Role: {role}.",
                "dataType": kind,
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": column.name}},
            }
        )
    return {
        "@type": "cr:RecordSet",
        "@id": record_set_id,
        "name": record_set_id,
        "description": composition or "One record per row of the file.",
        "field": fields,
    }


SYNTHETIC_BIAS_NOTE = (
    "Synthetic data can reproduce or amplify the imbalances of its source; "
    "see the audit figures per protected group."
)
SYNTHETIC_IMPACT_NOTE = (
    "Records are synthetic: they describe no real person and must not be presented as "
    "real observations."
)


def _sentences(*parts: str) -> str:
    """The non-empty parts as one text, each ending with a full stop."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return " ".join(p if p[-1] in ".!?" else f"{p}." for p in kept)


def _labelled(label: str, text: str) -> str:
    return f"{label}: {text.strip()}" if text and text.strip() else ""


def _rai(
    dataset: DatasetInfo, version: LineageNode, columns: list[ColumnInfo], sheet: dict[str, str]
) -> dict[str, Any]:
    synthetic = dataset.kind in SYNTHETIC_KINDS
    personal = [f"{c.name} ({ROLE_LABELS[c.role]})" for c in columns if c.role in PERSONAL_ROLES]
    protected = ", ".join(c.name for c in columns if c.role == "protected")
    rai: dict[str, Any] = {
        "rai:dataCollection": sheet.get("collection"),
        "rai:dataCollectionType": "Synthetic" if synthetic else None,
        "rai:dataCollectionRawData": sheet.get("real_sources"),
        "rai:dataPreprocessingProtocol": sheet.get("preprocessing"),
        "rai:dataManipulationProtocol": _sentences(
            sheet.get("generation_method", ""),
            *_generation_facts(version),
            _labelled("Watermarking", sheet.get("watermarking", "")),
        ),
        "rai:dataLimitations": _sentences(
            sheet.get("known_limitations", ""),
            _labelled("Prohibited uses", dataset.prohibited_uses),
        ),
        "rai:dataBiases": _sentences(
            sheet.get("bias_mitigation", ""),
            _labelled("Protected attributes", protected),
            SYNTHETIC_BIAS_NOTE if synthetic else "",
        ),
        "rai:dataUseCases": _sentences(
            sheet.get("uses", ""), _labelled("Intended uses", dataset.intended_uses)
        ),
        "rai:dataSocialImpact": _sentences(
            sheet.get("motivation", ""), SYNTHETIC_IMPACT_NOTE if synthetic else ""
        ),
        "rai:personalSensitiveInformation": personal or None,
        "rai:dataReleaseMaintenancePlan": _sentences(
            sheet.get("maintenance", ""), _labelled("Distribution", sheet.get("distribution", ""))
        ),
        "rai:hasSyntheticData": synthetic,
    }
    return compact(rai)


def _generation_facts(version: LineageNode) -> list[str]:
    facts = []
    if generator := generator_label(version):
        facts.append(f"Generated with {generator}")
    if version.seed is not None:
        facts.append(f"Seed {version.seed}")
    if version.privacy_mechanism:
        epsilon = finite(version.epsilon)
        bound = f" (epsilon {epsilon:g})" if epsilon is not None else ""
        facts.append(f"Privacy: {version.privacy_mechanism.replace('_', ' ')}{bound}")
    return facts


def _parent_reference(parent: LineageNode, relation: str, origin: str) -> dict[str, Any]:
    if not parent.visible:
        return {
            "@type": "prov:Entity",
            "name": RESTRICTED_LABEL,
            "description": f"Relation: {RELATION_LABELS.get(relation, relation)}. A source "
            "version withheld from this export by its access policy.",
        }
    page = absolute_url(origin, parent.url)
    return compact(
        {
            "@type": "prov:Entity",
            "@id": page or None,
            "name": parent.title,
            "description": f"Relation: {RELATION_LABELS.get(relation, relation)}. "
            f"{KIND_LABELS.get(parent.kind, parent.kind)} data from {parent.organisation}.",
            "url": page,
            "sha256": parent.sha256,
        }
    )


def _provenance(
    version: LineageNode, parents: list[tuple[LineageNode, str]], origin: str
) -> dict[str, Any]:
    sources = [_parent_reference(p, relation, origin) for p, relation in parents]
    if not sources and not version.has_generator:
        return {}
    facts = {
        "generator type": version.generator_type,
        "parameters": json.dumps(version.parameters, sort_keys=True, default=str)
        if version.parameters
        else None,
        "seed": version.seed,
        "privacy mechanism": version.privacy_mechanism,
        "epsilon": finite(version.epsilon),
        "energy (kWh)": finite(version.energy_kwh),
        "carbon (kg CO2e)": finite(version.carbon_kg),
    }
    activity: dict[str, Any] = {
        "@type": "prov:Activity",
        "name": f"generation of {version.title}",
        "prov:endedAtTime": iso_time(version.created),
        "prov:used": sources,
        "additionalProperty": [
            {"@type": "sc:PropertyValue", "name": name, "value": value}
            for name, value in facts.items()
            if value is not None and value != ""
        ],
    }
    if version.has_generator:
        activity["prov:wasAssociatedWith"] = compact(
            {
                "@type": "prov:SoftwareAgent",
                "name": version.generator_library or generator_label(version),
                "softwareVersion": version.generator_version,
                "description": generator_label(version),
            }
        )
    return compact({"prov:wasDerivedFrom": sources, "prov:wasGeneratedBy": compact(activity)})


def validate_croissant(doc: Any) -> list[str]:
    """Problems that stop a document being a usable Croissant 1.0 dataset;
    empty when it is sound. Checks the context, the required dataset
    properties, FileObjects (contentUrl, encodingFormat, sha256) and that every
    field has a dataType and a source naming an existing file."""
    if not isinstance(doc, dict):
        return ["The document is not a JSON object."]
    errors: list[str] = []
    context = doc.get("@context")
    if not isinstance(context, dict):
        errors.append("@context is missing or not an object.")
    else:
        for key in CROISSANT_REQUIRED_CONTEXT:
            if key not in context:
                errors.append(f"@context lacks '{key}'.")
            elif context[key] != CROISSANT_CONTEXT[key]:
                errors.append(f"@context '{key}' is {context[key]!r}, not as in Croissant 1.0.")
    if doc.get("@type") != "sc:Dataset":
        errors.append("@type must be sc:Dataset.")
    conforms = doc.get("conformsTo")
    conforms_list = conforms if isinstance(conforms, list) else [conforms]
    if CROISSANT_CONFORMS_TO not in conforms_list:
        errors.append(f"conformsTo must include {CROISSANT_CONFORMS_TO}.")
    for key in ("name", "description", "license", "url"):
        if not doc.get(key):
            errors.append(f"'{key}' is required.")
    files = _check_distribution(doc.get("distribution"), errors)
    record_sets = doc.get("recordSet", [])
    if not isinstance(record_sets, list):
        return [*errors, "recordSet must be a list."]
    seen: set[str] = set()
    for record_set in record_sets:
        name = record_set.get("@id") if isinstance(record_set, dict) else None
        if not name or record_set.get("@type") != "cr:RecordSet":
            errors.append("Each recordSet needs an @id and @type cr:RecordSet.")
            continue
        fields = record_set.get("field")
        if not isinstance(fields, list) or not fields:
            errors.append(f"recordSet '{name}' has no fields.")
            continue
        for item in fields:
            errors.extend(_check_field(item, files, seen))
    return errors


def _check_distribution(distribution: Any, errors: list[str]) -> set[str]:
    if not isinstance(distribution, list) or not distribution:
        errors.append("distribution must list at least one FileObject.")
        return set()
    files: set[str] = set()
    for item in distribution:
        file_id = item.get("@id") if isinstance(item, dict) else None
        if not file_id:
            errors.append("Each distribution item needs an @id.")
            continue
        if file_id in files:
            errors.append(f"Distribution @id '{file_id}' is used twice.")
        files.add(file_id)
        if item.get("@type") != "cr:FileObject":
            continue
        for key in ("contentUrl", "encodingFormat", "sha256"):
            if not item.get(key):
                errors.append(f"FileObject '{file_id}' lacks {key}.")
        if item.get("sha256") and not _SHA256.match(str(item["sha256"])):
            errors.append(f"FileObject '{file_id}' sha256 is not 64 lowercase hex digits.")
    return files


def _check_field(item: Any, files: set[str], seen: set[str]) -> list[str]:
    field_id = item.get("@id") if isinstance(item, dict) else None
    if not field_id or item.get("@type") != "cr:Field":
        return ["Each field needs an @id and @type cr:Field."]
    errors = [] if field_id not in seen else [f"Field @id '{field_id}' is used twice."]
    seen.add(field_id)
    if not item.get("dataType"):
        errors.append(f"Field '{field_id}' lacks dataType.")
    source = item.get("source")
    source = source if isinstance(source, dict) else {}
    target = source.get("fileObject") or source.get("fileSet") or {}
    if not isinstance(target, dict) or target.get("@id") not in files:
        errors.append(f"Field '{field_id}' source does not name a file in distribution.")
    extract = source.get("extract")
    if not isinstance(extract, dict) or not extract.keys() & {"column", "jsonPath", "fileProperty"}:
        errors.append(f"Field '{field_id}' source has no extract (column, jsonPath, fileProperty).")
    return errors
