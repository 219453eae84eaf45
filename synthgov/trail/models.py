"""The append-only, hash-chained audit trail.

Each event's hash covers its own fields and the previous event's hash, so
editing or deleting any row breaks the chain from that row on; ``manage.py
verify_trail`` walks it and names the first broken link.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

GENESIS_HASH = "0" * 64


class EventQuerySet(models.QuerySet["Event"]):
    def visible_to(self, user: Any) -> EventQuerySet:
        from synthgov.accounts.permissions import TRAIL_VIEW, organisations_where

        if user is not None and user.is_active and user.is_superuser:
            return self
        orgs = organisations_where(user, TRAIL_VIEW)
        return self.filter(Q(organisation__in=orgs) | Q(organisation__isnull=True, actor=user))


class Event(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    created = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text so the hashed record survives the user's deletion.
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation_label = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the hash covers (foreign keys by their text labels)."""
        return {
            "seq": self.seq,
            "created": self.created.isoformat(),
            "actor": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "organisation": self.organisation_label,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        }


class TrailHead(models.Model):
    """A single row locked by every append, so the chain has one writer at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"trail head at #{self.last_seq}"
