"""Lineage of dataset versions as a plain graph: cycle checks, components,
synthetic generation depth, a layered layout and its SVG picture. The PROV-JSON
export lives with the other exports in ``registry.exports``; ``prov_json`` and
``validate_prov_json`` are reachable from here too.

Nothing here imports Django: the registry builds ``LineageNode`` and
``LineageEdge`` values from its rows (with versions the reader may not see
marked ``visible=False``) and this module only computes and renders. Pictures
and exports show such a node as "restricted source" and never use its name,
organisation, hash, URL, kind or generator, even if the caller filled them in;
only the generation depth of its visible descendants reads its kind.
"""

from __future__ import annotations

import heapq
import html
import itertools
import math
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

REAL = "real"
KIND_LABELS = {
    "real": "Real",
    "fully_synthetic": "Fully synthetic",
    "partially_synthetic": "Partially synthetic",
    "hybrid": "Hybrid",
}
RELATION_LABELS = {
    "trained_on": "trained on",
    "derived_from": "derived from",
    "merged_with": "merged with",
    "holdout_of": "holdout of",
    "augments": "augments",
    "watermarked_from": "watermarked from",
}
GENERATOR_LABELS = {
    "gan": "GAN",
    "vae": "VAE",
    "diffusion": "Diffusion",
    "copula": "Copula",
    "bayesian_network": "Bayesian network",
    "llm": "LLM",
    "simulation": "Simulation",
    "rule_based": "Rule-based",
    "imputation": "Imputation",
    "other": "Other generator",
}
# A holdout is a split of real data, not a generation: it never adds distance
# from real data, so the depth walk ignores it.
GENERATION_RELATIONS = frozenset(
    {"trained_on", "derived_from", "augments", "watermarked_from", "merged_with"}
)
# A watermarked copy is the same generation as its source: its values moved
# within a tolerance, but no generator was fitted to make it.
SAME_GENERATION_RELATIONS = frozenset({"watermarked_from"})
RESTRICTED_LABEL = "restricted source"


@dataclass(frozen=True)
class LineageNode:
    id: int
    label: str
    dataset_id: int
    dataset_name: str
    version_number: int
    kind: str
    organisation: str
    sha256: str
    created: datetime
    url: str
    visible: bool = True
    generator_type: str = ""
    generator_library: str = ""
    generator_version: str = ""
    parameters: dict[str, Any] | None = field(default=None, hash=False)
    seed: int | None = None
    privacy_mechanism: str = ""
    epsilon: float | None = None
    energy_kwh: float | None = None
    carbon_kg: float | None = None
    row_count: int | None = None
    column_count: int | None = None
    uploaded_by: str = ""

    @property
    def title(self) -> str:
        """Name shown for the node: "Dataset vN", or "restricted source"."""
        if not self.visible:
            return RESTRICTED_LABEL
        return f"{self.dataset_name} v{self.version_number}" if self.dataset_name else self.label

    @property
    def has_generator(self) -> bool:
        return self.visible and bool(
            self.generator_type or self.generator_library or self.generator_version
        )


@dataclass(frozen=True)
class LineageEdge:
    parent_id: int
    child_id: int
    relation: str


EdgeLike = LineageEdge | tuple[int, int]


def _triple(edge: EdgeLike) -> tuple[int, int, str | None]:
    if isinstance(edge, LineageEdge):
        return edge.parent_id, edge.child_id, edge.relation
    parent_id, child_id = edge
    return parent_id, child_id, None


# --- Graph queries ----------------------------------------------------------


