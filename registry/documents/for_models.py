"""The documents built from registry rows: a dataset's lineage as PROV-JSON and
a version's Croissant JSON-LD, each holding only what the user may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from registry import selectors
from registry.documents.croissant import ColumnInfo, DatasetInfo, croissant_jsonld
from registry.documents.prov import prov_json
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
    dataset = version.dataset
    nodes, _ = selectors.lineage_graph(user=user, version_ids=[version.pk])
    by_id = {n.id: n for n in nodes}
    parents = [
        (by_id[e.parent_id], e.relation) for e in version.parent_edges.all() if e.parent_id in by_id
    ]
    sheet = getattr(version, "datasheet", None)
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
            ColumnInfo(name=c["name"], type=c["type"], role=c["role"]) for c in version.schema
        ],
        datasheet=sheet.sections() if sheet else {},
        parents=parents,
        download_url=request.build_absolute_uri(reverse("registry:download", args=[version.pk])),
        page_url=request.build_absolute_uri(version.get_absolute_url()),
        file_format=version.format,
        file_size=version.size_bytes,
    )
