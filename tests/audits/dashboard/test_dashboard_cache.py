"""The dashboard's summary figures come from a cache keyed on whom the user may
see and on the data's state: users with different reach never share figures,
a change through any service shows at once, signing in does not throw the
figures away, and a lost or unreachable cache is computed again, never
answered wrongly."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from audits.dashboard import selectors as dashboard
from audits.models import Certificate
from registry.models import Dataset
from registry.services import dataset_update
from synthgov.access.services import login_record, organisation_save
from tests.audits.certification import helpers
from tests.registry.conftest import make_dataset, make_version, placements_csv

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

NONE = {"compliant": 0, "non_compliant": 0, "incomplete": 0}


def counts(user: Any) -> dict[str, int]:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/v1/dashboard/")
    assert response.status_code == 200
    return response.json()["counts"]


def names(user: Any) -> set[str]:
    api = APIClient()
    api.force_authenticate(user)
    return {row["name"] for row in api.get("/api/v1/dashboard/").json()["matrix"]}


def beta_failing(cert_world: dict[str, Any]) -> Any:
    """Organisation B's restricted dataset (UK), failing the blocking rule."""
    world = cert_world["world"]
    dataset = make_dataset(world, org="org_b", name="Beta admissions")
    version = make_version(dataset, world.curator_b, placements_csv(seed=7))
    helpers.record_audit(
        version, version, world.curator_b, {**helpers.GOOD, "quality.overall": 0.5}
    )
    assert helpers.evaluate(version, cert_world["standard"]).status == "non_compliant"
    return version


def test_users_with_different_reach_never_share_figures_and_changes_show_at_once(cert_world):
    world, standard = cert_world["world"], cert_world["standard"]
    beta = beta_failing(cert_world)
    alpha = {"compliant": 1, "non_compliant": 0, "incomplete": 0}
    beta_fails = {"compliant": 0, "non_compliant": 1, "incomplete": 0}
    # Each one twice: the second answer comes from the warm cache.
    for _ in range(2):
        assert counts(world.officer_a) == alpha  # organisation A
        assert counts(world.regulator) == alpha  # EU reach: A, not B (UK)
        assert counts(world.curator_b) == beta_fails  # organisation B
        assert counts(world.regulator_b) == beta_fails  # UK reach: B
        assert counts(world.outsider) == NONE  # no role: nothing restricted
    assert "Beta admissions" not in names(world.officer_a) | names(world.regulator)
    assert names(world.curator_b) == {"Beta admissions"}

    def key(user: Any) -> str:
        return dashboard._cache_key("summary", dashboard.data_state(user, dashboard.Filters()))

    # One entry per reach: A's two members share one; B, its regulator (who also
    # reaches its own organisation) and a user without a role have their own.
    assert key(world.officer_a) == key(world.curator_a)
    users = (world.officer_a, world.curator_b, world.regulator, world.regulator_b, world.outsider)
    assert len({key(u) for u in users}) == len(users)

    # Organisation B's new audit and evaluation: B and its regulator see it at
    # once; A and the EU regulator keep their figures.
    helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
    assert helpers.evaluate(beta, standard).status == "compliant"
    assert counts(world.curator_b) == alpha
    assert counts(world.regulator_b) == alpha
    assert counts(world.officer_a) == alpha
    assert counts(world.regulator) == alpha

    # B opens its dataset: everyone signed in now counts it.
    dataset_update(dataset=beta.dataset, user=world.curator_b, tags=[], access="open")
    both = {"compliant": 2, "non_compliant": 0, "incomplete": 0}
    assert counts(world.officer_a) == both
    assert counts(world.outsider) == {"compliant": 1, "non_compliant": 0, "incomplete": 0}
    dataset_update(dataset=beta.dataset, user=world.curator_b, tags=[], access="restricted")
    assert counts(world.officer_a) == alpha

    # The UK regulator's reach grows to the EU: A's figures join B's at once.
    organisation_save(
        organisation=world.regulator_org_b,
        by=world.admin_a,
        covered_jurisdictions=[
            *world.regulator_org_b.covered_jurisdictions.all(),
            *world.org_a.jurisdictions.all(),
        ],
    )
    assert counts(world.regulator_b) == both
    assert counts(world.curator_b) == alpha  # B's own reach is unchanged


def test_the_page_counts_follow_a_certificate_at_once(cert_world):
    """When the newest version is not audited yet, a cell shows the certified
    version, else the newest evaluated one: a certificate issued on v1 moves the
    cell (and so the cached counts) from v2's failure to v1's pass at once."""
    world, standard = cert_world["world"], cert_world["standard"]
    v1, evaluation = cert_world["synthetic"], cert_world["evaluation"]
    v2 = make_version(v1.dataset, world.curator_a, placements_csv(seed=11))
    helpers.record_audit(v2, cert_world["real"], world.curator_a, {"quality.overall": 0.5})
    assert helpers.evaluate(v2, standard).status == "non_compliant"
    make_version(v1.dataset, world.curator_a, placements_csv(seed=12))  # v3, not audited
    client = Client()
    client.force_login(world.officer_a)

    def page() -> str:
        return client.get(reverse("home")).content.decode()

    for _ in range(2):  # the second from the cache
        assert 'data-testid="count-non_compliant">1<' in page()
    helpers.api_sign(world.curator_a, evaluation)
    helpers.api_sign(world.regulator, evaluation)
    assert 'data-testid="count-non_compliant">0<' in page()
    assert 'data-testid="count-compliant">1<' in page()


