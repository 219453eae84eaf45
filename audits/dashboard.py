"""The compliance dashboard's figures: matrix, counts, failing rules, trend.

Queries are bounded: the matrix shows one page of datasets, every other
figure is a GROUP BY, so the number of queries does not grow with the
number of datasets.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from audits.models import ComplianceEvaluation, EvaluationStatus, RuleOutcome
from audits.selectors import in_progress_for
from registry.models import Dataset, DatasetVersion

MATRIX_PAGE = 40
TREND_DAYS = 30
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
            datasets = datasets.filter(organisation__jurisdictions__code=self.jurisdiction)
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


def latest_versions(datasets: Any) -> Any:
    """Each dataset's newest version (the one the dashboard judges)."""
    newest = DatasetVersion.objects.filter(dataset=OuterRef("dataset")).order_by("-number")
    return DatasetVersion.objects.filter(dataset__in=datasets, pk=Subquery(newest.values("pk")[:1]))


def dashboard_for(user: Any, filters: Filters, page_number: Any = 1) -> Dashboard:
    datasets = filters.apply(Dataset.objects.visible_to(user)).distinct().order_by("name", "id")
    versions = latest_versions(datasets)
    evaluations = ComplianceEvaluation.objects.current().filter(dataset_version__in=versions)
    page = Paginator(datasets.select_related("organisation"), MATRIX_PAGE).get_page(page_number)
    shown = {d.pk: d for d in page.object_list}
    cells: dict[int, dict[int, Any]] = defaultdict(dict)
    standards: dict[int, dict[str, Any]] = {}
    page_evaluations = evaluations.filter(dataset_version__dataset__in=list(shown)).values(
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
    counts = Counter(
        {row["status"]: row["n"] for row in evaluations.values("status").annotate(n=Count("id"))}
    )
    failing = list(
        RuleOutcome.objects.filter(is_current=True, status="fail", evaluation__in=evaluations)
        .values("key")
        .annotate(n=Count("id"), worst=Max("severity"))
        .order_by("-n", "key")[:8]
    )
    return Dashboard(
        standards=columns,
        rows=rows,
        page=page,
        counts={s: counts.get(s, 0) for s in STATUS_ORDER},
        failing_rules=failing,
        in_progress=list(in_progress_for(user)[:10]),
        trend=trend_for(ComplianceEvaluation.objects.filter(dataset_version__in=versions)),
    )


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
    import plotly.graph_objects as go

    colours = {"compliant": "#1f7a4d", "non_compliant": "#b3261e", "incomplete": "#a86400"}
    fig = go.Figure()
    for status in STATUS_ORDER:
        fig.add_scatter(
            x=trend["days"],
            y=trend["series"][status],
            mode="lines",
            name=EvaluationStatus(status).label,
            line={"color": colours[status]},
            stackgroup="one",
        )
    fig.update_layout(
        height=260,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        yaxis_title="evaluations",
    )
    return fig.to_plotly_json()


def filter_options(user: Any) -> dict[str, list[Any]]:
    datasets = Dataset.objects.visible_to(user)
    from synthgov.accounts.models import Jurisdiction, Organisation

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
        "domains": sorted(set(datasets.values_list("domain", flat=True))),
        "kinds": list(Dataset._meta.get_field("kind").choices),
    }
