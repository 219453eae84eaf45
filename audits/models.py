"""Audit runs and the figures they produced.

A finished run is evidence: it records the inputs' hashes, the configuration,
the seed, library versions and a SHA-256 of its canonical results, and is
never changed afterwards.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.urls import reverse

from registry.models import Dataset, DatasetVersion
from synthgov.accounts.models import Membership, Organisation
from synthgov.accounts.permissions import STANDARD_EDIT, member_organisations


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
    The chart details stay in the run's results."""

    run = models.ForeignKey(AuditRun, on_delete=models.CASCADE, related_name="metrics")
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
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_run_metric")]
        indexes = [models.Index(fields=["key"])]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"


# --- Standards and compliance ---------------------------------------------


class StandardScope(models.TextChoices):
    GLOBAL = "global", "Global"
    LOCAL = "local", "Local (jurisdiction or sector)"


class Standard(models.Model):
    """A named standard; its rules live in immutable published versions."""

    code = models.SlugField(max_length=64, unique=True)
    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="standards",
        help_text="The regulator that maintains it; empty for shipped global standards.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class StandardVersionQuerySet(models.QuerySet["StandardVersion"]):
    def published(self) -> StandardVersionQuerySet:
        return self.filter(status=StandardVersion.Status.PUBLISHED)

    def visible_to(self, user: Any) -> StandardVersionQuerySet:
        """Published standards are public rules; drafts only for their maintainers."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        mine = member_organisations(user, STANDARD_EDIT).values("id")
        return self.filter(
            models.Q(status=StandardVersion.Status.PUBLISHED) | models.Q(standard__owner__in=mine)
        )


class StandardVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=20)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=16, choices=StandardScope.choices)
    description = models.TextField(blank=True)
    source = models.TextField(blank=True, help_text="The guidance or law it implements.")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    jurisdictions = models.JSONField(default=list, blank=True)
    sectors = models.JSONField(default=list, blank=True)
    dataset_kinds = models.JSONField(default=list, blank=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    certificate_validity_days = models.PositiveIntegerField(null=True, blank=True)
    reaudit_interval_days = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    published = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    spec_sha256 = models.CharField(max_length=64, blank=True)

    objects = StandardVersionQuerySet.as_manager()

    class Meta:
        ordering = ["standard__code", "-created"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "version"], name="unique_standard_version")
        ]
        # Granted to users or groups in the admin (superusers hold it anyway);
        # no organisation role grants it: see accounts.permissions.
        permissions = [
            (
                "publish_global_standard",
                "Can publish global standards (they apply to every organisation)",
            )
        ]

    def __str__(self) -> str:
        return f"{self.standard.code} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("audits:standard", args=[self.pk])

    @property
    def label(self) -> str:
        return f"{self.standard.code}@{self.version}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def owning_organisation(self) -> Organisation | None:
        return self.standard.owner


class Rule(models.Model):
    standard_version = models.ForeignKey(
        StandardVersion, on_delete=models.CASCADE, related_name="rules"
    )
    position = models.PositiveIntegerField(default=0)
    key = models.CharField(max_length=100)
    operator = models.CharField(max_length=16)
    threshold = models.JSONField(null=True, blank=True)
    severity = models.CharField(max_length=16)
    rationale = models.TextField()
    clause = models.CharField(max_length=200, blank=True)
    waived = models.BooleanField(default=False)
    waiver_rationale = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.key} {self.operator} {self.threshold}"


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


# --- Sign-off and certificates ----------------------------------------------


class SignOffRole(models.TextChoices):
    PRODUCER = "producer", "Producer (curator)"
    REGULATOR = "regulator", "Regulator"


class SignOffDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class SignOffQuerySet(models.QuerySet["SignOff"]):
    def visible_to(self, user: Any) -> SignOffQuerySet:
        return self.filter(evaluation__in=ComplianceEvaluation.objects.visible_to(user))


class SignOff(models.Model):
    """One person's decision on one compliance evaluation, bound to the hash of
    the evidence they saw. Written once by ``audits.certification.signoffs``; never changed."""

    evaluation = models.ForeignKey(
        ComplianceEvaluation, on_delete=models.PROTECT, related_name="signoffs"
    )
    evidence_sha256 = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=SignOffRole.choices)
    decision = models.CharField(max_length=16, choices=SignOffDecision.choices)
    comment = models.TextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="signoffs",
        help_text="The organisation the person signed for.",
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = SignOffQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            # One decision per role per evaluation: the second of two
            # simultaneous regulators fails here even if a lock were missed.
            models.UniqueConstraint(fields=["evaluation", "role"], name="one_signoff_per_role"),
            models.UniqueConstraint(fields=["evaluation", "user"], name="one_signoff_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.get_decision_display().lower()} by {self.user}"

    @property
    def owning_organisation(self) -> Organisation:
        return self.evaluation.owning_organisation

    @property
    def applies(self) -> bool:
        """True while the evaluation is current and its evidence is what was signed."""
        return (
            self.evaluation.is_current and self.evaluation.evidence_sha256 == self.evidence_sha256
        )


class CertificateStatus(models.TextChoices):
    VALID = "valid", "Valid"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class CertificateQuerySet(models.QuerySet["Certificate"]):
    def visible_to(self, user: Any) -> CertificateQuerySet:
        """Signed-in users see the certificates of datasets they may see; anyone
        may verify one by number on the public page."""
        return self.filter(dataset_version__in=DatasetVersion.objects.visible_to(user))


def new_verify_token() -> str:
    """128 random bits, URL-safe: the part of a certificate's verification link
    that cannot be guessed from its (sequential) number."""
    return secrets.token_urlsafe(16)


class Certificate(models.Model):
    """A regulator's signed statement that a dataset version met a standard.

    ``signed_text`` is the exact downloadable file (canonical JSON of the
    payload and its Ed25519 signature); it is never rewritten. Only the
    lifecycle fields below it change, through ``audits.certification.certificates``.
    """

    number = models.CharField(max_length=32, unique=True)
    evaluation = models.OneToOneField(
        ComplianceEvaluation, on_delete=models.PROTECT, related_name="certificate"
    )
    signoff = models.OneToOneField(SignOff, on_delete=models.PROTECT, related_name="certificate")
    dataset_version = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, related_name="certificates"
    )
    standard_version = models.ForeignKey(
        StandardVersion, on_delete=models.PROTECT, related_name="certificates"
    )
    evidence_sha256 = models.CharField(max_length=64)
    issued = models.DateTimeField()
    expires = models.DateField(help_text="Valid up to, not including, this date (UTC).")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issuer_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="issued_certificates"
    )
    kid = models.CharField(max_length=16)
    signed_text = models.TextField()
    verify_token = models.CharField(
        max_length=32,
        default=new_verify_token,
        editable=False,
        help_text="Published by the holder in the verification link; with the number it "
        "shows what the certificate states.",
    )
    # Lifecycle.
    status = models.CharField(
        max_length=16,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
        db_index=True,
    )
    status_changed = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reaudit_requested = models.DateTimeField(null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-issued", "-id"]
        indexes = [models.Index(fields=["status", "expires"])]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("audits:certificate", args=[self.number])

    def get_verify_url(self) -> str:
        """The public page by number alone: whether it is in force, nothing more."""
        return reverse("certificate_verify", args=[self.number])

    def get_share_url(self) -> str:
        """The public page with the verification token: what the certificate states.
        Only the holder and the issuer see it (``certification.certificate_link_for``)."""
        return f"{self.get_verify_url()}?{urlencode({'token': self.verify_token})}"

    @property
    def owning_organisation(self) -> Organisation:
        return self.dataset_version.dataset.organisation

    def effective_status(self, today: Any = None) -> str:
        """The stored status, or "expired" once the expiry date is reached even
        if the daily task has not marked it yet."""
        from django.utils import timezone

        today = today or timezone.now().date()
        if self.status == CertificateStatus.VALID and today >= self.expires:
            return CertificateStatus.EXPIRED
        return self.status


class CertificateSequence(models.Model):
    """The last certificate number issued each year (rows locked while issuing)."""

    year = models.PositiveIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user: Any) -> NotificationQuerySet:
        """Notices addressed to the user, or to an organisation they belong to."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        orgs = Membership.objects.filter(user=user).values("organisation_id")
        return self.filter(models.Q(user=user) | models.Q(user__isnull=True, organisation__in=orgs))


class Notification(models.Model):
    """A notice on the dashboard of an organisation's members (or one user)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="notifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    message = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    read = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "read"])]

    def __str__(self) -> str:
        return self.message[:80]
