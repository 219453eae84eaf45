"""Watermarking, provenance manifests and checking a file's origin in the API.

The same services and permission rules as the pages (``audits.provenance.services``):
curators request a watermark on their organisation's synthetic versions; anyone who
can see a version downloads its signed manifest; any signed-in user checks a file's
origin against the watermarks they may know about; an organisation's manifest
verifying key is public.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.provenance import services as provenance
from registry.models import DatasetVersion, WatermarkRun
from registry.uploads import sent_name, upload_refusal
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import DATASET_CHANGE, DATASET_VIEW, get_object_for_user
from synthgov.api_fields import ModelSerializer


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


def _version(request: Request, pk: int, perm: str) -> DatasetVersion:
    return get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=perm,
        pk=pk,
    )


class WatermarkRequestSerializer(serializers.Serializer):
    tolerances = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Numerical column → largest change allowed to a value (> 0).",
    )
    categorical = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        default=dict,
        help_text="Categorical column allowed to carry the mark → largest share of its "
        "cells that may change (0 < share ≤ 0.5).",
    )


class WatermarkRunSerializer(ModelSerializer):
    source = serializers.IntegerField(source="source_id", read_only=True)
    result = serializers.IntegerField(source="result_id", read_only=True, allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)

    class Meta:
        model = WatermarkRun
        fields = [
            "id",
            "source",
            "status",
            "step",
            "tolerances",
            "categorical",
            "result",
            "error",
            "requested_by",
            "created",
            "finished",
        ]
        read_only_fields = fields


class OriginUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or Parquet table; read, then deleted.")


class OriginResultSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    organisation_name = serializers.CharField(source="organisation.name")
    present = serializers.BooleanField()
    p_value = serializers.FloatField(help_text="Bonferroni-corrected over `tested` versions.")
    strength = serializers.FloatField(help_text="-log10 of the corrected p-value.")
    tested = serializers.IntegerField()
    version = serializers.IntegerField(source="version.pk", allow_null=True, default=None)
    wording = serializers.CharField()


class VersionWatermarkView(APIView):
    """Request a watermarked copy of a synthetic version (runs in the background)."""

    @extend_schema(request=WatermarkRequestSerializer, responses={202: WatermarkRunSerializer})
    def post(self, request: Request, pk: int) -> Response:
        version = _version(request, pk, DATASET_CHANGE)
        data = WatermarkRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = provenance.watermark_run_request(
                version=version,
                user=request.user,
                tolerances=data.validated_data["tolerances"],
                categorical=data.validated_data["categorical"],
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(WatermarkRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class WatermarkRunView(APIView):
    """A watermark request's state; ``result`` is the new version once it succeeded."""

    @extend_schema(responses=WatermarkRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(WatermarkRun.objects.select_related("requested_by"), pk=pk)
        _version(request, run.source_id, DATASET_VIEW)
        return Response(WatermarkRunSerializer(run).data)


class VersionManifestView(APIView):
    """The version's provenance manifest, signed with its organisation's key."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        version = _version(request, pk, DATASET_VIEW)
        try:
            return Response(provenance.version_manifest(version=version))
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None


class CheckOriginView(APIView):
    """Which watermarks you may know about does an uploaded table carry? Nothing is
    stored."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=OriginUploadSerializer, responses=OriginResultSerializer(many=True))
    def post(self, request: Request) -> Response:
        refusal = upload_refusal(request)
        if refusal is not None:
            raise ValidationError({"file": [f"{refusal.message} {refusal.hint}"]})
        data = OriginUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            results = provenance.check_origin(
                user=request.user, chunks=upload.chunks(), original_name=sent_name(upload)
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(OriginResultSerializer(results, many=True).data)


class OrganisationManifestKeyView(APIView):
    """An organisation's manifest verifying key (public) and its watermark key id."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request, slug: str) -> Response:
        organisation = get_object_or_404(Organisation, slug=slug)
        try:
            return Response(provenance.organisation_keys(organisation).public_document())
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
