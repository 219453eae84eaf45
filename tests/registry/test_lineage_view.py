"""The data behind the dataset page's interactive lineage view, the SVG export and
the SVG's node names (v1 and v2 of a long-named dataset must read differently)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from django.test import Client

from registry.lineage.graph import LineageNode
from registry.lineage.svg import NAME_CHARS, node_name
from registry.lineage.view import NO_STATUS, view_data
from tests.registry.conftest import LONG_CHAIN_NAME, long_lineage
from tests.registry.test_lineage import edge, node

SECRET = "Secret Beta derivative"

# --- Plain: view_data and node_name -----------------------------------------


def test_view_data_labels_flags_and_badges() -> None:
    nodes = [
        node(1, "real", dataset_name="Admissions", version_number=1),
        node(2, dataset_name="Admissions synth", version_number=1, generator_type="gan"),
        node(3, dataset_name="Admissions synth", version_number=2),
    ]
    edges = [edge(1, 2, "trained_on"), edge(2, 3, "holdout_of")]
    status = {"code": "non_compliant", "label": "Non-compliant: 1 blocking", "colour": "red"}
    certificate = {"number": "SG-2026-0001", "status": "suspended", "label": "x", "url": "/c/"}

    data = view_data(
        nodes,
        edges,
        badges={3: {"status": status, "certificate": certificate}},
        own_ids={2, 3},
        current_id=3,
    )

    by_id = {n["id"]: n for n in data["nodes"]}
    assert [n["title"] for n in data["nodes"]] == [
        "Admissions v1",
        "Admissions synth v1",
        "Admissions synth v2",
    ]
    assert by_id["v2"]["detail"] == "Fully synthetic · generation 1"
    assert by_id["v1"]["detail"] == "Real"
    assert by_id["v3"]["current"] and by_id["v3"]["own"] and by_id["v2"]["own"]
    assert not by_id["v1"]["own"] and not by_id["v2"]["current"]
    assert by_id["v3"]["status"] == status and by_id["v3"]["certificate"] == certificate
    assert by_id["v1"]["status"] == NO_STATUS and by_id["v1"]["certificate"] is None
    assert data["edges"] == [
        {
            "id": "e1",
            "source": "v1",
            "target": "v2",
            "relation": "trained_on",
            "label": "trained on · GAN",
            "sourceTitle": "Admissions v1",
            "targetTitle": "Admissions synth v1",
        },
        {
            "id": "e2",
            "source": "v2",
            "target": "v3",
            "relation": "holdout_of",
            "label": "holdout of",
            "sourceTitle": "Admissions synth v1",
            "targetTitle": "Admissions synth v2",
        },
    ]


def test_a_hidden_version_is_anonymous_in_the_view_data() -> None:
    hidden = node(
        77,
        dataset_name=SECRET,
        organisation="Beta Data",
        sha256="ab" * 32,
        url="/versions/77/",
        visible=False,
        generator_type="gan",
        generator_library="secretgan",
    )
    data = view_data(
        [node(1, "real"), hidden],
        [edge(1, 77)],
        badges={77: {"status": {"code": "compliant", "label": "Compliant"}}},
        own_ids={77},
        current_id=77,
    )

    text = json.dumps(data)
    for leak in (SECRET, "Beta Data", "ab" * 32, "/versions/77/", "secretgan", "77", "GAN"):
        assert leak not in text
    restricted = data["nodes"][1]
    assert restricted["id"] == "r1" and restricted["title"] == "restricted source"
    assert restricted["status"] is None and restricted["certificate"] is None
    assert data["edges"][0]["target"] == "r1" and data["edges"][0]["label"] == "trained on"


def test_view_data_drops_links_to_unknown_versions_and_non_site_urls() -> None:
    data = view_data(
        [node(1, "real", url="javascript:alert(1)"), node(2)], [edge(1, 2), edge(2, 99)]
    )
    assert data["nodes"][0]["url"] == ""
    assert [(e["source"], e["target"]) for e in data["edges"]] == [("v1", "v2")]


def test_svg_names_keep_the_version_when_cut() -> None:
    long_name = "Synthetic regional hospital admissions, generation chain"
    first = node(1, dataset_name=long_name, version_number=1)
    second = replace(first, id=2, version_number=2)
    tenth = replace(first, id=3, version_number=10)

    names = [node_name(n) for n in (first, second, tenth)]

    assert len(set(names)) == 3, names
    assert names[0].endswith(" v1") and names[1].endswith(" v2") and names[2].endswith(" v10")
    assert all(len(name) <= NAME_CHARS and "…" in name for name in names)
    assert names[0].startswith("Synthetic region")  # the start of the name stays
    assert node_name(node(4, dataset_name="Short", version_number=3)) == "Short v3"
    hidden = LineageNode(**{**first.__dict__, "visible": False})
    assert node_name(hidden) == "restricted source"


# --- With the database: the page and the export -------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def island(html: str) -> dict:
    match = re.search(
        r'<script id="lineage-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "no lineage data island"
    return json.loads(match.group(1))


@pytest.fixture
def fifty(world, registry_storage):
    return long_lineage(world)


def test_the_dataset_page_carries_fifty_versions_without_the_hidden_one(world, fifty) -> None:
    hidden = fifty["hidden"]
    response = signed_in(world.curator_a).get(f"/datasets/{fifty['chain_dataset'].pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    data = island(html)
    assert len(data["nodes"]) == 50 and len(data["edges"]) == 49
    titles = [n["title"] for n in data["nodes"]]
    assert f"{LONG_CHAIN_NAME} v1" in titles and f"{LONG_CHAIN_NAME} v2" in titles
    assert titles.count("restricted source") == 1
    # The hidden version of organisation B: nothing on the page names or links it.
    assert "Beta confidential" not in html and f"/versions/{hidden.pk}/" not in html
    assert f'"v{hidden.pk}"' not in html and f'data-version-id="{hidden.pk}"' not in html
    latest = fifty["chain"][-1]
    current = [n for n in data["nodes"] if n["current"]]
    assert [n["id"] for n in current] == [f"v{latest.pk}"]
    # The interactive view's scripts, vendored and served from this site.
    assert "vendor/cytoscape/cytoscape.min.js" in html and "js/lineage.js" in html
    # The SVG fallback names v1 and v2 differently.
    svg = html.split('class="lineage lineage-fallback"')[1].split("</svg>")[0]
    svg_names = re.findall(r'font-weight="600" fill="#1f2328">([^<]*)</text>', svg)
    chain_names = [name for name in svg_names if name.startswith("Synthetic")]
    assert len(chain_names) == 40 and len(set(chain_names)) == 40


def test_another_organisation_sees_only_what_it_may(world, fifty) -> None:
    # The chain dataset is open; org A's real source and branch dataset are not.
    response = signed_in(world.curator_b).get(f"/datasets/{fifty['chain_dataset'].pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    data = island(html)
    assert len(data["nodes"]) == 50
    assert [n["title"] for n in data["nodes"]].count("restricted source") == 9  # real + 8 branch
    assert "Regional hospital admissions" not in html
    assert "Admissions holdout variants" not in html
    assert "Beta confidential derivative v1" in html  # its own version


def test_the_svg_export(world, fifty) -> None:
    client = signed_in(world.curator_a)
    response = client.get(f"/datasets/{fifty['chain_dataset'].pk}/lineage.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("<?xml") and "<svg" in body
    assert "Beta confidential" not in body and "restricted source" in body
    # Someone who may not see the dataset learns nothing: 404, as for the page.
    hidden_dataset = fifty["hidden"].dataset_id
    assert client.get(f"/datasets/{hidden_dataset}/lineage.svg").status_code == 404
    assert client.get("/datasets/999999/lineage.svg").status_code == 404
    assert Client().get(f"/datasets/{fifty['chain_dataset'].pk}/lineage.svg").status_code == 302
