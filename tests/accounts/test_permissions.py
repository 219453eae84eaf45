import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from synthgov.accounts import permissions as p
from synthgov.accounts.models import Organisation


class VisibleOrganisations:
    """Organisations as the objects fetched: visible where the user may see data
    (what ``Organisation.objects.visible_to`` answered before issue 12 removed it,
    unused outside this test, to keep accounts.models below accounts.permissions)."""

    model = Organisation

    def visible_to(self, user):
        return p.organisations_where(user, p.DATASET_VIEW)


def fetch(user, perm, org):
    return p.get_object_for_user(user=user, queryset=VisibleOrganisations(), perm=perm, pk=org.pk)


@pytest.mark.parametrize(
    ("who", "perm", "target", "expected"),
    [
        # Curators act on their own organisation only.
        ("curator_a", p.DATASET_CHANGE, "org_a", "ok"),
        ("curator_a", p.DATASET_VIEW, "org_b", 404),
        ("curator_a", p.DATASET_CHANGE, "org_b", 404),
        ("curator_a", p.STANDARD_EDIT, "org_a", 403),
        ("curator_a", p.SIGNOFF_PRODUCER, "org_a", "ok"),
        ("curator_a", p.SIGNOFF_REGULATOR, "org_a", 403),
        # Compliance officers read and request audits, never change datasets.
        ("officer_a", p.DATASET_VIEW, "org_a", "ok"),
        ("officer_a", p.AUDIT_REQUEST, "org_a", "ok"),
        ("officer_a", p.DATASET_CHANGE, "org_a", 403),
        ("officer_a", p.DATASET_VIEW, "org_b", 404),
        # Regulators reach organisations in the jurisdictions they cover.
        ("regulator", p.DATASET_VIEW, "org_a", "ok"),
        ("regulator", p.SIGNOFF_REGULATOR, "org_a", "ok"),
        ("regulator", p.DATASET_CHANGE, "org_a", 403),
        ("regulator", p.DATASET_VIEW, "org_b", 404),
        ("regulator_b", p.DATASET_VIEW, "org_b", "ok"),
        ("regulator_b", p.DATASET_VIEW, "org_a", 404),
        # Administrators manage their organisation, not its data.
        ("admin_a", p.ORGANISATION_MANAGE, "org_a", "ok"),
        ("admin_a", p.DATASET_CHANGE, "org_a", 403),
        ("admin_a", p.ORGANISATION_MANAGE, "org_b", 404),
        # No membership, no access at all.
        ("outsider", p.DATASET_VIEW, "org_a", 404),
    ],
)
def test_get_object_for_user(world, who, perm, target, expected):
    user, org = getattr(world, who), getattr(world, target)
    if expected == "ok":
        assert fetch(user, perm, org) == org
    elif expected == 404:
        with pytest.raises(Http404):
            fetch(user, perm, org)
    else:
        with pytest.raises(PermissionDenied):
            fetch(user, perm, org)


def test_anonymous_and_inactive_users_are_denied(world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        fetch(AnonymousUser(), p.DATASET_VIEW, world.org_a)
    world.curator_a.is_active = False
    world.curator_a.save()
    with pytest.raises(Http404):
        fetch(world.curator_a, p.DATASET_VIEW, world.org_a)


def test_unknown_permission_is_denied(world):
    with pytest.raises(PermissionDenied):
        fetch(world.curator_a, "registry.dataset.obliterate", world.org_a)


def test_every_role_has_a_permission_set():
    from synthgov.accounts.models import Role

    assert set(p.ROLE_PERMISSIONS) == set(Role.values)


def test_organisations_where_reach(world):
    assert list(p.organisations_where(world.regulator, p.DATASET_VIEW)) == [
        world.org_a,
        world.regulator_org,
    ]
    assert list(p.organisations_where(world.curator_b, p.DATASET_CHANGE)) == [world.org_b]
    assert not p.organisations_where(world.outsider, p.DATASET_VIEW).exists()