def would_create_cycle(
    edges: Iterable[EdgeLike], new_parent_id: int, child_id: int
) -> list[int] | None:
    """The loop that declaring ``new_parent_id`` as a parent of ``child_id``
    would close, or None if the lineage stays acyclic.

    The loop is given in edge direction (parent → child), starting and ending
    at ``new_parent_id``: ``[new_parent, child, ..., new_parent]``. A version
    declared as its own parent gives ``[id, id]``.
    """
    if new_parent_id == child_id:
        return [child_id, child_id]
    children: dict[int, list[int]] = defaultdict(list)
    for edge in edges:
        parent, child, _ = _triple(edge)
        children[parent].append(child)
    # Shortest existing path child → … → new_parent; the new edge closes it.
    came_from: dict[int, int] = {child_id: child_id}
    queue = deque([child_id])
    while queue:
        current = queue.popleft()
        for nxt in sorted(children.get(current, ())):
            if nxt in came_from:
                continue
            came_from[nxt] = current
            if nxt == new_parent_id:
                path = [nxt]
                while path[-1] != child_id:
                    path.append(came_from[path[-1]])
                return [new_parent_id, *reversed(path)]
            queue.append(nxt)
    return None


def _walk(
    edges: Iterable[EdgeLike], start: int, *, upward: bool, relations: Iterable[str] | None
) -> set[int]:
    wanted = None if relations is None else frozenset(relations)
    step: dict[int, list[int]] = defaultdict(list)
    for edge in edges:
        parent, child, relation = _triple(edge)
        if wanted is not None and relation is not None and relation not in wanted:
            continue
        if upward:
            step[child].append(parent)
        else:
            step[parent].append(child)
    seen: set[int] = set()
    queue = deque([start])
    while queue:
        for nxt in step.get(queue.popleft(), ()):
            if nxt not in seen and nxt != start:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def ancestors(
    edges: Iterable[EdgeLike], version_id: int, *, relations: Iterable[str] | None = None
) -> set[int]:
    """Ids of every version ``version_id`` descends from (not itself).

    ``relations`` limits the walk to edges with those relations; plain
    ``(parent, child)`` pairs carry no relation and are always followed.
    """
    return _walk(edges, version_id, upward=True, relations=relations)


def descendants(
    edges: Iterable[EdgeLike], version_id: int, *, relations: Iterable[str] | None = None
) -> set[int]:
    """Ids of every version that descends from ``version_id`` (not itself)."""
    return _walk(edges, version_id, upward=False, relations=relations)


def lineage_subgraph(
    nodes: Sequence[LineageNode], edges: Sequence[LineageEdge], focus_ids: Iterable[int]
) -> tuple[list[LineageNode], list[LineageEdge]]:
    """The connected component(s) of the lineage that contain ``focus_ids``.

    Connected ignoring direction, like the registry's lineage query: all
    ancestors and descendants of the focus, plus co-parents and siblings met
    on the way (the other source of a merge belongs in the picture). Input
    order is kept; edges to versions missing from ``nodes`` are dropped.
    """
    known = {node.id for node in nodes}
    edges = [e for e in edges if e.parent_id in known and e.child_id in known]
    neighbours: dict[int, set[int]] = defaultdict(set)
    for edge in edges:
        neighbours[edge.parent_id].add(edge.child_id)
        neighbours[edge.child_id].add(edge.parent_id)
    keep = {i for i in focus_ids if i in known}
    queue = deque(keep)
    while queue:
        for nxt in neighbours[queue.popleft()]:
            if nxt not in keep:
                keep.add(nxt)
                queue.append(nxt)
    return (
        [n for n in nodes if n.id in keep],
        [e for e in edges if e.parent_id in keep and e.child_id in keep],
    )


