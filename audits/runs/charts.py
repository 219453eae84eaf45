"""Plotly figures for an audit report, built from the stored results' details.

Each chart is a dict {key, title, caption, figure} where ``figure`` is Plotly's
JSON; pages and the standalone HTML report hand it to ``Plotly.newPlot``.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import itertools
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

REAL, SYNTHETIC, HOLDOUT = "#2f7d4f", "#2f6fa8", "#b5651d"
MAX_DISTRIBUTION_CHARTS = 24
# A category label longer than this is cut (the whole label stays in the hover text),
# and a bar chart whose labels are long or many turns horizontal so they read level.
MAX_LABEL = 28
HORIZONTAL_FROM = {"longest_label": 12, "bars": 8}
# A histogram is heavy-tailed, for its share axis, when its tallest bin holds at least
# half the rows while some other bin holds under 1% of them: on a linear axis that
# tail would be a line too thin to see.
HEAVY_TAIL = {"tallest": 0.5, "smallest": 0.01}
MISSING_LABEL = "(missing)"


def _layout(fig: go.Figure, *, x: str = "", y: str = "", height: int = 300) -> None:
    """The charts' common layout. Titles are the HTML headings around each chart, not
    drawn in the figure; the legend sits above the plot, clear of the tick labels; every
    axis grows its margin to fit its labels (automargin) instead of clipping them."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        barmode="group",
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
    )
    # Tick labels that do not fit level turn upright, never to a slant whose boxes
    # overlap their neighbours'.
    fig.update_xaxes(automargin=True, autotickangles=[0, 90])
    fig.update_yaxes(automargin=True)


