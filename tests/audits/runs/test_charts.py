"""The report's charts read clearly: every scored column pair shows, labels are not
clipped or overlapped, heavy tails are visible, no empty "(missing)" bar, and the
plotly.js bundle the pages load is the small one, compressed and cached."""

from __future__ import annotations

import gzip
import re

import plotly
from django.urls import reverse

from audits.runs import charts

COLUMNS = ["age", "workclass", "education", "education-num", "marital-status"]


def _pairs_results(*, matrix_only_diagonal: bool = True) -> dict:
    scores = {
        ("age", "workclass"): 0.91,
        ("age", "education"): 0.88,
        ("education", "education-num"): 0.32,
        ("workclass", "marital-status"): 0.77,
    }
    pairs = [
        {"Table": "dataset", "Column 1": a, "Column 2": b, "Metric": "ContingencySimilarity",
         "Score": scores.get((a, b)),
         "Real Correlation": 0.12 if (a, b) == ("age", "education-num") else None}
        for i, a in enumerate(COLUMNS) for b in COLUMNS[i + 1 :]
    ]  # fmt: skip
    # What audits stored before the fix: a matrix with only its diagonal.
    matrix = [[1.0 if i == j else None for j in COLUMNS] for i in COLUMNS]
    details = {"columns": COLUMNS, "pairs": pairs}
    if matrix_only_diagonal:
        details["matrix"] = matrix
    return {
        "metrics": [
            {"key": "quality.column_pair_trends", "status": "ok", "value": 0.7, "details": details}
        ]
    }


def test_pair_heatmap_shows_every_scored_pair_even_from_a_stored_diagonal_matrix():
    (chart,) = charts.pair_trend_chart(_pairs_results())
    (trace,) = chart["figure"]["data"]
    z = trace["z"]
    i, j = COLUMNS.index("education"), COLUMNS.index("education-num")
    assert z[i][j] == z[j][i] == 0.32
    off_diagonal = [z[a][b] for a in range(5) for b in range(5) if a != b and z[a][b] is not None]
    assert len(off_diagonal) == 2 * 4
    assert "SDMetrics scored 4 of 10 column pairs" in chart["caption"]
    assert "lowest education × education-num at 0.32" in chart["caption"]
    # Why the others are blank, said plainly: no pair is sampled away.
    assert "Grey cells are not scored" in chart["caption"]
    assert "correlation beyond ±0.5" in chart["caption"] and "none sampled" in chart["caption"]
    assert trace["customdata"][i][j] == "education × education-num: 0.32"
    a, b = COLUMNS.index("age"), COLUMNS.index("education-num")
    assert trace["customdata"][a][b] == (
        "age × education-num: not scored, real correlation 0.12 (scored above ±0.5)"
    )


def test_every_chart_grows_its_margins_and_keeps_the_legend_clear_of_ticks():
    results = {
        "metrics": [
            *_pairs_results()["metrics"],
            _shapes_metric(),
            _groups_metric(),
        ]
    }
    built = charts.build_charts(results)
    assert len(built) >= 5
    for chart in built:
        layout = chart["figure"]["layout"]
        assert layout["xaxis"]["automargin"] is True, chart["key"]
        assert layout["yaxis"]["automargin"] is True, chart["key"]
        assert "title" not in layout or not layout["title"].get("text"), chart["key"]
        assert layout["legend"]["y"] >= 1 and layout["legend"]["yanchor"] == "bottom"
        for trace in chart["figure"]["data"]:
            assert trace["type"] in charts.PLOTLY_TRACE_TYPES
            labels = trace.get("y" if trace.get("orientation") == "h" else "x")
            if trace["type"] == "bar" and labels and isinstance(labels[0], str):
                assert all(len(label) <= charts.MAX_LABEL for label in labels), labels


def _shapes_metric() -> dict:
    tail = [0.95, 0.03, 0.01, 0.005, 0.003, 0.002] + [0.0] * 4
    return {
        "key": "quality.column_shapes",
        "status": "ok",
        "value": 0.9,
        "details": {
            "distributions": {
                "capital-gain": {
                    "kind": "histogram",
                    "unit": "value",
                    "edges": [i * 10_000.0 for i in range(11)],
                    "real": tail,
                    "synthetic": tail,
                },
                "age": {
                    "kind": "histogram",
                    "unit": "value",
                    "edges": [20.0, 30, 40, 50, 60],
                    "real": [0.2, 0.3, 0.3, 0.2],
                    "synthetic": [0.25, 0.25, 0.3, 0.2],
                },
                "sex": {
                    "kind": "bar",
                    "categories": ["Male", "Female", "(missing)"],
                    "real": [0.67, 0.33, 0.0],
                    "synthetic": [0.66, 0.34, 0.0],
                },
                "workclass": {
                    "kind": "bar",
                    "categories": ["Private", "Self-emp-not-inc", "(missing)"],
                    "real": [0.7, 0.25, 0.05],
                    "synthetic": [0.72, 0.24, 0.04],
                },
                "native-country": {
                    "kind": "bar",
                    "categories": [f"Outlying-US(Guam-USVI-etc) {i}" for i in range(12)],
                    "real": [1 / 12] * 12,
                    "synthetic": [1 / 12] * 12,
                },
            }
        },
    }


