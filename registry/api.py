"""The registry API: the same objects, permissions and services as the pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from registry import selectors, services, table_services
from registry.documents.for_models import croissant_for_version, prov_for_dataset
from registry.filters import DatasetFilter
from registry.models import Dataset, DatasetVersion, Datasheet
from registry.serializers import (
    DatasetSerializer,
    DatasetWriteSerializer,
    DatasheetSerializer,
    KeysSerializer,
    LineageSerializer,
    SchemaUpdateSerializer,
    TablesUploadSerializer,
    VersionSerializer,
    VersionTableSerializer,
    VersionUploadSerializer,
)
from registry.uploads import sent_name, upload_chunks, upload_refusal
from registry.views import (
    missing_file_message,
    relational_download_message,
    stored_file_response,
    stored_table_response,
)
from synthgov.accounts.permissions import DATASET_CHANGE, DATASET_VIEW, get_object_for_user
from synthgov.api_parsers import JSONParser


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    if isinstance(exc, services.UploadRefused):
        return ValidationError({"file": [exc.error.message], **exc.error.to_dict()})
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


class DatasetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Datasets visible to you. Curators create and change their organisation's."""

    serializer_class = DatasetSerializer
    lookup_value_regex = r"[0-9]+"  # anything else is not an id: 404 from the URL
    filterset_class = DatasetFilter
    ordering_fields = ["name", "created", "updated"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.datasets_for(self.request.user).order_by("name", "id")

    def get_object(self) -> Dataset:
        perm = DATASET_VIEW if self.request.method in ("GET", "HEAD") else DATASET_CHANGE
        return get_object_for_user(
            user=self.request.user, queryset=Dataset.objects, perm=perm, pk=self.kwargs["pk"]
        )

    @extend_schema(request=DatasetWriteSerializer, responses={201: DatasetSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DatasetWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        orgs = selectors.organisations_user_can_register_for(request.user)
        slug = fields.pop("organisation", None)
        if slug:
            organisation = orgs.filter(slug=slug).first()
        else:
            organisation = orgs.first() if orgs.count() == 1 else None
        if organisation is None:
            if not orgs.exists():
                raise PermissionDenied("Only curators can register datasets.")
            raise ValidationError(
                {
                    "organisation": [
                        "Name the organisation (its slug) you register this dataset for."
                    ]
                }
            )
        try:
            dataset = services.dataset_create(
                organisation=organisation, user=request.user, **fields
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        out = DatasetSerializer(
            selectors.datasets_for(request.user).get(pk=dataset.pk), context={"request": request}
        )
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DatasetWriteSerializer, responses=DatasetSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset = self.get_object()
        partial = kwargs.get("partial", False)
        data = DatasetWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "organisation"}
        tags = fields.pop("tags", None)
        if tags is None:
            tags = [t.name for t in dataset.tags.all()]
        try:
            services.dataset_update(dataset=dataset, user=request.user, tags=tags, **fields)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(
            DatasetSerializer(
                selectors.datasets_for(request.user).get(pk=dataset.pk),
                context={"request": request},
            ).data
        )

    @extend_schema(methods=["GET"], responses=VersionSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": VersionUploadSerializer},
        responses={201: VersionSerializer},
        description="Upload a new version (multipart, field `file`).",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        if request.method == "GET":
            dataset = self.get_object()
            versions = dataset.versions.select_related(
                "uploaded_by", "generation", "datasheet"
            ).prefetch_related("tables")
            page = self.paginate_queryset(versions.order_by("-number"))
            data = VersionSerializer(page, many=True, context={"request": request}).data
            return self.get_paginated_response(data)
        dataset = self.get_object()
        upload = VersionUploadSerializer(data=request.data)  # parses the body
        refusal = upload_refusal(request)
        if refusal is not None:
            raise ValidationError({"file": [refusal.message], **refusal.to_dict()})
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        try:
            version = services.dataset_version_create(
                dataset=dataset,
                user=request.user,
                chunks=upload_chunks(file),
                original_name=sent_name(file),
                encoding=upload.validated_data["encoding"],
                note=upload.validated_data["note"],
                missing_markers=upload.validated_data["missing_markers"],
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(
            VersionSerializer(version, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request={"multipart/form-data": TablesUploadSerializer},
        responses={201: VersionSerializer},
        description="Upload a new version made of several named tables (multipart): files "
        "in `tables` or one zip in `archive`, with optional `names`, and the keys as "
        "SDMetrics `metadata` or `keys` (inferred when neither is sent).",
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def tables(self, request: Request, pk: str | None = None) -> Response:
        dataset = self.get_object()
        upload = TablesUploadSerializer(data=request.data)
        refusal = upload_refusal(request)
        if refusal is not None:
            raise ValidationError({"tables": [refusal.message], **refusal.to_dict()})
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        files = request.FILES.getlist("tables")
        archive = data.get("archive")
        try:
            version = table_services.relational_version_create(
                dataset=dataset,
                user=request.user,
                tables=table_services.table_uploads(
                    files, "" if archive else data["names"], sent_name
                ),
                archive=(sent_name(archive), archive.chunks()) if archive else None,
                archive_names=data["names"] if archive else "",
                metadata=data["metadata"],
                keys=data["keys"],
                encoding=data["encoding"],
                note=data["note"],
                missing_markers=data["missing_markers"],
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(
            VersionSerializer(version, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="prov")
    def prov(self, request: Request, pk: str | None = None) -> Response:
        """The dataset's lineage as W3C PROV-JSON: its versions, their ancestors and
        descendants (those you may not see as "restricted source"); every identifier
        is the URL of a page."""
        dataset = self.get_object()
        return Response(
            prov_for_dataset(
                user=request.user, dataset=dataset, base_uri=request.build_absolute_uri("/")
            )
        )


class VersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Dataset versions visible to you; curators correct schema, lineage and datasheet."""

    serializer_class = VersionSerializer
    lookup_value_regex = r"[0-9]+"
    filterset_fields = ["dataset"]
    ordering_fields = ["created", "number"]

    def get_queryset(self):
        return (
            DatasetVersion.objects.visible_to(self.request.user)
            .select_related("dataset", "uploaded_by", "generation", "datasheet")
            .prefetch_related("tables")
            .order_by("-created", "-id")
        )

    def _get(self, perm: str) -> DatasetVersion:
        return get_object_for_user(
            user=self.request.user,
            queryset=DatasetVersion.objects.select_related("dataset__organisation"),
            perm=perm,
            pk=self.kwargs["pk"],
        )

    def get_object(self) -> DatasetVersion:
        return self._get(DATASET_VIEW)

    @extend_schema(responses=VersionTableSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="tables", pagination_class=None)
    def table_list(self, request: Request, pk: str | None = None) -> Response:
        """The version's tables in order: hash, size, schema, profile, primary key and
        the key candidates inference found."""
        version = self._get(DATASET_VIEW)
        return Response(VersionTableSerializer(version.tables.all(), many=True).data)

    def _keys_answer(self, version: DatasetVersion) -> dict[str, Any]:
        return {
            "keys_confirmed": version.keys_confirmed,
            **table_services.keys_payload(table_services.version_keys(version)),
        }

    @extend_schema(methods=["GET", "PUT"], request=KeysSerializer, responses=KeysSerializer)
    @action(detail=True, methods=["get", "put"])
    def keys(self, request: Request, pk: str | None = None) -> Response:
        """The primary and foreign keys. PUT confirms or corrects them: send back what
        GET returned (edited), or `{"metadata": <SDMetrics metadata>}`."""
        if request.method == "GET":
            return Response(self._keys_answer(self._get(DATASET_VIEW)))
        version = self._get(DATASET_CHANGE)
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise ValidationError({"keys": ["Send a JSON object."]})
        try:
            if "metadata" in body:
                table_services.version_keys_set(
                    version=version, user=request.user, metadata=body["metadata"]
                )
            else:
                table_services.version_keys_set(
                    version=version,
                    user=request.user,
                    keys={k: body.get(k) for k in ("primary_keys", "foreign_keys") if k in body},
                )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        version.refresh_from_db()
        return Response(self._keys_answer(version))

    @extend_schema(
        methods=["GET", "PUT"],
        request=OpenApiTypes.OBJECT,
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get", "put"])
    def metadata(self, request: Request, pk: str | None = None) -> Response:
        """The tables and keys as SDMetrics / SDV multi-table metadata; PUT the same
        format to confirm or correct the keys (and columns' sdtypes)."""
        if request.method == "GET":
            return Response(table_services.version_metadata(self._get(DATASET_VIEW)))
        version = self._get(DATASET_CHANGE)
        try:
            table_services.version_keys_set(
                version=version, user=request.user, metadata=request.data
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(table_services.version_metadata(version))

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (410, "application/json"): OpenApiTypes.OBJECT,
        },
        description="One table's stored file (ranges, ETag and digests as `download/`).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"tables/(?P<table>[A-Za-z][A-Za-z0-9_]{0,62})/download",
    )
    def table_download(
        self, request: Request, pk: str | None = None, table: str = ""
    ) -> HttpResponseBase | Response:
        version = self._get(DATASET_VIEW)
        row = version.tables.filter(name=table).first()
        if row is None:
            raise NotFound(f"{version} has no table named {table!r}.")
        response = stored_table_response(request, version, row)
        if response is None:
            return Response({"detail": missing_file_message(version)}, status=status.HTTP_410_GONE)
        return response

    @extend_schema(request=SchemaUpdateSerializer, responses=VersionSerializer)
    @action(detail=True, methods=["patch"], url_path="schema")
    def column_schema(self, request: Request, pk: str | None = None) -> Response:
        version = self._get(DATASET_CHANGE)
        data = SchemaUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.version_schema_update(
                version=version, user=request.user, columns=data.validated_data["columns"]
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(VersionSerializer(version, context={"request": request}).data)

    @extend_schema(methods=["PUT"], request=LineageSerializer, responses=VersionSerializer)
    @extend_schema(methods=["GET"], responses=VersionSerializer)
    @action(detail=True, methods=["get", "put"])
    def lineage(self, request: Request, pk: str | None = None) -> Response:
        if request.method == "GET":
            version = self._get(DATASET_VIEW)
            return Response(VersionSerializer(version, context={"request": request}).data)
        version = self._get(DATASET_CHANGE)
        data = LineageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        parents = [services.ParentLink(p["parent"], p["relation"]) for p in fields.pop("parents")]
        try:
            services.version_lineage_set(
                version=version, user=request.user, parents=parents, generation=fields
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        version.refresh_from_db()
        return Response(VersionSerializer(version, context={"request": request}).data)

    @extend_schema(
        methods=["GET", "PUT"], request=DatasheetSerializer, responses=DatasheetSerializer
    )
    @action(detail=True, methods=["get", "put"])
    def datasheet(self, request: Request, pk: str | None = None) -> Response:
        if request.method == "GET":
            version = self._get(DATASET_VIEW)
            sheet = Datasheet.objects.get_or_create(version=version)[0]
        else:
            version = self._get(DATASET_CHANGE)
            data = DatasheetSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            sheet = services.version_datasheet_update(
                version=version, user=request.user, sections=data.validated_data
            )
        return Response(
            {
                **sheet.sections(),
                "completeness": sheet.completeness,
                "counted_sections": [key for key, _, _ in sheet.applicable_sections()],
            }
        )

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (206, "text/csv"): OpenApiTypes.BINARY,
            (206, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (304, "text/plain"): None,
            (410, "application/json"): OpenApiTypes.OBJECT,
            (412, "text/html"): None,
            (416, "text/plain"): OpenApiTypes.STR,
        },
        description="The stored file: CSV or Parquet, as the version's `format` says. "
        "Send `Range: bytes=first-last` for part of it (206, or 416 past the end); the "
        "`ETag` is the file's SHA-256 (also in `Repr-Digest`), and `If-None-Match` with it "
        "answers 304 (`If-Match` with another, 412). 410 when the stored file is missing.",
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> HttpResponseBase | Response:
        version = self._get(DATASET_VIEW)
        if version.is_relational:
            return Response(
                {"detail": relational_download_message(version)}, status=status.HTTP_409_CONFLICT
            )
        response = stored_file_response(request, version)
        if response is None:
            return Response({"detail": missing_file_message(version)}, status=status.HTTP_410_GONE)
        return response

    @extend_schema(responses={(200, "application/ld+json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def croissant(self, request: Request, pk: str | None = None) -> Response:
        """Documentation as MLCommons Croissant JSON-LD with Responsible-AI fields."""
        version = self._get(DATASET_VIEW)
        return Response(
            croissant_for_version(user=request.user, version=version, request=request),
            content_type="application/ld+json",
        )
