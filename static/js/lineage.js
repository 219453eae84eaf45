/* The dataset page's interactive lineage view: the versions and links in the
 * page's #lineage-data island (registry/lineage/view.py), drawn with the
 * vendored Cytoscape.js and its dagre layered layout (static/vendor/).
 *
 * Text keeps a readable size: the first view shows the whole graph only if it
 * fits at MIN_ZOOM or more; otherwise it stays at MIN_ZOOM around the latest
 * version and the reader pans (drag, arrow keys) or zooms (wheel, pinch,
 * buttons, + and -). Clicking a version opens its page. If anything here fails,
 * the server's SVG picture stays in place. */
(function () {
  "use strict";

  var NODE_FONT = 14; // px at zoom 1
  var EDGE_FONT = 12;
  var LINE_HEIGHT = 1.3;
  var FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var TEXT_WIDTH = 230; // widest line in a version box
  // 12 px edge labels stay at 10.8 px or more: the default view never goes below.
  var MIN_ZOOM = 0.9;
  var MAX_START_ZOOM = 1.25;
  var KIND_BORDER = {
    real: "#2d7a3e",
    fully_synthetic: "#1f5fae",
    partially_synthetic: "#12766c",
    hybrid: "#6a3fa3",
    restricted: "#7a7f87",
  };

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function statusColours() {
    return {
      green: [cssVar("--ok-bg", "#e3f3ea"), cssVar("--ok", "#1f7a4d")],
      amber: [cssVar("--warn-bg", "#fff2dc"), cssVar("--warn", "#8a5200")],
      red: [cssVar("--bad-bg", "#fbe5e3"), cssVar("--bad", "#b3261e")],
      grey: ["#eef2f6", "#3d4754"],
    };
  }

  // Greedy word wrap measured with the font the canvas uses, so a long name
  // wraps instead of being cut (and "v1" and "v2" stay distinct).
  function wrapper() {
    var ctx = document.createElement("canvas").getContext("2d");
    ctx.font = NODE_FONT + "px " + FONT_FAMILY;
    function width(text) { return ctx.measureText(text).width; }
    function wrap(text) {
      var lines = [];
      var line = "";
      text.split(/\s+/).forEach(function (word) {
        var candidate = line ? line + " " + word : word;
        if (line && width(candidate) > TEXT_WIDTH) {
          lines.push(line);
          line = word;
        } else {
          line = candidate;
        }
        // A single word wider than the box: break it by characters.
        while (width(line) > TEXT_WIDTH && line.length > 1) {
          var cut = line.length - 1;
          while (cut > 1 && width(line.slice(0, cut)) > TEXT_WIDTH) cut -= 1;
          lines.push(line.slice(0, cut));
          line = line.slice(cut);
        }
      });
      if (line) lines.push(line);
      return lines;
    }
    return { wrap: wrap, width: width };
  }

  function elements(data) {
    var text = wrapper();
    var colours = statusColours();
    var nodes = data.nodes.map(function (n) {
      var lines = text.wrap(n.title).concat(text.wrap(n.detail));
      if (n.status) lines = lines.concat(text.wrap(n.status.symbol + " " + n.status.label));
      if (n.certificate) lines = lines.concat(text.wrap(n.certificate.label));
      var widest = Math.max.apply(null, lines.map(text.width));
      var colour = colours[(n.status && n.status.colour) || "grey"] || colours.grey;
      return {
        group: "nodes",
        data: {
          id: n.id,
          label: lines.join("\n"),
          url: n.url || "",
          w: Math.ceil(Math.max(widest, 120)) + 28,
          h: Math.ceil(lines.length * NODE_FONT * LINE_HEIGHT) + 22,
          fill: n.restricted ? "#f0f1f3" : colour[0],
          border: KIND_BORDER[n.kind] || "#57606a",
        },
        classes: [
          n.restricted ? "restricted" : "",
          n.own ? "own" : "",
          n.current ? "current" : "",
          n.certificate && n.certificate.status === "valid" ? "certified" : "",
        ].join(" ").trim(),
      };
    });
    var edges = data.edges.map(function (e) {
      return {
        group: "edges",
        data: { id: e.id, source: e.source, target: e.target, label: e.label },
        classes: e.relation === "holdout_of" ? "holdout" : "",
      };
    });
    return nodes.concat(edges);
  }

  function style() {
    var ink = cssVar("--ink", "#1c2430");
    var focus = cssVar("--focus", "#1a5f8a");
    return [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          width: "data(w)",
          height: "data(h)",
          "background-color": "data(fill)",
          "border-color": "data(border)",
          "border-width": 2,
          label: "data(label)",
          color: ink,
          "font-family": FONT_FAMILY,
          "font-size": NODE_FONT,
          "line-height": LINE_HEIGHT,
          "text-wrap": "wrap",
          "text-max-width": "data(w)",
          "text-valign": "center",
          "text-halign": "center",
          "min-zoomed-font-size": 0,
        },
      },
      { selector: "node.own", style: { "border-width": 3 } },
      { selector: "node.certified", style: { "outline-width": 3, "outline-color": cssVar("--ok", "#1f7a4d"), "outline-offset": 2 } },
      { selector: "node.current", style: { "border-width": 5, "border-color": focus, "underlay-color": focus, "underlay-opacity": 0.15, "underlay-padding": 8 } },
      { selector: "node.restricted", style: { "border-style": "dashed", color: "#424a53" } },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "curve-style": "bezier",
          "line-color": "#57606a",
          "target-arrow-color": "#57606a",
          "target-arrow-shape": "triangle",
          label: "data(label)",
          color: "#24292f",
          "font-family": FONT_FAMILY,
          "font-size": EDGE_FONT,
          "text-wrap": "wrap",
          "text-max-width": 140,
          "text-background-color": "#ffffff",
          "text-background-opacity": 1,
          "text-background-padding": 2,
          "min-zoomed-font-size": 0,
        },
      },
      { selector: "edge.holdout", style: { "line-style": "dashed" } },
    ];
  }

  // Left to right as in the SVG; top to bottom in a narrow box (a phone), where
  // a left-to-right chain would show one version at a time.
  function layoutOptions(box) {
    var narrow = box.clientWidth < 600;
    return {
      name: "dagre",
      rankDir: narrow ? "TB" : "LR",
      nodeSep: 36,
      rankSep: narrow ? 80 : 180,
      edgeSep: 24,
      fit: false,
    };
  }

  function start() {
    var island = document.getElementById("lineage-data");
    var view = document.querySelector("[data-testid=lineage-view]");
    var fallback = document.querySelector(".lineage-fallback");
    var box = document.getElementById("lineage-canvas");
    if (!island || !view || !box || typeof window.cytoscape !== "function") return;
    var data = JSON.parse(island.textContent);
    view.hidden = false;
    var cy;
    try {
      if (typeof window.cytoscapeDagre === "function") window.cytoscape.use(window.cytoscapeDagre);
      cy = window.cytoscape({
        container: box,
        elements: elements(data),
        style: style(),
        layout: layoutOptions(box),
        minZoom: 0.1,
        maxZoom: 3,
        boxSelectionEnabled: false,
        autoungrabify: true,
        autounselectify: true,
      });
    } catch (error) {
      view.hidden = true; // the SVG stays
      if (window.console) window.console.error("lineage view:", error);
      return;
    }
    if (fallback) fallback.hidden = true;
    var current = cy.nodes(".current");

    function readable() {
      cy.fit(cy.elements(), 24);
      if (cy.zoom() < MIN_ZOOM) {
        cy.zoom(MIN_ZOOM);
        cy.center(current.nonempty() ? current : cy.nodes().first());
      } else if (cy.zoom() > MAX_START_ZOOM) {
        cy.zoom(MAX_START_ZOOM);
        cy.center();
      }
    }
    function zoomBy(factor) {
      cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: box.clientWidth / 2, y: box.clientHeight / 2 } });
    }
    readable();

    cy.on("tap", "node", function (event) {
      var url = event.target.data("url");
      if (url) window.location.assign(url);
    });
    cy.on("mouseover", "node", function (event) { box.style.cursor = event.target.data("url") ? "pointer" : "default"; });
    cy.on("mouseout", "node", function () { box.style.cursor = "default"; });

    view.querySelectorAll("[data-lineage-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.getAttribute("data-lineage-action");
        if (action === "zoom-in") zoomBy(1.25);
        else if (action === "zoom-out") zoomBy(0.8);
        else if (action === "fit") cy.fit(cy.elements(), 24);
        else if (action === "current") readable();
      });
    });
    box.addEventListener("keydown", function (event) {
      var step = 60;
      var moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) cy.panBy({ x: moves[event.key][0], y: moves[event.key][1] });
      else if (event.key === "+" || event.key === "=") zoomBy(1.25);
      else if (event.key === "-") zoomBy(0.8);
      else if (event.key === "0") cy.fit(cy.elements(), 24);
      else return;
      event.preventDefault();
    });
    // For the browser tests and the console: the live graph.
    window.synthgovLineage = cy;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
