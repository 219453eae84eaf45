"""Publishing a synthetic version openly, and withdrawing it.

An open version has a public landing page (``audits.publishing.views``) and a public
download (``registry.open_views``), with no account. SynthGov publishes a version only
when it is synthetic, carries its organisation's watermark made with the key the
organisation holds now, and has a signed provenance manifest that verifies against the
stored bytes: ``publication_refusals`` lists every reason it cannot, each saying what
to do. Whoever may change the dataset (``DATASET_CHANGE``) publishes and withdraws;
both are written to the trail and re-evaluate the version's compliance, because a
standard may require ``registry.published_openly``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audits.compliance.services import evaluations_recompute_for_version
from audits.provenance.services import organisation_keys, version_manifest_valid
from registry.models import DatasetVersion
from registry.services import stored_sha256
from synthgov.accounts.permissions import DATASET_CHANGE, user_has_perm
from synthgov.trail.services import trail_record

REAL_DATA = (
    "Real data cannot be published openly: only synthetic versions are, and only with "
    "their organisation's watermark. Publish a watermarked synthetic version made from "
    "it instead."
)
NOT_WATERMARKED = (
    "Watermark this version first: Watermark → on the version page's “Watermark and "
    "provenance” panel (in the API: POST /api/v1/versions/{id}/watermark/) makes a "
    "watermarked copy, a new version; publish that copy."
)


def not_watermarked_relational(version: DatasetVersion) -> str:
    """Why a version of linked tables carries no watermark: it cannot have one yet."""
    names = ", ".join(version.tables.values_list("name", flat=True))
    return (
        f"This version holds {version.table_count} linked tables ({names}) and SynthGov "
        "watermarks single-table versions only for now, so it cannot be published openly "
        "yet."
    )


class PublicationForbidden(PermissionDenied):
    """The user may see the version but not change its dataset (403)."""


class PublicationConflict(Exception):
    """Publishing a published version or withdrawing an unpublished one (409):
    nothing changed."""


def public_path(version: DatasetVersion) -> str:
    """The version's public landing page (whether or not it is published now)."""
    return reverse("open:version", args=[version.pk])


@dataclass(frozen=True)
class Condition:
    """One condition of open publication: whether it holds and, when not, what to do."""

    label: str
    met: bool
    advice: str = ""


def publication_checklist(version: DatasetVersion, *, rehash: bool = True) -> list[Condition]:
    """The conditions of open publication for ``version``, in order. ``rehash`` hashes
    the stored file to compare it with the SHA-256 recorded at upload (the version
    page's panel passes False not to read a large file on each view; publishing
    always hashes)."""
    if not version.dataset.is_synthetic:
        return [Condition("Synthetic data", False, REAL_DATA)]
    conditions = [Condition("Synthetic data", True)]
    organisation = version.dataset.organisation
    try:
        keys = organisation_keys(organisation)
        keys_problem = ""
    except ValidationError as exc:
        keys, keys_problem = None, " ".join(exc.messages)
    label = f"Carries {organisation.name}'s watermark"
    if not version.watermark_key_id:
        why = not_watermarked_relational(version) if version.is_relational else NOT_WATERMARKED
        conditions.append(Condition(label, False, why))
    elif keys is None:
        conditions.append(Condition(label, False, keys_problem))
    elif keys.watermark_key_id != version.watermark_key_id:
        conditions.append(
            Condition(
                label,
                False,
                f"This version's watermark (key {version.watermark_key_id}) was not made with "
                f"{organisation.name}'s watermark key ({keys.watermark_key_id}): watermark its "
                "source version again and publish that copy.",
            )
        )
    else:
        conditions.append(Condition(label, True))
    label = "Signed provenance manifest verifies"
    found = stored_sha256(version) if rehash else version.sha256
    if found is None:
        conditions.append(
            Condition(
                label,
                False,
                "The stored file of this version is missing: ask an administrator to restore "
                "it; a manifest cannot vouch for bytes that are not there.",
            )
        )
    elif found != version.sha256:
        conditions.append(
            Condition(
                label,
                False,
                "The stored file no longer matches the SHA-256 recorded at upload: ask an "
                "administrator to restore the original; its signed manifest would not match "
                "what the public downloads.",
            )
        )
    elif keys is None:
        conditions.append(Condition(label, False, keys_problem))
    elif not version_manifest_valid(version, hash_verified=True):
        conditions.append(
            Condition(
                label,
                False,
                f"The signed provenance manifest does not verify with {organisation.name}'s "
                "published key: ask an administrator to check the organisation's keys "
                "(SYNTHGOV_ORG_KEYS_DIR).",
            )
        )
    else:
        conditions.append(Condition(label, True))
    return conditions


