"""The evaluation list's order is cached under the data's state, in chunks of ids, and
each page's table rendered: a page at any depth reads one chunk and its own rows, with
no OFFSET and no COUNT; its rows are exactly the uncached order's; a lost chunk is
ordered again; a warm page reads no evaluation at all; another organisation's cached
order or table never shows, and a new evaluation shows on the next request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audits.compliance import listing
from tests.audits.certification import helpers
from tests.audits.dashboard.test_dashboard_cache import beta_failing

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def _ids(page: Any) -> list[int]:
    return [row.pk for row in page.object_list]


@pytest.mark.django_db
def test_every_page_is_the_uncached_orders_page_at_any_depth(monkeypatch):
    """Pages of 2 in chunks of 6 over 23 rows with equal names (the id breaks ties):
    cold, warm, and with one chunk evicted, every page equals Paginator's."""
    monkeypatch.setattr(listing, "ORDER_CHUNK", 6)
    users = get_user_model().objects
    users.bulk_create(
        [get_user_model()(username=f"u{i:02d}", first_name=f"n{i % 4}") for i in range(23)]
    )
    ordered = users.filter(username__startswith="u").order_by("first_name", "id")
    expected = Paginator(ordered, 2)
    cold = listing.CachedOrderPaginator(ordered, 2, key="test-order")
    assert cold.count == 23 and cold.num_pages == 12
    pages = range(1, expected.num_pages + 1)
    want = [_ids(expected.page(n)) for n in pages]
    assert [_ids(cold.page(n)) for n in pages] == want
    warm = listing.CachedOrderPaginator(ordered, 2, key="test-order")
    with CaptureQueriesContext(connection) as captured:
        assert [_ids(warm.page(n)) for n in pages] == want
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql and "ORDER BY" not in sql
    cache.delete("test-order:ids:2")  # pages 7 and 8 (ids 12-17)
    evicted = listing.CachedOrderPaginator(ordered, 2, key="test-order")
    assert _ids(evicted.page(7)) == _ids(expected.page(7))
    assert _ids(evicted.page(8)) == _ids(expected.page(8))
    assert _ids(evicted.get_page(99)) == _ids(expected.page(12))  # past the end: the last


def _list(user: Any, query: str = "") -> tuple[list[int], list[str]]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("audits:evaluations") + query)
    assert response.status_code == 200
    shown = [
        int(pk) for pk in re.findall(r'<tr data-evaluation="(\d+)"', response.content.decode())
    ]
    return shown, [q["sql"] for q in captured.captured_queries]


def test_another_organisations_cached_order_is_never_shown(cert_world):
    world, standard = cert_world["world"], cert_world["standard"]
    alpha = cert_world["evaluation"]
    beta = beta_failing(cert_world)
    beta_evaluation = beta.evaluations.get(is_current=True)
    for _ in range(2):  # cold, then warm
        a_ids, a_sql = _list(world.officer_a)
        b_ids, _ = _list(world.curator_b)
        assert a_ids == [alpha.pk] and b_ids == [beta_evaluation.pk]
    # Warm: neither the order, nor the rows, nor their failing rules are read.
    assert not any(
        "audits_complianceevaluation" in sql or "audits_ruleoutcome" in sql for sql in a_sql
    ), a_sql
    # The key is each reach's own: A's two members share it, B has another.
    assert listing.count_key(world.officer_a, "x") == listing.count_key(world.curator_a, "x")
    assert listing.count_key(world.officer_a, "x") != listing.count_key(world.curator_b, "x")
    # Past the end: the last page, as before.
    assert _list(world.officer_a, "?page=9")[0] == [alpha.pk]
    # A new evaluation of B's version: shown on B's next request, never on A's.
    helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
    renewed = helpers.evaluate(beta, standard)
    assert _list(world.curator_b)[0] == [renewed.pk]
    assert _list(world.curator_b, "?status=non_compliant")[0] == []
    assert _list(world.officer_a)[0] == [alpha.pk]