def _groups_metric() -> dict:
    groups = [
        f"race={r} & sex={s}"
        for r in ("White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo")
        for s in ("Male", "Female")
    ] + ["race=(missing) & sex=(missing)"]
    return {
        "key": "fairness.representation_gap_max",
        "status": "ok",
        "value": 0.02,
        "details": {
            "groupings": [
                {
                    "grouping": "race × sex",
                    "groups": groups,
                    "real_share": [0.1] * 8 + [0.0],
                    "synthetic_share": [0.1] * 8 + [0.0],
                }
            ]
        },
    }


def _by_key(results: dict) -> dict:
    return {c["key"]: c for c in charts.build_charts(results)}


def test_heavy_tailed_histogram_uses_a_log_share_axis_and_says_so():
    built = _by_key({"metrics": [_shapes_metric()]})
    heavy = built["distribution.capital-gain"]
    assert heavy["figure"]["layout"]["yaxis"]["type"] == "log"
    assert "log scale" in heavy["caption"]
    plain = built["distribution.age"]
    assert plain["figure"]["layout"]["yaxis"].get("type") != "log"
    assert "log scale" not in plain["caption"]


def test_no_missing_bar_when_nothing_is_missing():
    built = _by_key({"metrics": [_shapes_metric()]})
    sex = built["distribution.sex"]["figure"]["data"]
    assert all("(missing)" not in trace["x"] for trace in sex)
    workclass = built["distribution.workclass"]["figure"]["data"]
    labels = workclass[0].get("y") if workclass[0].get("orientation") == "h" else workclass[0]["x"]
    assert "(missing)" in labels  # 5% missing: the bar stays


def test_long_or_many_category_labels_turn_horizontal_and_are_cut_with_the_whole_in_hover():
    built = _by_key({"metrics": [_shapes_metric()]})
    country = built["distribution.native-country"]["figure"]
    trace = country["data"][0]
    assert trace["orientation"] == "h"
    assert all(len(label) <= charts.MAX_LABEL for label in trace["y"])
    assert trace["customdata"][0] == "Outlying-US(Guam-USVI-etc) 0"
    assert country["layout"]["height"] >= 12 * 26  # room for every bar's label


def test_intersection_group_names_are_readable():
    (shares,) = [
        c
        for c in charts.build_charts({"metrics": [_groups_metric()]})
        if c["key"].startswith("fairness.shares")
    ]
    assert shares["title"] == "Group shares: race × sex"
    trace = shares["figure"]["data"][0]
    labels = trace["y"] if trace.get("orientation") == "h" else trace["x"]
    assert "Asian-Pac-Islander · Female" in labels
    assert not any("=" in label or "&" in label for label in labels)
    assert len(labels) == 8  # the empty (missing) intersection is left out


def test_plotly_bundle_is_the_cartesian_one_matching_the_python_package():
    text = charts.plotly_js()
    version = re.search(
        r"plotly\.js \(cartesian - minified\) v(\d+)\.(\d+)\.(\d+)", text[:200]
    ).groups()
    from plotly.offline._plotlyjs_version import __plotlyjs_version__

    assert version[0] == __plotlyjs_version__.split(".")[0], (version, plotly.__version__)
    assert len(text.encode()) < 2_000_000  # the full bundle is 4.8 MB
    for trace in ("heatmap", "bar", "scatter"):
        assert trace in charts.PLOTLY_TRACE_TYPES


def test_plotly_bundle_is_served_gzipped_with_long_cache_and_vary(client):
    url = reverse("audits:plotly")
    assert charts.PLOTLY_BUNDLE.name in url  # a new bundle is a new address
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert "max-age=31536000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/javascript")
    assert len(response.content) < 600_000
    assert gzip.decompress(response.content).decode() == charts.plotly_js()
    plain = client.get(url)
    assert "Content-Encoding" not in plain
    assert plain.content.decode() == charts.plotly_js()
    assert "Accept-Encoding" in plain["Vary"]