def _metric(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    for metric in results.get("metrics", []):
        if metric["key"] == key and metric.get("status") == "ok":
            return metric
    return None


def _chart(key: str, title: str, caption: str, fig: go.Figure) -> dict[str, Any]:
    return {"key": key, "title": title, "caption": caption, "figure": fig.to_plotly_json()}


def _short(label: Any) -> str:
    text = str(label)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _category_bars(
    fig: go.Figure, labels: list[Any], series: list[tuple[str, list[float], str]], *, axis: str
) -> int:
    """Real-vs-synthetic bars per category, horizontal when the labels are long or many
    (category names then read level, top to bottom). Returns the height they need."""
    shown = [_short(label) for label in labels]
    horizontal = (
        max((len(label) for label in shown), default=0) > HORIZONTAL_FROM["longest_label"]
        or len(shown) > HORIZONTAL_FROM["bars"]
    )
    for name, values, colour in series:
        fig.add_bar(
            **(
                {"y": shown, "x": values, "orientation": "h"}
                if horizontal
                else {"x": shown, "y": values}
            ),
            name=name,
            marker_color=colour,
            customdata=[str(label) for label in labels],
            hovertemplate="%{customdata}: %{"
            + ("x" if horizontal else "y")
            + ":.3f}<extra>"
            + name
            + "</extra>",
        )
    if not horizontal:
        fig.update_layout(yaxis_title=axis)
        return 300
    fig.update_layout(xaxis_title=axis, yaxis_title="")
    fig.update_yaxes(autorange="reversed", type="category")
    return max(300, 26 * len(shown) * len(series) // 2 + 120)


def _without_empty_missing(dist: dict[str, Any]) -> tuple[list[Any], list[float], list[float]]:
    """Categories with their shares, without the "(missing)" bar when no value is
    missing on either side."""
    rows = [
        (c, r, s)
        for c, r, s in zip(dist["categories"], dist["real"], dist["synthetic"], strict=False)
        if not (str(c) == MISSING_LABEL or str(c).endswith("=" + MISSING_LABEL)) or r or s
    ]
    return [c for c, _, _ in rows], [r for _, r, _ in rows], [s for _, _, s in rows]


def _heavy_tailed(shares: list[float]) -> bool:
    nonzero = [v for v in shares if v > 0]
    return bool(nonzero) and (
        max(nonzero) >= HEAVY_TAIL["tallest"] and min(nonzero) < HEAVY_TAIL["smallest"]
    )


def _histogram(fig: go.Figure, dist: dict[str, Any]) -> str:
    """Overlaid real and synthetic histograms; returns what the caption must add."""
    edges = dist["edges"]
    is_date = dist.get("unit") == "seconds since 1970"
    if is_date:  # seconds since 1970 drawn as dates; bar widths in milliseconds
        centres = [_iso((a + b) / 2) for a, b in itertools.pairwise(edges)]
        widths = [(b - a) * 1000 for a, b in itertools.pairwise(edges)]
    else:
        centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
    for name, values, colour in (
        ("real", dist["real"], REAL),
        ("synthetic", dist["synthetic"], SYNTHETIC),
    ):
        fig.add_bar(x=centres, y=values, width=widths, name=name, marker_color=colour, opacity=0.6)
    fig.update_layout(barmode="overlay", yaxis_title="share of rows")
    if is_date:
        fig.update_xaxes(type="date")
    note = ""
    if _heavy_tailed([*dist["real"], *dist["synthetic"]]):
        fig.update_yaxes(type="log", title="share of rows (log scale)")
        note = (
            " Share axis on a log scale: one range holds most rows, so on a linear "
            "scale the tail would not show."
        )
    outside = dist.get("synthetic_outside_real_range_share") or 0
    if outside:
        note += (
            f" {outside:.1%} of synthetic values fall outside the real range (drawn at its edge)."
        )
    return note


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).isoformat()


def distribution_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    metric = _metric(results, "quality.column_shapes")
    if not metric:
        return []
    charts = []
    for column, dist in list(metric["details"].get("distributions", {}).items())[
        :MAX_DISTRIBUTION_CHARTS
    ]:
        fig = go.Figure()
        caption = "Share of rows per value, real vs synthetic."
        height = 280
        if dist.get("kind") == "histogram" and dist.get("edges"):
            caption += _histogram(fig, dist)
            fig.update_layout(xaxis_title=column)
        elif dist.get("kind") == "bar":
            categories, real, synthetic = _without_empty_missing(dist)
            height = _category_bars(
                fig,
                categories,
                [("real", real, REAL), ("synthetic", synthetic, SYNTHETIC)],
                axis="share of rows",
            )
        else:
            continue
        _finish(fig, height=height)
        charts.append(_chart(f"distribution.{column}", column, caption, fig))
    return charts


def _finish(fig: go.Figure, *, height: int) -> None:
    """The common layout, keeping the axis titles and types the chart set."""
    layout = fig.layout
    x, y = layout.xaxis.title.text or "", layout.yaxis.title.text or ""
    barmode = layout.barmode
    _layout(fig, x=x, y=y, height=height)
    if barmode:
        fig.update_layout(barmode=barmode)


# SDMetrics' defaults, for audits stored before the details recorded them.
PAIR_THRESHOLDS = {"correlation": 0.5, "association": 0.3}
PAIR_CELL = 34  # pixels per heatmap column: room for its score and an upright label


def _pair_scores(
    details: dict[str, Any],
) -> tuple[list[str], list[list[float | None]], list[list[str]]]:
    """Columns, the symmetric score matrix and each cell's hover text, rebuilt from
    SDMetrics' rows by column name (reports stored before the reading was fixed hold a
    matrix with only its diagonal)."""
    columns = list(details.get("columns") or [])
    index = {name: i for i, name in enumerate(columns)}
    size = len(columns)
    matrix: list[list[float | None]] = [
        [1.0 if i == j else None for j in range(size)] for i in range(size)
    ]
    hover = [[f"{a} × {b}: not scored" for b in columns] for a in columns]
    correlation = details.get("real_correlation_threshold") or PAIR_THRESHOLDS["correlation"]
    association = details.get("real_association_threshold") or PAIR_THRESHOLDS["association"]
    for row in details.get("pairs") or []:
        a, b = index.get(row.get("Column 1")), index.get(row.get("Column 2"))
        if a is None or b is None:
            continue
        score = row.get("Score")
        pair = f"{columns[a]} × {columns[b]}"
        if isinstance(score, int | float):
            matrix[a][b] = matrix[b][a] = float(score)
            text = f"{pair}: {score:.2f}"
        elif isinstance(row.get("Real Correlation"), int | float):
            text = (
                f"{pair}: not scored, real correlation {row['Real Correlation']:.2f} "
                f"(scored above ±{correlation:g})"
            )
        elif isinstance(row.get("Real Association"), int | float):
            text = (
                f"{pair}: not scored, real association {row['Real Association']:.2f} "
                f"(scored above {association:g})"
            )
        else:
            text = f"{pair}: not scored (SDMetrics could not compare this pair)"
        hover[a][b] = hover[b][a] = text
    for i in range(size):
        hover[i][i] = f"{columns[i]}: itself"
    if not details.get("pairs") and details.get("matrix"):
        matrix = details["matrix"]
    return columns, matrix, hover


def pair_trend_chart(results: dict[str, Any]) -> list[dict[str, Any]]:
    metric = _metric(results, "quality.column_pair_trends")
    if not metric or not metric["details"].get("columns"):
        return []
    details = metric["details"]
    columns, matrix, hover = _pair_scores(details)
    scored = [
        (matrix[i][j], columns[i], columns[j])
        for i in range(len(columns))
        for j in range(i + 1, len(columns))
        if matrix[i][j] is not None
    ]
    total = len(columns) * (len(columns) - 1) // 2
    labels = [_short(c) for c in columns]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": {"text": "score"}, "thickness": 12},
            texttemplate="%{z:.2f}",
            textfont={"size": 10},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            hoverongaps=True,
            xgap=1,
            ygap=1,
        )
    )
    # A fixed size, so every cell keeps room for its score and label; on a narrow
    # screen the chart scrolls inside its own box.
    width = PAIR_CELL * len(columns) + 10 * max(len(label) for label in labels) + 110
    _layout(fig, height=PAIR_CELL * len(columns) + 7 * max(len(x) for x in labels) + 60)
    fig.update_layout(width=max(width, 360), plot_bgcolor="#f5f7fa")
    fig.update_xaxes(type="category", showgrid=False, side="bottom", tickangle=-90)
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    correlation = details.get("real_correlation_threshold") or PAIR_THRESHOLDS["correlation"]
    association = details.get("real_association_threshold") or PAIR_THRESHOLDS["association"]
    caption = (
        f"How well each pair's relationship is kept (1 = identical). SDMetrics scored "
        f"{len(scored)} of {total} column pairs"
    )
    if scored:
        worst = min(scored)
        caption += f"; lowest {worst[1]} × {worst[2]} at {worst[0]:.2f}"
    caption += "."
    if len(scored) < total:
        caption += (
            f" Grey cells are not scored: SDMetrics scores a pair only when the real data "
            f"relates its two columns (numeric pairs with a correlation beyond ±{correlation:g}, "
            f"other pairs with an association above {association:g}), so there is a trend "
            f"to keep; hover a cell for its real figure. Every pair is computed, none sampled."
        )
    chart = _chart("quality.column_pair_trends", "Column pair trends", caption, fig)
    chart["wide"] = True
    return [chart]


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


