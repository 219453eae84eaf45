"""The dataset page's interactive lineage view, driven in chromium with a 50-version
lineage: text stays readable at the default zoom (measured from Cytoscape.js),
labels do not overlap, zoom and pan work (buttons, keys, drag), clicking a
version opens its page, at desktop and phone width; the hidden version of
another organisation is not in the page; axe finds no serious violation; and
with JavaScript off the server's SVG is shown instead."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_page_scroll, sign_in
from tests.browser.test_accessibility import Axe, axe_script  # noqa: F401 (fixture)
from tests.factories import PASSWORD
from tests.registry.conftest import LONG_CHAIN_NAME, long_lineage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN_FONT_PX = 10

# Rendered font sizes (CSS px: style size x zoom) and label boxes, from the live graph.
MEASURE = """() => {
  const cy = window.synthgovLineage;
  const zoom = cy.zoom();
  const size = (el) => parseFloat(el.style("font-size")) * zoom;
  const box = (bb) => ({x1: bb.x1, y1: bb.y1, x2: bb.x2, y2: bb.y2});
  return {
    zoom,
    pan: cy.pan(),
    nodeFonts: cy.nodes().map(size),
    edgeFonts: cy.edges().map(size),
    nodes: cy.nodes().map((n) => ({id: n.id(), label: n.data("label"),
      box: box(n.renderedBoundingBox({includeLabels: true, includeOverlays: false,
                                      includeUnderlays: false, includeOutlines: false}))})),
    edgeLabels: cy.edges().map((e) => ({id: e.id(),
      box: box(e.renderedBoundingBox({includeNodes: false, includeEdges: false,
                                      includeLabels: true, includeOverlays: false}))})),
  };
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


def overlapping_pairs(boxes: list[tuple[str, dict[str, float]]]) -> list[tuple[str, str]]:
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if overlap(box_a, box_b)
    ]


@pytest.fixture
def fifty(world, registry_storage):
    return long_lineage(world)


def open_lineage(page: Any, dataset_id: int) -> dict[str, Any]:
    sign_in(page, "curator_a", PASSWORD)
    expect(page.get_by_test_id("current-user")).to_be_attached()
    page.goto(f"/datasets/{dataset_id}/")
    expect(page.get_by_test_id("lineage-view")).to_be_visible()
    page.wait_for_function("() => window.synthgovLineage && window.synthgovLineage.nodes().length")
    return page.evaluate(MEASURE)


