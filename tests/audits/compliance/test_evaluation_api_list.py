"""``/api/v1/evaluations/`` pages over the evaluation list's cached order and total
(``audits.compliance.listing``): every page, with every filter and ordering the schema
documents, is the JSON the plain OFFSET pagination gives; a warm page at any depth
counts nothing and reads no OFFSET; another reach's cached order never shows, and a
new evaluation shows on the next request."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from audits.compliance import api, listing
from audits.models import ComplianceEvaluation, Standard, StandardVersion
from tests.audits.certification import helpers
from tests.audits.dashboard.test_dashboard_cache import beta_failing

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

STATUSES = ["compliant", "non_compliant", "incomplete"]


class _Offset(PageNumberPagination):
    """The pagination the list had before: a COUNT and an OFFSET on every request."""

    page_size = 2


def _get(user: Any, query: str = "") -> tuple[int, Any, list[str]]:
    client = APIClient()
    client.force_authenticate(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/evaluations/" + query)
    return response.status_code, response.json(), [q["sql"] for q in captured.captured_queries]


def _ids(user: Any, query: str = "") -> list[int]:
    status, body, _ = _get(user, query)
    assert status == 200, body
    return [row["id"] for row in body["results"]]


def _many(cert_world: dict[str, Any], standards: int = 11) -> None:
    """22 more current evaluations of org A's two versions: statuses and fail counts
    repeat, so orderings on them tie (the id decides among equals)."""
    base = cert_world["evaluation"]
    rows = []
    for i in range(standards):
        standard = StandardVersion.objects.create(
            standard=Standard.objects.create(code=f"bulk-{i:02d}"),
            version="1.0",
            status=StandardVersion.Status.PUBLISHED,
            name=f"Bulk {i}",
            scope="global",
        )
        for version in (cert_world["synthetic"], cert_world["real"]):
            rows.append(
                ComplianceEvaluation(
                    dataset_version=version,
                    standard_version=standard,
                    status=STATUSES[i % 3],
                    results=base.results,
                    sources=base.sources,
                    evidence_sha256=base.evidence_sha256,
                    worst_severity=base.worst_severity,
                    fail_count=i % 4,
                    missing_count=i % 2,
                )
            )
    ComplianceEvaluation.objects.bulk_create(rows)


def test_every_page_with_every_parameter_is_the_offset_paginations_json(cert_world, monkeypatch):
    """Pages of 2 in chunks of 6 over 23 evaluations: cold and warm, every page of
    every documented filter and ordering is the old pagination's JSON (an ordering
    with ties: the old one's with the id asked for last, which the API accepts)."""
    monkeypatch.setattr(listing, "ORDER_CHUNK", 6)
    monkeypatch.setattr(api.EvaluationPagination, "page_size", 2)
    _many(cert_world)
    officer = cert_world["world"].officer_a
    synthetic = cert_world["synthetic"]
    bulk = StandardVersion.objects.get(standard__code="bulk-03")
    queries = {
        "": "",
        "?ordering=-id": "?ordering=-id",
        "?ordering=status": "?ordering=status,id",
        "?ordering=-fail_count,status": "?ordering=-fail_count,status,id",
        "?ordering=dataset_version": "?ordering=dataset_version,id",
        "?ordering=-computed": "?ordering=-computed,id",
        "?ordering=not_a_field": "",  # ignored, as before: the default order
        "?status=non_compliant": "?status=non_compliant",
        "?status=compliant&ordering=-missing_count": "?status=compliant&ordering=-missing_count,id",
        f"?dataset_version={synthetic.pk}": f"?dataset_version={synthetic.pk}",
        f"?standard_version={bulk.pk}": f"?standard_version={bulk.pk}",
        "?search=anything": "?search=anything",  # no search fields: the whole list
    }
    for cached_query, offset_query in queries.items():
        glue = "&" if cached_query else "?"
        status, first, _ = _get(officer, cached_query)
        assert status == 200, (cached_query, first)
        pages = range(1, -(-first["count"] // 2) + 1)
        cold = [_get(officer, f"{cached_query}{glue}page={n}")[1] for n in pages]
        warm = []
        for n in pages:
            _, body, sql = _get(officer, f"{cached_query}{glue}page={n}")
            warm.append(body)
            assert not [q for q in sql if "COUNT(" in q or "OFFSET" in q], (cached_query, n, sql)
        with monkeypatch.context() as old:
            old.setattr(api.EvaluationViewSet, "pagination_class", _Offset)
            glue_old = "&" if offset_query else "?"
            want = [_get(officer, f"{offset_query}{glue_old}page={n}")[1] for n in pages]
        # The links name the query asked for; everything else is the same JSON.
        for page in cold + warm + want:
            page.pop("next"), page.pop("previous")
        assert cold == want and warm == want, cached_query
        assert sum(len(page["results"]) for page in want) == first["count"]
    assert _get(officer)[1]["count"] == 23
    # Past the end and not a number: 404 with DRF's own message, as before.
    for bad in ("?page=99", "?page=0", "?page=x"):
        status, body, _ = _get(officer, bad)
        with monkeypatch.context() as old:
            old.setattr(api.EvaluationViewSet, "pagination_class", _Offset)
            assert (status, body) == _get(officer, bad)[:2] and status == 404
    # "last" is the last page.
    assert _ids(officer, "?page=last") == _ids(officer, "?page=12") != []


def test_another_reachs_cached_order_is_never_shown_and_changes_show_at_once(cert_world):
    world, standard = cert_world["world"], cert_world["standard"]
    alpha = cert_world["evaluation"]
    beta = beta_failing(cert_world)
    beta_evaluation = beta.evaluations.get(is_current=True)
    cache.clear()
    for _ in range(2):  # cold, then warm
        assert _ids(world.officer_a) == [alpha.pk]
        assert _ids(world.curator_b) == [beta_evaluation.pk]
        assert _ids(world.regulator) == [alpha.pk]  # EU reach: A, not B (UK)
        assert _ids(world.regulator_b) == [beta_evaluation.pk]  # UK reach: B
        assert _ids(world.outsider) == []  # no role: nothing restricted
        assert _ids(world.curator_b, "?status=non_compliant") == [beta_evaluation.pk]
        assert _ids(world.officer_a, "?status=non_compliant") == []
    # Warm: no COUNT, and the order is not read again.
    _, body, sql = _get(world.officer_a)
    assert body["count"] == 1
    order_reads = [q for q in sql if "audits_complianceevaluation" in q and "LIMIT" in q]
    assert not [q for q in sql if "COUNT(" in q] and not order_reads, sql
    # A new evaluation of B's version: on B's next request (count too), never on A's.
    helpers.record_audit(beta, beta, world.curator_b, helpers.GOOD)
    renewed = helpers.evaluate(beta, standard)
    assert renewed.status == "compliant"
    assert _ids(world.curator_b) == [renewed.pk]
    assert _get(world.curator_b, "?status=non_compliant")[1]["count"] == 0
    assert _ids(world.curator_b, "?status=compliant") == [renewed.pk]
    assert _ids(world.regulator_b) == [renewed.pk]
    assert _ids(world.officer_a) == [alpha.pk] and _ids(world.regulator) == [alpha.pk]