def group_label(label: str) -> str:
    """A group's name without the column names the chart's title already gives:
    "race=Asian-Pac-Islander & sex=Female" reads "Asian-Pac-Islander · Female"."""
    parts = [part.split("=", 1)[1] if "=" in part else part for part in label.split(" & ")]
    return " · ".join(parts)


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
            groups, real, synthetic = _without_empty_missing(
                {
                    "categories": grouping["groups"],
                    "real": grouping[f"real_{field}"],
                    "synthetic": grouping[f"synthetic_{field}"],
                }
            )
            fig = go.Figure()
            height = _category_bars(
                fig,
                [group_label(g) for g in groups],
                [("real", real, REAL), ("synthetic", synthetic, SYNTHETIC)],
                axis=axis,
            )
            _finish(fig, height=height)
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
        _layout(fig, x="distance to the closest real record (0..1)", y="share of records")
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
        _layout(fig, x="ratio", y="share of records")
        charts.append(
            _chart(
                "privacy.nndr",
                "Nearest-neighbour distance ratio",
                "Ratios near 0 mean a synthetic record sits on one real record.",
                fig,
            )
        )
    return charts


def _success_chart(key: str, title: str, caption: str, rates: dict[str, Any]) -> dict:
    """Main vs control success of one attack, with their 95% half-widths."""
    fig = go.Figure()
    for label, side, colour in (
        ("people in the training data", "main", REAL),
        ("people the generator never saw", "control", HOLDOUT),
    ):
        rate = rates[side]
        fig.add_bar(
            x=[label],
            y=[rate["rate"]],
            name=label,
            marker_color=colour,
            error_y={"type": "data", "array": [rate["half_width"]], "visible": True},
            hovertemplate=f"{label}: %{{y:.1%}} of {rate['attacks']} attacks<extra></extra>",
        )
    _layout(fig, y="attack success rate")
    fig.update_layout(showlegend=False)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _chart(key, title, caption, fig)


