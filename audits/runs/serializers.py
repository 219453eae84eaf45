from __future__ import annotations

from rest_framework import serializers

from audits.checks.base import MAX_SEED
from audits.models import AuditMetric, AuditRun, Integrity
from audits.runs.services import FAMILIES
from synthgov.api_fields import ChoiceField, ModelSerializer
from synthgov.api_schema import MAX_ID

NOT_REQUESTABLE = (
    "Collapse figures are measured on every audit of a synthetic version (against its "
    "nearest real ancestor); they are not requested in `families`."
)


class AuditRunSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-audit-detail")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    integrity = ChoiceField(
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
        child=ChoiceField(
            choices=FAMILIES,
            error_messages={
                "invalid_choice": '"{input}" cannot be requested; choose one or more of: '
                "{choices}. " + NOT_REQUESTABLE
            },
        ),
        required=False,
        help_text="The families to compute (default all): the catalogue's families marked "
        "`requestable`. " + NOT_REQUESTABLE,
    )
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_SEED)
    individuals_table = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=63,
        help_text="Linked tables only: the table whose rows are individuals (patients). The "
        "re-identification figures (privacy.individuals_*) run on it with its children's "
        "aggregates (count(child), mean(child.column), mode(child.column)), which "
        "`quasi_identifiers` and `sensitive` may name; left out, those figures are skipped.",
    )
    fairness_table = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=63,
        help_text="Linked tables only: the child table (treatments) on which the fairness "
        "figures (fairness.joined_*) are computed, joined to `fairness_parent_columns`; "
        "`protected` and `target` name columns of that joined table.",
    )
    fairness_parent_columns = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Linked tables only: the parent columns joined to `fairness_table` through "
        "its foreign key, as <parent table>.<column> (patients.sex).",
    )
    population_profile = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="A published population profile to compare group shares with; left "
        "out, the default profile of the jurisdiction where the dataset's organisation is "
        "established applies (if any).",
    )
    population_intended = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Declare that the data was deliberately rebalanced towards the profile: "
        "representation is then judged against the profile, not the real data.",
    )


class AuditMetricSerializer(ModelSerializer):
    details = serializers.JSONField(
        read_only=True,
        help_text="What the figure's chart and sentence are drawn from (e.g. the group "
        "names behind `fairness.missing_groups`); empty when withheld from you.",
    )
    skip_reason = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Why the figure has no value, when `status` is `skipped`.",
    )

    table = serializers.CharField(
        read_only=True,
        help_text="The table of a version of linked tables the figure was computed on; "
        "empty for a figure of the whole version (every figure of a single-table version).",
    )

    class Meta:
        model = AuditMetric
        fields = [
            "table",
            "key",
            "value",
            "direction",
            "target",
            "sample_size",
            "population",
            "uncertainty",
            "status",
            "finding",
            "details",
            "skip_reason",
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
    requestable = serializers.SerializerMethodField(
        help_text="Whether the family can be named in an audit request's `families`. "
        + NOT_REQUESTABLE
    )

    def get_requestable(self, spec: dict) -> bool:
        return spec["family"] in FAMILIES
