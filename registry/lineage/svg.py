"""The lineage layout drawn as a self-contained, accessible SVG picture:
boxes coloured by kind, labelled links, a legend and a description for
screen readers. Plain Python.
"""

from __future__ import annotations

import html
import math
import re
from urllib.parse import urlsplit

from registry.lineage.graph import (
    KIND_LABELS,
    REAL,
    RELATION_LABELS,
    RESTRICTED_LABEL,
    LineageNode,
    generator_label,
    kind_label,
)
from registry.lineage.layout import MARGIN, GraphLayout, PlacedEdge, PlacedNode

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


def node_name(node: LineageNode, limit: int = NAME_CHARS) -> str:
    """The node's title in at most ``limit`` characters, always ending in its
    version: a long name is cut in the middle ("A very long…name v2"), so v1
    and v2 of one dataset never read the same."""
    title = node.title
    if len(title) <= limit or not node.visible or not node.dataset_name:
        return _clip(title, limit)
    suffix = f" v{node.version_number}"
    room = limit - len(suffix) - 1  # one character for the ellipsis
    name = node.dataset_name.strip()
    if room < 2:
        return _clip(title, limit)
    head = (2 * room + 2) // 3  # more of the start, where names differ most
    tail = room - head
    return f"{name[:head].rstrip()}…{name[len(name) - tail :].lstrip() if tail else ''}{suffix}"


def _safe_href(url: str) -> str:
    """Only site paths and http(s) links become links; anything else is dropped."""
    if url.startswith("/") and not url.startswith("//"):
        return url
    return url if urlsplit(url).scheme in {"http", "https"} else ""


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
    # role="group", not "img": the nodes are links, and an image's children
    # are hidden from assistive technology (axe: nested-interactive).
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="group" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" '
        'font-family="system-ui, -apple-system, Segoe UI, sans-serif">',
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
        name, detail, dash = node_name(node), _node_detail(placed), ""
        digest = f"sha256 {node.sha256[:12]}…" if node.sha256 else ""
        tooltip = " · ".join(p for p in (node.title, detail, node.organisation, digest) if p)
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
        f'font-weight="600" fill="#1f2328">{_esc(name)}</text>'
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
