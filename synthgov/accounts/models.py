"""Organisations (the tenancy boundary), jurisdictions and role memberships."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Jurisdiction(models.Model):
    """A legal area or sector that standards and regulators apply to (``EU``, ``UK``)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        PRODUCER = "producer", "Producer"
        REGULATOR = "regulator", "Regulator"
        RESEARCH = "research", "Research"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    jurisdictions = models.ManyToManyField(
        Jurisdiction,
        related_name="member_organisations",
        blank=True,
        help_text="Where the organisation is established: its data falls under these.",
    )
    covered_jurisdictions = models.ManyToManyField(
        Jurisdiction,
        related_name="regulators",
        blank=True,
        help_text="For regulators: the jurisdictions they supervise.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def owning_organisation(self) -> Organisation:
        return self


class Role(models.TextChoices):
    CURATOR = "curator", "Curator"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    REGULATOR = "regulator", "Regulator"
    ADMINISTRATOR = "administrator", "Administrator"


class Membership(models.Model):
    """A user holds a role in an organisation; a user may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="unique_membership_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organisation}"
