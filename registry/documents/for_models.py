"""The documents built from registry rows: a dataset's lineage as PROV-JSON and
a version's Croissant JSON-LD, each holding only what the user may see."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from registry import selectors
from registry.documents.croissant import ColumnInfo, DatasetInfo, TableInfo, croissant_jsonld
from registry.documents.prov import prov_json
from registry.lineage.graph import LineageNode
from registry.models import Dataset, DatasetVersion


def prov_for_dataset(*, user: Any, dataset: Dataset, base_uri: str) -> dict[str, Any]:
    """The dataset's lineage: its versions, their ancestors and their descendants
    (not the whole connected graph: a sibling branch or another dataset that
    merely shares a parent is left out). Its records with no page of their own
    are named inside the document, at ``/datasets/<id>/prov/``."""
    base = base_uri.rstrip("/")
    version_ids = list(dataset.versions.values_list("pk", flat=True))
    nodes, edges = selectors.lineage_graph(user=user, version_ids=version_ids, scope="lineage")
    document_uri = base + reverse("registry:prov_document", args=[dataset.pk])
    return prov_json(nodes, edges, base_uri=base, document_uri=document_uri)


def croissant_for_version(
    *, user: Any, version: DatasetVersion, request: HttpRequest
) -> dict[str, Any]:
    """The version's Croissant for ``user``: parents they may not see are
    "restricted source". ``contentUrl`` is the public download when the version is
    published (no account needed, so any tool can fetch it), otherwise the API
    download, which accepts ``Authorization: Token <key>``."""
    return _croissant(
        version=version,
        request=request,
        nodes=selectors.lineage_graph(user=user, version_ids=[version.pk])[0],
        page_url=request.build_absolute_uri(version.get_absolute_url()),
        public=False,
    )


def public_croissant_for_version(
    *, version: DatasetVersion, request: HttpRequest
) -> dict[str, Any]:
    """The Croissant of a published version for anyone, signed in or not: a parent
    appears only if it is published too (otherwise "restricted source"), each
    linked to its public landing page (``open:version``, served by
    audits.publishing), never to a page behind a sign-in."""
    nodes, _ = selectors.lineage_graph(
        user=None, version_ids=[version.pk], readable=DatasetVersion.objects.published()
    )
    nodes = [
        replace(n, url=reverse("open:version", args=[n.id])) if n.visible else n for n in nodes
    ]
    return _croissant(
        version=version,
        request=request,
        nodes=nodes,
        page_url=request.build_absolute_uri(reverse("open:version", args=[version.pk])),
        public=True,
    )


def download_url(version: DatasetVersion, request: HttpRequest) -> str:
    """Where a tool fetches the version's file: the public download once published,
    else the API download (session or API token)."""
    if version.is_published:
        return request.build_absolute_uri(reverse("open_files:download", args=[version.pk]))
    return request.build_absolute_uri(reverse("api-version-download", args=[version.pk]))


def _croissant(
    *,
    version: DatasetVersion,
    request: HttpRequest,
    nodes: list[LineageNode],
    page_url: str,
    public: bool,
) -> dict[str, Any]:
    dataset = version.dataset
    by_id = {n.id: n for n in nodes}
    if public and not by_id[version.pk].visible:
        raise ValueError(f"Version {version.pk} is not published; it has no public Croissant.")
    parents = [
        (by_id[e.parent_id], e.relation) for e in version.parent_edges.all() if e.parent_id in by_id
    ]
    sheet = getattr(version, "datasheet", None)
    spellings = _written_values(version.profile)
    tables = _table_infos(version, request) if version.is_relational else None
    return croissant_jsonld(
        dataset=DatasetInfo(
            name=dataset.name,
            description=dataset.description,
            licence=dataset.licence,
            organisation=dataset.organisation.name,
            tags=[t.name for t in dataset.tags.all()],
            kind=dataset.kind,
            domain=dataset.domain,
            intended_uses=dataset.intended_uses,
            prohibited_uses=dataset.prohibited_uses,
            access=dataset.access,
        ),
        version=by_id[version.pk],
        columns=[
            ColumnInfo(
                name=c["name"],
                type=c["type"],
                role=c["role"],
                spellings=spellings.get(c["name"], ()) if c["type"] == "boolean" else (),
            )
            for c in version.schema
        ],
        datasheet=sheet.sections() if sheet else {},
        parents=parents,
        download_url=download_url(version, request),
        page_url=page_url,
        file_format=version.format,
        file_size=version.size_bytes,
        tables=tables,
    )


def _columns(schema: list[dict[str, Any]], profile: Any) -> list[ColumnInfo]:
    spellings = _written_values(profile)
    return [
        ColumnInfo(
            name=c["name"],
            type=c["type"],
            role=c["role"],
            spellings=spellings.get(c["name"], ()) if c["type"] == "boolean" else (),
        )
        for c in schema
    ]


def _table_infos(version: DatasetVersion, request: HttpRequest) -> list[TableInfo]:
    """Each table of a version of several tables, with its download (the API's, which
    takes a token) and keys."""
    references: dict[int, dict[str, tuple[str, str]]] = {}
    for link in version.relationships.select_related("parent_table"):
        references.setdefault(link.child_table_id, {})[link.child_key] = (
            link.parent_table.name,
            link.parent_key,
        )
    return [
        TableInfo(
            name=t.name,
            columns=_columns(t.schema, t.profile),
            download_url=request.build_absolute_uri(
                reverse("api-version-table-download", args=[version.pk, t.name])
            ),
            file_format=t.format,
            file_size=t.size_bytes,
            sha256=t.sha256,
            primary_key=t.primary_key or None,
            references=references.get(t.pk),
        )
        for t in version.tables.all()
    ]


def _written_values(profile: Any) -> dict[str, tuple[str, ...]]:
    """Each profiled column's values as written in the file (the profile's most
    frequent values; a boolean column has two, or a few case variants)."""
    columns = profile.get("columns", []) if isinstance(profile, dict) else []
    return {
        c["name"]: tuple(str(item["value"]) for item in c.get("top", []))
        for c in columns
        if isinstance(c, dict) and "name" in c and not c.get("other_count")
    }
