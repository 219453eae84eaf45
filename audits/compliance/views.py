"""Compliance evaluation pages: the list and one evaluation with its evidence."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from audits.compliance import listing
from audits.compliance import status as compliance_status
from audits.models import ComplianceEvaluation, RuleOutcome
from audits.runs import disclosure
from audits.standards import engine


@login_required
def evaluation_list(request: HttpRequest) -> HttpResponse:
    evaluations = (
        ComplianceEvaluation.objects.visible_to(request.user)
        .current()
        .select_related("dataset_version__dataset__organisation", "standard_version__standard")
        # Only what the list shows: results, schemas and profiles are large JSON.
        .only(
            "id",
            "status",
            "fail_count",
            "missing_count",
            "worst_severity",
            "computed",
            "dataset_version__number",
            "dataset_version__dataset__name",
            "dataset_version__dataset__organisation__name",
            "standard_version__version",
            "standard_version__standard__code",
        )
        # The paginator adds the id last (listing.totally_ordered): no ties.
        .order_by("dataset_version__dataset__name", "standard_version__standard__code")
    )
    # ``status`` is the status people read (engine.STATUS_KINDS), so the
    # dashboard's counts link to exactly the evaluations they count.
    status = request.GET.get("status", "")
    wanted = compliance_status.display_status_filter(status)
    if wanted is not None:
        evaluations = evaluations.filter(wanted)
    rule = request.GET.get("rule", "").strip()
    if rule:
        evaluations = evaluations.filter(
            pk__in=RuleOutcome.objects.filter(key=rule, status="fail").values("evaluation_id")
        )
    # The order (the slowest query at scale, and an OFFSET growing with the page's
    # depth) is cached under the data's state; the page's rows are read live.
    key = listing.count_key(request.user, "current", status, rule)
    paginator = listing.CachedOrderPaginator(evaluations, 50, key=key)
    # The page's table is cached rendered under the same key (nothing of the user in it).
    page, rows_html = listing.cached_rows(paginator, request.GET.get("page"), _rows_html)
    kinds = [engine.STATUS_KINDS[code] for code in engine.STATUS_ORDER[:4]]
    return render(
        request,
        "audits/evaluation_list.html",
        {
            "page": page,
            "has_rows": paginator.count > 0,
            # Our own template's output, stored as rendered.
            "rows_html": mark_safe(rows_html),  # noqa: S308
            "status": status,
            "statuses": kinds,
            "rule": rule,
            "rule_title": (engine.key_info(rule).title if engine.key_info(rule) else ""),
        },
    )


def _rows_html(page: Any) -> str:
    """One page of the list rendered: each evaluation's status as people read it."""
    fails = compliance_status.fails_by_severity_for(e.pk for e in page.object_list)
    for evaluation in page.object_list:
        evaluation.display = compliance_status.evaluation_status(evaluation, fails[evaluation.pk])
    return render_to_string(listing.ROWS_TEMPLATE, {"page": page})


@login_required
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = (
        ComplianceEvaluation.objects.visible_to(request.user)
        .select_related("dataset_version__dataset__organisation", "standard_version__standard")
        .filter(pk=pk)
        .first()
    )
    if evaluation is None:
        raise Http404
    history = ComplianceEvaluation.objects.filter(
        dataset_version=evaluation.dataset_version,
        standard_version__standard=evaluation.standard_version.standard,
    ).select_related("standard_version__standard")[:20]
    return render(
        request,
        "audits/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "rules": [
                rule_row(rule)
                for rule in disclosure.evaluation_rules_for(
                    user=request.user, evaluation=evaluation
                )
            ],
            "display": compliance_status.evaluation_status(evaluation),
            "history": history,
        },
    )


def rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule result with what the page adds: its name in words, its
    threshold as the standard's page writes it, and how its result reads."""
    info = engine.key_info(str(rule.get("key")))
    key, table = str(rule.get("key")), rule.get("table") or ""
    # The figure's row in the audit report: a table's own figure (linked tables) is under
    # that table; a rule judged on every table links to the table that decided it.
    shown_table = table or (rule.get("source") or {}).get("table") or ""
    return {
        **rule,
        "title": info.title if info else "",
        "requirement": engine.describe_rule(key, rule.get("operator"), rule.get("threshold"), table)
        .removeprefix(key)
        .strip(),
        "row_key": f"{table}.{key}" if table else key,
        "figure_key": f"{shown_table}.{key}" if shown_table else key,
        "result": engine.rule_status_view(str(rule.get("status")), str(rule.get("severity"))),
    }
