"""The storage scrub: re-hash stored files on a rotating schedule, as a
filesystem scrub does, so a file altered or lost behind SynthGov's back is
found even when nobody audits or downloads it."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from registry.models import DatasetVersion, StorageCheck
from registry.services import stored_sha256
from registry.signals import stored_file_failed
from synthgov.trail.services import trail_record


def storage_scrub(*, batch: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Check the ``batch`` versions (``SYNTHGOV_SCRUB_BATCH``) whose files were
    checked longest ago, never-checked first. Returns how many had each outcome."""
    batch = batch or settings.SYNTHGOV_SCRUB_BATCH
    versions = (
        DatasetVersion.objects.annotate(last_checked=Max("storage_checks__checked"))
        .order_by(F("last_checked").asc(nulls_first=True), "pk")
        .select_related("dataset__organisation")[:batch]
    )
    counts = dict.fromkeys(StorageCheck.Outcome.values, 0)
    for version in versions:
        counts[storage_check_version(version=version, now=now).outcome] += 1
    return counts


def storage_check_version(*, version: DatasetVersion, now: datetime | None = None) -> StorageCheck:
    """Re-hash one version's stored file and record the result. A newly found
    altered or missing file leaves a trail entry and suspends the version's
    certificates; a file restored afterwards leaves a trail entry too (its
    certificates stay suspended until a regulator acts)."""
    found = stored_sha256(version) or ""
    if not found:
        outcome = StorageCheck.Outcome.MISSING
    elif found == version.sha256:
        outcome = StorageCheck.Outcome.OK
    else:
        outcome = StorageCheck.Outcome.ALTERED
    previous = StorageCheck.objects.filter(version=version).order_by("-checked", "-id").first()
    with transaction.atomic():
        check = StorageCheck.objects.create(
            version=version, checked=now or timezone.now(), outcome=outcome, sha256=found
        )
        changed = outcome != (previous.outcome if previous else StorageCheck.Outcome.OK)
        if changed:
            trail_record(
                actor=None,
                actor_label="storage scrub",
                action=f"registry.storage.{'restored' if outcome == 'ok' else outcome}",
                target=version,
                organisation=version.dataset.organisation,
                payload={"expected_sha256": version.sha256, "found_sha256": found or None},
            )
        if outcome != StorageCheck.Outcome.OK:
            # Receivers are idempotent: only certificates still valid are suspended.
            stored_file_failed.send(
                sender=DatasetVersion,
                version=version,
                outcome=outcome,
                found_by="the storage scrub",
            )
    return check
