"""The lineage as a W3C PROV-JSON document
(https://www.w3.org/submissions/prov-json/), and a structural check of one.

Plain Python fed with the dataclasses of ``registry.lineage.graph``; nothing
here imports Django. A version the reader may not see (``visible=False``)
appears only as "restricted source": no name, hash, organisation, URL, kind or
generator from it reaches the document.

Every identifier resolves: the prefix's namespace plus the local name is the
URL of a real page. A version is ``synthgov:`` + its page's path
(``synthgov:versions/2/`` with ``synthgov`` the site's root); its generation
is the "generation" part of that page (``synthgov:versions/2/#generation``).
Records with no page of their own (organisations, generator software,
restricted sources, the relations) are named inside the document itself:
``lineage:`` is the document's own URL plus ``#``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from registry.documents.values import absolute_url, compact, finite, iso_time, slug
from registry.lineage.graph import (
    GENERATOR_LABELS,
    RELATION_LABELS,
    RESTRICTED_LABEL,
    LineageEdge,
    LineageNode,
    generator_label,
)

PROV_NS = "http://www.w3.org/ns/prov#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
QNAME_TYPES = frozenset({"xsd:QName", "prov:QUALIFIED_NAME"})
# A local name may hold "/" and "#" (PROV-N allows both), so that it can be a path.
_QNAME = re.compile(r"^([A-Za-z_][\w.-]*):([\w][\w./#-]*)$")
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


def _relation_qname(relation: str) -> dict[str, str]:
    return _qname(f"synthgov:{_LOCAL_UNSAFE.sub('_', relation) or 'unknown'}")


@dataclass
class _ProvBuilder:
    doc: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, section: str, record_id: str, attrs: dict[str, Any]) -> str:
        self.doc.setdefault(section, {})[record_id] = compact(attrs)
        return record_id

    def relation(self, section: str, attrs: dict[str, Any]) -> str:
        count = len(self.doc.get(section, {})) + 1
        # Named, not blank (_:), so that a derivation can refer to its usage.
        return self.add(section, f"lineage:{section}-{count}", attrs)

    def agent(self, kind: str, key: str, attrs: dict[str, Any]) -> str:
        if (kind, key) not in self.agents:
            taken = set(self.agents.values())
            candidate = base = f"lineage:{kind}-{slug(key)}"
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
    nodes: Sequence[LineageNode],
    edges: Sequence[LineageEdge],
    *,
    base_uri: str,
    document_uri: str,
) -> dict[str, Any]:
    """The lineage as a W3C PROV-JSON document served at ``document_uri``.

    Each version is an entity named by its page (``synthgov:versions/<id>/``);
    a version the reader may not see is an entity ``lineage:restricted-<n>``
    carrying only its type and the label "restricted source". Each visible
    version with parents or a generator has a generation activity
    (``synthgov:versions/<id>/#generation``) that used its parents and is
    associated with the generator software; versions are attributed to their
    organisation. A version of several tables is also a collection whose members
    (``hadMember``) are its tables, each an entity ``<version>#table-<name>`` (the
    table's part of the version page) with its SHA-256 and rows.
    """
    base = base_uri.rstrip("/")
    build = _ProvBuilder()
    ordered = sorted({n.id: n for n in nodes}.values(), key=lambda n: n.id)
    by_id = {n.id: n for n in ordered}
    entity_ids: dict[int, str] = {}
    hidden = 0
    for node in ordered:
        if node.visible:
            # A version always has a page; without one it is still named, in this document.
            name = _page_name(base, node.url) or f"lineage:version-{node.id}"
            entity_ids[node.id] = build.add("entity", name, _entity(node, base))
            for table, sha256, rows in node.tables:
                member = build.add(
                    "entity",
                    f"{name}#table-{table}",
                    {
                        "prov:type": _qname("synthgov:Table"),
                        "prov:label": f"{node.title} · {table}",
                        "synthgov:tableName": table,
                        "synthgov:sha256": sha256,
                        "synthgov:rows": rows,
                    },
                )
                build.relation(
                    "hadMember", {"prov:collection": entity_ids[node.id], "prov:entity": member}
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
                f"lineage:restricted-{hidden}",
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
        "prefix": {
            "synthgov": base + "/",
            "lineage": document_uri.split("#")[0] + "#",
            "prov": PROV_NS,
            "xsd": XSD_NS,
        },
        **{k: build.doc[k] for k in PROV_SECTION_ORDER if build.doc.get(k)},
    }


def _page_name(base: str, url: str) -> str:
    """``synthgov:<path>`` for a page of this site; "" for anything else."""
    page = absolute_url(base, url)
    if not page.startswith(base + "/") or len(page) == len(base) + 1:
        return ""
    name = "synthgov:" + page[len(base) + 1 :]
    return name if _QNAME.match(name) else ""


def _entity(node: LineageNode, base: str) -> dict[str, Any]:
    page = absolute_url(base, node.url)
    return {
        "prov:type": _qname("synthgov:DatasetVersion"),
        "prov:label": node.title,
        "synthgov:dataset": node.dataset_name,
        "synthgov:versionNumber": node.version_number,
        "synthgov:kind": node.kind,
        "synthgov:sha256": node.sha256,
        "synthgov:rows": node.row_count,
        "synthgov:columns": node.column_count,
        "synthgov:created": {"$": iso_time(node.created), "type": "xsd:dateTime"},
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
    # The generation is told on the version's page, in its "generation" part.
    entity = entity_ids[node.id]
    activity = build.add(
        "activity",
        f"{entity}#generation"
        if entity.startswith("synthgov:")
        else f"lineage:generation-{node.id}",
        {
            "prov:type": _qname("synthgov:Generation"),
            "prov:label": f"generation of {node.title}",
            "prov:endTime": iso_time(node.created),
            "synthgov:generator": generator_label(node),
            "synthgov:generatorType": node.generator_type,
            "synthgov:generatorLibrary": node.generator_library,
            "synthgov:generatorVersion": node.generator_version,
            "synthgov:parameters": json.dumps(node.parameters, sort_keys=True, default=str)
            if node.parameters
            else None,
            "synthgov:seed": node.seed,
            "synthgov:privacyMechanism": node.privacy_mechanism,
            "synthgov:epsilon": finite(node.epsilon),
            "synthgov:energyKwh": finite(node.energy_kwh),
            "synthgov:carbonKg": finite(node.carbon_kg),
        },
    )
    generation = build.relation(
        "wasGeneratedBy",
        {
            "prov:entity": entity_ids[node.id],
            "prov:activity": activity,
            "prov:time": iso_time(node.created),
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
