"""A version's tables and foreign keys drawn as a small, self-contained SVG:
parents left of their children (each table one column right of its deepest
parent), one box per table (name, rows, primary key), one labelled arrow per
foreign key, with a title and description for screen readers. Plain Python.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from registry.relational.keys import ForeignKey

BOX_W, BOX_H = 190.0, 58.0
GAP_X, GAP_Y = 160.0, 26.0
LABEL_CHARS = 26  # what fits in the gap between two columns at 10px
MARGIN = 16.0
NAME_CHARS = 24


@dataclass(frozen=True)
class TableBox:
    name: str
    rows: int
    primary_key: str | None


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def depths(names: Sequence[str], foreign_keys: Sequence[ForeignKey]) -> dict[str, int]:
    """Each table's column: 0 for a table with no parent, else one more than its
    deepest parent (the keys form no cycle)."""
    parents: dict[str, list[str]] = {n: [] for n in names}
    for fk in foreign_keys:
        parents[fk.child_table].append(fk.parent_table)
    memo: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in memo:
            return memo[name]
        ups = [p for p in parents.get(name, []) if p not in seen and p != name]
        memo[name] = 0 if not ups else 1 + max(depth(p, seen | {name}) for p in ups)
        return memo[name]

    return {n: depth(n, frozenset()) for n in names}


def render_relationships_svg(
    tables: Sequence[TableBox], foreign_keys: Sequence[ForeignKey], *, title: str
) -> str:
    """The diagram as an ``<svg>`` element (text escaped; safe to embed in a page)."""
    column_of = depths([t.name for t in tables], foreign_keys)
    rows_in: dict[int, int] = {}
    place: dict[str, tuple[float, float]] = {}
    for table in tables:
        col = column_of[table.name]
        row = rows_in.get(col, 0)
        rows_in[col] = row + 1
        place[table.name] = (MARGIN + col * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y))
    width = MARGIN * 2 + (max(column_of.values(), default=0) + 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + max(rows_in.values(), default=1) * (BOX_H + GAP_Y) - GAP_Y
    desc = (
        "; ".join(
            f"{fk.child_table}.{fk.child_key} refers to {fk.parent_table}.{fk.parent_key}"
            for fk in foreign_keys
        )
        or "No foreign keys are declared."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="relationships" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="rel-title rel-desc">',
        f'<title id="rel-title">{_esc(title)}</title>',
        f'<desc id="rel-desc">{_esc(desc)}</desc>',
        '<defs><marker id="rel-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
    ]
    for fk in foreign_keys:
        px, py = place[fk.parent_table]
        cx, cy = place[fk.child_table]
        x1, y1 = px + BOX_W, py + BOX_H / 2
        x2, y2 = cx, cy + BOX_H / 2
        if x2 <= x1:  # same column (not expected): go round below
            x1, y1, x2, y2 = px + BOX_W / 2, py + BOX_H, cx + BOX_W / 2, cy
        label = _clip(f"{fk.child_key} → {fk.parent_key}", LABEL_CHARS)
        # In the gap just left of the child, so a label never sits on a box.
        lx = max(x1, x2 - GAP_X / 2) if x2 > x1 else (x1 + x2) / 2
        ly = y1 + (y2 - y1) * ((lx - x1) / (x2 - x1)) if x2 != x1 else (y1 + y2) / 2
        parts.append(
            f'<g class="fk"><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#57606a" stroke-width="1.5" marker-start="url(#rel-arrow)"/>'
            f'<text x="{lx:.1f}" y="{ly - 5:.1f}" font-size="10" '
            f'text-anchor="middle" fill="#24292f">{_esc(label)}</text></g>'
        )
    for table in tables:
        x, y = place[table.name]
        key = f"key {table.primary_key}" if table.primary_key else "no primary key"
        parts.append(
            f'<g class="table" data-table="{_esc(table.name)}">'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W:.0f}" height="{BOX_H:.0f}" rx="6" '
            f'fill="#e2edfb" stroke="#1f5fae"/>'
            f'<text x="{x + 10:.1f}" y="{y + 22:.1f}" font-size="14" font-weight="600" '
            f'fill="#24292f">{_esc(_clip(table.name, NAME_CHARS))}</text>'
            f'<text x="{x + 10:.1f}" y="{y + 42:.1f}" font-size="11" fill="#57606a">'
            f"{table.rows:,} rows · {_esc(_clip(key, NAME_CHARS))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
