"""Documents a regulator can take into other tools: the lineage as W3C
PROV-JSON and a version's documentation as MLCommons Croissant 1.0 JSON-LD
with the Responsible-AI (RAI) vocabulary.

Plain Python fed with the dataclasses of ``registry.lineage`` and the two
below; nothing here imports Django. A version the reader may not see
(``visible=False``) appears only as "restricted source": no name, hash,
organisation, URL, kind or generator from it reaches a document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from registry.lineage import (
    GENERATOR_LABELS,
    KIND_LABELS,
    RELATION_LABELS,
    RESTRICTED_LABEL,
    LineageEdge,
    LineageNode,
    generator_label,
)

SYNTHETIC_KINDS = frozenset({"fully_synthetic", "partially_synthetic", "hybrid"})

# --- W3C PROV-JSON (https://www.w3.org/submissions/prov-json/) --------------------

PROV_NS = "http://www.w3.org/ns/prov#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
QNAME_TYPES = frozenset({"xsd:QName", "prov:QUALIFIED_NAME"})
_QNAME = re.compile(r"^([A-Za-z_][\w.-]*):([\w][\w./-]*)$")
_SLUG_UNSAFE = re.compile(r"[^a-z0-9.]+")
_LOCAL_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")

# Each relation's roles, with the section a role's value must name: "?" marks
# an optional role, "*" any record (entity, activity or agent).
_ACT, _ACT_OPT, _ENT, _ENT_OPT, _AGENT = "activity", "activity?", "entity", "entity?", "agent"
PROV_RELATION_ROLES: dict[str, dict[str, str]] = {
    "wasGeneratedBy": {"prov:entity": _ENT, "prov:activity": _ACT_OPT},
    "used": {"prov:activity": _ACT, "prov:entity": _ENT_OPT},
    "wasInformedBy": {"prov:informed": _ACT, "prov:informant": _ACT},
    "wasStartedBy": {"prov:activity": _ACT, "prov:trigger": _ENT_OPT, "prov:starter": _ACT_OPT},
    "wasEndedBy": {"prov:activity": _ACT, "prov:trigger": _ENT_OPT, "prov:ender": _ACT_OPT},
    "wasInvalidatedBy": {"prov:entity": _ENT, "prov:activity": _ACT_OPT},
    "wasDerivedFrom": {
        "prov:generatedEntity": _ENT,
        "prov:usedEntity": _ENT,
        "prov:activity": _ACT_OPT,
        "prov:generation": "wasGeneratedBy?",
        "prov:usage": "used?",
    },
    "wasAttributedTo": {"prov:entity": _ENT, "prov:agent": _AGENT},
    "wasAssociatedWith": {"prov:activity": _ACT, "prov:agent": "agent?", "prov:plan": _ENT_OPT},
    "actedOnBehalfOf": {
        "prov:delegate": _AGENT,
        "prov:responsible": _AGENT,
        "prov:activity": _ACT_OPT,
    },
    "wasInfluencedBy": {"prov:influencee": "*", "prov:influencer": "*"},
    "specializationOf": {"prov:specificEntity": _ENT, "prov:generalEntity": _ENT},
    "alternateOf": {"prov:alternate1": _ENT, "prov:alternate2": _ENT},
    "hadMember": {"prov:collection": _ENT, "prov:entity": _ENT},
}
PROV_RECORD_SECTIONS = ("entity", "activity", "agent")
PROV_TOP_LEVEL_KEYS = frozenset(
    {"prefix", *PROV_RECORD_SECTIONS, *PROV_RELATION_ROLES, "mentionOf", "bundle"}
)
PROV_SECTION_ORDER = (*PROV_RECORD_SECTIONS, *PROV_RELATION_ROLES)
_PROV_TIMES = ("prov:time", "prov:startTime", "prov:endTime")


def _qname(value: str) -> dict[str, str]:
    return {"$": value, "type": "xsd:QName"}


def _iso(moment: datetime) -> str:
    # Naive datetimes are taken as UTC, as Django stores them.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _slug(text: str) -> str:
    return _SLUG_UNSAFE.sub("-", text.lower()).strip("-.") or "unnamed"


def _relation_qname(relation: str) -> dict[str, str]:
    return _qname(f"synthgov:{_LOCAL_UNSAFE.sub('_', relation) or 'unknown'}")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _absolute(base: str, url: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return base + url
    return url if urlsplit(url).scheme in {"http", "https"} else ""


def _compact(attrs: dict[str, Any]) -> dict[str, Any]:
    """Drop unknown facts rather than writing empty strings or nulls."""
    return {k: v for k, v in attrs.items() if v is not None and v != ""}


@dataclass
class _ProvBuilder:
    doc: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, section: str, record_id: str, attrs: dict[str, Any]) -> str:
        self.doc.setdefault(section, {})[record_id] = _compact(attrs)
        return record_id

    def relation(self, section: str, attrs: dict[str, Any]) -> str:
        count = len(self.doc.get(section, {})) + 1
        # Named, not blank (_:), so that a derivation can refer to its usage.
        return self.add(section, f"synthgov:{section}/{count}", attrs)

    def agent(self, kind: str, key: str, attrs: dict[str, Any]) -> str:
        if (kind, key) not in self.agents:
            taken = set(self.agents.values())
            candidate = base = f"synthgov:{kind}/{_slug(key)}"
            suffix = 2
            while candidate in taken:
                candidate, suffix = f"{base}-{suffix}", suffix + 1
            self.agents[(kind, key)] = self.add("agent", candidate, attrs)
        return self.agents[(kind, key)]

    def software_agent(self, node: LineageNode) -> str:
        software = " ".join(p for p in (node.generator_library, node.generator_version) if p)
        key = software or node.generator_type
        return self.agent(
            "software",
            key,
            {
                "prov:type": _qname("prov:SoftwareAgent"),
                "prov:label": software or GENERATOR_LABELS.get(key, key),
                "synthgov:library": node.generator_library,
                "synthgov:libraryVersion": node.generator_version,
            },
        )

    def organisation_agent(self, name: str) -> str:
        attrs = {"prov:type": _qname("prov:Organization"), "prov:label": name}
        return self.agent("organisation", name, attrs)


def prov_json(
    nodes: Sequence[LineageNode], edges: Sequence[LineageEdge], *, base_uri: str
) -> dict[str, Any]:
    """The lineage as a W3C PROV-JSON document.

    Each version is an entity ``synthgov:version/<id>``; a version the reader
    may not see is an entity ``synthgov:restricted/<n>`` carrying only its
    type and the label "restricted source". Each visible version with parents
    or a generator has a generation activity that used its parents and is
    associated with the generator software; versions are attributed to their
    organisation.
    """
    base = base_uri.rstrip("/")
    build = _ProvBuilder()
    ordered = sorted({n.id: n for n in nodes}.values(), key=lambda n: n.id)
    by_id = {n.id: n for n in ordered}
    entity_ids: dict[int, str] = {}
    hidden = 0
    for node in ordered:
        if node.visible:
            entity_ids[node.id] = build.add(
                "entity", f"synthgov:version/{node.id}", _entity(node, base)
            )
            if node.organisation:
                build.relation(
                    "wasAttributedTo",
                    {
                        "prov:entity": entity_ids[node.id],
                        "prov:agent": build.organisation_agent(node.organisation),
                    },
                )
        else:
            hidden += 1
            entity_ids[node.id] = build.add(
                "entity",
                f"synthgov:restricted/{hidden}",
                {"prov:type": _qname("synthgov:RestrictedSource"), "prov:label": RESTRICTED_LABEL},
            )
    kept = sorted(
        {e for e in edges if e.parent_id in by_id and e.child_id in by_id},
        key=lambda e: (e.child_id, e.parent_id, e.relation),
    )
    parents_of: dict[int, list[LineageEdge]] = {}
    for edge in kept:
        parents_of.setdefault(edge.child_id, []).append(edge)
    for node in ordered:
        links = parents_of.get(node.id, [])
        if node.visible and (links or node.has_generator):
            _generation(build, node, links, entity_ids)
        elif links:  # a hidden child: derivations only, nothing about how it was made
            for edge in links:
                build.relation("wasDerivedFrom", _derivation(edge, entity_ids))
    return {
        "prefix": {"synthgov": base + "/", "prov": PROV_NS, "xsd": XSD_NS},
        **{k: build.doc[k] for k in PROV_SECTION_ORDER if build.doc.get(k)},
    }


def _entity(node: LineageNode, base: str) -> dict[str, Any]:
    page = _absolute(base, node.url)
    return {
        "prov:type": _qname("synthgov:DatasetVersion"),
        "prov:label": node.title,
        "synthgov:dataset": node.dataset_name,
        "synthgov:versionNumber": node.version_number,
        "synthgov:kind": node.kind,
        "synthgov:sha256": node.sha256,
        "synthgov:rows": node.row_count,
        "synthgov:columns": node.column_count,
        "synthgov:created": {"$": _iso(node.created), "type": "xsd:dateTime"},
        "prov:location": page and {"$": page, "type": "xsd:anyURI"},
    }


def _derivation(edge: LineageEdge, entity_ids: dict[int, str]) -> dict[str, Any]:
    return {
        "prov:generatedEntity": entity_ids[edge.child_id],
        "prov:usedEntity": entity_ids[edge.parent_id],
        "prov:type": _relation_qname(edge.relation),
        "prov:label": RELATION_LABELS.get(edge.relation, edge.relation),
    }


def _generation(
    build: _ProvBuilder,
    node: LineageNode,
    links: list[LineageEdge],
    entity_ids: dict[int, str],
) -> None:
    activity = build.add(
        "activity",
        f"synthgov:generation/{node.id}",
        {
            "prov:type": _qname("synthgov:Generation"),
            "prov:label": f"generation of {node.title}",
            "prov:endTime": _iso(node.created),
            "synthgov:generator": generator_label(node),
            "synthgov:generatorType": node.generator_type,
            "synthgov:generatorLibrary": node.generator_library,
            "synthgov:generatorVersion": node.generator_version,
            "synthgov:parameters": json.dumps(node.parameters, sort_keys=True, default=str)
            if node.parameters
            else None,
            "synthgov:seed": node.seed,
            "synthgov:privacyMechanism": node.privacy_mechanism,
            "synthgov:epsilon": _finite(node.epsilon),
            "synthgov:energyKwh": _finite(node.energy_kwh),
            "synthgov:carbonKg": _finite(node.carbon_kg),
        },
    )
    generation = build.relation(
        "wasGeneratedBy",
        {
            "prov:entity": entity_ids[node.id],
            "prov:activity": activity,
            "prov:time": _iso(node.created),
        },
    )
    if node.has_generator:
        build.relation(
            "wasAssociatedWith",
            {"prov:activity": activity, "prov:agent": build.software_agent(node)},
        )
    for edge in links:
        usage = build.relation(
            "used",
            {
                "prov:activity": activity,
                "prov:entity": entity_ids[edge.parent_id],
                "prov:role": _relation_qname(edge.relation),
                "synthgov:relation": edge.relation,
            },
        )
        build.relation(
            "wasDerivedFrom",
            {
                **_derivation(edge, entity_ids),
                "prov:activity": activity,
                "prov:generation": generation,
                "prov:usage": usage,
            },
        )


def validate_prov_json(doc: Any) -> list[str]:
    """Structural problems in a PROV-JSON document; empty when it is sound.

    Checks: only PROV-JSON top-level keys; every identifier, attribute name
    and qualified-name value uses a declared prefix (``_`` is for blank
    nodes); every record a relation names exists in the right section; an
    identifier names one record only; times are ISO 8601.
    """
    if not isinstance(doc, dict):
        return ["The document is not a JSON object."]
    errors = [f"Unknown top-level key '{k}'." for k in sorted(set(doc) - PROV_TOP_LEVEL_KEYS)]
    prefixes = doc.get("prefix", {})
    if not isinstance(prefixes, dict):
        return [*errors, "'prefix' must be an object of prefix → namespace URI."]
    for name, uri in prefixes.items():
        if not isinstance(uri, str) or not urlsplit(uri).scheme:
            errors.append(f"Prefix '{name}' must map to an absolute URI.")
    declared = {*prefixes, "_"}
    ids: dict[str, str] = {}
    for section in PROV_RECORD_SECTIONS:
        for record_id, attrs in _section(doc, section, errors).items():
            if record_id in ids:
                errors.append(f"'{record_id}' is both an {ids[record_id]} and an {section}.")
            ids.setdefault(record_id, section)
            errors.extend(_check_record(section, record_id, attrs, declared))
    for section, roles in PROV_RELATION_ROLES.items():
        for record_id, attrs in _section(doc, section, errors).items():
            errors.extend(_check_record(section, record_id, attrs, declared))
            if not isinstance(attrs, dict):
                continue
            for role, target in roles.items():
                ref = attrs.get(role)
                if ref is None:
                    if not target.endswith("?"):
                        errors.append(f"{section} '{record_id}' has no {role}.")
                    continue
                wanted = PROV_RECORD_SECTIONS if target == "*" else (target.rstrip("?"),)
                if not any(ref in doc.get(s, {}) for s in wanted):
                    errors.append(
                        f"{section} '{record_id}': {role} '{ref}' is not a declared "
                        f"{' or '.join(wanted)}."
                    )
    return errors


def _section(doc: dict[str, Any], section: str, errors: list[str]) -> dict[str, Any]:
    value = doc.get(section, {})
    if isinstance(value, dict):
        return value
    errors.append(f"'{section}' must be an object keyed by identifier.")
    return {}


def _check_record(section: str, record_id: str, attrs: Any, declared: set[str]) -> list[str]:
    where = f"{section} '{record_id}'"
    errors = _check_qname(record_id, declared, f"{where}: identifier")
    if not isinstance(attrs, dict):
        return [*errors, f"{where} must be an object of attributes."]
    for name, value in attrs.items():
        errors.extend(_check_qname(name, declared, f"{where}: attribute"))
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                errors.extend(_check_typed(item, declared, f"{where}: {name}"))
        if name in _PROV_TIMES and not _is_iso(value):
            errors.append(f"{where}: {name} '{value}' is not an ISO 8601 date-time.")
    return errors


def _check_typed(value: dict[str, Any], declared: set[str], where: str) -> list[str]:
    if "$" not in value:
        return [f"{where}: a typed value needs '$'."]
    kind = value.get("type") or ""
    errors = _check_qname(kind, declared, f"{where} type") if kind else []
    if kind in QNAME_TYPES:
        errors.extend(_check_qname(str(value["$"]), declared, f"{where} value"))
    if kind == "xsd:dateTime" and not _is_iso(value["$"]):
        errors.append(f"{where}: '{value['$']}' is not an ISO 8601 date-time.")
    return errors


def _check_qname(text: Any, declared: set[str], where: str) -> list[str]:
    match = _QNAME.match(text) if isinstance(text, str) else None
    if not match:
        return [f"{where} '{text}' is not a qualified name (prefix:local)."]
    if match.group(1) not in declared:
        return [f"{where} '{text}' uses the undeclared prefix '{match.group(1)}'."]
    return []


def _is_iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# --- MLCommons Croissant 1.0 + RAI (https://docs.mlcommons.org/croissant/) --------

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
) -> dict[str, Any]:
    """A version's documentation as Croissant 1.0 JSON-LD with RAI fields.

    One FileObject (the stored file, with its sha256), one RecordSet with a
    Field per column, RAI properties from the datasheet and the lineage, and
    ``prov:wasDerivedFrom`` / ``prov:wasGeneratedBy`` for the parents and
    generator. Empty datasheet sections are left out rather than sent blank.
    """
    sheet = {k: (v or "").strip() for k, v in datasheet.items()}
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page_url)) if page_url else ""
    extension = file_format if file_format in ENCODING_FORMATS else "csv"
    file_id = f"{_slug(dataset.name)}-v{version.version_number}.{extension}"
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
        "datePublished": _iso(version.created),
        "creator": {"@type": "sc:Organization", "name": dataset.organisation},
        "keywords": list(dataset.tags),
        "citeAs": f"{dataset.organisation}. {version.title}. SynthGov registry. {page_url}",
        "distribution": [
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
        ],
        "recordSet": [_record_set(columns, file_id, sheet.get("composition", ""))],
        **_rai(dataset, version, columns, sheet),
        **_provenance(version, parents, origin),
    }
    return _compact(doc)


def _record_set(columns: list[ColumnInfo], file_id: str, composition: str) -> dict[str, Any]:
    fields = []
    for column in columns:
        role = ROLE_LABELS.get(column.role, column.role)
        described = column.description.strip()
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET_ID}/{quote(column.name, safe='')}",
                "name": column.name,
                "description": f"{described} (role: {role})" if described else f"Role: {role}.",
                "dataType": DATA_TYPES.get(column.type, "sc:Text"),
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": column.name}},
            }
        )
    return {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET_ID,
        "name": RECORD_SET_ID,
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
    return _compact(rai)


def _generation_facts(version: LineageNode) -> list[str]:
    facts = []
    if generator := generator_label(version):
        facts.append(f"Generated with {generator}")
    if version.seed is not None:
        facts.append(f"Seed {version.seed}")
    if version.privacy_mechanism:
        epsilon = _finite(version.epsilon)
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
    page = _absolute(origin, parent.url)
    return _compact(
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
        "epsilon": _finite(version.epsilon),
        "energy (kWh)": _finite(version.energy_kwh),
        "carbon (kg CO2e)": _finite(version.carbon_kg),
    }
    activity: dict[str, Any] = {
        "@type": "prov:Activity",
        "name": f"generation of {version.title}",
        "prov:endedAtTime": _iso(version.created),
        "prov:used": sources,
        "additionalProperty": [
            {"@type": "sc:PropertyValue", "name": name, "value": value}
            for name, value in facts.items()
            if value is not None and value != ""
        ],
    }
    if version.has_generator:
        activity["prov:wasAssociatedWith"] = _compact(
            {
                "@type": "prov:SoftwareAgent",
                "name": version.generator_library or generator_label(version),
                "softwareVersion": version.generator_version,
                "description": generator_label(version),
            }
        )
    return _compact({"prov:wasDerivedFrom": sources, "prov:wasGeneratedBy": _compact(activity)})


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
