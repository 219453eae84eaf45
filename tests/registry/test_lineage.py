"""Lineage graph: cycle checks, components, generation depth, layout and SVG.

Plain Python: no database, no Django models.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.lineage.graph import (
    LineageEdge,
    LineageNode,
    ancestors,
    descendants,
    edge_label,
    lineage_subgraph,
    synthetic_generation_depth,
    would_create_cycle,
)
from registry.lineage.layout import COLUMN_GAP, GraphLayout, PlacedNode, layout
from registry.lineage.svg import KIND_COLOURS, NAME_CHARS, RESTRICTED_COLOURS, render_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'name'"


def node(node_id: int, kind: str = "fully_synthetic", **extra: Any) -> LineageNode:
    values: dict[str, Any] = {
        "id": node_id,
        "label": f"Dataset {node_id} v1",
        "dataset_id": node_id,
        "dataset_name": f"Dataset {node_id}",
        "version_number": 1,
        "kind": kind,
        "organisation": "Alpha Synthetics",
        "sha256": f"{node_id:064x}",
        "created": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "url": f"/registry/versions/{node_id}/",
    }
    values.update(extra)
    return LineageNode(**values)


def edge(parent: int, child: int, relation: str = "trained_on") -> LineageEdge:
    return LineageEdge(parent_id=parent, child_id=child, relation=relation)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, checked for well-formedness


# --- would_create_cycle --------------------------------------------------------


def test_self_parent_is_a_cycle() -> None:
    assert would_create_cycle([], 7, 7) == [7, 7]


def test_two_cycle_is_reported_in_edge_direction() -> None:
    # 1 is already parent of 2; declaring 2 as parent of 1 closes 2 → 1 → 2.
    assert would_create_cycle([(1, 2)], 2, 1) == [2, 1, 2]


def test_long_cycle_returns_the_whole_loop() -> None:
    chain = [(1, 2), (2, 3), (3, 4), (4, 5)]
    assert would_create_cycle(chain, 5, 1) == [5, 1, 2, 3, 4, 5]


def test_cycle_path_is_the_shortest_loop() -> None:
    edges = [(1, 2), (2, 3), (3, 4), (1, 4)]
    assert would_create_cycle(edges, 4, 1) == [4, 1, 4]


def test_diamond_is_allowed() -> None:
    edges = [(1, 2), (1, 3), (2, 4)]
    assert would_create_cycle(edges, 3, 4) is None


def test_unrelated_parent_is_allowed_and_edges_may_be_lineage_edges() -> None:
    edges = [edge(1, 2), edge(2, 3), edge(10, 11)]
    assert would_create_cycle(edges, 11, 3) is None
    assert would_create_cycle(edges, 3, 1) == [3, 1, 2, 3]


# --- ancestors, descendants, subgraph -------------------------------------------------


def test_ancestors_and_descendants() -> None:
    edges = [edge(1, 2), edge(2, 3), edge(4, 3, "merged_with"), edge(3, 5), edge(9, 10)]
    assert ancestors(edges, 3) == {1, 2, 4}
    assert descendants(edges, 1) == {2, 3, 5}
    assert ancestors(edges, 3, relations={"trained_on"}) == {1, 2}
    assert descendants(edges, 9) == {10}
    assert ancestors(edges, 1) == set()
    # Bad data with a loop: a version is never its own ancestor or descendant.
    assert ancestors([(1, 2), (2, 1)], 1) == {2}
    assert descendants([(1, 2), (2, 1)], 1) == {2}


def test_subgraph_keeps_only_the_component_of_the_focus() -> None:
    nodes = [node(i) for i in (1, 2, 3, 4, 5, 10, 11)]
    edges = [
        edge(1, 2),
        edge(2, 3),
        edge(4, 3, "merged_with"),  # co-parent of 3: part of the picture
        edge(3, 5),
        edge(10, 11),  # another lineage entirely
        edge(11, 99),  # parent or child not among the nodes: dropped
    ]
    sub_nodes, sub_edges = lineage_subgraph(nodes, edges, [2])
    assert [n.id for n in sub_nodes] == [1, 2, 3, 4, 5]
    assert {(e.parent_id, e.child_id) for e in sub_edges} == {(1, 2), (2, 3), (4, 3), (3, 5)}

    both_nodes, both_edges = lineage_subgraph(nodes, edges, [5, 10])
    assert {n.id for n in both_nodes} == {1, 2, 3, 4, 5, 10, 11}
    assert len(both_edges) == 5

    lonely_nodes, lonely_edges = lineage_subgraph([*nodes, node(42)], edges, [42])
    assert [n.id for n in lonely_nodes] == [42]
    assert lonely_edges == []


# --- synthetic generation depth -----------------------------------------------------


@pytest.fixture
def chain() -> tuple[list[LineageNode], list[LineageEdge]]:
    """real(1) → s1(2) → s2(3) → s3(4); hybrid(5) merged from real and s1;
    hybrid(6) merged from s1 and s2; holdout(7) of real; s(8) trained on the
    holdout; s(9) only a holdout of real (holdout does not count); s(10) with
    no real ancestor at all."""
    nodes = [
        node(1, "real"),
        node(2),
        node(3),
        node(4),
        node(5, "hybrid"),
        node(6, "hybrid"),
        node(7, "real"),
        node(8),
        node(9, "partially_synthetic"),
        node(10),
        node(11),
    ]
    edges = [
        edge(1, 2),
        edge(2, 3),
        edge(3, 4),
        edge(1, 5, "merged_with"),
        edge(2, 5, "merged_with"),
        edge(2, 6, "merged_with"),
        edge(3, 6, "merged_with"),
        edge(1, 7, "holdout_of"),
        edge(7, 8),
        edge(1, 9, "holdout_of"),
        edge(11, 10, "derived_from"),
    ]
    return nodes, edges


@pytest.mark.parametrize(
    ("version_id", "expected"),
    [
        (1, 0),  # real
        (2, 1),
        (3, 2),
        (4, 3),
        (5, 1),  # merged straight from real
        (6, 2),  # nearest real is behind s1
        (7, 0),  # a holdout of real data is real data
        (8, 1),
        (9, None),  # holdout_of does not count as a generation
        (10, None),  # no real ancestor
        (404, None),  # unknown version
    ],
)
def test_synthetic_generation_depth(
    chain: tuple[list[LineageNode], list[LineageEdge]], version_id: int, expected: int | None
) -> None:
    nodes, edges = chain
    assert synthetic_generation_depth(nodes, edges, version_id) == expected


def test_generation_depth_counts_every_generation_relation() -> None:
    nodes = [node(1, "real"), node(2), node(3), node(4), node(5)]
    edges = [
        edge(1, 2, "derived_from"),
        edge(2, 3, "augments"),
        edge(3, 4, "trained_on"),
        edge(4, 5, "merged_with"),
    ]
    assert [synthetic_generation_depth(nodes, edges, i) for i in range(1, 6)] == [0, 1, 2, 3, 4]


def test_a_watermarked_copy_is_the_same_generation_as_its_source() -> None:
    # 1 real -> 2 -> 3 (watermarked copy of 2) -> 4 trained on 3; 5 reaches 3
    # through a longer path first in input order, but the shortest depth wins.
    nodes = [node(1, "real"), node(2), node(3), node(4), node(5), node(6)]
    edges = [
        edge(1, 5),
        edge(5, 6),
        edge(6, 3, "merged_with"),
        edge(1, 2),
        edge(2, 3, "watermarked_from"),
        edge(3, 4),
    ]
    assert [synthetic_generation_depth(nodes, edges, i) for i in range(1, 7)] == [0, 1, 1, 2, 1, 2]


# --- layout ------------------------------------------------------------------------


def big_graph() -> tuple[list[LineageNode], list[LineageEdge]]:
    """Twelve versions over five generations with merges and a long edge."""
    gan = {"generator_type": "gan", "generator_library": "ctgan", "generator_version": "0.10"}
    nodes = [
        node(1, "real"),
        node(2, "real"),
        node(3, **gan),
        node(4, **gan),
        node(5, "partially_synthetic"),
        node(6, "hybrid"),
        node(7),
        node(8),
        node(9, "hybrid"),
        node(10),
        node(11, "real"),
        node(12),
    ]
    edges = [
        edge(1, 3),
        edge(2, 4),
        edge(1, 5, "derived_from"),
        edge(1, 6, "merged_with"),
        edge(4, 6, "merged_with"),
        edge(3, 7),
        edge(6, 8),
        edge(7, 9, "merged_with"),
        edge(2, 9, "merged_with"),  # skips three layers
        edge(9, 10, "augments"),
        edge(1, 11, "holdout_of"),
        edge(10, 12, "watermarked_from"),
    ]
    return nodes, edges


def coordinates(graph: GraphLayout) -> list[tuple[Any, ...]]:
    return [(p.node.id, p.layer, p.order, p.x, p.y) for p in graph.nodes] + [
        (e.edge, e.path, e.label_x, e.label_y) for e in graph.edges
    ]


def test_layer_is_the_longest_path_from_a_root() -> None:
    nodes = [node(1, "real"), node(2), node(3), node(4)]
    graph = layout(nodes, [edge(1, 2), edge(2, 3), edge(1, 3), edge(3, 4)])
    assert {p.node.id: p.layer for p in graph.nodes} == {1: 0, 2: 1, 3: 2, 4: 3}


def test_parents_are_left_of_children_and_boxes_do_not_overlap() -> None:
    nodes, edges = big_graph()
    graph = layout(nodes, edges)
    assert len(graph.nodes) == 12
    for placed in graph.edges:
        parent = graph.node(placed.edge.parent_id)
        child = graph.node(placed.edge.child_id)
        assert parent.layer < child.layer
        assert parent.x + parent.width < child.x
    for a in graph.nodes:
        assert a.x >= 0 and a.x + a.width <= graph.width
        assert a.y >= 0 and a.y + a.height <= graph.height
        for b in graph.nodes:
            if a is not b:
                apart_x = a.x + a.width <= b.x or b.x + b.width <= a.x
                apart_y = a.y + a.height <= b.y or b.y + b.height <= a.y
                assert apart_x or apart_y, (a.node.id, b.node.id)


def test_layout_is_deterministic_whatever_the_input_order() -> None:
    nodes, edges = big_graph()
    first = coordinates(layout(nodes, edges))
    assert coordinates(layout(nodes, edges)) == first
    for shift in (1, 5, 11):
        # Reversed and rotated inputs: the drawing depends on ids, not input order.
        shuffled_nodes = list(reversed(nodes[shift:] + nodes[:shift]))
        shuffled_edges = edges[shift:] + edges[:shift]
        assert coordinates(layout(shuffled_nodes, shuffled_edges)) == first


def test_barycenter_ordering_removes_an_avoidable_crossing() -> None:
    # In id order the children would sit [3, 4] beside parents [1, 2] while
    # 3's parent is 2 and 4's is 1: one crossing that reordering removes.
    nodes = [node(1, "real"), node(2, "real"), node(3), node(4)]
    graph = layout(nodes, [edge(2, 3), edge(1, 4)])
    assert graph.node(1).y < graph.node(2).y
    assert graph.node(4).y < graph.node(3).y


def test_edges_run_from_parent_right_side_to_child_left_side() -> None:
    nodes, edges = big_graph()
    graph = layout(nodes, edges)
    for placed in graph.edges:
        parent = graph.node(placed.edge.parent_id)
        child = graph.node(placed.edge.child_id)
        start, end = placed.segments[0][0], placed.segments[-1][-1]
        assert start == (parent.x + parent.width, parent.y + parent.height / 2)
        assert end == (child.x, child.y + child.height / 2)
        assert placed.path.startswith("M") and " C" in placed.path
        # The label sits in the gap just before the child.
        assert child.x - COLUMN_GAP < placed.label_x < child.x


def test_long_edge_is_routed_around_boxes_in_the_layers_it_skips() -> None:
    nodes, edges = big_graph()
    graph = layout(nodes, edges)
    long_edge = next(e for e in graph.edges if (e.edge.parent_id, e.edge.child_id) == (2, 9))
    assert len(long_edge.segments) == 3  # two waypoints, in layers 1 and 2
    for segment_end in (s[-1] for s in long_edge.segments[:-1]):
        x, y = segment_end
        for placed in graph.nodes:
            inside_x = placed.x <= x <= placed.x + placed.width
            assert not (inside_x and placed.y <= y <= placed.y + placed.height)


def test_edge_label_names_relation_and_the_childs_generator() -> None:
    nodes, edges = big_graph()
    labels = {(e.edge.parent_id, e.edge.child_id): e.label for e in layout(nodes, edges).edges}
    assert labels[(1, 3)] == "trained on · GAN (ctgan 0.10)"
    assert labels[(1, 5)] == "derived from"
    assert labels[(1, 11)] == "holdout of"
    hidden = node(5, generator_type="gan", generator_library="secretgan", visible=False)
    assert edge_label("trained_on", hidden) == "trained on"


def test_layout_survives_a_cycle_in_bad_data() -> None:
    graph = layout([node(1), node(2)], [edge(1, 2), edge(2, 1)])
    assert {p.node.id for p in graph.nodes} == {1, 2}


def test_layout_of_nothing() -> None:
    graph = layout([], [])
    assert graph.nodes == () and graph.edges == ()
    parse(render_svg(graph, title="Empty"))


# --- SVG -----------------------------------------------------------------------------


def svg_for(nodes: list[LineageNode], edges: list[LineageEdge], title: str = "Lineage") -> str:
    return render_svg(layout(nodes, edges), title=title)


def group(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("data-kind") == kind]


def test_svg_is_accessible_and_well_formed() -> None:
    nodes, edges = big_graph()
    root = parse(render_svg(layout(nodes, edges), title="Lineage of placements"))
    assert root.tag == f"{SVG}svg"
    # A group, not an image: its nodes are links a screen reader must reach.
    assert root.get("role") == "group"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.text == "Lineage of placements"
    assert desc is not None and "12 dataset versions and 12 lineage links" in (desc.text or "")
    assert "trained on Dataset 1 v1, generated with GAN (ctgan 0.10)" in (desc.text or "")
    labelled_by = (root.get("aria-labelledby") or "").split()
    assert labelled_by == [title.get("id"), desc.get("id")]
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


def test_svg_draws_every_edge_with_an_arrow_and_its_label() -> None:
    nodes, edges = big_graph()
    svg = svg_for(nodes, edges)
    root = parse(svg)
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(arrows) == len(edges)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "trained on · GAN (ctgan 0.10)" in texts
    assert "merged with" in texts
    dashed = [p for p in arrows if p.get("stroke-dasharray")]
    assert len(dashed) == 1  # the holdout split


def test_svg_colours_nodes_by_kind_and_links_visible_ones() -> None:
    nodes = [node(1, "real"), node(2), node(3, "partially_synthetic"), node(4, "hybrid")]
    root = parse(svg_for(nodes, [edge(1, 2), edge(1, 3), edge(2, 4)]))
    for kind in ("real", "fully_synthetic", "partially_synthetic", "hybrid"):
        (g,) = group(root, kind)
        rect = g.find(f".//{SVG}rect")
        assert rect is not None
        assert (rect.get("fill"), rect.get("stroke")) == KIND_COLOURS[kind]
        link = g.find(f"{SVG}a")
        assert link is not None and link.get("href", "").startswith("/registry/versions/")
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "Fully synthetic · generation 1" in texts
    assert "Hybrid · generation 2" in texts
    for legend in ("Real", "Fully synthetic", "Partially synthetic", "Hybrid"):
        assert legend in texts
    assert "Restricted source" in texts


def test_svg_escapes_hostile_names_everywhere() -> None:
    hostile = node(
        2,
        dataset_name=HOSTILE,
        label=HOSTILE,
        organisation=HOSTILE,
        generator_type="gan",
        generator_library=HOSTILE,
        url="javascript:alert(1)",
    )
    svg = svg_for([node(1, "real"), hostile], [edge(1, 2)], title=HOSTILE)
    assert "<script" not in svg
    assert "javascript:" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in svg
    root = parse(svg)  # still well-formed XML
    assert not list(root.iter(f"{SVG}script"))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == HOSTILE
    (g,) = group(root, "fully_synthetic")
    assert g.find(f"{SVG}a") is None  # the javascript: URL was not linked


def test_svg_strips_characters_xml_cannot_hold() -> None:
    svg = svg_for([node(1, "real", dataset_name="bad\x00\x07\ud800name")], [])
    svg.encode("utf-8")
    parse(svg)
    assert "badname v1" in svg


def test_svg_never_leaks_a_restricted_node() -> None:
    secret = node(
        9,
        "real",
        dataset_name="Secret cohort",
        label="Secret cohort v3",
        organisation="Hidden Hospital",
        sha256="deadbeef" * 8,
        url="/registry/versions/9/",
        generator_type="gan",
        generator_library="secretgan",
        visible=False,
    )
    nodes = [secret, node(2, generator_type="copula", generator_library="sdv")]
    svg = svg_for(nodes, [edge(9, 2)])
    for leak in ("Secret", "Hidden Hospital", "deadbeef", "/registry/versions/9/", "secretgan"):
        assert leak not in svg
    assert 'data-version-id="9"' not in svg
    root = parse(svg)
    (g,) = group(root, "restricted")
    rect = g.find(f".//{SVG}rect")
    assert rect is not None
    assert (rect.get("fill"), rect.get("stroke")) == RESTRICTED_COLOURS
    assert rect.get("stroke-dasharray")
    assert "restricted source" in ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
    assert g.find(f"{SVG}a") is None
    # A hidden child: the edge keeps its relation but not the hidden generator.
    svg = svg_for([node(1, "real"), replace(secret, id=3)], [edge(1, 3)])
    assert "trained on" in svg and "secretgan" not in svg and "GAN" not in svg


def test_svg_size_grows_with_the_graph_and_long_names_are_clipped() -> None:
    nodes, edges = big_graph()
    long_name = "A very long dataset name that would overflow its box " * 3
    nodes[0] = replace(nodes[0], dataset_name=long_name)
    graph = layout(nodes, edges)
    root = parse(render_svg(graph, title="Big"))
    assert float(root.get("width", 0)) >= graph.width
    assert float(root.get("height", 0)) > graph.height
    first = group(root, "real")[0]
    name = first.find(f".//{SVG}text")
    assert name is not None and name.text is not None
    # Cut in the middle, keeping the version: v1 and v2 never read the same.
    assert "…" in name.text and name.text.endswith(" v1") and len(name.text) <= NAME_CHARS
    tooltip = first.find(f".//{SVG}title")
    assert tooltip is not None and long_name.strip() in (tooltip.text or "")


def test_placed_nodes_carry_generation_depth() -> None:
    nodes, edges = big_graph()
    depth = {p.node.id: p.generation for p in layout(nodes, edges).nodes}
    assert depth[1] == 0 and depth[3] == 1 and depth[7] == 2
    assert depth[9] == 1  # merged straight from real version 2
    assert depth[10] == 2 and depth[12] == 2  # a watermarked copy keeps its depth
    assert isinstance(layout(nodes, edges).nodes[0], PlacedNode)
