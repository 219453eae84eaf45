"""Standards and their rules in the API: read, write drafts, publish, YAML."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from audits.models import Rule, StandardVersion
from audits.standards import engine
from audits.standards import services as standard_services
from audits.standards.selectors import editor_organisation, may_edit
from synthgov.api_fields import ModelSerializer
from synthgov.api_schema import error_response


class RuleSerializer(ModelSerializer):
    class Meta:
        model = Rule
        fields = list(engine.RULE_FIELDS)


# The API lists these first, as it always has; the rest of the standard's fields
# (engine.STANDARD_FIELDS) follow in the engine's order, then publication and rules.
_LEADING_FIELDS = ("id", "code", "version", "name", "status", "scope", "description", "source")


class StandardVersionSerializer(ModelSerializer):
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
            standard_services.standard_export_yaml(self.get_object()),
            content_type="application/yaml; charset=utf-8",
        )

    @extend_schema(
        request=YamlImportSerializer, responses={201: StandardVersionSerializer(many=True)}
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_yaml(self, request: Request) -> Response:
        owner = editor_organisation(request.user)
        if owner is None and not request.user.is_superuser:
            raise PermissionDenied("Only regulators import standards.")
        data = YamlImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            versions = standard_services.standard_import_yaml(
                text=data.validated_data["yaml"], user=request.user, owner=owner
            )
        except standard_services.StandardForbidden as refused:
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
        if not may_edit(request.user, version):
            raise PermissionDenied("Only the standard's maintainers publish it.")
        try:
            version = standard_services.standard_publish(version=version, user=request.user)
        except standard_services.StandardForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            return Response({"problems": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(StandardVersionSerializer(version).data)