def generation_depths(nodes: Sequence[LineageNode], edges: Sequence[LineageEdge]) -> dict[int, int]:
    """Synthetic generations between each version and its nearest real
    ancestor (real versions are 0); versions with no real ancestor are absent.

    Only generation relations count (see ``GENERATION_RELATIONS``), and a
    watermarked copy keeps its source's depth (``SAME_GENERATION_RELATIONS``);
    a version whose kind is real is 0 whatever its parents are.
    """
    kinds = {node.id: node.kind for node in nodes}
    children: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for edge in edges:
        if edge.relation in GENERATION_RELATIONS:
            step = 0 if edge.relation in SAME_GENERATION_RELATIONS else 1
            children[edge.parent_id].append((edge.child_id, step))
    depth = {node_id: 0 for node_id, kind in kinds.items() if kind == REAL}
    # Shortest distance with steps of 0 and 1: a 0-1 breadth-first search.
    queue = deque(sorted(depth))
    while queue:
        current = queue.popleft()
        for child, step in children.get(current, ()):
            candidate = depth[current] + step
            if candidate < depth.get(child, candidate + 1):
                depth[child] = candidate
                if step:
                    queue.append(child)
                else:
                    queue.appendleft(child)
    return {node_id: d for node_id, d in depth.items() if node_id in kinds}


def synthetic_generation_depth(
    nodes: Sequence[LineageNode], edges: Sequence[LineageEdge], version_id: int
) -> int | None:
    """Synthetic generations separating ``version_id`` from its nearest real
    ancestor: 0 for real data, 1 for data generated from real data, 2 for data
    generated from that, …; None when no real ancestor is known."""
    return generation_depths(nodes, edges).get(version_id)


# --- Layout -----------------------------------------------------------------

NODE_WIDTH = 224.0
NODE_HEIGHT = 56.0
WAYPOINT_HEIGHT = 18.0  # slot a long edge takes in each layer it passes through
COLUMN_GAP = 210.0  # room for an edge label between two layers
ROW_GAP = 34.0
MARGIN = 24.0
BARYCENTER_SWEEPS = 8

Point = tuple[float, float]
Segment = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class PlacedNode:
    node: LineageNode
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float
    generation: int | None  # synthetic generations from real data, if known


@dataclass(frozen=True)
class PlacedEdge:
    edge: LineageEdge
    label: str
    # Cubic beziers from the parent's right side to the child's left side. An
    # edge that skips layers has one per gap, joined by straight runs across
    # the layers in between (where it holds a slot, so it never crosses a box).
    segments: tuple[Segment, ...]
    label_x: float
    label_y: float

    @property
    def path(self) -> str:
        parts = []
        for index, (start, c1, c2, end) in enumerate(self.segments):
            move = "M" if index == 0 else "L"
            parts.append(
                f"{move}{start[0]:.1f},{start[1]:.1f} C{c1[0]:.1f},{c1[1]:.1f} "
                f"{c2[0]:.1f},{c2[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
            )
        return " ".join(parts)


@dataclass(frozen=True)
class GraphLayout:
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    width: float
    height: float

    def node(self, version_id: int) -> PlacedNode:
        for placed in self.nodes:
            if placed.node.id == version_id:
                return placed
        raise KeyError(version_id)


def generator_label(node: LineageNode) -> str:
    """The generator as shown on an edge, e.g. "GAN (ctgan 0.10)"; "" if none or hidden."""
    if not node.has_generator:
        return ""
    software = " ".join(p for p in (node.generator_library, node.generator_version) if p)
    kind = GENERATOR_LABELS.get(node.generator_type, node.generator_type)
    if kind and software:
        return f"{kind} ({software})"
    return kind or software


def edge_label(relation: str, child: LineageNode) -> str:
    """Relation, then the generator that produced the child: "trained on · GAN (ctgan 0.10)"."""
    text = RELATION_LABELS.get(relation, relation.replace("_", " "))
    generator = generator_label(child)
    return f"{text} · {generator}" if generator else text


