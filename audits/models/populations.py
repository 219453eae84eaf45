"""Population profiles: the expected share of each group of a population, with a cited
source. Each row is one version of a named profile of an owning organisation; a
published version never changes (a change makes the next version). A jurisdiction's
regulator may attach a published version to it as its default."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.accounts.permissions import POPULATION_PROFILE_EDIT, member_organisations


class PopulationProfileQuerySet(models.QuerySet["PopulationProfile"]):
    def published(self) -> PopulationProfileQuerySet:
        return self.filter(status=PopulationProfile.Status.PUBLISHED)

    def visible_to(self, user: Any) -> PopulationProfileQuerySet:
        """Published profiles state public statistics with their source: every signed-in
        user may read them. Drafts only the owning organisation's profile editors."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        mine = member_organisations(user, POPULATION_PROFILE_EDIT).values("id")
        return self.filter(
            models.Q(status=PopulationProfile.Status.PUBLISHED) | models.Q(owner__in=mine)
        )


class PopulationProfile(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="population_profiles"
    )
    number = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    source = models.TextField(help_text="Where the shares come from, as one would cite it.")
    source_url = models.URLField(max_length=500)
    groupings = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    published = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_sha256 = models.CharField(max_length=64, blank=True)

    objects = PopulationProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name", "number"], name="unique_population_profile_version"
            )
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("audits:population", args=[self.pk])

    @property
    def label(self) -> str:
        return f"{self.name} (version {self.number})"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def owning_organisation(self) -> Organisation:
        return self.owner

    @property
    def attributes(self) -> list[str]:
        return sorted({a for g in self.groupings for a in g["attributes"]})

    def audit_snapshot(self, *, intended: bool = False, applied_as: str = "") -> dict[str, Any]:
        """What an audit's configuration records of it (plain data for the checks)."""
        return {
            "profile_id": self.pk,
            "version": self.number,
            "name": self.name,
            "owner": self.owner.slug,
            "source": self.source,
            "source_url": self.source_url,
            "content_sha256": self.content_sha256,
            "intended": intended,
            "applied_as": applied_as,
            "groupings": self.groupings,
        }


class JurisdictionProfile(models.Model):
    """A jurisdiction's default population profile, set by one of its regulators."""

    jurisdiction = models.OneToOneField(
        Jurisdiction, on_delete=models.CASCADE, related_name="default_population_profile"
    )
    profile = models.ForeignKey(
        PopulationProfile, on_delete=models.PROTECT, related_name="jurisdiction_defaults"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["jurisdiction__code"]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code}: {self.profile.label}"
