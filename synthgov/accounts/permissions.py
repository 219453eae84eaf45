"""What each role may do, in one place.

A permission is a namespaced string. A role grants a set of permissions, and
its *reach* says over which organisations' objects: curators, compliance
officers and administrators act within their own organisation; regulators
also within every organisation established in a jurisdiction their
organisation covers. Anything not granted here is denied.

Pages and API endpoints fetch objects through :func:`get_object_for_user`, so
the same rule answers 404 (may not see it) or 403 (may see, may not act).
"""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from synthgov.accounts.models import Membership, Organisation, Role

User = AbstractBaseUser | AnonymousUser

# Registry
DATASET_VIEW = "registry.dataset.view"
DATASET_CHANGE = "registry.dataset.change"
# Audits, standards, sign-off
AUDIT_REQUEST = "audits.audit.request"
STANDARD_EDIT = "audits.standard.edit"
SIGNOFF_PRODUCER = "audits.signoff.producer"
SIGNOFF_REGULATOR = "audits.signoff.regulator"
CERTIFICATE_ISSUE = "audits.certificate.issue"
EVIDENCE_EXPORT = "audits.evidence.export"
# Population profiles: regulators write them for their jurisdictions, curators for their
# datasets (published ones are public statistics: every signed-in user reads them).
POPULATION_PROFILE_EDIT = "audits.population_profile.edit"
# Organisation and trail
TRAIL_VIEW = "trail.event.view"
ORGANISATION_MANAGE = "accounts.organisation.manage"
# Certificates: see the verification token (the link that shows what a
# certificate states) of certificates your organisation holds or issued.
CERTIFICATE_SHARE = "audits.certificate.share"
# A global standard applies to every organisation's datasets, beyond any one
# regulator's jurisdictions, so no organisation role grants this: superusers
# hold it, and users or groups the Django permission of the same name is
# granted to in the admin (the platform's standards board, say).
STANDARD_PUBLISH_GLOBAL = "audits.publish_global_standard"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CURATOR: frozenset(
        {
            DATASET_VIEW,
            DATASET_CHANGE,
            AUDIT_REQUEST,
            SIGNOFF_PRODUCER,
            EVIDENCE_EXPORT,
            CERTIFICATE_SHARE,
            POPULATION_PROFILE_EDIT,
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset(
        {DATASET_VIEW, AUDIT_REQUEST, EVIDENCE_EXPORT, TRAIL_VIEW, CERTIFICATE_SHARE}
    ),
    Role.REGULATOR: frozenset(
        {
            DATASET_VIEW,
            STANDARD_EDIT,
            SIGNOFF_REGULATOR,
            CERTIFICATE_ISSUE,
            EVIDENCE_EXPORT,
            TRAIL_VIEW,
            CERTIFICATE_SHARE,
            POPULATION_PROFILE_EDIT,
        }
    ),
    Role.ADMINISTRATOR: frozenset(
        {DATASET_VIEW, TRAIL_VIEW, ORGANISATION_MANAGE, CERTIFICATE_SHARE}
    ),
}

# Permissions that mean "may see it": the queryset's visible_to() already
# decides them (an open dataset is visible to every signed-in user).
VISIBILITY_PERMS = frozenset({DATASET_VIEW})

# Roles whose permissions reach organisations in the jurisdictions they cover.
JURISDICTION_REACH_ROLES = frozenset({Role.REGULATOR})


class OwnedByOrganisation(Protocol):
    """What :func:`get_object_for_user` needs of an object."""

    @property
    def owning_organisation(self) -> Organisation: ...


def _active(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def roles_for(user: User | None) -> set[str]:
    """Every role the user holds in any organisation."""
    if not _active(user):
        return set()
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def roles_granting(perm: str) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]


def user_has_perm_anywhere(user: User | None, perm: str) -> bool:
    """True when some role of the user grants ``perm`` (for navigation)."""
    return bool(roles_for(user) & set(roles_granting(perm)))


def organisations_where(user: User | None, perm: str) -> QuerySet[Organisation]:
    """Organisations over whose objects the user holds ``perm``."""
    if not _active(user):
        return Organisation.objects.none()
    granting = roles_granting(perm)
    if not granting:
        return Organisation.objects.none()
    memberships = Membership.objects.filter(user=user, role__in=granting)
    reach = Q(id__in=memberships.values("organisation_id"))
    regulator_orgs = memberships.filter(role__in=JURISDICTION_REACH_ROLES).values("organisation_id")
    reach |= Q(jurisdictions__regulators__in=regulator_orgs)
    return Organisation.objects.filter(
        id__in=Organisation.objects.filter(reach).values("id")
    ).order_by("name")


def member_organisations(user: User | None, perm: str) -> QuerySet[Organisation]:
    """Organisations where the user holds, as a member, a role granting ``perm``
    (no jurisdiction reach): whom they act for, e.g. as a standard's maintainer."""
    if not _active(user):
        return Organisation.objects.none()
    memberships = Membership.objects.filter(user=user, role__in=roles_granting(perm))
    return Organisation.objects.filter(id__in=memberships.values("organisation_id")).order_by(
        "name"
    )


def user_has_perm(user: User | None, perm: str, *, organisation: Organisation) -> bool:
    return organisations_where(user, perm).filter(id=organisation.id).exists()


def get_object_for_user(
    *, user: User | None, queryset: QuerySet[Any], perm: str, **lookup: Any
) -> Model:
    """Return the object matching ``lookup`` that ``user`` may act on with ``perm``.

    ``queryset`` must offer ``visible_to(user)``: an object outside it raises
    404 (its existence is not revealed); a visible object on which the user
    lacks ``perm`` raises 403.
    """
    if not _active(user):
        raise Http404
    try:
        obj = queryset.visible_to(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError):
        # A lookup value of the wrong type ("abc" for an id) names nothing either.
        raise Http404 from None
    if perm in VISIBILITY_PERMS:
        return obj
    if not user_has_perm(user, perm, organisation=obj.owning_organisation):
        raise PermissionDenied
    return obj


def user_may_publish_global_standards(user: User | None) -> bool:
    """True for superusers and holders of :data:`STANDARD_PUBLISH_GLOBAL`
    (granted to them or their group in the admin); no role grants it."""
    return _active(user) and user.has_perm(STANDARD_PUBLISH_GLOBAL)


# Roles whose sessions are kept short (settings.SYNTHGOV_PRIVILEGED_SESSION_SECONDS).
PRIVILEGED_ROLES = frozenset({Role.REGULATOR, Role.ADMINISTRATOR})


def is_privileged(user: Any) -> bool:
    """True for staff, superusers, regulators and administrators: the accounts
    whose stolen session would do the most harm."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return Membership.objects.filter(user=user, role__in=PRIVILEGED_ROLES).exists()
