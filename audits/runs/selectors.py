"""Read-side queries for audit pages and the API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from audits.checks import METRICS
from audits.models import AuditRun, AuditStatus
from registry.models import DatasetKind, DatasetVersion

FAMILY_ORDER = [
    "integrity",
    "quality",
    "utility",
    "fairness",
    "privacy",
    "documentation",
    "provenance",
    "collapse",
]


def audits_for(user: Any) -> QuerySet[AuditRun]:
    return AuditRun.objects.visible_to(user).select_related(
        "version__dataset__organisation", "reference__dataset", "holdout__dataset", "requested_by"
    )


def in_progress_for(user: Any) -> QuerySet[AuditRun]:
    """Queued and running audits, with only the columns a progress list shows."""
    return (
        AuditRun.objects.visible_to(user)
        .filter(status__in=[AuditStatus.QUEUED, AuditStatus.RUNNING])
        .select_related("version__dataset")
        .only(
            "id",
            "status",
            "progress",
            "step",
            "started",
            "created",
            "version__number",
            "version__dataset__name",
        )
        .order_by("-created", "-id")
    )


def reference_choices(*, user: Any, version: DatasetVersion) -> list[tuple[int, str]]:
    """Real versions the user may see and the version's organisation may read (open or
    its own), the version's own real ancestors first."""
    ancestors = set(version.parent_edges.values_list("parent_id", flat=True))
    versions = (
        DatasetVersion.objects.visible_to(user)
        .readable_by_organisation(version.dataset.organisation)
        .filter(dataset__kind=DatasetKind.REAL)
        .exclude(pk=version.pk)
        .select_related("dataset")
        .order_by("dataset__name", "-number")
    )
    ordered = sorted(versions, key=lambda v: (v.pk not in ancestors, v.dataset.name, -v.number))
    return [(v.pk, f"{v.dataset.name} v{v.number} ({v.row_count:,} rows)") for v in ordered]


def default_reference(version: DatasetVersion) -> int | None:
    edge = version.parent_edges.filter(
        parent__dataset__kind=DatasetKind.REAL, relation__in=["trained_on", "derived_from"]
    ).first()
    return edge.parent_id if edge else None


def status_payload(run: AuditRun) -> dict[str, Any]:
    eta = run.eta_seconds
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "progress": round(run.progress, 4),
        "step": run.step,
        "eta_seconds": round(eta) if eta is not None else None,
        "error": run.error,
        "integrity": run.integrity,
        "finished": run.is_finished,
        "cancel_requested": run.cancel_requested,
    }


def grouped_metrics(results: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's figures (its results as the reader may see them:
    ``audits.runs.disclosure.results_for``) with their catalogue entries, grouped by family."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for metric in results.get("metrics", []):
        spec = METRICS.get(metric["key"])
        family = spec.family if spec else metric["key"].split(".", 1)[0]
        groups.setdefault(family, []).append(
            {**metric, "spec": spec.to_json() if spec else {}, "verdict": _verdict(metric, spec)}
        )
    return [
        {"family": family, "metrics": groups[family]}
        for family in sorted(
            groups, key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else 99, f)
        )
    ]


def _verdict(metric: dict[str, Any], spec: Any) -> str:
    """Direction in words, for the report table."""
    direction = metric.get("direction")
    if direction == "higher":
        return "higher is better"
    if direction == "lower":
        return "lower is better"
    if direction == "closer_to":
        return f"closer to {metric.get('target')} is better"
    return ""
