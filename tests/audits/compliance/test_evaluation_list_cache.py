"""The evaluation list's order (and so its total) is cached under the data's state:
each user's own reach, a new evaluation counted on the next request, and no COUNT or
ordering query on a hit."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.audits.certification import helpers
from tests.audits.dashboard.test_dashboard_cache import beta_failing

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def _list(user: Any, query: str = "") -> tuple[int, list[str]]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("audits:evaluations") + query)
    assert response.status_code == 200
    # The whole list's order (ORDER BY the dataset's name; a page's own rows are read by
    # id without it) or a COUNT: the work a warm list does not do again.
    counts = [
        q["sql"]
        for q in captured.captured_queries
        if "COUNT(*)" in q["sql"] or 'ORDER BY "registry_dataset"."name"' in q["sql"]
    ]
    return response.context["page"].paginator.count, counts


def test_the_evaluation_count_is_each_users_own_and_follows_a_change(cert_world):
    world, standard = cert_world["world"], cert_world["standard"]
    beta = beta_failing(cert_world)
    a_total, first = _list(world.officer_a)
    b_total, _ = _list(world.curator_b)
    assert first, "the first request counts"
    assert (a_total, b_total) == (1, 1)
    again, counted = _list(world.officer_a)
    assert again == a_total and counted == [], "a warm list does not count again"
    assert _list(world.curator_b)[0] == 1  # B's own entry, not A's
    assert _list(world.curator_b, "?status=non_compliant")[0] == 1
    assert _list(world.officer_a, "?status=non_compliant")[0] == 0
    # B's new audit and evaluation: B's failing list empties at once.
    helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
    assert helpers.evaluate(beta, standard).status == "compliant"
    assert _list(world.curator_b, "?status=non_compliant")[0] == 0
    assert _list(world.curator_b, "?status=compliant")[0] == 1
    assert _list(world.officer_a)[0] == 1