def publication_refusals(version: DatasetVersion, *, rehash: bool = True) -> list[str]:
    """Every reason ``version`` cannot be published openly, each saying what to do;
    empty when it may be (``publication_checklist`` for ``rehash``)."""
    advice = [c.advice for c in publication_checklist(version, rehash=rehash) if not c.met]
    return list(dict.fromkeys(advice))  # unreadable keys fail two conditions, said once


def _locked(version: DatasetVersion) -> DatasetVersion:
    return (
        DatasetVersion.objects.select_for_update()
        .select_related("dataset__organisation")
        .get(pk=version.pk)
    )


def _check_may_change(user: Any, version: DatasetVersion) -> None:
    organisation = version.dataset.organisation
    if not user_has_perm(user, DATASET_CHANGE, organisation=organisation):
        raise PublicationForbidden(
            f"Only those who may change {organisation.name}'s datasets (its curators) may "
            f"publish or withdraw {version}."
        )


def version_publish(*, version: DatasetVersion, user: Any) -> DatasetVersion:
    """Publish ``version`` openly. ValidationError with every refusal; PublicationConflict
    when it is published already. The stored file is hashed first (outside the lock),
    then everything is checked again with the version's row locked, so two requests at
    once publish it once."""
    _check_may_change(user, version)
    reasons = publication_refusals(version, rehash=True)
    with transaction.atomic():
        locked = _locked(version)
        if locked.published_at is not None:
            raise PublicationConflict(
                f"{locked} is already published openly (since "
                f"{locked.published_at:%Y-%m-%d %H:%M} UTC); nothing changed."
            )
        if not reasons:
            reasons = publication_refusals(locked, rehash=False)
        if reasons:
            raise ValidationError(reasons)
        locked.published_at, locked.published_by = timezone.now(), user
        locked.save(update_fields=["published_at", "published_by"])
        trail_record(
            actor=user,
            action="registry.version.published",
            target=locked,
            organisation=locked.dataset.organisation,
            payload={
                "sha256": locked.sha256,
                "watermark_key_id": locked.watermark_key_id,
                "page": public_path(locked),
            },
        )
        # A standard may require (or forbid) open publication: evaluate now, in the
        # same transaction, so the version is never published with stale compliance.
        evaluations_recompute_for_version(dataset_version=locked)
    return locked


def version_withdraw(*, version: DatasetVersion, user: Any) -> DatasetVersion:
    """Withdraw ``version`` from open publication: its public page and download answer
    404 again. PublicationConflict when it is not published. Copies already
    downloaded stay out there: the watermark and manifest keep naming their origin."""
    _check_may_change(user, version)
    with transaction.atomic():
        locked = _locked(version)
        if locked.published_at is None:
            raise PublicationConflict(f"{locked} is not published openly; nothing changed.")
        since = locked.published_at
        locked.published_at, locked.published_by = None, None
        locked.save(update_fields=["published_at", "published_by"])
        trail_record(
            actor=user,
            action="registry.version.withdrawn",
            target=locked,
            organisation=locked.dataset.organisation,
            payload={"sha256": locked.sha256, "published_at": since.isoformat()},
        )
        evaluations_recompute_for_version(dataset_version=locked)
    return locked