def test_fifty_versions_are_readable_and_usable(sized_page, fifty) -> None:
    page = sized_page
    found = open_lineage(page, fifty["chain_dataset"].pk)

    print(
        f"{page.viewport_name}: zoom {found['zoom']:.2f}, smallest text "
        f"{min(found['nodeFonts']):.1f} px (versions), {min(found['edgeFonts']):.1f} px (links)"
    )
    # Readable: every label at 10 CSS px or more at the default zoom.
    assert len(found["nodes"]) == 50 and len(found["edgeLabels"]) == 49
    assert min(found["nodeFonts"]) >= MIN_FONT_PX, found["zoom"]
    assert min(found["edgeFonts"]) >= MIN_FONT_PX, found["zoom"]
    # Every name in full, with its version: v1 and v2 are distinct labels.
    label = {n["id"]: n["label"].replace("\n", " ") for n in found["nodes"]}
    for number, version in ((1, fifty["chain"][0]), (2, fifty["chain"][1])):
        assert label[f"v{version.pk}"].startswith(f"{LONG_CHAIN_NAME} v{number} Fully synthetic")
    assert len(set(label.values())) == 50, "two versions share a label"
    # No two version boxes overlap; no link label overlaps a box or another label.
    nodes = [(n["id"], n["box"]) for n in found["nodes"]]
    edge_labels = [(e["id"], e["box"]) for e in found["edgeLabels"]]
    assert overlapping_pairs(nodes) == []
    assert overlapping_pairs(edge_labels) == []
    assert [(e, n) for e, eb in edge_labels for n, nb in nodes if overlap(eb, nb)] == []
    # The page itself does not scroll sideways; the graph pans inside its box.
    assert_no_page_scroll(page)
    # The hidden version of organisation B is nowhere in the page.
    html = page.content()
    assert "Beta confidential" not in html and f"/versions/{fifty['hidden'].pk}/" not in html

    # Zoom: the buttons and the keys.
    page.get_by_role("button", name="Zoom in").click()
    zoomed = page.evaluate("() => window.synthgovLineage.zoom()")
    assert zoomed == pytest.approx(found["zoom"] * 1.25, rel=0.01)
    canvas = page.locator("#lineage-canvas")
    canvas.focus()
    page.keyboard.press("-")
    assert page.evaluate("() => window.synthgovLineage.zoom()") == pytest.approx(found["zoom"])
    # Pan: arrow keys, then dragging the background.
    before = page.evaluate("() => window.synthgovLineage.pan()")
    page.keyboard.press("ArrowLeft")
    after = page.evaluate("() => window.synthgovLineage.pan()")
    assert after["x"] == pytest.approx(before["x"] + 60)
    if page.viewport_name == "desktop":
        box = canvas.bounding_box()
        empty = page.evaluate(
            """() => { const cy = window.synthgovLineage; const w = cy.width(), h = cy.height();
              for (let y = 10; y < h; y += 20) for (let x = 10; x < w; x += 20) {
                const hit = cy.elements().some((el) => { const b = el.renderedBoundingBox();
                  return x > b.x1 - 5 && x < b.x2 + 5 && y > b.y1 - 5 && y < b.y2 + 5; });
                if (!hit) return {x, y}; }
              return null; }"""
        )
        assert empty is not None
        page.mouse.move(box["x"] + empty["x"], box["y"] + empty["y"])
        page.mouse.down()
        page.mouse.move(box["x"] + empty["x"] + 80, box["y"] + empty["y"] + 30, steps=8)
        page.mouse.up()
        dragged = page.evaluate("() => window.synthgovLineage.pan()")
        assert dragged["x"] == pytest.approx(after["x"] + 80, abs=3)
    # Fit shows everything (smaller text, the reader asked for it); back to the latest.
    page.get_by_role("button", name="Fit to view").click()
    assert page.evaluate("() => window.synthgovLineage.zoom()") < found["zoom"]
    page.get_by_role("button", name="Go to latest version").click()
    assert page.evaluate("() => window.synthgovLineage.zoom()") == pytest.approx(found["zoom"])

    # Clicking a version (the latest, centred and highlighted) opens its page.
    latest = fifty["chain"][-1]
    point = page.evaluate(
        f"""() => {{ const n = window.synthgovLineage.getElementById("v{latest.pk}");
          return {{current: n.hasClass("current"), ...n.renderedPosition()}}; }}"""
    )
    assert point["current"]
    box = canvas.bounding_box()
    if page.viewport_name == "phone":
        page.touchscreen.tap(box["x"] + point["x"], box["y"] + point["y"])
    else:
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    expect(page).to_have_url(f"{page.url.split('/datasets/')[0]}/versions/{latest.pk}/")


def test_the_view_passes_axe(open_page, axe_script, fifty) -> None:  # noqa: F811
    for viewport in ("desktop", "phone"):
        page = open_page(viewport, bypass_csp=True)
        open_lineage(page, fifty["chain_dataset"].pk)
        axe = Axe(axe_script, viewport)
        axe.check(page)
        page.locator("[data-testid=lineage-list] summary").click()
        axe.check(page)
        axe.assert_clean()


def test_without_javascript_the_svg_is_shown(open_page, fifty) -> None:
    page = open_page("desktop", java_script_enabled=False)
    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/datasets/{fifty['chain_dataset'].pk}/")

    expect(page.get_by_test_id("lineage-graph")).to_be_visible()
    expect(page.get_by_test_id("lineage-view")).to_be_hidden()
    # At its own size (13 px names), scrolling inside its box rather than shrunk.
    size = page.evaluate(
        """() => { const t = document.querySelector(
            '[data-testid=lineage-graph] svg text[font-weight="600"]');
          return parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a; }"""
    )
    assert size >= 13
    assert_no_page_scroll(page)
    expect(page.get_by_role("link", name="Download as SVG")).to_be_visible()
