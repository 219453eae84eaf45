"""Lineage of dataset versions as a plain graph: the node and edge values,
their labels, cycle checks, ancestors, descendants, connected components and
the synthetic generation depth.

Nothing here imports Django: the registry builds ``LineageNode`` and
``LineageEdge`` values from its rows (with versions the reader may not see
marked ``visible=False``) and this package only computes, draws and documents.
Labels, pictures and documents show such a node as "restricted source" and
never use its name, organisation, hash, URL, kind or generator, even if the
caller filled them in; only the generation depth of its visible descendants
reads its kind.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    # A version of several tables: (name, SHA-256, rows) of each, in order; empty for
    # a single-table version (its one table is the version's file).
    tables: tuple[tuple[str, str, int], ...] = ()

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


# --- Labels -----------------------------------------------------------------


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


def kind_label(kind: str) -> str:
    """A dataset kind as people read it, e.g. "Fully synthetic"."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize() or "Unknown kind")
