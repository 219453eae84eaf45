"""Standards, rules, evaluations and dashboard figures in the API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits import compliance, dashboard, disclosure
from audits import standards as engine
from audits.models import ComplianceEvaluation, Rule, StandardVersion
from audits.standard_views import _editor_org, _may_edit
from synthgov.api_schema import error_response


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = list(compliance.RULE_FIELDS)


# The API lists these first, as it always has; the rest of the standard's fields
# (engine.STANDARD_FIELDS) follow in the engine's order, then publication and rules.
_LEADING_FIELDS = ("id", "code", "version", "name", "status", "scope", "description", "source")


class StandardVersionSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="standard.code")
    owner = serializers.CharField(source="standard.owner.slug", allow_null=True, default=None)
    parent = serializers.CharField(source="parent.label", allow_null=True, default=None)
    rules = RuleSerializer(many=True)

    class Meta:
        model = StandardVersion
        fields = [
            *_LEADING_FIELDS,
            *[name for name in engine.STANDARD_FIELDS if name not in _LEADING_FIELDS],
            "published",
            "spec_sha256",
            "owner",
            "rules",
        ]


class YamlImportSerializer(serializers.Serializer):
    yaml = serializers.CharField(help_text="One or more standards as YAML documents.")


class EvaluationSerializer(serializers.ModelSerializer):
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
        ]

    def to_representation(self, instance: ComplianceEvaluation) -> dict[str, Any]:
        # Figures and audit ids the reader may not see are withheld (audits.disclosure).
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


class StandardViewSet(viewsets.ReadOnlyModelViewSet):
    """Standards: published ones for everyone, drafts for their maintainers."""

    serializer_class = StandardVersionSerializer
    lookup_value_regex = r"[0-9]+"  # anything else is not an id: 404 from the URL
    filterset_fields = ["status", "scope"]

    def get_queryset(self):
        return (
            StandardVersion.objects.visible_to(self.request.user)
            .select_related("standard__owner", "parent__standard")
            .prefetch_related("rules")
            .order_by("standard__code", "-created")
        )

    # A YAML document holding one mapping (the standard), as import takes it.
    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="yaml")
    def export_yaml(self, request: Request, pk: str | None = None) -> HttpResponse:
        return HttpResponse(
            compliance.standard_export_yaml(self.get_object()),
            content_type="application/yaml; charset=utf-8",
        )

    @extend_schema(
        request=YamlImportSerializer, responses={201: StandardVersionSerializer(many=True)}
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_yaml(self, request: Request) -> Response:
        owner = _editor_org(request.user)
        if owner is None and not request.user.is_superuser:
            raise PermissionDenied("Only regulators import standards.")
        data = YamlImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            versions = compliance.standard_import_yaml(
                text=data.validated_data["yaml"], user=request.user, owner=owner
            )
        except compliance.StandardForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            return Response({"problems": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            StandardVersionSerializer(versions, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None,
        responses={
            200: StandardVersionSerializer,
            409: error_response("The draft cannot be published; `problems` says why."),
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        if not _may_edit(request.user, version):
            raise PermissionDenied("Only the standard's maintainers publish it.")
        try:
            version = compliance.standard_publish(version=version, user=request.user)
        except compliance.StandardForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            return Response({"problems": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(StandardVersionSerializer(version).data)


class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """Current compliance evaluations of dataset versions you may see."""

    serializer_class = EvaluationSerializer
    lookup_value_regex = r"[0-9]+"
    filterset_fields = ["status", "dataset_version", "standard_version"]

    def get_queryset(self):
        return (
            ComplianceEvaluation.objects.visible_to(self.request.user)
            .current()
            .select_related("dataset_version", "standard_version__standard")
            .order_by("id")
        )


class DashboardView(APIView):
    """The dashboard's figures with the same filters as the page."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        filters = dashboard.Filters.from_query(request.query_params)
        board = dashboard.dashboard_for(request.user, filters, request.query_params.get("page"))
        return Response(
            {
                "counts": board.counts,
                "failing_rules": board.failing_rules,
                "standards": board.standards,
                "matrix": [
                    {
                        "dataset": row["dataset"].pk,
                        "name": row["dataset"].name,
                        "cells": [
                            {"evaluation": c["pk"], "status": c["status"]} if c else None
                            for c in row["cells"]
                        ],
                    }
                    for row in board.rows
                ],
                "in_progress": [
                    {"audit": r.pk, "progress": r.progress, "step": r.step}
                    for r in board.in_progress
                ],
                "trend": board.trend,
                "page": board.page.number,
                "pages": board.page.paginator.num_pages,
            }
        )
