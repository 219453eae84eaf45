"""Standards: versioned sets of rules, global or local, drafted then published and frozen."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import STANDARD_EDIT, member_organisations


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
    # "always", or "when_measured" (advisory rules only: not applicable when the audit
    # reports the figure as not measurable, with the reason).
    applies = models.CharField(max_length=16, default="always")
    # A population figure's rule: the published profile (NAME@VERSION) it is judged
    # against; blank means the default profile of the standard's jurisdiction.
    population_profile = models.CharField(max_length=260, blank=True)
    # The table of a version of linked tables the rule judges (blank: the whole version,
    # or every table for a figure computed per table).
    table = models.CharField(max_length=63, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.key} {self.operator} {self.threshold}"
