"""The home page's dashboard is served from one cache entry of rendered HTML, and the
audits in progress from a cached classification checked against the live queue:
another organisation's cached fragment is never shown, a change shows at once, an
audit queued without a trail event still shows, and a warm page reads a fixed,
small number of queries."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from audits.dashboard import selectors as dashboard
from audits.models import AuditRun, AuditStatus
from tests.audits.certification import helpers
from tests.audits.dashboard.test_dashboard_cache import beta_failing, matrix_rows, page_of

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def _failing_rules(html: str) -> str:
    start = html.index("Rules that fail most often")
    return html[start : html.index("Audits in progress")]


def test_another_organisations_cached_board_is_never_shown(cert_world):
    """A's members warm the cache first; B's users then get B's own fragment (filter
    options, counts, failing rules, matrix), and the API the same."""
    world = cert_world["world"]
    beta_failing(cert_world)
    for _ in range(2):
        a_page = page_of(world.officer_a)
        b_page = page_of(world.curator_b)
        assert matrix_rows(a_page) == {"Real placements", "Synthetic placements"}
        assert matrix_rows(b_page) == {"Beta admissions"}
        # The filter form lists only organisations whose datasets the user sees.
        assert world.org_b.name not in a_page.split("Dashboard filters")[1].split("</form>")[0]
        assert world.org_a.name not in b_page.split("Dashboard filters")[1].split("</form>")[0]
        # B's dataset fails a rule; A's does not: the cached list is each one's own.
        assert "No failing rules." in _failing_rules(a_page)
        assert "No failing rules." not in _failing_rules(b_page)
        assert 'data-testid="count-non_compliant">1<' in b_page
        assert 'data-testid="count-non_compliant">0<' in a_page
    api = APIClient()
    api.force_authenticate(world.curator_b)
    assert {row["name"] for row in api.get("/api/v1/dashboard/").json()["matrix"]} == {
        "Beta admissions"
    }


def _queued(version: Any, user: Any) -> AuditRun:
    """A queued audit written straight to the table: no trail event, as a requeue
    by the worker's lease recovery would leave it."""
    return AuditRun.objects.create(
        version=version, reference=version, requested_by=user, status=AuditStatus.QUEUED
    )


def _in_progress(user: Any) -> list[int]:
    api = APIClient()
    api.force_authenticate(user)
    return [run["audit"] for run in api.get("/api/v1/dashboard/").json()["in_progress"]]


def test_audits_in_progress_are_live_and_each_users_own(cert_world):
    world = cert_world["world"]
    beta = beta_failing(cert_world)
    alpha = cert_world["evaluation"].dataset_version
    assert _in_progress(world.officer_a) == [] and _in_progress(world.curator_b) == []
    a_run = _queued(alpha, world.curator_a)  # no event: the cached state does not move
    assert _in_progress(world.officer_a) == [a_run.pk]
    assert _in_progress(world.curator_b) == []  # never A's audit
    b_run = _queued(beta, world.curator_b)
    for _ in range(2):
        assert _in_progress(world.curator_b) == [b_run.pk]
        assert _in_progress(world.officer_a) == [a_run.pk]
    # Progress is read live; a finished audit leaves the list at once.
    AuditRun.objects.filter(pk=a_run.pk).update(
        status=AuditStatus.RUNNING, progress=0.4, step="quality"
    )
    page = page_of(world.officer_a)
    assert f"#{a_run.pk} " in page and "quality" in page
    assert f"#{b_run.pk} " not in page
    AuditRun.objects.filter(pk=a_run.pk).update(status=AuditStatus.SUCCEEDED)
    assert _in_progress(world.officer_a) == []
    assert f"#{a_run.pk} " not in page_of(world.officer_a)
    # Back in the queue without an event (a requeue): shown again.
    AuditRun.objects.filter(pk=a_run.pk).update(status=AuditStatus.QUEUED)
    assert _in_progress(world.officer_a) == [a_run.pk]
    assert _in_progress(world.curator_b) == [b_run.pk]


def test_a_new_evaluation_shows_on_the_next_page(cert_world):
    world, standard = cert_world["world"], cert_world["standard"]
    beta = beta_failing(cert_world)
    before = page_of(world.curator_b)
    assert 'data-testid="count-non_compliant">1<' in before
    helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
    assert helpers.evaluate(beta, standard).status == "compliant"
    after = page_of(world.curator_b)
    assert 'data-testid="count-non_compliant">0<' in after
    assert "No failing rules." in _failing_rules(after)


def _queries(user: Any, path: str) -> int:
    client = Client()
    client.force_login(user)
    assert client.get(path).status_code == 200  # warms the cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_a_warm_dashboard_reads_a_few_queries(cert_world):
    """Session, user, roles, the data's state (reach, newest event), the live queue
    and notifications: no matrix, count or rule query on a cache hit, however many
    datasets there are."""
    world, standard = cert_world["world"], cert_world["standard"]
    beta = beta_failing(cert_world)
    alpha = cert_world["evaluation"].dataset_version
    _queued(alpha, world.curator_a)  # in the regulator's reach: its row is read live
    home = reverse("home")
    page = _queries(world.regulator, home)
    api = _queries(world.regulator, "/api/v1/dashboard/")
    assert page <= 10, page
    assert api <= 7, api
    for i in range(3):  # more data (each evaluation moves the state), same count
        helpers.record_audit(alpha, alpha, world.curator_a, helpers.GOOD)
        helpers.evaluate(alpha, standard)
        helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
        helpers.evaluate(beta, standard)
        assert _queries(world.regulator, home) == page, i
        assert _queries(world.regulator, "/api/v1/dashboard/") == api, i
    assert dashboard.IN_PROGRESS_SHOWN == 10