def attack_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One chart per attack: how often it succeeds on training people and on unseen
    people (the control); the risk is the gap. Membership: the ROC curve."""
    charts = []
    singling = _metric(results, "privacy.singling_out_risk")
    if singling and singling["details"].get("variants"):
        variant = singling["details"]["headline_variant"]
        rates = singling["details"]["variants"][variant]
        charts.append(
            _success_chart(
                "privacy.singling_out",
                f"Singling out ({variant} predicates)",
                "Share of predicates built from the synthetic data that single out exactly "
                "one person; the gap between the bars is the risk.",
                rates,
            )
        )
    link = _metric(results, "privacy.linkability_risk")
    if link and "main" in link["details"]:
        charts.append(
            _success_chart(
                "privacy.linkability",
                "Linkability",
                "Share of people whose two separate column sets lead to the same synthetic record.",
                link["details"],
            )
        )
    inference = _metric(results, "privacy.inference_risk")
    for name, rates in (inference or {}).get("details", {}).get("attributes", {}).items():
        if "main" in rates:
            charts.append(
                _success_chart(
                    f"privacy.inference.{name}",
                    f"Inference of {name}",
                    f"Share of people whose {name} the nearest synthetic record on the "
                    "known columns gives correctly.",
                    rates,
                )
            )
    auc = _metric(results, "privacy.membership_auc")
    if auc and auc["details"].get("roc"):
        roc = auc["details"]["roc"]
        fig = go.Figure()
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                        line={"color": "#999", "dash": "dot"})  # fmt: skip
        fig.add_scatter(x=roc["fpr"], y=roc["tpr"], mode="lines+markers", name="attack",
                        line={"color": SYNTHETIC})  # fmt: skip
        _layout(fig, x="unseen people called members", y="training people found")
        charts.append(
            _chart(
                "privacy.membership",
                "Membership inference (ROC)",
                "The closer the curve to the dotted diagonal, the less the synthetic data "
                "tells who was in the training data.",
                fig,
            )
        )
    return charts


# --- Models trained on this data (model validation, issue 16) ---------------------------

MAX_MODEL_GROUPINGS = 6
LIGHT_SYNTHETIC, LIGHT_REAL = "#8fb8dc", "#8cc7a3"


def model_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per grouping (at most six): each group's accuracy (or mean absolute error) of the
    model trained on synthetic data next to the one trained on real data, both tested on
    the real holdout; and, for a categorical target, their true- and false-positive rates."""
    metric = _metric(results, "utility.group_performance_gap")
    if not metric:
        return []
    details = metric["details"]
    measure = details.get("metric", "accuracy")
    charts = []
    for table in details.get("groupings", [])[:MAX_MODEL_GROUPINGS]:
        if len(table["groups"]) < 2:
            continue
        name, labels = table["grouping"], [group_label(g) for g in table["groups"]]
        fig = go.Figure()
        height = _category_bars(
            fig,
            labels,
            [
                ("trained on synthetic", table["synthetic_performance"], SYNTHETIC),
                ("trained on real", table["real_performance"], REAL),
            ],
            axis=measure,
        )
        _finish(fig, height=height)
        charts.append(
            _chart(
                f"models.performance.{name}",
                f"Model accuracy by group: {name}" if measure == "accuracy"
                else f"Model error by group: {name}",
                f"The same model trained on synthetic and on real data, tested on the real "
                f"holdout: its {measure} in each group (groups with at least "
                f"{details.get('min_group_rows', 30)} holdout rows).",
                fig,
            )
        )  # fmt: skip
        if "synthetic_tpr" not in table:
            continue
        fig = go.Figure()
        height = _category_bars(
            fig,
            labels,
            [
                ("true-positive rate, trained on synthetic", table["synthetic_tpr"], SYNTHETIC),
                ("true-positive rate, trained on real", table["real_tpr"], REAL),
                ("false-positive rate, trained on synthetic", table["synthetic_fpr"],
                 LIGHT_SYNTHETIC),
                ("false-positive rate, trained on real", table["real_fpr"], LIGHT_REAL),
            ],
            axis="rate",
        )  # fmt: skip
        _finish(fig, height=height)
        charts.append(
            _chart(
                f"models.error_rates.{name}",
                f"Model error rates by group: {name}",
                "How often each group's positive cases are found (true-positive rate) and "
                "negative cases wrongly flagged (false-positive rate), by the model trained "
                "on synthetic and on real data; equalized odds asks both to be equal across "
                "groups.",
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
    _layout(fig, x="synthetic generation", y="")
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


# The population profile's bars (a neutral grey, distinct from real and synthetic).
POPULATION = "#6b6b6b"


def population_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each profile grouping's shares: real, synthetic and the population's."""
    metric = _metric(results, "fairness.population_representation_gap")
    if not metric:
        return []
    details = metric["details"]
    profile = f"{details.get('profile_name', '')} (version {details.get('profile_version')})"
    intended = details.get("intended_rebalancing")
    charts = []
    for grouping in details.get("groupings", []):
        name = grouping["grouping"]
        fig = go.Figure()
        height = _category_bars(
            fig,
            [group_label(g) for g in grouping["groups"]],
            [
                ("real", grouping["real_share"], REAL),
                ("synthetic", grouping["synthetic_share"], SYNTHETIC),
                ("population", grouping["population_share"], POPULATION),
            ],
            axis="share of rows",
        )
        _finish(fig, height=height)
        caption = (
            f"Each group's share of the rows, real vs synthetic vs the population profile "
            f"{profile}. Largest gap to the population: synthetic "
            f"{grouping['gap_synthetic']:.1%}, real {grouping['gap_real']:.1%}."
        )
        if intended:
            caption += (
                " The data was declared deliberately rebalanced towards this profile: it is "
                "judged against the profile, not the real data."
            )
        charts.append(
            _chart(f"fairness.population.{name}", f"Shares against the population: {name}",
                   caption, fig)
        )  # fmt: skip
    return charts


def build_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    # Drawn from the figures of the whole version: a table's own figures (linked tables)
    # are listed per table, without charts.
    metrics = results.get("metrics", [])
    if any(isinstance(m, dict) and m.get("table") for m in metrics):
        results = {
            **results,
            "metrics": [m for m in metrics if not (isinstance(m, dict) and m.get("table"))],
        }
    charts = [
        *distribution_charts(results),
        *pair_trend_chart(results),
        *group_charts(results),
        *population_charts(results),
        *distance_charts(results),
        *attack_charts(results),
        *model_charts(results),
    ]
    for number, chart in enumerate(charts, start=1):
        chart["json_id"] = f"chart-data-{number}"
    return charts


# The charts draw bar, heatmap and scatter traces only, so pages load plotly.js's
# "cartesian" partial bundle (npm plotly.js-cartesian-dist-min, vendored: no CDN, no
# network) instead of the full 4.8 MB library the plotly package ships: 1.5 MB,
# about 0.5 MB gzipped. Its version matches the plotly.js the Python package targets.
PLOTLY_BUNDLE = Path(__file__).parent / "assets" / "plotly-cartesian-4.1.1.min.js"
PLOTLY_TRACE_TYPES = frozenset(
    {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
     "image", "pie", "scatter", "scatterternary", "violin"}
)  # fmt: skip


@functools.cache
def plotly_js() -> str:
    """The plotly.js bundle the charts need, as text."""
    return PLOTLY_BUNDLE.read_text(encoding="utf-8")


@functools.cache
def plotly_js_gzip() -> bytes:
    """The same bundle gzipped once per process (mtime 0: the same bytes every time;
    level 6 is within 0.2% of level 9's size at four fifths of its time)."""
    return gzip.compress(plotly_js().encode("utf-8"), compresslevel=6, mtime=0)
