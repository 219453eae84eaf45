"""Writing population profiles: drafts, publication, new versions, CSV/YAML import and
jurisdictions' defaults. Each change writes a trail entry in its transaction.

Who may write: a member of the owning organisation holding a role that grants
``POPULATION_PROFILE_EDIT`` (regulators, for their jurisdictions; curators, for their
datasets). A published version never changes: editing one makes the next version.
Who may set a jurisdiction's default: a regulator of an organisation covering it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audits.models import JurisdictionProfile, PopulationProfile
from audits.populations.content import (
    MAX_NAME_CHARS,
    ContentError,
    ProfileContent,
    parse_csv,
    parse_yaml,
    validate_groupings,
)
from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.accounts.permissions import (
    POPULATION_PROFILE_EDIT,
    STANDARD_EDIT,
    member_organisations,
)
from synthgov.signing.canonical import canonical_json, sha256_hex
from synthgov.trail.services import trail_record

IMPORT_FORMATS = ("csv", "yaml")


class ProfileForbidden(PermissionDenied):
    """The user may not write this profile (403, with the reason)."""


def editor_organisations(user: Any) -> list[Organisation]:
    """Organisations the user writes profiles for."""
    if user is None or not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(Organisation.objects.order_by("name"))
    return list(member_organisations(user, POPULATION_PROFILE_EDIT))


def may_edit(user: Any, profile: PopulationProfile) -> bool:
    return any(org.pk == profile.owner_id for org in editor_organisations(user))


def _check_owner(user: Any, owner: Organisation | None) -> Organisation:
    if owner is None or not any(org.pk == owner.pk for org in editor_organisations(user)):
        raise ProfileForbidden(
            "Only regulators (for their jurisdictions) and curators (for their datasets) "
            "write population profiles, for their own organisation."
        )
    return owner


def content_sha256(profile: PopulationProfile) -> str:
    return sha256_hex(
        canonical_json(
            {
                "name": profile.name,
                "owner": profile.owner.slug,
                "version": profile.number,
                "source": profile.source,
                "source_url": profile.source_url,
                "groupings": profile.groupings,
            }
        )
    )


def _clean(name: str, source: str, source_url: str, groupings: Any) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name, source, source_url = (
        (name or "").strip(),
        (source or "").strip(),
        (source_url or "").strip(),
    )
    if not name or len(name) > MAX_NAME_CHARS:
        errors["name"] = [f"Give the profile a name of 1 to {MAX_NAME_CHARS} characters."]
    if not source or len(source) > 2000:
        errors["source"] = ["Cite the source of the shares (1 to 2,000 characters)."]
    parts = urlsplit(source_url) if len(source_url) <= 500 else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        errors["source_url"] = ["Give the source's address, starting with https:// or http://."]
    try:
        groupings = validate_groupings(groupings)
    except ContentError as exc:
        errors["groupings"] = exc.problems
    if errors:
        raise ValidationError(errors)
    return {"name": name, "source": source, "source_url": source_url, "groupings": groupings}


def profile_save_draft(
    *,
    user: Any,
    owner: Organisation | None,
    name: str,
    source: str,
    source_url: str,
    groupings: Any,
    profile: PopulationProfile | None = None,
) -> PopulationProfile:
    """Create a new draft (the next version of ``owner``'s profile of that name), or
    change the draft ``profile``. A published version is never changed."""
    if profile is not None:
        owner = profile.owner
    owner = _check_owner(user, owner)
    data = _clean(name, source, source_url, groupings)
    with transaction.atomic():
        if profile is not None:
            locked = PopulationProfile.objects.select_for_update().get(pk=profile.pk)
            if locked.is_published:
                raise ValidationError(
                    f"{locked.label} is published and cannot change: make a new version."
                )
            if data["name"] != locked.name:
                raise ValidationError({"name": ["A draft keeps its name; make a new profile."]})
            for key, value in data.items():
                setattr(locked, key, value)
            locked.save()
            action, profile = "audits.population_profile.draft_changed", locked
        else:
            latest = PopulationProfile.objects.filter(owner=owner, name=data["name"]).aggregate(
                n=Max("number")
            )["n"]
            profile = PopulationProfile.objects.create(
                owner=owner, number=(latest or 0) + 1, created_by=user, **data
            )
            action = "audits.population_profile.draft_saved"
        trail_record(
            actor=user,
            action=action,
            target=profile,
            organisation=owner,
            payload={
                "profile": profile.label,
                "attributes": profile.attributes,
                "groups": sum(len(g["groups"]) for g in profile.groupings),
            },
        )
    return profile


def profile_publish(*, profile: PopulationProfile, user: Any) -> PopulationProfile:
    """Publish a draft: from now on it never changes, and audits may use it."""
    _check_owner(user, profile.owner)
    with transaction.atomic():
        locked = PopulationProfile.objects.select_for_update().get(pk=profile.pk)
        if locked.is_published:
            raise ValidationError(f"{locked.label} is already published.")
        _clean(locked.name, locked.source, locked.source_url, locked.groupings)
        locked.status = PopulationProfile.Status.PUBLISHED
        locked.published = timezone.now()
        locked.published_by = user
        locked.content_sha256 = content_sha256(locked)
        locked.save()
        trail_record(
            actor=user,
            action="audits.population_profile.published",
            target=locked,
            organisation=locked.owner,
            payload={"profile": locked.label, "content_sha256": locked.content_sha256},
        )
    return locked


def profile_new_version(*, profile: PopulationProfile, user: Any) -> PopulationProfile:
    """A new draft version holding a copy of ``profile``'s content."""
    return profile_save_draft(
        user=user,
        owner=profile.owner,
        name=profile.name,
        source=profile.source,
        source_url=profile.source_url,
        groupings=profile.groupings,
    )


def parse_import(*, text: str, fmt: str) -> ProfileContent:
    if fmt not in IMPORT_FORMATS:
        raise ValidationError({"format": [f"Choose one of: {', '.join(IMPORT_FORMATS)}."]})
    if "\x00" in text:
        raise ValidationError({"file": ["The file is not text."]})
    try:
        return parse_csv(text) if fmt == "csv" else parse_yaml(text)
    except ContentError as exc:
        raise ValidationError({"file": exc.problems}) from None


def profile_import(
    *,
    text: str,
    fmt: str,
    user: Any,
    owner: Organisation | None,
    name: str = "",
    source: str = "",
    source_url: str = "",
) -> PopulationProfile:
    """Import a profile as a new draft from CSV (shares only: name and source are given
    alongside) or YAML (may hold them; values given alongside take precedence)."""
    _check_owner(user, owner)
    content = parse_import(text=text, fmt=fmt)
    return profile_save_draft(
        user=user,
        owner=owner,
        name=name or content.name,
        source=source or content.source,
        source_url=source_url or content.source_url,
        groupings=content.groupings,
    )


def regulated_jurisdictions(user: Any) -> list[Jurisdiction]:
    """Jurisdictions whose default profile the user may set."""
    if user is None or not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(Jurisdiction.objects.order_by("code"))
    orgs = member_organisations(user, STANDARD_EDIT)
    return list(Jurisdiction.objects.filter(regulators__in=orgs).distinct().order_by("code"))


def jurisdiction_set_default(
    *, jurisdiction: Jurisdiction, profile: PopulationProfile, user: Any
) -> JurisdictionProfile:
    """Make a published profile the jurisdiction's default (replacing any earlier one)."""
    if jurisdiction.pk not in {j.pk for j in regulated_jurisdictions(user)}:
        raise ProfileForbidden(
            f"Only a regulator covering {jurisdiction.code} sets its default profile."
        )
    if not profile.is_published:
        raise ValidationError({"profile": ["Publish the profile before making it a default."]})
    with transaction.atomic():
        row, _ = JurisdictionProfile.objects.update_or_create(
            jurisdiction=jurisdiction, defaults={"profile": profile, "set_by": user}
        )
        trail_record(
            actor=user,
            action="audits.population_profile.jurisdiction_default",
            target=profile,
            organisation=profile.owner,
            payload={"jurisdiction": jurisdiction.code, "profile": profile.label},
        )
    return row
