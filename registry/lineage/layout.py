"""A layered left-to-right layout of the lineage graph: each version gets a
column (its longest path from a root) and a row (barycenter sweeps reduce
crossings); each link gets bezier segments and a place for its label.

Plain Python; ``registry.lineage.svg`` draws the result.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from registry.lineage.graph import LineageEdge, LineageNode, edge_label, generation_depths

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
