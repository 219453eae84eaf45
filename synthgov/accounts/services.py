"""Changes to organisations, memberships and sign-in, each written to the trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from synthgov.accounts.models import Membership, Organisation
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


def membership_change(*, membership: Membership, role: str, organisation: Organisation, by: Any):
    """Change a membership's role or organisation, recording what it was."""
    before = Membership.objects.select_related("organisation").get(pk=membership.pk)
    with transaction.atomic():
        membership.role = role
        membership.organisation = organisation
        membership.save()
        trail_record(
            actor=by,
            action="accounts.role.changed",
            target=membership,
            organisation=organisation,
            payload={
                "user": membership.user.get_username(),
                "from": {"role": before.role, "organisation": before.organisation.slug},
                "to": {"role": role, "organisation": organisation.slug},
            },
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
