"""Benchmark: ``/api/v1/evaluations/`` per request, cold and warm, on a filled database.

Measures, in process (``rest_framework.test.APIClient`` + ``CaptureQueriesContext``),
each page of the API's evaluation list as a signed-in user: the first request after the
cache is emptied (cold) and the median of ``--repeat`` requests after it (warm): SQL
queries, SQL milliseconds (PostgreSQL's time as Django's cursor records it), the
view's wall and CPU milliseconds, and a SHA-256 of the JSON each page answers, so two
versions of the code can be shown to answer the same, and how many different answers
the same request got (more than one: an order with ties, paged by OFFSET).

Fill a database once with ``bench/dashboard_load.py --keep`` and point this at it;
run it from each code tree to compare (``PYTHONPATH`` picks the tree):

    .venv/bin/python bench/dashboard_load.py --datasets 4000 --name apieval_b --keep \\
        --requests 3 --clients 1 --only dashboard
    PYTHONPATH=$TREE DATABASE_URL=postgres://postgres@127.0.0.1:5432/apieval_b \\
        SYNTHGOV_VAR_DIR=<the folder --keep printed> CACHE_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/api_evaluation_list.py --json out.json

The cache named by ``CACHE_URL`` is cleared before each page's cold request: give it
a database of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time
from typing import Any

# Production settings (DEBUG off), as bench/dashboard_load.py's server runs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synthgov.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _pages(versions: list[int], standards: list[int], last: int) -> list[tuple[str, str]]:
    return [
        ("page 1", ""),
        ("page 50", "?page=50"),
        (f"page {last} (last)", f"?page={last}"),
        ("non_compliant", "?status=non_compliant"),
        ("non_compliant page 20", "?status=non_compliant&page=20"),
        ("ordering=-computed page 100", "?ordering=-computed&page=100"),
        ("ordering=-computed,id page 100", "?ordering=-computed,id&page=100"),
        ("ordering=status page 200", "?ordering=status&page=200"),
        ("ordering=status,id page 200", "?ordering=status,id&page=200"),
        ("one version", f"?dataset_version={versions[0]}"),
        ("one standard version page 10", f"?standard_version={standards[0]}&page=10"),
    ]


def _one(client: Any, path: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.get(path)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code} {response.content[:300]!r}")
    sql = [q["sql"] for q in captured.captured_queries]
    # The list's own SQL (count, order, rows; the cache key's reach and trail head)
    # apart from the serializer's (disclosure of each rule's audit) and the rest.
    own = ("audits_complianceevaluation", "accounts_organisation", "trail_event")
    list_ms = sum(
        float(q["time"])
        for q in captured.captured_queries
        if (table := re.search(r'FROM "(\w+)"', q["sql"])) and table.group(1) in own
    )
    body = response.json()
    results = json.dumps([body["count"], body["results"]], sort_keys=True).encode()
    return {
        "queries": len(sql),
        "sql_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
        "list_sql_ms": list_ms * 1000,
        "results_sha256": hashlib.sha256(results).hexdigest(),
        "view_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        "counts": sum("COUNT(" in q for q in sql),
        "offsets": sum("OFFSET" in q for q in sql),
        "json": body,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="regulator")
    parser.add_argument("--repeat", type=int, default=10, help="warm requests per page")
    parser.add_argument("--json", help="write the figures (and each page's JSON hash) here")
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from audits.models import ComplianceEvaluation

    user = get_user_model().objects.get(username=args.user)
    client = APIClient()
    client.force_authenticate(user)
    mine = ComplianceEvaluation.objects.visible_to(user).current()
    total = mine.count()
    versions = list(
        mine.order_by("dataset_version_id").values_list("dataset_version_id", flat=True)
    )
    standards = list(
        mine.order_by("standard_version_id").values_list("standard_version_id", flat=True)
    )
    pages = _pages(versions, standards, -(-total // 50))
    import audits

    report: dict[str, Any] = {"user": args.user, "evaluations": total, "pages": []}
    print(f"code: {os.path.dirname(os.path.dirname(audits.__file__))}")
    print(f"{args.user} sees {total:,} current evaluations; warm = median of {args.repeat}")
    print(
        f"{'page':32} | {'cold: q  sql ms  view ms':>24} | "
        f"{'warm: q  sql ms (list) view ms  cpu ms  COUNT OFFSET':>52} | json, results, answers"
    )
    for label, query in pages:
        path = "/api/v1/evaluations/" + query
        cache.clear()
        cold = _one(client, path)
        warm = [_one(client, path) for _ in range(args.repeat)]
        digests = [
            hashlib.sha256(json.dumps(r["json"], sort_keys=True).encode()).hexdigest()
            for r in [cold, *warm]
        ]
        digest = digests[0]

        def median(key: str, runs: list[dict[str, Any]] = warm) -> float:
            return statistics.median(r[key] for r in runs)

        row = {
            "label": label,
            "path": path,
            "cold": {k: v for k, v in cold.items() if k != "json"},
            # The count and results alone (the links name the query as asked).
            "results_sha256": cold["results_sha256"],
            "warm": {
                k: median(k) for k in ("queries", "sql_ms", "list_sql_ms", "view_ms", "cpu_ms")
            },
            "warm_counts": max(w["counts"] for w in warm),
            "warm_offsets": max(w["offsets"] for w in warm),
            "rows": len(cold["json"]["results"]),
            "json_sha256": digest,
            # Different answers to the same request (an order with ties under OFFSET).
            "answers": len(set(digests)),
        }
        report["pages"].append(row)
        print(
            f"{label:32} | {cold['queries']:7d} {cold['sql_ms']:7.1f} {cold['view_ms']:8.1f} | "
            f"{row['warm']['queries']:7.0f} {row['warm']['sql_ms']:7.1f} "
            f"({row['warm']['list_sql_ms']:5.1f}) "
            f"{row['warm']['view_ms']:8.1f} {row['warm']['cpu_ms']:7.1f} "
            f"{row['warm_counts']:6d} {row['warm_offsets']:6d} | {digest[:12]} "
            f"{cold['results_sha256'][:12]} {row['answers']}"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
