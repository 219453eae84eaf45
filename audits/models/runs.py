"""Audit runs and the figures they produced. A finished run is evidence: it records the
inputs' hashes, the configuration, the seed, library versions and a SHA-256 of its
canonical results, and is never changed afterwards."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from registry.models import Dataset, DatasetVersion
from synthgov.accounts.models import Organisation


class AuditStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (AuditStatus.SUCCEEDED, AuditStatus.FAILED, AuditStatus.CANCELLED)


class Integrity(models.TextChoices):
    """What the audit found when it re-hashed the audited version's stored file."""

    VERIFIED = "verified", "Verified"
    ALTERED = "altered", "Altered since upload"
    MISSING = "missing", "Missing from storage"


class AuditRunQuerySet(models.QuerySet["AuditRun"]):
    def visible_to(self, user: Any) -> AuditRunQuerySet:
        """Runs whose every input the user may see: a report shows figures and
        charts of the reference and holdout too, not only of the audited version."""
        visible = Dataset.objects.visible_to(user).values("id")
        return self.filter(version__dataset__in=visible, reference__dataset__in=visible).filter(
            models.Q(holdout__isnull=True) | models.Q(holdout__dataset__in=visible)
        )


class AuditRun(models.Model):
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="audits")
    reference = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, related_name="audits_as_reference"
    )
    holdout = models.ForeignKey(
        DatasetVersion,
        on_delete=models.PROTECT,
        related_name="audits_as_holdout",
        null=True,
        blank=True,
    )
    config = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=AuditStatus.choices, default=AuditStatus.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    step = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The worker holding the run: a token per claim and a heartbeat, so a run
    # whose worker died can be taken over and a zombie cannot finish it.
    claim_token = models.CharField(max_length=64, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When a task for the run was last handed to the broker; None while no task
    # is known to exist (the broker was down), so the sweeper sends one.
    dispatched = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Blank until the audited file was hashed. An altered or missing file ends
    # the run as failed (with its evidence kept): it is never "succeeded".
    integrity = models.CharField(max_length=16, choices=Integrity.choices, blank=True)
    # Evidence, written once when the run succeeds.
    input_hashes = models.JSONField(default=dict, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)
    results_sha256 = models.CharField(max_length=64, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    objects = AuditRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["version", "status"])]

    def __str__(self) -> str:
        return f"Audit #{self.pk} of {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("audits:run", args=[self.pk])

    @property
    def owning_organisation(self) -> Organisation:
        return self.version.dataset.organisation

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left, extrapolated from progress so far (None until known)."""
        if self.status != AuditStatus.RUNNING or not self.started or self.progress <= 0.02:
            return None
        from django.utils import timezone

        elapsed = (timezone.now() - self.started).total_seconds()
        return max(0.0, elapsed / self.progress * (1 - self.progress))


class AuditMetric(models.Model):
    """One figure of a finished run, for querying by key (standards, dashboards).
    The chart details stay in the run's results. ``table`` names the table of a version
    of linked tables the figure was computed on; blank for a figure of the whole version
    (every figure of a single-table version)."""

    run = models.ForeignKey(AuditRun, on_delete=models.CASCADE, related_name="metrics")
    table = models.CharField(max_length=63, blank=True, default="")
    key = models.CharField(max_length=100)
    value = models.FloatField(null=True)
    direction = models.CharField(max_length=16)
    target = models.FloatField(null=True)
    sample_size = models.PositiveBigIntegerField(default=0)
    population = models.PositiveBigIntegerField(default=0)
    uncertainty = models.FloatField(null=True)
    status = models.CharField(max_length=16)
    finding = models.TextField(blank=True)

    class Meta:
        ordering = ["table", "key"]
        constraints = [
            models.UniqueConstraint(fields=["run", "table", "key"], name="unique_run_table_metric")
        ]
        indexes = [models.Index(fields=["key"])]

    def __str__(self) -> str:
        where = f" ({self.table})" if self.table else ""
        return f"{self.key}{where} = {self.value}"
