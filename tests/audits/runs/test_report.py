"""The audit report as a reader sees it: a summary first (one score per family, the
standards passed and failed, the findings that matter most), an anchor on every
figure's row, figures at sensible precision, and the live status and cancel button."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audits.compliance import services as compliance
from audits.models import AuditRun, AuditStatus
from audits.runs import selectors, services
from audits.templatetags.figures import figure, figure_anchor
from tests.audits.certification.helpers import publish_standard
from tests.audits.conftest import request_placements_audit

STRICT_YAML = """\
code: REPORT-TEST
name: Report test standard
version: '1.0'
scope: global
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.999
    severity: blocking
    rationale: Impossible fidelity, so the rule fails.
  - key: privacy.exact_match_rate
    operator: '<='
    threshold: 0.5
    severity: minor
    rationale: Few exact copies.
"""


@pytest.fixture
def audited(placements_world):
    pw = placements_world
    run = request_placements_audit(pw, holdout=True, enqueue=False)
    run = services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    return {**pw, "run": run}


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def test_every_figure_row_has_its_anchor_on_the_page_and_in_the_standalone_report(client, audited):
    run = audited["run"]
    client.force_login(audited["world"].officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    html = client.get(reverse("audits:report_html", args=[run.pk])).content.decode()
    keys = [m["key"] for m in run.results["metrics"]]
    assert "quality.overall" in keys and len(keys) > 20
    for document in (page, html):
        for key in keys:
            assert f'<tr id="{figure_anchor(key)}" data-metric="{key}">' in document, key
        assert 'id="figure-quality-overall"' in document


def test_values_read_at_sensible_precision(client, audited):
    run = audited["run"]
    client.force_login(audited["world"].officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    shown = dict(re.findall(r'data-metric="([^"]+)">.*?<td class="value">([^<]*)', page, re.S))
    checked = 0
    for metric in run.results["metrics"]:
        if metric["status"] == "ok" and isinstance(metric["value"], float):
            assert shown[metric["key"]].strip() == figure(metric["value"]), metric["key"]
            assert len(re.sub(r"\D", "", shown[metric["key"]]).lstrip("0")) <= 5
            checked += 1
    assert checked > 10


def test_report_opens_with_a_summary_of_family_scores(client, audited):
    run = audited["run"]
    client.force_login(audited["world"].officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    summary = _section(page, "report-summary")
    assert page.index('data-testid="report-summary"') < page.index('class="card metric-family"')
    families = re.findall(r'data-testid="family-score" data-family="([a-z]+)"', summary)
    assert families == [g["family"] for g in selectors.grouped_metrics(run.results)]
    assert {"integrity", "quality", "privacy", "fairness"} <= set(families)
    overall = next(m for m in run.results["metrics"] if m["key"] == "quality.overall")
    assert 'href="#figure-quality-overall"' in summary
    assert "Overall quality" in summary
    assert f"{overall['value']:.3g}" in summary
    assert "headline figure from the metric catalogue" in summary
    assert "No published standard has evaluated this version yet." in summary
    # Charts are titled by HTML headings (screen readers, no clipped in-figure titles).
    assert '<h3 class="chart-title" id="chart-data-1-title">' in page


def test_summary_states_each_standard_passed_and_failed(client, audited):
    world, run = audited["world"], audited["run"]
    publish_standard(world.admin_a, STRICT_YAML)
    (evaluation,) = compliance.evaluations_recompute_for_version(
        dataset_version=audited["synthetic"]
    )
    client.force_login(world.officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    outcome = _section(page, "report-summary")
    assert 'data-standard="REPORT-TEST 1.0"' in outcome
    assert evaluation.get_absolute_url() in outcome
    assert "1 rule passed, 1 failed" in outcome
    assert "blocking</span> failed: <code>quality.overall" in outcome
    assert 'href="#figure-quality-overall">see the figure' in outcome
    # What matters most: the figure behind the failing blocking rule comes first.
    findings = re.findall(r"<li>(.*?)</li>", outcome.split('data-testid="findings"')[1], re.S)
    assert 1 <= len(findings) <= 3
    assert 'href="#figure-quality-overall"' in findings[0]
    assert "fails REPORT-TEST 1.0 rule" in findings[0] and "(blocking)" in findings[0]
    # The standalone file says the same, without links to pages it cannot reach.
    html = client.get(reverse("audits:report_html", args=[run.pk])).content.decode()
    assert "1 rule passed, 1 failed" in html
    assert evaluation.get_absolute_url() not in html


def test_top_findings_put_failing_rules_first_worst_severity_first():
    results = {
        "metrics": [
            {"key": "quality.overall", "status": "ok", "value": 0.7, "finding": "Q low."},
            {"key": "privacy.exact_match_rate", "status": "ok", "value": 0.2, "finding": None},
            {"key": "fairness.amplification", "status": "ok", "value": 2.0, "finding": "Amp."},
            {"key": "quality.detection", "status": "ok", "value": 0.1, "finding": "Told apart."},
        ],
        "findings": ["Q low.", "Amp.", "Told apart."],
    }
    outcomes = [
        {
            "standard": "S 1",
            "failed": [
                {"key": "privacy.exact_match_rate", "severity": "minor", "rule": "p <= 0.1",
                 "sentence": "Exact matches 0.2 above 0.1."},
                {"key": "quality.overall", "severity": "blocking", "rule": "q >= 0.8"},
            ],
        }
    ]  # fmt: skip
    top = selectors.top_findings(results, outcomes)
    assert [f["key"] for f in top] == [
        "quality.overall",
        "privacy.exact_match_rate",
        "quality.detection",
    ]
    assert top[0]["text"] == "Q low." and "blocking" in top[0]["why"]
    assert top[1]["text"] == "Exact matches 0.2 above 0.1."  # the rule's sentence
    assert top[2]["why"] == ""


def test_status_reads_running_while_the_bar_moves(client, audited, placements_world):
    pw = placements_world
    run = request_placements_audit(pw, holdout=False, enqueue=False)
    services.audit_run_claim(run_id=run.pk)
    AuditRun.objects.filter(pk=run.pk).update(progress=0.56, step="Privacy: distances")
    client.force_login(pw["world"].officer_a)
    status = client.get(reverse("audits:status", args=[run.pk])).json()
    assert (status["status"], status["status_label"]) == ("running", "Running")
    page = client.get(run.get_absolute_url()).content.decode()
    assert re.search(r'data-testid="audit-status" data-audit-status[^>]*>Running<', page)


def test_cancel_asks_for_confirmation_saying_what_happens(client, placements_world):
    pw = placements_world
    run = request_placements_audit(pw, holdout=False, enqueue=False)
    client.force_login(pw["world"].officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    box = page[page.index('data-testid="cancel-audit"') : page.index("</details>")]
    assert "<summary" in box and "Cancel audit…" in box
    assert "no figures are recorded" in box and "cannot be resumed" in box
    assert "Yes, cancel this audit" in box
    assert client.post(reverse("audits:cancel", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == AuditStatus.CANCELLED


def test_report_page_is_gzipped_and_its_charts_are_built_once(client, audited):
    import gzip
    from unittest import mock

    from django.core.cache import cache

    from audits.runs import charts

    cache.clear()
    run = audited["run"]
    client.force_login(audited["world"].officer_a)
    with mock.patch.object(charts, "build_charts", wraps=charts.build_charts) as build:
        first = client.get(run.get_absolute_url(), HTTP_ACCEPT_ENCODING="gzip")
        second = client.get(run.get_absolute_url(), HTTP_ACCEPT_ENCODING="gzip")
    assert build.call_count == 1
    assert first["Content-Encoding"] == "gzip" and "Accept-Encoding" in first["Vary"]
    page = gzip.decompress(first.content).decode()
    again = gzip.decompress(second.content).decode()
    charts_json = re.compile(
        r'<script id="chart-data-\d+" type="application/json">.*?</script>', re.S
    )
    assert charts_json.findall(page) == charts_json.findall(again) != []
    assert len(first.content) < len(page) / 4
    assert f'src="{reverse("audits:plotly")}"' in page


def test_summary_withholds_a_failing_rules_figure_the_reader_may_not_see(client, audited):
    from audits.models import ComplianceEvaluation

    world, run = audited["world"], audited["run"]
    standard = publish_standard(world.admin_a, STRICT_YAML)
    hidden = 10**6  # an audit this reader cannot see (here: none at all)
    ComplianceEvaluation.objects.create(
        dataset_version=audited["synthetic"],
        standard_version=standard,
        status="non_compliant",
        results={
            "rules": [
                {
                    "key": "quality.overall",
                    "rule": "quality.overall >= 0.999",
                    "severity": "blocking",
                    "status": "fail",
                    "value": 0.987654,
                    "sentence": "quality.overall is 0.987654, below 0.999.",
                    "source": {"audit": hidden},
                },
            ]
        },
        evidence_sha256="0" * 64,
    )
    client.force_login(world.officer_a)
    page = client.get(run.get_absolute_url()).content.decode()
    summary = _section(page, "report-summary")
    assert "blocking</span> failed: <code>quality.overall &gt;= 0.999</code>" in summary
    assert "0.988" not in summary and "0.987654" not in summary
