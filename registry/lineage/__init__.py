"""Lineage of dataset versions, in plain Python (no Django).

- ``graph``: ``LineageNode`` / ``LineageEdge`` values, their labels, cycle
  checks, ancestors, descendants, components and synthetic generation depth.
- ``layout``: a layered left-to-right layout of the graph.
- ``svg``: the layout drawn as an accessible SVG picture.

The W3C PROV-JSON document of a lineage is built in ``registry.documents.prov``.
The graph's values and queries are the package's API and are importable from
here; the layout and the picture are imported from their own modules (the
module ``layout`` and its function ``layout`` share a name).
"""

from registry.lineage.graph import (
    GENERATION_RELATIONS,
    GENERATOR_LABELS,
    KIND_LABELS,
    REAL,
    RELATION_LABELS,
    RESTRICTED_LABEL,
    SAME_GENERATION_RELATIONS,
    EdgeLike,
    LineageEdge,
    LineageNode,
    ancestors,
    descendants,
    edge_label,
    generation_depths,
    generator_label,
    kind_label,
    lineage_subgraph,
    synthetic_generation_depth,
    would_create_cycle,
)

__all__ = [
    "GENERATION_RELATIONS",
    "GENERATOR_LABELS",
    "KIND_LABELS",
    "REAL",
    "RELATION_LABELS",
    "RESTRICTED_LABEL",
    "SAME_GENERATION_RELATIONS",
    "EdgeLike",
    "LineageEdge",
    "LineageNode",
    "ancestors",
    "descendants",
    "edge_label",
    "generation_depths",
    "generator_label",
    "kind_label",
    "lineage_subgraph",
    "synthetic_generation_depth",
    "would_create_cycle",
]
