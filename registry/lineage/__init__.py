"""Lineage of dataset versions, in plain Python (no Django).

- ``graph``: ``LineageNode`` / ``LineageEdge`` values, their labels, cycle
  checks, ancestors, descendants, components and synthetic generation depth.
- ``layout``: a layered left-to-right layout of the graph.
- ``svg``: the layout drawn as an accessible SVG picture.

The W3C PROV-JSON document of a lineage is built in ``registry.documents.prov``.
Import each name from the module that defines it.
"""
