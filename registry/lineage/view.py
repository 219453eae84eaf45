"""The data behind the dataset page's interactive lineage view (static/js/lineage.js,
drawn with Cytoscape.js) and its keyboard-readable list: one dict per version
and per link, ready for Django's ``json_script``.

Plain Python. A version the reader may not see (``visible=False``) becomes an
anonymous "restricted source" with an opaque id ("r1", "r2", …): not its
database id, name, organisation, kind, hash, URL, status or certificate, even
if the caller filled them in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from registry.lineage.graph import (
    RESTRICTED_LABEL,
    LineageEdge,
    LineageNode,
    edge_label,
    generation_depths,
    kind_label,
)

# The status a version shows when no receiver reports one (no audits app, or no
# evaluation of it yet): the words and colour of audits' "not audited yet".
NO_STATUS: dict[str, str] = {
    "code": "not_audited",
    "label": "Not audited yet",
    "colour": "grey",
    "symbol": "○",
}


def view_data(
    nodes: Sequence[LineageNode],
    edges: Sequence[LineageEdge],
    *,
    badges: Mapping[int, Mapping[str, Any]] | None = None,
    own_ids: Collection[int] = (),
    current_id: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"nodes": [...], "edges": [...]}`` for the lineage view.

    ``badges`` maps a visible version's id to ``{"status": {...}, "certificate":
    {...} | None}`` (``registry.signals.lineage_view_badges``); ``own_ids`` are
    the page's dataset's versions and ``current_id`` its latest, highlighted.
    """
    badges = badges or {}
    depths = generation_depths(nodes, edges)
    view_ids: dict[int, str] = {}
    restricted = 0
    out_nodes: list[dict[str, Any]] = []
    for node in nodes:
        if not node.visible:
            restricted += 1
            view_ids[node.id] = f"r{restricted}"
            out_nodes.append(
                {
                    "id": view_ids[node.id],
                    "title": RESTRICTED_LABEL,
                    "restricted": True,
                    "detail": "details withheld",
                    "kind": "restricted",
                    "url": "",
                    "own": False,
                    "current": False,
                    "status": None,
                    "certificate": None,
                }
            )
            continue
        view_ids[node.id] = f"v{node.id}"
        detail = kind_label(node.kind)
        depth = depths.get(node.id)
        if depth is not None and node.kind != "real":
            detail += f" · generation {depth}"
        badge = badges.get(node.id, {})
        out_nodes.append(
            {
                "id": view_ids[node.id],
                "title": node.title,
                "restricted": False,
                "detail": detail,
                "kind": node.kind,
                "organisation": node.organisation,
                "url": node.url if node.url.startswith("/") else "",
                "own": node.id in own_ids,
                "current": node.id == current_id,
                "status": dict(badge.get("status") or NO_STATUS),
                "certificate": dict(badge["certificate"]) if badge.get("certificate") else None,
            }
        )
    by_id = {node.id: node for node in nodes}
    out_edges = [
        {
            "id": f"e{index}",
            "source": view_ids[edge.parent_id],
            "target": view_ids[edge.child_id],
            "relation": edge.relation,
            "label": edge_label(edge.relation, by_id[edge.child_id]),
            "sourceTitle": _title(by_id[edge.parent_id]),
            "targetTitle": _title(by_id[edge.child_id]),
        }
        for index, edge in enumerate(
            (e for e in edges if e.parent_id in view_ids and e.child_id in view_ids), start=1
        )
    ]
    return {"nodes": out_nodes, "edges": out_edges}


def _title(node: LineageNode) -> str:
    return node.title if node.visible else RESTRICTED_LABEL
