"""Publishing a version openly in the API: ``POST /api/v1/versions/{id}/publish/``
and ``…/withdraw/``. The same service and permission rule as the page: 404 for a
version the caller may not see, 403 for one they may see but whose dataset they may
not change, 400 listing every refusal (``refusals``), 409 when there is nothing to
do (already published, or not published)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.publishing import services
from registry.models import DatasetVersion
from synthgov.accounts.permissions import DATASET_CHANGE, get_object_for_user
from synthgov.api_schema import error_response


class PublicationSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="pk")
    published = serializers.BooleanField(source="is_published")
    published_at = serializers.DateTimeField(allow_null=True)
    public_url = serializers.SerializerMethodField(
        help_text="The public landing page (answers 404 while not published)."
    )

    def get_public_url(self, obj: DatasetVersion) -> str:
        return self.context["request"].build_absolute_uri(services.public_path(obj))


def _version(request: Request, pk: int) -> DatasetVersion:
    return get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=DATASET_CHANGE,
        pk=pk,
    )


def _act(request: Request, pk: int, action: object) -> Response:
    version = _version(request, pk)
    try:
        version = action(version=version, user=request.user)  # type: ignore[operator]
    except services.PublicationForbidden as refused:
        raise PermissionDenied(str(refused)) from None
    except services.PublicationConflict as conflict:
        return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
    except DjangoValidationError as refused:
        raise ValidationError({"refusals": refused.messages}) from None
    return Response(PublicationSerializer(version, context={"request": request}).data)


class VersionPublishView(APIView):
    """Publish a synthetic version openly: a public landing page and download, with no
    account. Refused (400, every reason in ``refusals``) unless the version is
    synthetic, carries its organisation's watermark and has a valid signed manifest."""

    @extend_schema(
        request=None,
        responses={
            200: PublicationSerializer,
            400: error_response("Refused: `refusals` lists every reason and what to do."),
            409: error_response("Already published: nothing changed."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        return _act(request, pk, services.version_publish)


class VersionWithdrawView(APIView):
    """Withdraw a version from open publication: its public page and download answer
    404 again."""

    @extend_schema(
        request=None,
        responses={
            200: PublicationSerializer,
            409: error_response("Not published: nothing changed."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        return _act(request, pk, services.version_withdraw)
