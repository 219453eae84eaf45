"""Plotly figures for an audit report, built from the stored results' details.

Each chart is a dict {key, title, caption, figure} where ``figure`` is Plotly's
JSON; pages and the standalone HTML report hand it to ``Plotly.newPlot``.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import plotly.graph_objects as go

REAL, SYNTHETIC, HOLDOUT = "#2f7d4f", "#2f6fa8", "#b5651d"
MAX_DISTRIBUTION_CHARTS = 24


def _layout(fig: go.Figure, *, title: str, x: str = "", y: str = "", height: int = 300) -> None:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=height,
        margin={"l": 50, "r": 20, "t": 40, "b": 50},
        barmode="group",
        legend={"orientation": "h", "y": -0.25},
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
    )


def _metric(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    for metric in results.get("metrics", []):
        if metric["key"] == key and metric.get("status") == "ok":
            return metric
    return None


def _chart(key: str, title: str, caption: str, fig: go.Figure) -> dict[str, Any]:
    return {"key": key, "title": title, "caption": caption, "figure": fig.to_plotly_json()}


def distribution_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    metric = _metric(results, "quality.column_shapes")
    if not metric:
        return []
    charts = []
    for column, dist in list(metric["details"].get("distributions", {}).items())[
        :MAX_DISTRIBUTION_CHARTS
    ]:
        fig = go.Figure()
        if dist.get("kind") == "histogram" and dist.get("edges"):
            edges = dist["edges"]
            centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
            widths = [b - a for a, b in itertools.pairwise(edges)]
            fig.add_bar(
                x=centres, y=dist["real"], width=widths, name="real", marker_color=REAL, opacity=0.6
            )
            fig.add_bar(
                x=centres,
                y=dist["synthetic"],
                width=widths,
                name="synthetic",
                marker_color=SYNTHETIC,
                opacity=0.6,
            )
            fig.update_layout(barmode="overlay")
        elif dist.get("kind") == "bar":
            fig.add_bar(x=dist["categories"], y=dist["real"], name="real", marker_color=REAL)
            fig.add_bar(
                x=dist["categories"], y=dist["synthetic"], name="synthetic", marker_color=SYNTHETIC
            )
        else:
            continue
        _layout(fig, title=column, y="share of rows", height=260)
        if dist.get("kind") == "histogram":
            fig.update_layout(barmode="overlay")
        charts.append(
            _chart(
                f"distribution.{column}", column, "Share of rows per value, real vs synthetic.", fig
            )
        )
    return charts


def pair_trend_chart(results: dict[str, Any]) -> list[dict[str, Any]]:
    metric = _metric(results, "quality.column_pair_trends")
    if not metric or not metric["details"].get("matrix"):
        return []
    columns = metric["details"]["columns"]
    fig = go.Figure(
        go.Heatmap(
            z=metric["details"]["matrix"],
            x=columns,
            y=columns,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": "score"},
            hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>",
        )
    )
    _layout(fig, title="Column pair trends", height=max(360, 22 * len(columns) + 120))
    fig.update_yaxes(autorange="reversed")
    return [
        _chart(
            "quality.column_pair_trends",
            "Column pair trends",
            "How well each pair's relationship is kept (1 = identical; blank = not "
            "computed for that pair).",
            fig,
        )
    ]


def _real_vs_synthetic(x: list[Any], real: list[Any], synthetic: list[Any]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=x, y=real, name="real", marker_color=REAL)
    fig.add_bar(x=x, y=synthetic, name="synthetic", marker_color=SYNTHETIC)
    return fig


# (details field prefix, chart key, title, axis, caption)
GROUP_CHARTS = [
    (
        "share",
        "fairness.shares",
        "Group shares",
        "share of rows",
        "Each group's share of the rows, real vs synthetic.",
    ),
    (
        "rate",
        "fairness.rates",
        "Positive-outcome rate",
        "rate",
        "Share of each group with the favourable outcome.",
    ),
]


def group_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    metric = _metric(results, "fairness.representation_gap_max")
    if not metric:
        return []
    charts = []
    for grouping in metric["details"].get("groupings", []):
        name = grouping["grouping"]
        for field, key, title, axis, caption in GROUP_CHARTS:
            if grouping.get(f"real_{field}") is None:
                continue
            fig = _real_vs_synthetic(
                grouping["groups"], grouping[f"real_{field}"], grouping[f"synthetic_{field}"]
            )
            _layout(fig, title=f"{title}: {name}", y=axis)
            charts.append(_chart(f"{key}.{name}", f"{title}: {name}", caption, fig))
    return charts


def distance_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    ratio = _metric(results, "privacy.dcr_p05_ratio")
    if ratio and ratio["details"].get("histogram"):
        hist = ratio["details"]["histogram"]
        fig = go.Figure()
        fig.add_bar(
            x=hist["edges"][:-1],
            y=hist["synthetic"],
            name="synthetic → real",
            marker_color=SYNTHETIC,
            opacity=0.6,
        )
        fig.add_bar(
            x=hist["edges"][:-1],
            y=hist["holdout"],
            name="holdout → real",
            marker_color=HOLDOUT,
            opacity=0.6,
        )
        _layout(
            fig, title="Distance to closest real record", x="distance (0..1)", y="share of records"
        )
        fig.update_layout(barmode="overlay")
        charts.append(
            _chart(
                "privacy.dcr",
                "Distance to closest record",
                "Synthetic records should be no closer to the training data than "
                "real records the generator never saw.",
                fig,
            )
        )
    nndr = _metric(results, "privacy.nndr_p05")
    if nndr and nndr["details"].get("histogram"):
        hist = nndr["details"]["histogram"]
        fig = go.Figure()
        fig.add_bar(x=hist["edges"][:-1], y=hist["nndr"], name="synthetic", marker_color=SYNTHETIC)
        _layout(fig, title="Nearest-neighbour distance ratio", x="ratio", y="share of records")
        charts.append(
            _chart(
                "privacy.nndr",
                "Nearest-neighbour distance ratio",
                "Ratios near 0 mean a synthetic record sits on one real record.",
                fig,
            )
        )
    return charts


COLLAPSE_COLOURS = ("#b5651d", "#2f6fa8", "#2f7d4f", "#7a4fa0")


def collapse_chart(
    *, generations: list[int], titles: list[str], series: dict[str, list[float | None]]
) -> dict[str, Any]:
    """Collapse figures along a chain of generations (0 = the real ancestor): one line
    per figure, gaps where a generation was not measured or may not be shown."""
    fig = go.Figure()
    for (name, values), colour in zip(series.items(), COLLAPSE_COLOURS, strict=False):
        fig.add_scatter(
            x=generations,
            y=values,
            name=name,
            mode="lines+markers",
            line={"color": colour},
            customdata=titles,
            hovertemplate="%{customdata}<br>" + name + ": %{y:.2f}<extra></extra>",
        )
    _layout(fig, title="Model collapse along the lineage", x="synthetic generation", y="")
    fig.update_xaxes(tickmode="array", tickvals=generations, ticktext=[str(g) for g in generations])
    fig.update_yaxes(title="share of the real ancestor kept (1 = nothing lost)", rangemode="tozero")
    chart = _chart(
        "collapse.chain",
        "Model collapse along the lineage",
        "Each figure compared with the nearest real ancestor (generation 0, 1 by definition); "
        "falling lines mean each generation keeps less of the real data.",
        fig,
    )
    chart["json_id"] = "chart-data-collapse"
    return chart


def build_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    charts = [
        *distribution_charts(results),
        *pair_trend_chart(results),
        *group_charts(results),
        *distance_charts(results),
    ]
    for number, chart in enumerate(charts, start=1):
        chart["json_id"] = f"chart-data-{number}"
    return charts


@functools.cache
def plotly_js() -> str:
    """The Plotly library shipped with the plotly package (no CDN, no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
