"""Compliance evaluations: one dataset version against one standard version, with each
rule's outcome."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import reverse

from audits.models.standards import StandardVersion
from registry.models import DatasetVersion
from synthgov.accounts.models import Organisation


class EvaluationStatus(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    NON_COMPLIANT = "non_compliant", "Non-compliant"
    INCOMPLETE = "incomplete", "Incomplete"


class EvaluationQuerySet(models.QuerySet["ComplianceEvaluation"]):
    def visible_to(self, user: Any) -> EvaluationQuerySet:
        return self.filter(dataset_version__in=DatasetVersion.objects.visible_to(user))

    def current(self) -> EvaluationQuerySet:
        return self.filter(is_current=True)


class ComplianceEvaluation(models.Model):
    """Compliance of one dataset version with one published standard version,
    computed from the latest finished audits. A new row is written whenever
    the evidence changes; the previous one stays as history."""

    dataset_version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="evaluations"
    )
    standard_version = models.ForeignKey(
        StandardVersion, on_delete=models.PROTECT, related_name="evaluations"
    )
    status = models.CharField(max_length=16, choices=EvaluationStatus.choices, db_index=True)
    results = models.JSONField(default=dict)
    sources = models.JSONField(default=dict, help_text="Which audit supplied each figure.")
    evidence_sha256 = models.CharField(max_length=64)
    worst_severity = models.CharField(max_length=16, blank=True)
    fail_count = models.PositiveIntegerField(default=0)
    missing_count = models.PositiveIntegerField(default=0)
    is_current = models.BooleanField(default=True)
    computed = models.DateTimeField(auto_now_add=True)
    superseded = models.DateTimeField(null=True, blank=True)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-computed", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset_version", "standard_version"],
                condition=models.Q(is_current=True),
                name="one_current_evaluation",
            )
        ]
        indexes = [models.Index(fields=["is_current", "status"])]

    def __str__(self) -> str:
        return f"{self.dataset_version} × {self.standard_version}: {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("audits:evaluation", args=[self.pk])

    @property
    def owning_organisation(self) -> Organisation:
        return self.dataset_version.dataset.organisation


class RuleOutcome(models.Model):
    """One rule's result in an evaluation, kept as rows for the dashboard's
    "rules that fail most often"."""

    evaluation = models.ForeignKey(
        ComplianceEvaluation, on_delete=models.CASCADE, related_name="outcomes"
    )
    key = models.CharField(max_length=100)
    status = models.CharField(max_length=16)
    severity = models.CharField(max_length=16)
    is_current = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["is_current", "status", "key"]),
            # The dashboard's "rules that fail most often" reads only current
            # failures, joined on evaluation: a small covering partial index.
            models.Index(
                fields=["evaluation", "key", "severity"],
                condition=models.Q(is_current=True, status="fail"),
                name="ruleoutcome_current_fail",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.status}"
