"""Compliance evaluation pages: the list and one evaluation with its evidence."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from audits.models import ComplianceEvaluation
from audits.runs import disclosure


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
        .order_by("dataset_version__dataset__name", "standard_version__standard__code")
    )
    status = request.GET.get("status", "")
    if status:
        evaluations = evaluations.filter(status=status)
    page = Paginator(evaluations, 50).get_page(request.GET.get("page"))
    return render(request, "audits/evaluation_list.html", {"page": page, "status": status})


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
            "rules": disclosure.evaluation_rules_for(user=request.user, evaluation=evaluation),
            "history": history,
        },
    )
