"""An evaluation's status as people read it (words and colours from
``audits.standards.engine.status``), from a stored evaluation or a row of one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Case, CharField, Count, Q, Value, When

from audits.models import ComplianceEvaluation, RuleOutcome
from audits.standards import engine


def fails_by_severity(results: Mapping[str, Any]) -> dict[str, int]:
    """Failing rules by severity, from an evaluation's stored results."""
    counts: dict[str, int] = defaultdict(int)
    for rule in results.get("rules", []):
        if rule.get("status") == "fail":
            counts[str(rule.get("severity"))] += 1
    return dict(counts)


def evaluation_status(
    evaluation: ComplianceEvaluation, fails: Mapping[str, int] | None = None
) -> engine.StatusView:
    """The status of a stored evaluation, exact when its results are loaded or
    its failing rules by severity are given (:func:`fails_by_severity_for`)."""
    if fails is None and "results" not in evaluation.get_deferred_fields():
        fails = fails_by_severity(evaluation.results)
    return engine.status_view(
        evaluation.status,
        fails_by_severity=fails,
        worst_severity=evaluation.worst_severity,
        fail_count=evaluation.fail_count,
        missing_count=evaluation.missing_count,
    )


def fails_by_severity_for(evaluation_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Failing rules by severity for each evaluation: one grouped query."""
    ids = list(evaluation_ids)
    out: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    if not ids:
        return out
    rows = (
        RuleOutcome.objects.filter(evaluation_id__in=ids, status="fail")
        .values("evaluation_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        out[row["evaluation_id"]][row["severity"]] = row["n"]
    return out


def display_status_expression() -> Case:
    """The display status code computed in SQL (for counts and filters), the
    same decision as :func:`engine.status_view`."""
    return Case(
        When(worst_severity__in=sorted(engine.SEVERE_SEVERITIES), then=Value("non_compliant")),
        When(missing_count__gt=0, then=Value("incomplete")),
        When(fail_count__gt=0, then=Value(engine.COMPLIANT_WITH_FINDINGS)),
        When(status="incomplete", then=Value("incomplete")),
        default=Value("compliant"),
        output_field=CharField(),
    )


def display_status_filter(code: str) -> Q | None:
    """Evaluations whose display status is ``code``; None for an unknown code."""
    severe = sorted(engine.SEVERE_SEVERITIES)
    if code == "non_compliant":
        return Q(worst_severity__in=severe)
    if code == "incomplete":
        return ~Q(worst_severity__in=severe) & (Q(missing_count__gt=0) | Q(status="incomplete"))
    if code == engine.COMPLIANT_WITH_FINDINGS:
        return ~Q(worst_severity__in=severe) & Q(missing_count=0, fail_count__gt=0)
    if code == "compliant":
        return Q(status="compliant", fail_count=0, missing_count=0)
    return None