def layout(nodes: Sequence[LineageNode], edges: Sequence[LineageEdge]) -> GraphLayout:
    """Layered left-to-right drawing: a node's layer is its longest path from
    a root; within a layer, barycenter sweeps reduce crossings. The same input
    always gives the same drawing."""
    by_id: dict[int, LineageNode] = {}
    for node in nodes:
        by_id.setdefault(node.id, node)
    kept = sorted(
        {
            e
            for e in edges
            if e.parent_id in by_id and e.child_id in by_id and e.parent_id != e.child_id
        },
        key=lambda e: (e.parent_id, e.child_id, e.relation),
    )
    layer_of = _layers(sorted(by_id), kept)
    # Long edges get a waypoint (negative id) in every layer they skip.
    chains: dict[LineageEdge, list[int]] = {}
    for edge in kept:
        chain = [edge.parent_id]
        for layer in range(layer_of[edge.parent_id] + 1, layer_of[edge.child_id]):
            waypoint = -(len(layer_of) - len(by_id) + 1)
            layer_of[waypoint] = layer
            chain.append(waypoint)
        chains[edge] = [*chain, edge.child_id]
    links = [(a, b) for chain in chains.values() for a, b in itertools.pairwise(chain)]
    rows = _order_rows(layer_of, links)
    depths = generation_depths(list(by_id.values()), kept)
    slot = {n: NODE_HEIGHT if n >= 0 else WAYPOINT_HEIGHT for n in layer_of}
    row_heights = [sum(slot[n] for n in row) + (len(row) - 1) * ROW_GAP for row in rows]
    graph_height = max(row_heights, default=0.0)
    top_of: dict[int, float] = {}
    for row, row_height in zip(rows, row_heights, strict=True):
        y = MARGIN + (graph_height - row_height) / 2
        for n in row:
            top_of[n] = y
            y += slot[n] + ROW_GAP
    placed = {
        n: PlacedNode(
            node=by_id[n],
            layer=layer_of[n],
            order=rows[layer_of[n]].index(n),
            x=_column_x(layer_of[n]),
            y=top_of[n],
            width=NODE_WIDTH,
            height=NODE_HEIGHT,
            generation=depths.get(n),
        )
        for n in by_id
    }
    middle = {n: top_of[n] + slot[n] / 2 for n in layer_of}
    return GraphLayout(
        nodes=tuple(sorted(placed.values(), key=lambda p: (p.layer, p.order))),
        edges=tuple(_place_edge(e, chains[e], layer_of, middle, by_id[e.child_id]) for e in kept),
        width=2 * MARGIN + len(rows) * NODE_WIDTH + max(len(rows) - 1, 0) * COLUMN_GAP,
        height=2 * MARGIN + graph_height,
    )


def _column_x(layer: int) -> float:
    return MARGIN + layer * (NODE_WIDTH + COLUMN_GAP)


