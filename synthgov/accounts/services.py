"""Changes to organisations, memberships and sign-in, each written to the trail."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from synthgov.accounts.models import Membership, Organisation
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


def login_failure_record(*, username: str, ip: str | None) -> None:
    # The attempted name is kept as typed, truncated: it may be anything.
    trail_record(
        actor=None,
        actor_label="anonymous",
        action="accounts.login.failed",
        payload={"username": username[:150], "ip": ip or ""},
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
