"""Granting access leaves a trace (issue 11, item 4): changes of users' flags,
groups and permissions, memberships and roles, and organisations' covered
jurisdictions write trail entries — through the Django admin as a superuser
would make them, and through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from synthgov.accounts.models import Jurisdiction, Membership, Role
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify

User = get_user_model()


def _field_data(form: Any, prefix_name: str | None = None) -> dict[str, Any]:
    """What a browser would post back for ``form`` unchanged."""
    data: dict[str, Any] = {}
    for bound in form:
        name = bound.html_name
        value = bound.value()
        widget = bound.field.widget
        if hasattr(widget, "widgets") and hasattr(widget, "decompress"):
            parts = value if isinstance(value, list) else widget.decompress(value)
            for i, part in enumerate(parts):
                data[f"{name}_{i}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        elif value is not None:
            data[name] = str(getattr(value, "pk", value))
    return data


def admin_form(client, url: str) -> dict[str, Any]:
    """The admin change form at ``url`` as it would be posted unchanged,
    inlines included."""
    response = client.get(url)
    assert response.status_code == 200
    data = _field_data(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(_field_data(formset.management_form))
        for form in formset.forms:
            data.update(_field_data(form))
    return data


def actions() -> list[str]:
    return list(Event.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin_a)
    return client


def test_superuser_and_staff_flags_set_in_admin_are_recorded(admin_client, world):
    url = reverse("admin:auth_user_change", args=[world.outsider.pk])
    data = admin_form(admin_client, url)
    data.update(is_staff="on", is_superuser="on")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = Event.objects.get(action="accounts.user.changed")
    assert event.actor == world.admin_a
    assert event.object_id == str(world.outsider.pk)
    assert event.payload["user"] == "outsider"
    assert event.payload["from"] == {"is_staff": False, "is_superuser": False}
    assert event.payload["to"] == {"is_staff": True, "is_superuser": True}
    assert trail_verify().ok


def test_deactivating_a_user_in_admin_is_recorded(admin_client, world):
    url = reverse("admin:auth_user_change", args=[world.curator_a.pk])
    data = admin_form(admin_client, url)
    del data["is_active"]
    assert admin_client.post(url, data).status_code == 302
    event = Event.objects.get(action="accounts.user.changed")
    assert event.payload["from"] == {"is_active": True}
    assert event.payload["to"] == {"is_active": False}
    # The user's organisation is named, so its compliance officers see the entry.
    assert event.organisation == world.org_a


def test_saving_a_user_unchanged_in_admin_records_nothing(admin_client, world):
    url = reverse("admin:auth_user_change", args=[world.curator_a.pk])
    assert admin_client.post(url, admin_form(admin_client, url)).status_code == 302
    assert actions() == []


def test_groups_and_permissions_given_in_admin_are_recorded(admin_client, world):
    group = Group.objects.create(name="Membership editors")
    perm = Permission.objects.get(codename="change_membership")
    url = reverse("admin:auth_user_change", args=[world.outsider.pk])
    data = admin_form(admin_client, url)
    data.update(groups=[str(group.pk)], user_permissions=[str(perm.pk)])
    assert admin_client.post(url, data).status_code == 302
    event = Event.objects.get(action="accounts.user.changed")
    assert event.payload["added"] == {
        "groups": ["Membership editors"],
        "permissions": ["accounts.change_membership"],
    }
    assert event.payload["removed"] == {"groups": [], "permissions": []}

    data = admin_form(admin_client, url)
    data.update(groups=[], user_permissions=[])
    assert admin_client.post(url, data).status_code == 302
    taken = Event.objects.filter(action="accounts.user.changed").order_by("-seq").first()
    assert taken.payload["removed"] == {
        "groups": ["Membership editors"],
        "permissions": ["accounts.change_membership"],
    }


def test_user_created_and_deleted_in_admin_are_recorded(admin_client, world):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newcomer",
            "password1": "a long enough passphrase 1",
            "password2": "a long enough passphrase 1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    created = Event.objects.get(action="accounts.user.created")
    assert created.payload["user"] == "newcomer"
    assert created.actor == world.admin_a
    response = admin_client.post(
        reverse("admin:auth_user_delete", args=[newcomer.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert Event.objects.get(action="accounts.user.deleted").payload["user"] == "newcomer"


def test_deleting_a_user_in_admin_records_the_roles_it_removes(admin_client, world):
    response = admin_client.post(
        reverse("admin:auth_user_delete", args=[world.curator_b.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert actions() == ["accounts.role.revoked", "accounts.user.deleted"]
    assert trail_verify().ok


def test_password_set_by_an_administrator_is_recorded(admin_client, world):
    url = reverse("admin:auth_user_password_change", args=[world.curator_b.pk])
    response = admin_client.post(
        url,
        {
            "password1": "another long passphrase 2",
            "password2": "another long passphrase 2",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    event = Event.objects.get(action="accounts.user.password_set")
    assert event.actor == world.admin_a
    assert event.payload == {"user": "curator_b", "usable": True}


def test_group_permissions_changed_in_admin_are_recorded(admin_client, world):
    perm = Permission.objects.get(codename="change_organisation")
    response = admin_client.post(
        reverse("admin:auth_group_add"), {"name": "Org editors", "permissions": [perm.pk]}
    )
    assert response.status_code == 302
    event = Event.objects.get(action="accounts.group.changed")
    assert event.payload["added"] == ["accounts.change_organisation"]
    group = Group.objects.get(name="Org editors")
    response = admin_client.post(
        reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert Event.objects.get(action="accounts.group.deleted").payload["group"] == "Org editors"


def test_covered_jurisdictions_changed_in_admin_are_recorded(admin_client, world):
    uk = Jurisdiction.objects.get(code="UK")
    url = reverse("admin:accounts_organisation_change", args=[world.regulator_org.pk])
    data = admin_form(admin_client, url)
    data["covered_jurisdictions"] = [str(j.pk) for j in Jurisdiction.objects.all()]
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = Event.objects.get(action="accounts.organisation.changed")
    assert event.organisation == world.regulator_org
    assert event.actor == world.admin_a
    assert event.payload["from"] == {"covered_jurisdictions": ["EU"]}
    assert event.payload["to"] == {"covered_jurisdictions": ["EU", "UK"]}
    assert set(world.regulator_org.covered_jurisdictions.all()) == set(Jurisdiction.objects.all())
    assert uk in world.regulator_org.covered_jurisdictions.all()


def test_established_jurisdictions_changed_in_admin_are_recorded(admin_client, world):
    """Where an organisation is established decides which regulators reach it."""
    url = reverse("admin:accounts_organisation_change", args=[world.org_b.pk])
    data = admin_form(admin_client, url)
    data["jurisdictions"] = [str(Jurisdiction.objects.get(code="EU").pk)]
    assert admin_client.post(url, data).status_code == 302
    event = Event.objects.get(action="accounts.organisation.changed")
    assert event.payload["from"] == {"jurisdictions": ["UK"]}
    assert event.payload["to"] == {"jurisdictions": ["EU"]}


def test_organisation_created_in_admin_is_recorded(admin_client, world):
    eu = Jurisdiction.objects.get(code="EU")
    response = admin_client.post(
        reverse("admin:accounts_organisation_add"),
        {
            "name": "New Regulator",
            "slug": "new-reg",
            "kind": "regulator",
            "jurisdictions": [eu.pk],
            "covered_jurisdictions": [eu.pk],
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": world.outsider.pk,
            "memberships-0-role": Role.REGULATOR,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert actions() == ["accounts.organisation.created", "accounts.role.granted"]
    created = Event.objects.get(action="accounts.organisation.created")
    assert created.payload["to"]["covered_jurisdictions"] == ["EU"]
    assert created.payload["to"]["kind"] == "regulator"


def test_membership_moved_to_another_user_in_admin_is_recorded(admin_client, world):
    membership = Membership.objects.get(user=world.curator_a)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    data = admin_form(admin_client, url)
    data["user"] = str(world.outsider.pk)
    assert admin_client.post(url, data).status_code == 302
    event = Event.objects.get(action="accounts.role.changed")
    assert event.payload["from"]["user"] == "curator_a"
    assert event.payload["to"]["user"] == "outsider"


def test_membership_role_changed_in_the_organisation_inline_is_recorded(admin_client, world):
    url = reverse("admin:accounts_organisation_change", args=[world.org_a.pk])
    data = admin_form(admin_client, url)
    officer = Membership.objects.get(user=world.officer_a)
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-id") and value == str(officer.pk)
    )
    data[f"memberships-{index}-role"] = Role.ADMINISTRATOR
    assert admin_client.post(url, data).status_code == 302
    assert actions() == ["accounts.role.changed"]
    event = Event.objects.get(action="accounts.role.changed")
    assert event.payload["from"]["role"] == "compliance_officer"
    assert event.payload["to"]["role"] == "administrator"


def test_bulk_deleted_memberships_in_admin_are_recorded(admin_client, world):
    ids = list(Membership.objects.filter(organisation=world.org_a).values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert actions() == ["accounts.role.revoked"] * len(ids)


def test_deleting_an_organisation_in_admin_records_the_roles_it_removes(admin_client, world):
    response = admin_client.post(
        reverse("admin:accounts_organisation_delete", args=[world.regulator_org_b.pk]),
        {"post": "yes"},
    )
    assert response.status_code == 302
    assert actions() == ["accounts.role.revoked", "accounts.organisation.deleted"]
    assert Event.objects.get(action="accounts.organisation.deleted").payload["from"][
        "covered_jurisdictions"
    ] == ["UK"]


# --- the same through the services, as code and scripts call them -------------


def test_services_record_flags_and_covered_jurisdictions(world):
    from synthgov.access import services

    uk = Jurisdiction.objects.get(code="UK")
    services.organisation_save(
        organisation=world.regulator_org,
        by=world.admin_a,
        covered_jurisdictions=[*world.regulator_org.covered_jurisdictions.all(), uk],
    )
    world.regulator.is_staff = True
    services.user_save(user=world.regulator, by=world.admin_a)
    services.user_save(user=world.regulator, by=world.admin_a)  # unchanged: nothing
    assert actions() == ["accounts.organisation.changed", "accounts.user.changed"]
    flags = Event.objects.get(action="accounts.user.changed")
    assert (flags.payload["from"], flags.payload["to"]) == ({"is_staff": False}, {"is_staff": True})
    assert flags.organisation == world.regulator_org
    assert trail_verify().ok


def test_membership_moved_between_organisations_shows_in_both_trails(world):
    from synthgov.access import services

    membership = Membership.objects.get(user=world.curator_a)
    services.membership_change(
        membership=membership, role=Role.CURATOR, organisation=world.org_b, by=world.admin_a
    )
    events = Event.objects.filter(action="accounts.role.changed")
    assert {e.organisation for e in events} == {world.org_a, world.org_b}
    assert events.first().payload["from"]["organisation"] == "alpha"
    assert events.first().payload["to"]["organisation"] == "beta"