def _layers(ids: list[int], edges: list[LineageEdge]) -> dict[int, int]:
    """Longest path from a root, by Kahn's algorithm. Should a cycle slip in,
    its smallest id is released so every node still gets a layer."""
    children: dict[int, list[int]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for edge in edges:
        children[edge.parent_id].append(edge.child_id)
        indegree[edge.child_id] += 1
    layer = dict.fromkeys(ids, 0)
    ready = [i for i in ids if indegree[i] == 0]
    heapq.heapify(ready)
    done: set[int] = set()
    while len(done) < len(ids):
        if not ready:
            heapq.heappush(ready, min(i for i in ids if i not in done))
        current = heapq.heappop(ready)
        if current in done:
            continue
        done.add(current)
        for child in children[current]:
            if child in done:
                continue
            layer[child] = max(layer[child], layer[current] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    return layer


def _order_rows(layer_of: dict[int, int], links: list[tuple[int, int]]) -> list[list[int]]:
    count = max(layer_of.values(), default=-1) + 1
    rows: list[list[int]] = [[] for _ in range(count)]
    for n in sorted(layer_of, key=lambda n: (n < 0, abs(n))):
        rows[layer_of[n]].append(n)
    parents: dict[int, list[int]] = defaultdict(list)
    children: dict[int, list[int]] = defaultdict(list)
    for parent, child in links:
        # Backward links (only from a cycle) are left out of the ordering.
        if layer_of[parent] < layer_of[child]:
            parents[child].append(parent)
            children[parent].append(child)
    best = [list(row) for row in rows]
    best_crossings = _crossings(best, layer_of, links)
    for sweep in range(BARYCENTER_SWEEPS):
        downward = sweep % 2 == 0
        neighbours = parents if downward else children
        sequence = range(1, count) if downward else range(count - 2, -1, -1)
        for index in sequence:
            position = _positions(rows)
            rows[index] = sorted(
                rows[index],
                key=lambda n: (_barycenter(neighbours[n], position, position[n]), position[n]),
            )
        crossings = _crossings(rows, layer_of, links)
        if crossings < best_crossings:
            best, best_crossings = [list(row) for row in rows], crossings
    return best


def _positions(rows: list[list[int]]) -> dict[int, float]:
    # Centred, so rows of different lengths line up around the middle.
    return {n: i - (len(row) - 1) / 2 for row in rows for i, n in enumerate(row)}


def _barycenter(neighbours: list[int], position: dict[int, float], default: float) -> float:
    if not neighbours:
        return default
    return sum(position[n] for n in neighbours) / len(neighbours)


def _crossings(
    rows: list[list[int]], layer_of: dict[int, int], links: list[tuple[int, int]]
) -> int:
    """Pairs of links between the same two layers that cross each other."""
    position = _positions(rows)
    groups: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for parent, child in links:
        groups[(layer_of[parent], layer_of[child])].append((position[parent], position[child]))
    total = 0
    for pairs in groups.values():
        for i, (a1, b1) in enumerate(pairs):
            total += sum(1 for a2, b2 in pairs[i + 1 :] if (a1 - a2) * (b1 - b2) < 0)
    return total


def _place_edge(
    edge: LineageEdge,
    chain: list[int],
    layer_of: dict[int, int],
    middle: dict[int, float],
    child: LineageNode,
) -> PlacedEdge:
    segments: list[Segment] = []
    for a, b in itertools.pairwise(chain):
        sx, sy = _column_x(layer_of[a]) + NODE_WIDTH, middle[a]
        ex, ey = _column_x(layer_of[b]), middle[b]
        bend = max((ex - sx) / 2, 40.0)
        segments.append(((sx, sy), (sx + bend, sy), (ex - bend, ey), (ex, ey)))
    # The label sits halfway along the last gap, just before the child, so it
    # never lies over a column of boxes.
    (sx, sy), _, _, (ex, ey) = segments[-1]
    return PlacedEdge(
        edge=edge,
        label=edge_label(edge.relation, child),
        segments=tuple(segments),
        label_x=round((sx + ex) / 2, 1),
        label_y=round((sy + ey) / 2, 1),
    )


# --- SVG --------------------------------------------------------------------

KIND_COLOURS = {  # fill, stroke
    "real": ("#e3f4e6", "#2d7a3e"),
    "fully_synthetic": ("#e2edfb", "#1f5fae"),
    "partially_synthetic": ("#ddf3f1", "#12766c"),
    "hybrid": ("#efe6fa", "#6a3fa3"),
}
RESTRICTED_COLOURS = ("#f0f1f3", "#7a7f87")
UNKNOWN_COLOURS = ("#f6f8fa", "#57606a")
HEADER_HEIGHT = 40.0
LEGEND_ITEM_WIDTH = 170.0
LEGEND_ROW_HEIGHT = 24.0
NAME_CHARS = 28  # what fits in a node box at 13px
DETAIL_CHARS = 35
LABEL_CHARS = 34  # what fits in the gap between two layers at 11px
DESC_EDGE_LIMIT = 60
# Characters XML 1.0 cannot hold (and lone surrogates UTF-8 cannot encode).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _esc(text: object) -> str:
    """Text safe inside an XML element or a double-quoted attribute."""
    return html.escape(_XML_INVALID.sub("", str(text)), quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe_href(url: str) -> str:
    """Only site paths and http(s) links become links; anything else is dropped."""
    if url.startswith("/") and not url.startswith("//"):
        return url
    return url if urlsplit(url).scheme in {"http", "https"} else ""


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize() or "Unknown kind")


def _node_detail(placed: PlacedNode) -> str:
    text = kind_label(placed.node.kind)
    if placed.generation is not None and placed.node.kind != REAL:
        text += f" · generation {placed.generation}"
    return text


def render_svg(graph: GraphLayout, *, title: str, id_prefix: str = "lineage") -> str:
    """A self-contained, accessible SVG picture of the lineage.

    ``id_prefix`` keeps element ids unique when several pictures share a page.
    """
    prefix = _ID_UNSAFE.sub("-", id_prefix) or "lineage"
    width = max(graph.width, 2 * MARGIN + 2 * LEGEND_ITEM_WIDTH)
    per_row = max(1, int((width - 2 * MARGIN) // LEGEND_ITEM_WIDTH))
    legend = _legend_items()
    legend_height = math.ceil(len(legend) / per_row) * LEGEND_ROW_HEIGHT + MARGIN / 2
    height = HEADER_HEIGHT + graph.height + legend_height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" '
        'font-family="system-ui, -apple-system, Segoe UI, sans-serif" '
        'style="max-width:100%;height:auto">',
        f'<title id="{prefix}-title">{_esc(title)}</title>',
        f'<desc id="{prefix}-desc">{_esc(_description(graph))}</desc>',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN:.0f}" y="26" font-size="16" font-weight="600" fill="#1f2328">'
        f"{_esc(_clip(title, 120))}</text>",
        f'<g transform="translate(0,{HEADER_HEIGHT:.0f})">',
    ]
    parts.extend(_svg_edge(placed, prefix) for placed in graph.edges)
    parts.extend(_svg_node(placed) for placed in graph.nodes)
    parts.append("</g>")
    parts.append(_svg_legend(legend, HEADER_HEIGHT + graph.height, per_row))
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_edge(placed: PlacedEdge, prefix: str) -> str:
    dashed = ' stroke-dasharray="6 4"' if placed.edge.relation == "holdout_of" else ""
    label = _clip(placed.label, LABEL_CHARS)
    tooltip = f"<title>{_esc(placed.label)}</title>" if label != placed.label else ""
    return (
        '<g class="lineage-edge">'
        f'<path d="{placed.path}" fill="none" stroke="#57606a" stroke-width="1.5"{dashed} '
        f'marker-end="url(#{prefix}-arrow)"/>'
        f'<text x="{placed.label_x:.1f}" y="{placed.label_y - 5:.1f}" text-anchor="middle" '
        'font-size="11" fill="#24292f" stroke="#ffffff" stroke-width="4" '
        f'stroke-linejoin="round" paint-order="stroke">{_esc(label)}{tooltip}</text></g>'
    )


def _svg_node(placed: PlacedNode) -> str:
    node = placed.node
    if node.visible:
        fill, stroke = KIND_COLOURS.get(node.kind, UNKNOWN_COLOURS)
        name, detail, dash = node.title, _node_detail(placed), ""
        digest = f"sha256 {node.sha256[:12]}…" if node.sha256 else ""
        tooltip = " · ".join(p for p in (name, detail, node.organisation, digest) if p)
        attrs = f' data-kind="{_esc(node.kind)}" data-version-id="{node.id}"'
        href = _safe_href(node.url)
    else:
        fill, stroke = RESTRICTED_COLOURS
        name, detail, dash = RESTRICTED_LABEL, "details withheld", ' stroke-dasharray="5 4"'
        tooltip = "A source version you are not allowed to see"
        attrs, href = ' data-kind="restricted"', ""
    body = (
        f"<title>{_esc(tooltip)}</title>"
        f'<rect x="{placed.x:.1f}" y="{placed.y:.1f}" width="{placed.width:.0f}" '
        f'height="{placed.height:.0f}" rx="8" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="1.5"{dash}/>'
        f'<text x="{placed.x + 12:.1f}" y="{placed.y + 23:.1f}" font-size="13" '
        f'font-weight="600" fill="#1f2328">{_esc(_clip(name, NAME_CHARS))}</text>'
        f'<text x="{placed.x + 12:.1f}" y="{placed.y + 43:.1f}" font-size="11" '
        f'fill="#424a53">{_esc(_clip(detail, DETAIL_CHARS))}</text>'
    )
    if href:
        body = f'<a href="{_esc(href)}">{body}</a>'
    return f'<g class="lineage-node"{attrs}>{body}</g>'


def _legend_items() -> list[tuple[str, str, str, str]]:
    """(label, fill, stroke, dash) per legend entry."""
    items = [(label, *KIND_COLOURS[kind], "") for kind, label in KIND_LABELS.items()]
    items.append(("Restricted source", *RESTRICTED_COLOURS, "5 4"))
    items.append(("Holdout split (dashed link)", "none", "#57606a", "6 4"))
    return items


def _svg_legend(items: list[tuple[str, str, str, str]], top: float, per_row: int) -> str:
    parts = [f'<g class="lineage-legend" transform="translate({MARGIN:.0f},{top:.0f})">']
    for index, (label, fill, stroke, dash) in enumerate(items):
        x = (index % per_row) * LEGEND_ITEM_WIDTH
        y = (index // per_row) * LEGEND_ROW_HEIGHT
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        if fill == "none":
            swatch = (
                f'<line x1="{x:.0f}" y1="{y + 6:.0f}" x2="{x + 20:.0f}" y2="{y + 6:.0f}" '
                f'stroke="{stroke}" stroke-width="1.5"{dashed}/>'
            )
        else:
            swatch = (
                f'<rect x="{x:.0f}" y="{y:.0f}" width="20" height="12" rx="3" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="1.5"{dashed}/>'
            )
        parts.append(
            f'{swatch}<text x="{x + 28:.0f}" y="{y + 11:.0f}" font-size="12" '
            f'fill="#1f2328">{_esc(label)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _description(graph: GraphLayout) -> str:
    """The picture in words, for screen readers."""
    by_id = {placed.node.id: placed for placed in graph.nodes}
    sentences = [f"{len(graph.nodes)} dataset versions and {len(graph.edges)} lineage links."]
    for placed in graph.edges[:DESC_EDGE_LIMIT]:
        parent = by_id[placed.edge.parent_id]
        child = by_id[placed.edge.child_id]
        relation = RELATION_LABELS.get(placed.edge.relation, placed.edge.relation)
        generator = generator_label(child.node)
        detail = _node_detail(child) if child.node.visible else "details withheld"
        sentences.append(
            f"{child.node.title} ({detail}) {relation} {parent.node.title}"
            + (f", generated with {generator}." if generator else ".")
        )
    if len(graph.edges) > DESC_EDGE_LIMIT:
        sentences.append(f"And {len(graph.edges) - DESC_EDGE_LIMIT} more links.")
    return " ".join(sentences)


# --- PROV-JSON ----------------------------------------------------------------
# Built in registry.exports next to the Croissant export; these wrappers keep
# the lineage interface in one place without a circular import at load time.


def prov_json(
    nodes: Sequence[LineageNode], edges: Sequence[LineageEdge], *, base_uri: str
) -> dict[str, Any]:
    """The lineage as a W3C PROV-JSON document; see ``registry.exports.prov_json``."""
    from registry import exports

    return exports.prov_json(nodes, edges, base_uri=base_uri)


def validate_prov_json(doc: Any) -> list[str]:
    """Structural problems in a PROV-JSON document (empty when it is sound)."""
    from registry import exports

    return exports.validate_prov_json(doc)
