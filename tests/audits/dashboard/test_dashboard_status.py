"""The dashboard tells each dataset's status plainly: severity decides red,
a certified dataset is never red, the newest version and the certified one
both show, "n/a" is split into what it means, and failing rules lead to the
evaluations that fail them."""

from __future__ import annotations

import html
import re
from typing import Any

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import Dataset
from tests.audits.dashboard import board
from tests.registry.conftest import make_version, placements_csv

board_world = board.board_world
cert_world = board.cert_world
signing_keys = board.signing_keys


def home(user: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def row_of(page: str, dataset: str) -> str:
    match = re.search(rf'<tr data-dataset="{re.escape(dataset)}">(.*?)</tr>', page, re.S)
    assert match, f"no matrix row for {dataset}"
    return match.group(1)


def cells_of(row: str) -> list[str]:
    return re.findall(r'<td class="cell"[^>]*>(.*?)</td>', row, re.S)


def count(page: str, code: str) -> int:
    match = re.search(rf'data-testid="count-{code}">(\d+)<', page)
    assert match, f"no count for {code}"
    return int(match.group(1))


def dashboard(user: Any) -> dict[str, Any]:
    api = APIClient()
    api.force_authenticate(user)
    return api.get("/api/v1/dashboard/").json()


def test_an_advisory_failure_is_compliant_with_findings_and_certified_is_never_red(board_world):
    officer = board_world["world"].officer_a
    page = home(officer)
    advisory = cells_of(row_of(page, "Advisory only"))[0]
    assert "Compliant, 1 advisory" in advisory
    assert "status-compliant_with_findings" in advisory
    assert "certified" in advisory
    assert "Non-compliant" not in advisory and "status-non_compliant" not in advisory
    blocking = cells_of(row_of(page, "Blocking failure"))[0]
    assert "Non-compliant: 1 blocking, 1 advisory" in blocking
    assert "status-non_compliant" in blocking
    # No cell anywhere reads red beside "certified".
    for cell in re.findall(r'<td class="cell"[^>]*>(.*?)</td>', page, re.S):
        assert not ("certified" in cell and "status-non_compliant" in cell), cell
    # The counts agree with the cells (one standard applies to every dataset).
    assert count(page, "compliant") == 1  # Synthetic placements
    assert count(page, "compliant_with_findings") == 1
    assert count(page, "non_compliant") == 1
    assert count(page, "incomplete") == 1
    board = dashboard(officer)
    assert board["status_counts"]["compliant_with_findings"] == 1
    assert board["status_counts"]["non_compliant"] == 1
    # The stored statuses keep their meaning in the API.
    assert board["counts"] == {"compliant": 1, "non_compliant": 2, "incomplete": 1}


def test_counts_link_to_the_evaluations_they_count(board_world):
    client = Client()
    client.force_login(board_world["world"].officer_a)
    for code, names in (
        ("compliant_with_findings", ["Advisory only"]),
        ("non_compliant", ["Blocking failure"]),
        ("incomplete", ["Missing figures"]),
        ("compliant", ["Synthetic placements"]),
    ):
        page = client.get(reverse("audits:evaluations"), {"status": code}).content.decode()
        listed = re.findall(r'<tr data-evaluation="\d+"><td><a [^>]*>([^<]*) v\d+</a>', page)
        assert listed == names, (code, listed)


def test_a_new_unaudited_version_keeps_the_certified_one_in_view(board_world):
    world = board_world["world"]
    dataset = Dataset.objects.get(name="Advisory only")
    make_version(dataset, world.curator_a, placements_csv(seed=99))
    page = home(world.officer_a)
    row = row_of(page, "Advisory only")
    assert ">v2<" in row  # the newest version is named in the row
    cell = cells_of(row)[0]
    assert "v2 not yet audited — v1 certified" in cell
    assert "Compliant, 1 advisory" in cell and "certified" in cell
    assert "n/a" not in cell
    # The note leads to requesting an audit of v2.
    v2 = dataset.versions.get(number=2)
    assert reverse("audits:request", args=[v2.pk]) in cell
    assert count(page, "compliant_with_findings") == 1
    cells = dashboard(world.officer_a)["matrix"]
    api_row = next(r for r in cells if r["name"] == "Advisory only")
    assert api_row["latest_version"] == 2
    assert api_row["display_cells"][0]["version"] == 1
    assert api_row["display_cells"][0]["certificate"] == board_world["advisory_certificate"]


def test_na_is_split_into_not_applicable_not_audited_and_figures_missing(board_world):
    world = board_world["world"]
    page = home(world.officer_a)
    headers = re.findall(r'<th scope="col"><a href="[^"]*">([^<]*)</a></th>', page)
    assert headers == ["CERT-TEST 1.0", "SYNTH-ONLY 1.0"]
    real_cells = cells_of(row_of(page, "Real placements"))
    real_version = board_world["real"]
    # A real dataset is audited against CERT-TEST (any kind) but never was.
    assert "Not audited yet" in real_cells[0]
    assert f'href="{reverse("audits:request", args=[real_version.pk])}"' in real_cells[0]
    assert "Request an audit" in real_cells[0]
    # SYNTH-ONLY does not apply to real data.
    assert "Not applicable" in real_cells[1] and "status-not_applicable" in real_cells[1]
    standard = board_world["synthetic_only"]
    assert f'href="{standard.get_absolute_url()}"' in real_cells[1]
    assert "See the standard's scope" in real_cells[1]
    # It applies to synthetic data, which nobody evaluated against it yet.
    assert "Not audited yet" in cells_of(row_of(page, "Advisory only"))[1]
    missing = cells_of(row_of(page, "Missing figures"))[0]
    assert "Figures missing: 2" in missing and "status-incomplete" in missing
    assert "Request an audit for the missing figures" in missing
    assert "n/a" not in page
    assert count(page, "not_audited") == 5  # the real one and four synthetic ones


def test_rules_that_fail_most_often_lead_to_the_evaluations_failing_them(board_world):
    world = board_world["world"]
    page = home(world.officer_a)
    failing = re.search(r'data-testid="failing-rules">(.*?)</ol>', page, re.S).group(1)
    links = re.findall(r'<a href="([^"]*)" data-testid="failing-rule-link">', failing)
    assert links[0] == reverse("audits:evaluations") + "?rule=quality.detection"
    assert "glossary" not in failing and reverse("audits:metrics") not in failing
    assert "fails in 2 evaluations" in failing and "2 advisory" in failing
    assert "1 blocking" in failing
    client = Client()
    client.force_login(world.officer_a)
    listed = client.get(links[0]).content.decode()
    names = re.findall(r'<tr data-evaluation="\d+"><td><a [^>]*>([^<]*) v\d+</a>', listed)
    assert names == ["Advisory only", "Blocking failure"]
    assert 'data-testid="rule-filter"' in listed
    assert "quality.overall" in html.unescape(
        client.get(reverse("audits:evaluations"), {"rule": "quality.overall"}).content.decode()
    )
    only = client.get(reverse("audits:evaluations"), {"rule": "quality.overall"}).content.decode()
    assert re.findall(r'<tr data-evaluation="\d+"><td><a [^>]*>([^<]*) v\d+</a>', only) == [
        "Blocking failure"
    ]


def test_a_suspended_certificate_shows_beside_a_red_cell_not_certified(board_world):
    """A re-audit failing a blocking rule suspends the certificate: the cell is
    red and says "certificate suspended", never "certified"."""
    from tests.audits.certification import helpers

    world = board_world["world"]
    version = board_world["versions"]["advisory"]
    helpers.record_audit(
        version,
        board_world["real"],
        world.curator_a,
        {**helpers.GOOD, "quality.overall": 0.4, "quality.detection": 0.1},
    )
    helpers.evaluate(version, board_world["standard"])
    cell = cells_of(row_of(home(world.officer_a), "Advisory only"))[0]
    assert "status-non_compliant" in cell
    assert "certificate suspended" in cell and ">certified<" not in cell


def test_a_newly_published_standard_counts_as_not_audited_at_once(board_world):
    """The counts are cached on the data's state; publishing a standard is part
    of that state, before any evaluation against it exists."""
    officer = board_world["world"].officer_a
    before = count(home(officer), "not_audited")
    assert count(home(officer), "not_audited") == before  # from the warm cache
    board.helpers.publish_standard(
        board_world["world"].admin_a,
        board.SYNTHETIC_ONLY_YAML.replace("SYNTH-ONLY", "SYNTH-TWO"),
    )
    # Four synthetic datasets; the real one is out of its scope.
    assert count(home(officer), "not_audited") == before + 4
