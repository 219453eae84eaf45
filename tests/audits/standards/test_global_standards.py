"""Who may publish a global standard (one that applies to every organisation's
datasets): not a national regulator, whose standards stay local to the
jurisdictions they cover; a superuser or someone granted
``audits.publish_global_standard`` in the admin may."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from audits.models import StandardVersion
from audits.standards import engine
from audits.standards import services as standard_services

GLOBAL_YAML = """\
code: EVERYONE
name: A rule for every organisation
version: '1.0'
scope: global
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.99
    severity: blocking
    rationale: Only near-perfect fidelity anywhere.
"""

LOCAL_YAML = GLOBAL_YAML.replace("code: EVERYONE", "code: EU-ONLY").replace(
    "scope: global", "scope: local\nparent: GLOBAL-BASELINE@1.0\njurisdictions: [EU]"
)


@pytest.fixture
def baseline(world):
    """The shipped global baseline, published by a superuser."""
    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    return standard_services.standard_publish(version=draft, user=world.admin_a)


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_national_regulator_cannot_import_a_global_standard_through_the_api(world, baseline):
    response = api(world.regulator).post(
        "/api/v1/standards/import/", {"yaml": GLOBAL_YAML}, format="json"
    )
    assert response.status_code == 403, response.content
    assert "global" in response.json()["detail"]
    assert "audits.publish_global_standard" in response.json()["detail"]
    assert not StandardVersion.objects.filter(standard__code="EVERYONE").exists()
    # A local standard for the jurisdictions they cover is still theirs to import.
    local = api(world.regulator).post(
        "/api/v1/standards/import/", {"yaml": LOCAL_YAML}, format="json"
    )
    assert local.status_code == 201, local.content


def test_a_national_regulator_cannot_import_a_global_standard_on_the_page(world):
    client = Client()
    client.force_login(world.regulator)
    response = client.post("/standards/import/", {"yaml_text": GLOBAL_YAML})
    assert response.status_code == 403
    assert "publish global standards" in response.content.decode()
    assert not StandardVersion.objects.filter(standard__code="EVERYONE").exists()


def test_the_standard_form_offers_global_scope_only_to_those_who_may_publish_it(world):
    regulator = Client()
    regulator.force_login(world.regulator)
    page = regulator.get("/standards/new/").content.decode()
    assert 'value="local"' in page and 'value="global"' not in page
    admin = Client()
    admin.force_login(world.admin_a)  # a superuser
    assert 'value="global"' in admin.get("/standards/new/").content.decode()


def test_a_global_draft_left_by_a_regulator_cannot_be_published_by_them(world):
    # A draft saved before the rule existed (or by a superuser for them).
    spec, problems = engine.parse_yaml(GLOBAL_YAML)
    assert not problems
    draft = standard_services.standard_save_draft(
        spec=spec, user=world.admin_a, owner=world.regulator_org
    )
    response = api(world.regulator).post(f"/api/v1/standards/{draft.pk}/publish/")
    assert response.status_code == 403
    assert "global" in response.json()["detail"]
    draft.refresh_from_db()
    assert not draft.is_published
    page = Client()
    page.force_login(world.regulator)
    detail = page.get(f"/standards/{draft.pk}/").content.decode()
    assert f'/standards/{draft.pk}/publish/"' not in detail
    refused = page.post(f"/standards/{draft.pk}/publish/")
    assert refused.status_code == 403 and "publish global standards" in refused.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


@pytest.mark.parametrize("via", ["user", "group"])
def test_the_permission_granted_in_the_admin_allows_it(world, via):
    from django.contrib.auth.models import Group

    permission = Permission.objects.get(
        content_type__app_label="audits", codename="publish_global_standard"
    )
    if via == "user":
        world.regulator.user_permissions.add(permission)
    else:
        group = Group.objects.create(name="Global standards board")
        group.permissions.add(permission)
        world.regulator.groups.add(group)
    imported = api(world.regulator).post(
        "/api/v1/standards/import/", {"yaml": GLOBAL_YAML}, format="json"
    )
    assert imported.status_code == 201, imported.content
    published = api(world.regulator).post(f"/api/v1/standards/{imported.json()[0]['id']}/publish/")
    assert published.status_code == 200, published.content
    assert published.json()["scope"] == "global"
