from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.ingest import MAX_MARKER_LENGTH, MAX_MISSING_MARKERS, ColumnRole, ColumnType
from registry.models import (
    DATASHEET_SECTIONS,
    GENERATION_FIELDS,
    Access,
    Dataset,
    DatasetKind,
    DatasetVersion,
    Generation,
    GeneratorType,
    PrivacyMechanism,
    Relation,
    VersionTable,
)
from registry.selectors import parents_for
from synthgov.api_fields import ChoiceField, ModelSerializer
from synthgov.api_schema import MAX_ID


class DatasetSerializer(ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    version_count = serializers.SerializerMethodField()
    url = serializers.HyperlinkedIdentityField(view_name="api-dataset-detail")

    class Meta:
        model = Dataset
        fields = [
            "id",
            "url",
            "organisation",
            "organisation_name",
            "name",
            "kind",
            "domain",
            "description",
            "licence",
            "access",
            "intended_uses",
            "prohibited_uses",
            "tags",
            "version_count",
            "created_by",
            "created",
            "updated",
        ]

    def get_version_count(self, obj: Dataset) -> int:
        total = getattr(obj, "version_total", None)
        return total if total is not None else obj.versions.count()


class DatasetWriteSerializer(serializers.Serializer):
    organisation = serializers.SlugField(
        required=False,
        help_text="Slug of the owning organisation; needed only if you curate for several.",
    )
    name = serializers.CharField(max_length=200)
    kind = ChoiceField(choices=DatasetKind.choices)
    domain = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    licence = serializers.CharField(max_length=64)
    access = ChoiceField(choices=Access.choices, default=Access.RESTRICTED)
    intended_uses = serializers.CharField(required=False, allow_blank=True, default="")
    prohibited_uses = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list
    )


# The machine value of each relation from the label the lineage selector gives.
RELATION_VALUES = {str(label): value for value, label in Relation.choices}


class ParentSerializer(serializers.Serializer):
    """One parent as GET shows it: ``parent`` and ``relation`` are what PUT takes."""

    parent = serializers.IntegerField(
        allow_null=True, help_text="The parent version's id; null for a restricted source."
    )
    relation = ChoiceField(choices=Relation.choices)
    relation_label = serializers.CharField(help_text="The relation in words.")
    restricted = serializers.BooleanField()
    version = serializers.IntegerField(
        allow_null=True, help_text="Same as `parent` (kept for older clients)."
    )
    label = serializers.CharField()


class GenerationSerializer(ModelSerializer):
    class Meta:
        model = Generation
        fields = GENERATION_FIELDS


class VersionSerializer(ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    parents = serializers.SerializerMethodField()
    generation = GenerationSerializer(read_only=True)
    datasheet_completeness = serializers.SerializerMethodField()
    missing_markers = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Cell values read as missing in this file, declared at upload.",
    )
    url = serializers.HyperlinkedIdentityField(view_name="api-version-detail")
    public_url = serializers.SerializerMethodField(
        help_text="The public landing page while the version is published openly, else null."
    )
    tables = serializers.SerializerMethodField(
        help_text="The version's named tables (one for a single-table version), in order; "
        "each table's schema and profile are at `tables/`."
    )

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "url",
            "dataset",
            "number",
            "sha256",
            "size_bytes",
            "row_count",
            "column_count",
            "format",
            "encoding",
            "delimiter",
            "compressed",
            "original_name",
            "schema",
            "profile",
            "missing_markers",
            "note",
            "uploaded_by",
            "created",
            "parents",
            "generation",
            "datasheet_completeness",
            "published_at",
            "public_url",
            "table_count",
            "tables",
            "keys_confirmed",
        ]
        read_only_fields = ["published_at", "table_count", "keys_confirmed"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_tables(self, obj: DatasetVersion) -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "sha256": t.sha256,
                "row_count": t.row_count,
                "column_count": t.column_count,
                "primary_key": t.primary_key or None,
            }
            for t in obj.tables.all()
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_public_url(self, obj: DatasetVersion) -> str | None:
        if obj.published_at is None:
            return None
        # Named, not imported: the page belongs to audits.publishing (above the registry).
        return self.context["request"].build_absolute_uri(reverse("open:version", args=[obj.pk]))

    @extend_schema_field(ParentSerializer(many=True))
    def get_parents(self, obj: DatasetVersion) -> list[dict[str, Any]]:
        request = self.context["request"]
        return ParentSerializer(
            [
                {
                    "parent": p.version.pk if p.version else None,
                    "relation": RELATION_VALUES[str(p.relation)],
                    "relation_label": str(p.relation),
                    "restricted": p.restricted,
                    "version": p.version.pk if p.version else None,
                    "label": str(p.version) if p.version else "restricted source",
                }
                for p in parents_for(user=request.user, version=obj)
            ],
            many=True,
        ).data

    def get_datasheet_completeness(self, obj: DatasetVersion) -> float:
        sheet = getattr(obj, "datasheet", None)
        return sheet.completeness if sheet else 0.0


class VersionUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    encoding = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    missing_markers = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_MISSING_MARKERS * (MAX_MARKER_LENGTH + 2),
        help_text=(
            "Cell values that mean missing in this file, comma-separated, e.g. `?,-999` "
            f"(at most {MAX_MISSING_MARKERS}, each at most {MAX_MARKER_LENGTH} characters). "
            "Blank cells and NA/null/NaN are missing already."
        ),
    )


class TablesUploadSerializer(serializers.Serializer):
    """A version made of several tables: files in `tables` (repeat the field), or one zip
    of them in `archive`."""

    tables = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        help_text="One CSV or Parquet file per table (repeat the field).",
    )
    archive = serializers.FileField(
        required=False, allow_empty_file=True, help_text="Or: one zip holding a file per table."
    )
    names = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=20_000,
        help_text="Table names, one line per file: `<file name> = <table name>`. A file not "
        "named here takes its name without extensions (`users.csv` → `users`).",
    )
    metadata = serializers.JSONField(
        required=False,
        default=None,
        help_text="SDMetrics multi-table metadata (tables, primary keys, relationships).",
    )
    keys = serializers.JSONField(
        required=False,
        default=None,
        help_text='Or the keys alone: {"primary_keys": {table: column}, "foreign_keys": '
        "[{parent_table, parent_key, child_table, child_key}]}. With neither, SynthGov "
        "infers them and `keys_confirmed` is false until you confirm them (PUT `keys/`).",
    )
    encoding = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    missing_markers = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_MISSING_MARKERS * (MAX_MARKER_LENGTH + 2),
    )


class VersionTableSerializer(ModelSerializer):
    class Meta:
        model = VersionTable
        fields = [
            "name",
            "position",
            "sha256",
            "size_bytes",
            "row_count",
            "column_count",
            "format",
            "encoding",
            "delimiter",
            "compressed",
            "original_name",
            "primary_key",
            "schema",
            "profile",
            "key_candidates",
        ]


class KeysSerializer(serializers.Serializer):
    """The keys as PUT takes them (and GET shows them); or `metadata` instead."""

    primary_keys = serializers.DictField(
        child=serializers.CharField(allow_null=True), required=False
    )
    foreign_keys = serializers.ListField(child=serializers.DictField(), required=False)
    metadata = serializers.JSONField(required=False)


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = ChoiceField(choices=[t.value for t in ColumnType])
    role = ChoiceField(choices=[r.value for r in ColumnRole])


class SchemaUpdateSerializer(serializers.Serializer):
    columns = ColumnSerializer(many=True)


class ParentLinkSerializer(serializers.Serializer):
    parent = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    relation = ChoiceField(choices=Relation.choices)


class GenerationInputSerializer(serializers.Serializer):
    """How a synthetic version was generated, as PUT takes it (and GET shows it)."""

    generator_type = ChoiceField(choices=GeneratorType.choices, required=False, default="")
    generator_library = serializers.CharField(required=False, allow_blank=True, default="")
    generator_version = serializers.CharField(required=False, allow_blank=True, default="")
    parameters = serializers.JSONField(required=False, default=dict)
    seed = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=-(2**63), max_value=2**63 - 1
    )
    privacy_mechanism = ChoiceField(choices=PrivacyMechanism.choices, required=False, default="")
    epsilon = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    delta = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    compute_description = serializers.CharField(required=False, allow_blank=True, default="")
    energy_kwh = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    carbon_kg = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)


class LineageSerializer(GenerationInputSerializer):
    """The lineage PUT body: what GET on the same URL returns can be sent back unchanged.

    The generation facts come either in the ``generation`` block (as GET shows them)
    or, as before, at the top level; not both. Other fields of the GET answer are
    ignored."""

    parents = ParentLinkSerializer(many=True)
    generation = GenerationInputSerializer(
        required=False,
        allow_null=True,
        help_text="The generation facts as GET returns them; or give them at the top level.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        block = attrs.pop("generation", None)
        if "generation" not in self.initial_data:
            return attrs
        flat = [name for name in GENERATION_FIELDS if name in self.initial_data]
        if flat:
            raise serializers.ValidationError(
                {
                    name: [
                        "Give the generation facts in `generation` or at the top level, not both."
                    ]
                    for name in flat
                }
            )
        # No top-level facts were sent: attrs hold their defaults, the block overrides.
        return {**attrs, **(block or {})}


class DatasheetSerializer(serializers.Serializer):
    completeness = serializers.FloatField(
        read_only=True,
        help_text="Share (0 to 1) of the sections in `counted_sections` answered with at "
        "least three words.",
    )
    counted_sections = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The sections that apply to the dataset's kind and count: all twelve for "
        "synthetic data; for real data, all but generation_method, real_sources and "
        "watermarking.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for key, label, question in DATASHEET_SECTIONS:
            fields[key] = serializers.CharField(
                required=False, allow_blank=True, label=label, help_text=question
            )
        return fields
