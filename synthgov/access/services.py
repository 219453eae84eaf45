"""Changes to organisations, memberships, users' access and sign-in, each
written to the trail with what it was and what it became, in the transaction
that makes it. The Django admin saves through these too (``admin.py``), so a
grant made there leaves the same trace as one made in code (issue 11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from synthgov.accounts.models import Jurisdiction, Membership, Organisation
from synthgov.trail.models import Event
from synthgov.trail.services import trail_record


def membership_grant(*, user: Any, organisation: Organisation, role: str, by: Any) -> Membership:
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, organisation=organisation, role=role
        )
        if created:
            trail_record(
                actor=by,
                action="accounts.role.granted",
                target=membership,
                organisation=organisation,
                payload={"user": user.get_username(), "role": role},
            )
    return membership


def membership_revoke(*, membership: Membership, by: Any) -> None:
    with transaction.atomic():
        trail_record(
            actor=by,
            action="accounts.role.revoked",
            target=membership,
            organisation=membership.organisation,
            payload={"user": membership.user.get_username(), "role": membership.role},
        )
        membership.delete()


def membership_change(
    *,
    membership: Membership,
    role: str,
    organisation: Organisation,
    by: Any,
    user: Any = None,
) -> Membership:
    """Change a membership's role, organisation or user (``None``: unchanged),
    recording what it was; nothing is recorded when nothing changed."""
    with transaction.atomic():
        before = (
            Membership.objects.select_for_update()
            .select_related("organisation", "user")
            .get(pk=membership.pk)
        )
        membership.role = role
        membership.organisation = organisation
        membership.user = user if user is not None else before.user
        was = {
            "user": before.user.get_username(),
            "role": before.role,
            "organisation": before.organisation.slug,
        }
        now = {
            "user": membership.user.get_username(),
            "role": role,
            "organisation": organisation.slug,
        }
        if was == now:
            return membership
        membership.save()
        trail_record(
            actor=by,
            action="accounts.role.changed",
            target=membership,
            organisation=organisation,
            payload={"user": now["user"], "from": was, "to": now},
        )
        if before.organisation_id != organisation.pk:
            # The organisation that lost the member sees it in its own trail too.
            trail_record(
                actor=by,
                action="accounts.role.changed",
                target=membership,
                organisation=before.organisation,
                payload={"user": now["user"], "from": was, "to": now},
            )
    return membership


def login_record(*, user: Any, ip: str | None) -> None:
    trail_record(
        actor=user,
        action="accounts.login.succeeded",
        target=user,
        organisation=_first_organisation(user),
        payload={"ip": ip or ""},
    )


LOCKOUT_ACTION = "accounts.login.locked_out"
LOCKOUTS_SUPPRESSED_ACTION = "accounts.login.lockouts_suppressed"


def login_lockout_record(
    *, username: str, ip: str | None, failures: int, until: datetime
) -> Event | None:
    """Record that a username+address pair was locked out, once per cool-off.

    Failed sign-ins below the limit are counted by django-axes, not written to
    the trail, so a script cannot grow the trail one row per guess. Each pair
    is recorded once per cool-off window, and at most
    SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW pairs per window (then one
    ``lockouts_suppressed`` entry): the trail grows by a bounded number of
    rows per window whatever an attacker sends. Returns the event written, if any.
    """
    username = username[:150]  # as typed: it may be anything
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    recent = Event.objects.filter(created__gte=since)
    lockouts = recent.filter(action=LOCKOUT_ACTION)
    if lockouts.filter(payload__username=username, payload__ip=ip or "").exists():
        return None
    if lockouts.count() >= settings.SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW:
        if recent.filter(action=LOCKOUTS_SUPPRESSED_ACTION).exists():
            return None
        return trail_record(
            actor=None,
            actor_label="anonymous",
            action=LOCKOUTS_SUPPRESSED_ACTION,
            payload={
                "limit": settings.SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW,
                "until": (timezone.now() + settings.AXES_COOLOFF_TIME).isoformat(),
            },
        )
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    return trail_record(
        actor=None,
        actor_label="anonymous",
        action=LOCKOUT_ACTION,
        # The victim's organisation sees that someone is guessing its member's password.
        target=user,
        organisation=_first_organisation(user) if user is not None else None,
        payload={
            "username": username,
            "ip": ip or "",
            "failures": failures,
            "until": until.isoformat(),
        },
    )


def logout_record(*, user: Any) -> None:
    trail_record(
        actor=user,
        action="accounts.logout",
        target=user,
        organisation=_first_organisation(user),
    )


def _first_organisation(user: Any) -> Organisation | None:
    membership = Membership.objects.filter(user=user).select_related("organisation").first()
    return membership.organisation if membership else None


# --- Users' access, groups and organisations ------------------------------

# Fields of a user that decide what they may do or how they sign in.
USER_ACCESS_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser")
ORGANISATION_FIELDS = ("name", "slug", "kind")


def _perm_names(permissions: Iterable[Permission]) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


def _user_fields(user: Any) -> dict[str, Any]:
    return {name: getattr(user, name) for name in USER_ACCESS_FIELDS}


def _user_grants(user: Any) -> dict[str, list[str]]:
    if user.pk is None:
        return {"groups": [], "permissions": []}
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": _perm_names(user.user_permissions.select_related("content_type")),
    }


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _added_removed(before: dict[str, list], after: dict[str, list]) -> tuple[dict, dict]:
    added = {k: sorted(set(after[k]) - set(before[k])) for k in after}
    removed = {k: sorted(set(before[k]) - set(after[k])) for k in after}
    return added, removed


def _home_organisation(user: Any) -> Organisation | None:
    """The organisation whose trail shows a change to ``user``: their first."""
    return _first_organisation(user)


def user_save(
    *,
    user: Any,
    by: Any,
    groups: Iterable[Group] | None = None,
    permissions: Iterable[Permission] | None = None,
) -> Any:
    """Save ``user`` (new or changed) and, when given, set their groups and
    permissions; record the access-relevant differences (nothing when none)."""
    with transaction.atomic():
        creating = user.pk is None
        stored = None if creating else get_user_model().objects.get(pk=user.pk)
        before_fields = _user_fields(stored) if stored is not None else {}
        before_grants = _user_grants(user)
        user.save()
        if groups is not None:
            user.groups.set(groups)
        if permissions is not None:
            user.user_permissions.set(permissions)
        after_fields, after_grants = _user_fields(user), _user_grants(user)
        was, now = _changed(before_fields, after_fields)
        added, removed = _added_removed(before_grants, after_grants)
        if creating or was or now or any(added.values()) or any(removed.values()):
            trail_record(
                actor=by,
                action="accounts.user.created" if creating else "accounts.user.changed",
                target=user,
                organisation=_home_organisation(user),
                payload={
                    "user": user.get_username(),
                    "from": was,
                    "to": now,
                    "added": added,
                    "removed": removed,
                },
            )
    return user


def user_delete(*, user: Any, by: Any) -> None:
    """Delete a user, recording each role it removes and what the user could do."""
    with transaction.atomic():
        organisation = _home_organisation(user)
        for membership in Membership.objects.filter(user=user).select_related("organisation"):
            membership_revoke(membership=membership, by=by)
        trail_record(
            actor=by,
            action="accounts.user.deleted",
            target=user,
            organisation=organisation,
            payload={
                "user": user.get_username(),
                "from": {**_user_fields(user), **_user_grants(user)},
            },
        )
        user.delete()


def user_password_set_record(*, user: Any, by: Any) -> None:
    """Record that ``by`` set ``user``'s password (never the password itself);
    call it in the transaction that sets it."""
    trail_record(
        actor=by,
        action="accounts.user.password_set",
        target=user,
        organisation=_home_organisation(user),
        payload={"user": user.get_username(), "usable": user.has_usable_password()},
    )


def group_save(*, group: Group, by: Any, permissions: Iterable[Permission] | None) -> Group:
    """Save a group and its permissions (every member holds them); record changes."""
    with transaction.atomic():
        creating = group.pk is None
        old_name = "" if creating else Group.objects.get(pk=group.pk).name
        before = [] if creating else _perm_names(group.permissions.select_related("content_type"))
        group.save()
        if permissions is not None:
            group.permissions.set(permissions)
        after = _perm_names(group.permissions.select_related("content_type"))
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        if creating or added or removed or old_name != group.name:
            trail_record(
                actor=by,
                action="accounts.group.changed",
                target=group,
                payload={
                    "group": group.name,
                    "from": {"name": old_name} if old_name != group.name else {},
                    "added": added,
                    "removed": removed,
                    "members": sorted(group.user_set.values_list("username", flat=True)),
                },
            )
    return group


def group_delete(*, group: Group, by: Any) -> None:
    with transaction.atomic():
        trail_record(
            actor=by,
            action="accounts.group.deleted",
            target=group,
            payload={
                "group": group.name,
                "permissions": _perm_names(group.permissions.select_related("content_type")),
                "members": sorted(group.user_set.values_list("username", flat=True)),
            },
        )
        group.delete()


def _organisation_state(organisation: Organisation) -> dict[str, Any]:
    def codes(jurisdictions: Any) -> list[str]:
        return sorted(jurisdictions.values_list("code", flat=True))

    state = {name: getattr(organisation, name) for name in ORGANISATION_FIELDS}
    if organisation.pk is not None:
        state["jurisdictions"] = codes(organisation.jurisdictions)
        state["covered_jurisdictions"] = codes(organisation.covered_jurisdictions)
    return state


def organisation_save(
    *,
    organisation: Organisation,
    by: Any,
    jurisdictions: Iterable[Jurisdiction] | None = None,
    covered_jurisdictions: Iterable[Jurisdiction] | None = None,
) -> Organisation:
    """Save an organisation and, when given, where it is established and what it
    covers as a regulator (both decide whose data a regulator reaches); record
    the differences (nothing when none)."""
    with transaction.atomic():
        creating = organisation.pk is None
        before = (
            {} if creating else _organisation_state(Organisation.objects.get(pk=organisation.pk))
        )
        organisation.save()
        if jurisdictions is not None:
            organisation.jurisdictions.set(jurisdictions)
        if covered_jurisdictions is not None:
            organisation.covered_jurisdictions.set(covered_jurisdictions)
        was, now = _changed(before, _organisation_state(organisation))
        if creating or was or now:
            trail_record(
                actor=by,
                action="accounts.organisation.created"
                if creating
                else "accounts.organisation.changed",
                target=organisation,
                organisation=organisation,
                payload={"from": was, "to": now},
            )
    return organisation


def organisation_delete(*, organisation: Organisation, by: Any) -> None:
    """Delete an organisation, recording each role that goes with it."""
    with transaction.atomic():
        for membership in organisation.memberships.select_related("user"):
            membership_revoke(membership=membership, by=by)
        trail_record(
            actor=by,
            action="accounts.organisation.deleted",
            target=organisation,
            organisation=organisation,
            payload={"from": _organisation_state(organisation)},
        )
        organisation.delete()
