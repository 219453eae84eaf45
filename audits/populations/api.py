"""Population profiles in the API: list and read (published ones for everyone, drafts
for their owners), create drafts, import CSV or YAML, publish, start a new version, and
set a jurisdiction's default."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audits.models import PopulationProfile
from audits.populations import services
from audits.populations.content import CSV_HEADER
from audits.populations.selectors import visible_profiles
from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.api_fields import ModelSerializer
from synthgov.api_schema import error_response


class GroupSerializer(serializers.Serializer):
    values = serializers.ListField(child=serializers.CharField(), help_text="One per attribute.")
    share = serializers.FloatField(min_value=0.0, max_value=1.0)


class GroupingSerializer(serializers.Serializer):
    attributes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Column names; two or three make an intersection.",
    )
    groups = GroupSerializer(many=True)


class PopulationProfileSerializer(ModelSerializer):
    owner = serializers.CharField(
        source="owner.slug",
        required=False,
        help_text="The owning organisation's slug; needed only if you write for several.",
    )
    groupings = GroupingSerializer(many=True)

    class Meta:
        model = PopulationProfile
        fields = [
            "id",
            "name",
            "number",
            "status",
            "owner",
            "source",
            "source_url",
            "groupings",
            "created",
            "published",
            "content_sha256",
        ]
        read_only_fields = ["id", "number", "status", "created", "published", "content_sha256"]


class ProfileImportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=services.IMPORT_FORMATS)
    text = serializers.CharField(
        help_text=f"CSV with the header {','.join(CSV_HEADER)} (an intersection joins "
        "attributes and values with |), or YAML with name, source, source_url, groupings.",
        trim_whitespace=False,
    )
    owner = serializers.CharField(required=False, allow_blank=True, default="")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, default="")
    source_url = serializers.CharField(required=False, allow_blank=True, default="")


class DefaultSerializer(serializers.Serializer):
    jurisdiction = serializers.CharField(help_text="A jurisdiction code you regulate (UK).")


def _owner(request: Request, slug: str) -> Organisation:
    """The organisation the profile is written for: the one named, else the user's only
    one. 403 when the user writes profiles for none of the candidates."""
    mine = services.editor_organisations(request.user)
    if not mine:
        raise PermissionDenied(
            "Only regulators and curators write population profiles, for their organisation."
        )
    if slug:
        found = [org for org in mine if org.slug == slug]
        if not found:
            raise ValidationError({"owner": [f"You write no profiles for {slug[:80]!r}."]})
        return found[0]
    if len(mine) > 1:
        raise ValidationError(
            {"owner": ["Name the owner: one of " + ", ".join(o.slug for o in mine) + "."]}
        )
    return mine[0]


def _problems(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    )


class PopulationProfileViewSet(viewsets.ReadOnlyModelViewSet):
    """Population profiles: the expected share of each group, with a cited source."""

    serializer_class = PopulationProfileSerializer
    lookup_value_regex = r"[0-9]+"
    filterset_fields = ["status"]

    def get_queryset(self):
        return visible_profiles(self.request.user).order_by("name", "-number")

    @extend_schema(
        request=PopulationProfileSerializer, responses={201: PopulationProfileSerializer}
    )
    def create(self, request: Request) -> Response:
        owner = _owner(request, str(request.data.get("owner", "")))
        data = PopulationProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        try:
            profile = services.profile_save_draft(
                user=request.user,
                owner=owner,
                name=fields["name"],
                source=fields["source"],
                source_url=fields["source_url"],
                groupings=[dict(g, groups=[dict(x) for x in g["groups"]])
                           for g in fields["groupings"]],
            )  # fmt: skip
        except services.ProfileForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            raise _problems(exc) from None
        return Response(PopulationProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProfileImportSerializer, responses={201: PopulationProfileSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_profile(self, request: Request) -> Response:
        data = ProfileImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        owner = _owner(request, fields.pop("owner"))
        try:
            profile = services.profile_import(
                text=fields.pop("text"), fmt=fields.pop("format"), user=request.user,
                owner=owner, **fields,
            )  # fmt: skip
        except services.ProfileForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            raise _problems(exc) from None
        return Response(PopulationProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: PopulationProfileSerializer,
            409: error_response("Already published."),
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        profile = self.get_object()
        try:
            profile = services.profile_publish(profile=profile, user=request.user)
        except services.ProfileForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            return Response({"problems": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(PopulationProfileSerializer(profile).data)

    @extend_schema(request=None, responses={201: PopulationProfileSerializer})
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        try:
            profile = services.profile_new_version(profile=self.get_object(), user=request.user)
        except services.ProfileForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            raise _problems(exc) from None
        return Response(PopulationProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DefaultSerializer, responses={200: PopulationProfileSerializer})
    @action(detail=True, methods=["post"], url_path="default")
    def set_default(self, request: Request, pk: str | None = None) -> Response:
        profile = self.get_object()
        data = DefaultSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["jurisdiction"]
        jurisdiction = Jurisdiction.objects.filter(code=code).first()
        if jurisdiction is None:
            raise ValidationError(
                {"jurisdiction": [f"No jurisdiction has the code {code[:40]!r}."]}
            )
        try:
            services.jurisdiction_set_default(
                jurisdiction=jurisdiction, profile=profile, user=request.user
            )
        except services.ProfileForbidden as refused:
            raise PermissionDenied(str(refused)) from None
        except DjangoValidationError as exc:
            raise _problems(exc) from None
        return Response(PopulationProfileSerializer(profile).data)
