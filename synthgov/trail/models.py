"""The append-only, hash-chained audit trail.

Each event's hash covers its own fields and the previous event's hash, so
editing or deleting any row breaks the chain from that row on; ``manage.py
verify_trail`` walks it and names the first broken link. Signed checkpoints of
the head, kept outside the database by whoever downloads them, catch a rewrite
that is consistent within the database (see ``synthgov.signing.checkpoints``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from synthgov.accounts.permissions import TRAIL_VIEW, organisations_where
from synthgov.signing.checkpoints import checkpoint_document, checkpoint_statement
from synthgov.trail.chain import GENESIS_HASH

__all__ = ["GENESIS_HASH", "Checkpoint", "Event", "TrailHead"]


class EventQuerySet(models.QuerySet["Event"]):
    def visible_to(self, user: Any) -> EventQuerySet:
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
    # Which fields the hash covers (synthgov.trail.chain): rows written before
    # v2 stay v1; trail_record writes the current version.
    hash_version = models.PositiveSmallIntegerField(default=1)
    # The actor's and organisation's ids at the time, hashed in v2. The foreign
    # keys above become NULL when the user or organisation is deleted; these do
    # not, and verification checks that a foreign key still set agrees with them.
    actor_ref = models.PositiveBigIntegerField(null=True, blank=True)
    organisation_ref = models.PositiveBigIntegerField(null=True, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def as_record(self) -> dict[str, Any]:
        """The event as a plain record (the form hashed, exported and verified)."""
        return {
            "seq": self.seq,
            "created": self.created.isoformat(),
            "actor_ref": self.actor_ref,
            "actor_label": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "organisation_ref": self.organisation_ref,
            "organisation_label": self.organisation_label,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "hash_version": self.hash_version,
        }


class TrailHead(models.Model):
    """A single row locked by every append, so the chain has one writer at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"trail head at #{self.last_seq}"


class Checkpoint(models.Model):
    """The trail's size and head hash at a moment, signed with the certificate
    signing key. Exported at /trail/checkpoints.json: whoever keeps a copy can
    later show that the trail up to ``seq`` was rewritten."""

    seq = models.PositiveBigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    created = models.DateTimeField()
    kid = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)
    # "RFC8785" for checkpoints signed since RFC 8785; "" for those signed
    # before over the legacy canonical form (they keep verifying).
    canonicalization = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"

    def document(self) -> dict[str, Any]:
        """The signed checkpoint document (see ``synthgov.signing.checkpoints``)."""
        statement = checkpoint_statement(
            seq=self.seq,
            head_hash=self.head_hash,
            created=self.created.isoformat(),
            canonicalization=self.canonicalization,
        )
        return checkpoint_document(statement, kid=self.kid, value=self.signature)