def test_signing_in_keeps_the_cached_figures_and_any_other_change_moves_them(cert_world):
    world = cert_world["world"]
    filters = dashboard.Filters()
    before = dashboard.data_state(world.officer_a, filters)
    login_record(user=world.officer_a, ip="127.0.0.1")
    assert dashboard.data_state(world.officer_a, filters) == before
    dataset = cert_world["synthetic"].dataset
    dataset_update(dataset=dataset, user=world.curator_a, tags=[], domain="health")
    assert dashboard.data_state(world.officer_a, filters) != before


def test_a_lost_or_unreachable_cache_is_computed_again(cert_world):
    world = cert_world["world"]
    beta_failing(cert_world)
    expected = {"compliant": 1, "non_compliant": 0, "incomplete": 0}
    assert counts(world.officer_a) == expected
    cache.clear()  # evicted, or a restarted cache server
    assert counts(world.officer_a) == expected
    # Nothing listens on port 1: every cache read and write fails.
    unreachable = "django.core.cache.backends.redis.RedisCache"
    with override_settings(
        CACHES={"default": {"BACKEND": unreachable, "LOCATION": "redis://127.0.0.1:1/0"}}
    ):
        assert counts(world.officer_a) == expected
        assert counts(world.curator_b) == {"compliant": 0, "non_compliant": 1, "incomplete": 0}


def page_of(user: Any, query: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home") + query)
    assert response.status_code == 200
    return response.content.decode()


def matrix_rows(html: str) -> set[str]:
    """The datasets the page's matrix table shows."""
    return set(re.findall(r'<tr data-dataset="([^"]*)"', html))


def test_the_rendered_matrix_is_shared_only_by_users_and_filters_that_see_the_same_rows(
    cert_world,
):
    """The matrix table is rendered once per key; a user with another reach, or
    the same user with another filter or page, never receives it."""
    world = cert_world["world"]
    beta_failing(cert_world)
    a_rows = {"Real placements", "Synthetic placements"}
    for _ in range(2):  # the second from the cache, in the other users' presence
        assert matrix_rows(page_of(world.officer_a)) == a_rows
        assert matrix_rows(page_of(world.curator_a)) == a_rows  # same reach: shared
        assert matrix_rows(page_of(world.curator_b)) == {"Beta admissions"}
        assert matrix_rows(page_of(world.regulator)) == a_rows
        assert matrix_rows(page_of(world.regulator_b)) == {"Beta admissions"}
        assert matrix_rows(page_of(world.officer_a, "?kind=real")) == {"Real placements"}
        assert matrix_rows(page_of(world.officer_a, "?kind=fully_synthetic")) == {
            "Synthetic placements"
        }
        assert matrix_rows(page_of(world.officer_a, "?page=2")) == a_rows  # past the end: last
    # The cached fragment is the page's HTML, not its escaped text.
    assert 'data-testid="compliance-matrix"' in page_of(world.officer_a)
    assert "&lt;table" not in page_of(world.officer_a)
    # A change moves the table at once: B opens its dataset, A's members see it.
    beta = Dataset.objects.get(name="Beta admissions")
    dataset_update(dataset=beta, user=world.curator_b, tags=[], access="open")
    assert matrix_rows(page_of(world.curator_a)) == a_rows | {"Beta admissions"}
    assert matrix_rows(page_of(world.regulator)) == a_rows | {"Beta admissions"}


def test_the_sign_off_panel_is_each_users_own_and_follows_a_sign_off_at_once(cert_world):
    """The curator and the compliance officer of one organisation share the
    matrix, but only the curator may sign: the cached sign-off panel is never
    shown to the officer, and a sign-off moves it from curator to regulator."""
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign_link = reverse("audits:signoff", args=[evaluation.pk])
    for _ in range(2):  # the second from the cache
        assert sign_link in page_of(world.curator_a)
        assert sign_link not in page_of(world.officer_a)
        assert sign_link not in page_of(world.regulator)  # waits for the producer first
        assert sign_link not in page_of(world.curator_b)
    helpers.api_sign(world.curator_a, evaluation)
    assert sign_link not in page_of(world.curator_a)
    assert sign_link in page_of(world.regulator)
    assert sign_link not in page_of(world.regulator_b)  # UK: A is not in its reach
    helpers.api_sign(world.regulator, evaluation)
    assert sign_link not in page_of(world.regulator)
    # The certificate the two approvals issued is in every panel reader's reach at once.
    number = Certificate.objects.get(evaluation=evaluation).number
    assert number in page_of(world.curator_a)  # the matrix badge and the certificate link
    assert number not in page_of(world.curator_b)


def test_concurrent_misses_compute_once(monkeypatch):
    """While one request computes an entry, another waits for it instead of
    computing the same figures again; a holder that never answers is not waited
    for beyond the wait."""
    monkeypatch.setattr(dashboard, "STAMPEDE_WAIT_SECONDS", 0.3)
    key = "dashboard-test:stampede"
    cache.add(f"{key}:computing", 1, 30)  # another request is computing it

    def not_again() -> Any:
        raise AssertionError("computed twice")

    threading.Timer(0.1, lambda: cache.set(key, {"n": 1}, 30)).start()
    assert dashboard._cached(key, not_again) == {"n": 1}

    other = "dashboard-test:stuck"
    cache.add(f"{other}:computing", 1, 30)
    started = time.monotonic()
    assert dashboard._cached(other, lambda: {"n": 2}) == {"n": 2}
    assert time.monotonic() - started >= dashboard.STAMPEDE_WAIT_SECONDS
    assert cache.get(other) == {"n": 2}
