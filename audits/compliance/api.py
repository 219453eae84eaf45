"""Compliance evaluations in the API: read-only, figures a reader may not see withheld."""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.utils import OpenApiTypes, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from audits.compliance import listing
from audits.compliance import status as compliance_status
from audits.models import ComplianceEvaluation
from audits.runs import disclosure
from synthgov.api_fields import ModelSerializer


class EvaluationSerializer(ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_version.dataset_id")
    standard = serializers.CharField(source="standard_version.label")

    class Meta:
        model = ComplianceEvaluation
        fields = [
            "id",
            "dataset_version",
            "dataset",
            "standard_version",
            "standard",
            "status",
            "fail_count",
            "missing_count",
            "worst_severity",
            "results",
            "sources",
            "evidence_sha256",
            "is_current",
            "computed",
            "display_status",
        ]

    display_status = serializers.SerializerMethodField(
        help_text="The status as people read it: code, label (e.g. 'Compliant, 1 advisory'), "
        "colour and failing rules by severity. Only a failing blocking or major rule is "
        "non_compliant."
    )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_display_status(self, instance: ComplianceEvaluation) -> dict[str, Any]:
        return compliance_status.evaluation_status(instance).to_json()

    def to_representation(self, instance: ComplianceEvaluation) -> dict[str, Any]:
        # Figures and audit ids the reader may not see are withheld (audits.runs.disclosure).
        data = super().to_representation(instance)
        request = self.context.get("request")
        user = request.user if request is not None else None
        # One memo per response: a page of evaluations shares its audits.
        memo = self.context.setdefault("disclosure_memo", {})
        rules = disclosure.evaluation_rules_for(user=user, evaluation=instance, memo=memo)
        data["results"] = {**instance.results, "rules": rules}
        data["sources"] = disclosure.evaluation_sources_for(
            user=user, evaluation=instance, memo=memo
        )
        return data


class EvaluationPagination(PageNumberPagination):
    """DRF's page-number pages (same links, same errors) over the list's order and
    total cached as the web list's are (``audits.compliance.listing``): a warm page
    at any depth reads no COUNT and no OFFSET, only its own rows by id, live and
    through the reader's visibility; the JSON is made fresh for the reader."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        # Every parameter but the page's number is in the key: whatever filters or
        # orders the list (the documented ones, or any added later) keeps its own
        # entry; the key also holds the reader's reach and the data's state.
        query = sorted(
            (name, values)
            for name, values in request.query_params.lists()
            if name != self.page_query_param
        )
        key = listing.count_key(request.user, "api-evaluations", repr(query))
        self.django_paginator_class = functools.partial(listing.CachedOrderPaginator, key=key)
        return super().paginate_queryset(queryset, request, view)


class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """Current compliance evaluations of dataset versions you may see."""

    serializer_class = EvaluationSerializer
    pagination_class = EvaluationPagination
    lookup_value_regex = r"[0-9]+"
    filterset_fields = ["status", "dataset_version", "standard_version"]

    def get_queryset(self):
        return (
            ComplianceEvaluation.objects.visible_to(self.request.user)
            .current()
            .select_related("dataset_version", "standard_version__standard")
            .order_by("id")
        )
