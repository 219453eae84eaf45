"""An evaluation page leads from a failing rule to its evidence: a real
title, rule names in words, the threshold with the standard's operator
symbols, the measured figure to sensible precision with its uncertainty, and
a link to the figure's row in the audit report."""

from __future__ import annotations

import html
import re

from django.test import Client
from rest_framework.test import APIClient

from tests.audits.dashboard import board

board_world = board.board_world
cert_world = board.cert_world
signing_keys = board.signing_keys


def page_of(user, evaluation) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(evaluation.get_absolute_url())
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def rule_row(page: str, key: str) -> str:
    match = re.search(rf'<tr data-rule="{re.escape(key)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row for {key}"
    return match.group(1)


def test_a_failing_rule_shows_threshold_figure_uncertainty_and_report_anchor(board_world):
    evaluation = board_world["evaluations"]["blocking"]
    page = page_of(board_world["world"].officer_a, evaluation)
    title = re.search(r'<h1 data-testid="evaluation-title">(.*?)</h1>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", title) == "Blocking failure version 1 against CERT-TEST@1.0"
    assert "<title>Blocking failure v1 against CERT-TEST@1.0" in page
    status = re.search(r'data-testid="evaluation-status"[^>]*>([^<]*)<', page).group(1)
    assert status.strip() == "✗ Non-compliant: 1 blocking, 1 advisory"
    row = rule_row(page, "quality.overall")
    assert 'id="rule-figure-quality-overall"' in page
    assert '<span data-testid="rule-title">Overall quality</span>' in row
    assert re.search(r'data-testid="rule-requirement">≥ 0.80<', row)
    assert "Fails (blocking)" in row and "status-non_compliant" in row
    figure = re.search(r'data-testid="rule-figure">(.*?)</td>', row, re.S).group(1)
    assert "0.0515" in figure and "0.0515108" not in figure
    assert "± 0.0123" in figure
    run = board_world["versions"]["blocking"].audits.get()
    assert f'href="/audits/{run.pk}/#figure-quality-overall"' in row
    advisory = rule_row(page, "quality.detection")
    assert "Fails (advisory)" in advisory and "status-non_compliant" not in advisory
    assert re.search(r'data-testid="rule-requirement">≥ 0.20<', advisory)
    exact = rule_row(page, "privacy.exact_match_rate")
    assert re.search(r'data-testid="rule-requirement">≤ 0.01<', exact)
    assert "Passes" in exact


def test_rule_names_in_words_beside_their_keys(board_world):
    from audits.checks.catalogue import METRICS

    page = page_of(board_world["world"].officer_a, board_world["evaluations"]["missing"])
    for key in ("quality.overall", "privacy.exact_match_rate", "quality.detection"):
        row = rule_row(page, key)
        assert f"{METRICS[key].title}" in row and f"<code>{key}</code>" in row
    missing = rule_row(page, "quality.detection")
    assert "Figure missing" in missing


def test_the_api_adds_the_display_status_and_keeps_the_stored_one(board_world):
    api = APIClient()
    api.force_authenticate(board_world["world"].officer_a)
    rows = {r["id"]: r for r in api.get("/api/v1/evaluations/").json()["results"]}
    advisory = rows[board_world["evaluations"]["advisory"].pk]
    assert advisory["status"] == "non_compliant"  # stored value unchanged
    assert advisory["display_status"] == {
        "code": "compliant_with_findings",
        "label": "Compliant, 1 advisory",
        "colour": "green",
        "severity_summary": "1 advisory",
        "worst_failing_severity": "advisory",
        "fail_count": 1,
        "missing_count": 0,
    }
    blocking = rows[board_world["evaluations"]["blocking"].pk]["display_status"]
    assert blocking["code"] == "non_compliant" and blocking["colour"] == "red"
    missing = rows[board_world["evaluations"]["missing"].pk]["display_status"]
    assert missing["code"] == "incomplete" and missing["label"] == "Figures missing: 2"
