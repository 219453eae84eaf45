"""Sign-offs, the certificates a regulator's approval issues, and the notifications
they send."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.urls import reverse

from audits.models.compliance import ComplianceEvaluation
from audits.models.standards import StandardVersion
from registry.models import DatasetVersion
from synthgov.accounts.models import Membership, Organisation


class SignOffRole(models.TextChoices):
    PRODUCER = "producer", "Producer (curator)"
    REGULATOR = "regulator", "Regulator"


class SignOffDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


# A recorded decision as a reader is told it ("Approved"); the choice labels
# ("Approve") are what a signer picks.
DECISIONS_DONE = {
    SignOffDecision.APPROVE: "Approved",
    SignOffDecision.REJECT: "Rejected",
    SignOffDecision.REQUEST_CHANGES: "Changes requested",
}


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
        done = DECISIONS_DONE.get(self.decision, self.decision)
        return f"{self.get_role_display()}: {done.lower()} by {self.user}"

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
