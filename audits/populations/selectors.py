"""Reading population profiles: which one applies to an audit."""

from __future__ import annotations

from typing import Any

from audits.models import JurisdictionProfile, PopulationProfile
from registry.models import DatasetVersion


def visible_profiles(user: Any):
    return PopulationProfile.objects.visible_to(user).select_related("owner")


def usable_in_audits():
    """Profiles an audit may use: published ones only. An audit is shown to everyone who
    may read the audited version, so a draft (readable only by its owner) never enters
    one: its owner publishes it first."""
    return PopulationProfile.objects.published().select_related("owner")


def jurisdiction_default(version: DatasetVersion) -> JurisdictionProfile | None:
    """The default profile of the first jurisdiction (by code) where the version's
    organisation is established that has one."""
    return (
        JurisdictionProfile.objects.filter(
            jurisdiction__in=version.dataset.organisation.jurisdictions.all(),
            profile__status=PopulationProfile.Status.PUBLISHED,
        )
        .select_related("profile__owner", "jurisdiction")
        .order_by("jurisdiction__code")
        .first()
    )


def applicable_profile(
    version: DatasetVersion, chosen: PopulationProfile | None
) -> tuple[PopulationProfile | None, str]:
    """The profile an audit of ``version`` compares with, and how it was chosen (recorded
    in the audit's evidence: a standard's reader sees whether it was the jurisdiction's)."""
    if chosen is not None:
        return chosen, "chosen in the audit request"
    row = jurisdiction_default(version)
    if row is None:
        return None, ""
    return row.profile, f"default of {row.jurisdiction.code}"
