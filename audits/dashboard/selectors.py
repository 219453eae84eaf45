"""The compliance dashboard's figures: matrix, counts, failing rules, trend.

Queries are bounded: the matrix shows one page of datasets, every other
figure is a GROUP BY, so the number of queries does not grow with the
number of datasets.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from audits.certification import certificates, notifications, signoffs
from audits.models import ComplianceEvaluation, EvaluationStatus, RuleOutcome
from audits.runs.selectors import in_progress_for
from registry.models import Dataset
from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.accounts.permissions import DATASET_VIEW, organisations_where

MATRIX_PAGE = 40
TREND_DAYS = 30
# Summaries are keyed on the data's state (see summary_cache_key), so this only
# bounds how long an unused entry lingers.
SUMMARY_CACHE_SECONDS = 600
STATUS_ORDER = ["compliant", "non_compliant", "incomplete"]


@dataclass
class Filters:
    organisation: str = ""
    jurisdiction: str = ""
    domain: str = ""
    kind: str = ""

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(
            **{
                k: query.get(k, "").strip()
                for k in ("organisation", "jurisdiction", "domain", "kind")
            }
        )

    def apply(self, datasets: Any) -> Any:
        if self.organisation:
            datasets = datasets.filter(organisation__slug=self.organisation)
        if self.jurisdiction:
            # A subquery, not a join, so no dataset appears twice and no DISTINCT is needed.
            datasets = datasets.filter(
                organisation__in=Organisation.objects.filter(
                    jurisdictions__code=self.jurisdiction
                ).values("id")
            )
        if self.domain:
            datasets = datasets.filter(domain__iexact=self.domain)
        if self.kind:
            datasets = datasets.filter(kind=self.kind)
        return datasets


@dataclass
class Dashboard:
    standards: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    page: Any
    counts: dict[str, int]
    failing_rules: list[dict[str, Any]]
    in_progress: list[Any]
    trend: dict[str, Any]
    options: dict[str, list[Any]] = field(default_factory=dict)


def dashboard_for(user: Any, filters: Filters, page_number: Any = 1) -> Dashboard:
    datasets = filters.apply(Dataset.objects.visible_to(user)).order_by("name", "id")
    latest = datasets.values("latest_version_id")
    evaluations = ComplianceEvaluation.objects.current().filter(dataset_version_id__in=latest)
    page = Paginator(
        datasets.select_related("organisation").only(
            "id", "name", "kind", "domain", "access", "latest_version_id", "organisation__name"
        ),
        MATRIX_PAGE,
    ).get_page(page_number)
    cells: dict[int, dict[int, Any]] = defaultdict(dict)
    standards: dict[int, dict[str, Any]] = {}
    page_evaluations = (
        ComplianceEvaluation.objects.current()
        .filter(dataset_version_id__in=[d.latest_version_id for d in page.object_list])
        .values(
            "pk",
            "status",
            "fail_count",
            "missing_count",
            "worst_severity",
            "dataset_version__dataset_id",
            "dataset_version__number",
            "standard_version_id",
            "standard_version__standard__code",
            "standard_version__version",
            "certificate__number",
            "certificate__status",
        )
    )
    for e in page_evaluations:
        cells[e["dataset_version__dataset_id"]][e["standard_version_id"]] = e
        standards[e["standard_version_id"]] = {
            "id": e["standard_version_id"],
            "label": f"{e['standard_version__standard__code']} {e['standard_version__version']}",
        }
    columns = sorted(standards.values(), key=lambda s: s["label"])
    rows = [
        {"dataset": dataset, "cells": [cells[dataset.pk].get(s["id"]) for s in columns]}
        for dataset in page.object_list
    ]
    state = data_state(user, filters)
    summary = cache.get_or_set(
        _cache_key("summary", state, filters),
        lambda: _summary(evaluations, latest),
        SUMMARY_CACHE_SECONDS,
    )
    options = cache.get_or_set(
        _cache_key("options", state), lambda: filter_options(user), SUMMARY_CACHE_SECONDS
    )
    return Dashboard(
        standards=columns,
        rows=rows,
        page=page,
        counts=summary["counts"],
        failing_rules=summary["failing_rules"],
        in_progress=list(in_progress_for(user)[:10]),
        trend=summary["trend"],
        options=options,
    )


def _summary(evaluations: Any, latest: Any) -> dict[str, Any]:
    """The figures over every visible dataset, not just the page: counts by
    status, the rules that fail most often and the trend."""
    counts = Counter(
        {
            row["status"]: row["n"]
            for row in evaluations.order_by().values("status").annotate(n=Count("id"))
        }
    )
    failing = list(
        RuleOutcome.objects.filter(
            is_current=True, status="fail", evaluation__in=evaluations.order_by().values("id")
        )
        .values("key")
        .annotate(n=Count("id"), worst=Max("severity"))
        .order_by("-n", "key")[:8]
    )
    return {
        "counts": {s: counts.get(s, 0) for s in STATUS_ORDER},
        "failing_rules": failing,
        "trend": trend_for(ComplianceEvaluation.objects.filter(dataset_version_id__in=latest)),
    }


def data_state(user: Any, filters: Filters) -> tuple[Any, ...]:
    """What the cached figures depend on; it changes whenever they could: the
    organisations the user sees (memberships and jurisdiction reach), those in
    the filtered jurisdiction, the registry's and the evaluations' newest state,
    and the day (for the trend).

    Evaluations are never edited: new evidence writes a new row (superseding the
    old one in the same transaction), so the newest evaluation id moves on every
    change. A new version moves the newest ``latest_version``; creating or
    editing a dataset (its access, domain or kind) moves the newest ``updated``.
    So a cached figure is never stale and the cache needs no invalidation, which
    keeps it correct with one cache per process.
    """
    orgs = list(organisations_where(user, DATASET_VIEW).order_by("id").values_list("id", flat=True))
    in_jurisdiction = (
        list(
            Organisation.objects.filter(jurisdictions__code=filters.jurisdiction)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if filters.jurisdiction
        else []
    )
    registry = Dataset.objects.aggregate(updated=Max("updated"), latest=Max("latest_version_id"))
    evaluations = ComplianceEvaluation.objects.aggregate(newest=Max("id"))
    return (
        orgs,
        in_jurisdiction,
        registry["updated"].isoformat() if registry["updated"] else None,
        registry["latest"],
        evaluations["newest"],
        timezone.localdate().isoformat(),
    )


def _cache_key(kind: str, state: tuple[Any, ...], filters: Filters | None = None) -> str:
    identity = repr((state, asdict(filters) if filters else None))
    return f"dashboard-{kind}:" + hashlib.sha256(identity.encode()).hexdigest()


def trend_for(evaluations: Any) -> dict[str, Any]:
    """Evaluations current at the end of each of the last days, by status."""
    today = timezone.localdate()
    start = today - timedelta(days=TREND_DAYS - 1)
    days = [start + timedelta(days=i) for i in range(TREND_DAYS)]
    added = (
        evaluations.annotate(day=TruncDate("computed"))
        .values("day", "status")
        .annotate(n=Count("id"))
    )
    removed = (
        evaluations.filter(superseded__isnull=False)
        .annotate(day=TruncDate("superseded"))
        .values("day", "status")
        .annotate(n=Count("id"))
    )
    delta: dict[tuple[Any, str], int] = defaultdict(int)
    for row in added:
        delta[(max(row["day"], start), row["status"])] += row["n"]
    for row in removed:
        if row["day"] is not None:
            delta[(max(row["day"], start), row["status"])] -= row["n"]
    series = {status: [] for status in STATUS_ORDER}
    running = dict.fromkeys(STATUS_ORDER, 0)
    for day in days:
        for status in STATUS_ORDER:
            running[status] += delta.get((day, status), 0)
            series[status].append(running[status])
    return {"days": [d.isoformat() for d in days], "series": series}


def trend_figure(trend: dict[str, Any]) -> dict[str, Any]:
    """The trend as a Plotly figure spec, written directly: building it through
    plotly's graph objects cost ~40 ms per page for a handful of numbers."""
    colours = {"compliant": "#1f7a4d", "non_compliant": "#b3261e", "incomplete": "#a86400"}
    grid = {"gridcolor": "#e5e7eb", "zerolinecolor": "#e5e7eb", "linecolor": "#9ca3af"}
    return {
        "data": [
            {
                "type": "scatter",
                "x": trend["days"],
                "y": trend["series"][status],
                "mode": "lines",
                "name": str(EvaluationStatus(status).label),
                "line": {"color": colours[status]},
                "stackgroup": "one",
            }
            for status in STATUS_ORDER
        ],
        "layout": {
            "height": 260,
            "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "legend": {"orientation": "h", "y": -0.2},
            "xaxis": grid,
            "yaxis": {**grid, "title": {"text": "evaluations"}},
        },
    }


def filter_options(user: Any) -> dict[str, list[Any]]:
    datasets = Dataset.objects.visible_to(user)

    return {
        "organisations": list(
            Organisation.objects.filter(datasets__in=datasets)
            .distinct()
            .values_list("slug", "name")
        ),
        "jurisdictions": list(
            Jurisdiction.objects.filter(member_organisations__datasets__in=datasets)
            .distinct()
            .values_list("code", flat=True)
        ),
        "domains": list(datasets.order_by("domain").values_list("domain", flat=True).distinct()),
        "kinds": list(Dataset._meta.get_field("kind").choices),
    }


def dashboard_panels(user: Any) -> dict[str, list[Any]]:
    """The home page's sign-off and certificate panels: a few bounded queries."""
    return {
        "notifications": notifications.notifications_for(user),
        "waiting": signoffs.signoffs_waiting_for(user),
        "expiring": certificates.certificates_expiring(user),
        "suspended": certificates.certificates_suspended(user),
    }
