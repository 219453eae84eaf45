"""The audits API: start, poll, cancel, fetch results; the metric catalogue."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.models import AuditMetric, AuditRun
from audits.runs import disclosure, selectors, services
from audits.runs.serializers import (
    AuditMetricSerializer,
    AuditRequestSerializer,
    AuditRunSerializer,
    MetricSpecSerializer,
)
from audits.runs.views import report_document
from registry.models import DatasetVersion
from synthgov.accounts.permissions import AUDIT_REQUEST, DATASET_VIEW, get_object_for_user
from synthgov.api_schema import error_response


class AuditRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Audits whose inputs you may all see. Poll a run's `status` and `progress`."""

    serializer_class = AuditRunSerializer
    lookup_value_regex = r"[0-9]+"  # anything else is not an id: 404 from the URL
    filterset_fields = ["status", "version"]
    ordering_fields = ["created", "finished"]

    def get_queryset(self):
        return selectors.audits_for(self.request.user).order_by("-created", "-id")

    def _get(self, perm: str) -> AuditRun:
        return get_object_for_user(
            user=self.request.user,
            queryset=AuditRun.objects.select_related("version__dataset__organisation"),
            perm=perm,
            pk=self.kwargs["pk"],
        )

    def get_object(self) -> AuditRun:
        return self._get(DATASET_VIEW)

    @extend_schema(request=AuditRequestSerializer, responses={202: AuditRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = AuditRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version_id = fields.pop("version")
        try:
            version = get_object_for_user(
                user=request.user,
                queryset=DatasetVersion.objects,
                perm=AUDIT_REQUEST,
                pk=version_id,
            )
        except Http404:
            # The body names it: a mistake in the body (400), not a missing page.
            raise ValidationError(
                {"version": [f"Version #{version_id} does not exist or is not visible to you."]}
            ) from None
        visible = DatasetVersion.objects.visible_to(request.user).select_related("dataset")
        reference = visible.filter(pk=fields.pop("reference")).first()
        holdout_id = fields.pop("holdout")
        holdout = visible.filter(pk=holdout_id).first() if holdout_id else None
        if reference is None or (holdout_id and holdout is None):
            raise ValidationError({"reference": ["Reference or holdout version not found."]})
        config = {**services.default_config(version), **fields}
        try:
            run = services.audit_run_request(
                version=version,
                reference=reference,
                holdout=holdout,
                config=config,
                user=request.user,
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict
                if hasattr(exc, "error_dict")
                else {"non_field_errors": exc.messages}
            ) from None
        return Response(
            AuditRunSerializer(run, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        request=None,
        responses={200: AuditRunSerializer, 409: error_response("The audit has finished.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self._get(AUDIT_REQUEST)
        try:
            run = services.audit_run_cancel(run=run, user=request.user)
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(AuditRunSerializer(run, context={"request": request}).data)

    @extend_schema(
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            409: error_response("The audit has not succeeded; `status` says where it is."),
        }
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        """The full evidence document: inputs' hashes, config, versions, every figure."""
        run = self.get_object()
        if not run.results_sha256:
            return Response(
                {
                    "detail": f"The audit is {run.get_status_display().lower()}; results exist "
                    "only for finished audits (and for those failed on a file's integrity).",
                    "status": run.status,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(report_document(run, user=request.user))

    @extend_schema(responses=AuditMetricSerializer(many=True))
    # Every figure of one audit, as a plain list: a few dozen, never paginated.
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def metrics(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        return Response(AuditMetricSerializer(_figures(request.user, run), many=True).data)


def _figures(user: Any, run: AuditRun) -> list[AuditMetric]:
    """The run's figures as ``user`` may see them, each with the details and skip reason
    its results hold (a figure withheld from ``user`` has neither: results_for blanks
    them)."""
    metrics = disclosure.metrics_for(user=user, run=run)
    withheld = disclosure.withheld_keys(user=user, run=run)
    shown = {
        (m.get("table") or "", m["key"]): m
        for m in disclosure.results_for(user=user, run=run).get("metrics", [])
        if isinstance(m, dict) and "key" in m
    }
    for metric in metrics:
        result = shown.get((metric.table, metric.key), {})
        metric.details = {} if metric.key in withheld else result.get("details") or {}
        metric.skip_reason = withheld.get(metric.key) or result.get("skip_reason")
    return metrics


class MetricCatalogueView(APIView):
    """Every audit figure's stable key, meaning and direction, and whether its family can
    be requested (collapse is measured on every audit of a synthetic version)."""

    @extend_schema(responses=MetricSpecSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(MetricSpecSerializer(services.metric_catalogue(), many=True).data)
