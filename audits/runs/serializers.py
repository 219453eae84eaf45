from __future__ import annotations

from rest_framework import serializers

from audits.checks.base import MAX_SEED
from audits.models import AuditMetric, AuditRun, Integrity
from audits.runs.services import FAMILIES
from synthgov.api_schema import MAX_ID


class AuditRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-audit-detail")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    integrity = serializers.ChoiceField(
        choices=[("", "Not checked yet"), *Integrity.choices],
        read_only=True,
        help_text="What re-hashing the audited file found: empty until the run checks it; "
        "altered or missing means the run failed for integrity.",
    )

    class Meta:
        model = AuditRun
        fields = [
            "id",
            "url",
            "version",
            "reference",
            "holdout",
            "config",
            "status",
            "progress",
            "step",
            "eta_seconds",
            "cancel_requested",
            "attempts",
            "error",
            "integrity",
            "requested_by",
            "created",
            "started",
            "finished",
            "input_hashes",
            "library_versions",
            "results_sha256",
            "evidence_sha256",
        ]
        read_only_fields = fields


class AuditRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reference = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    holdout = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )
    protected = serializers.ListField(child=serializers.CharField(), required=False)
    quasi_identifiers = serializers.ListField(child=serializers.CharField(), required=False)
    sensitive = serializers.ListField(child=serializers.CharField(), required=False)
    target = serializers.CharField(required=False, allow_blank=True)
    positive_outcome = serializers.CharField(required=False, allow_blank=True, default="")
    families = serializers.ListField(
        child=serializers.ChoiceField(choices=FAMILIES), required=False
    )
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_SEED)


class AuditMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditMetric
        fields = [
            "key",
            "value",
            "direction",
            "target",
            "sample_size",
            "population",
            "uncertainty",
            "status",
            "finding",
        ]


class MetricSpecSerializer(serializers.Serializer):
    key = serializers.CharField()
    family = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    direction = serializers.CharField()
    value_range = serializers.ListField(child=serializers.FloatField(allow_null=True))
    needs = serializers.CharField()
    target = serializers.FloatField(allow_null=True)
