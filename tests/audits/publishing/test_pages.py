"""The version page's "Publish openly" panel and the publish and withdraw actions."""

from __future__ import annotations

import pytest
from django.test import Client

from audits.publishing import services as publishing
from registry.models import DatasetVersion
from synthgov.trail.models import Event


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def test_the_panel_lists_what_is_missing_before_publishing(world, synthetic):
    page = signed_in(world.curator_a).get(f"/versions/{synthetic.pk}/").content.decode()
    assert 'data-testid="publishing-panel"' in page
    assert 'data-published="no"' in page
    assert "Watermark this version first: Watermark →" in page
    assert 'data-testid="publish-form"' not in page


def test_a_curator_publishes_and_withdraws_from_the_version_page(world, marked):
    client = signed_in(world.curator_a)
    page = client.get(f"/versions/{marked.pk}/").content.decode()
    assert 'data-testid="publish-form"' in page
    assert "Anyone, with no account, will be able to download the file" in page
    assert "js/confirm.js" in page

    unconfirmed = client.post(f"/versions/{marked.pk}/publish/")
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm; nothing was changed." in unconfirmed.content.decode()
    assert not DatasetVersion.objects.get(pk=marked.pk).is_published

    done = client.post(f"/versions/{marked.pk}/publish/", {"confirm": "on"}, follow=True)
    assert done.redirect_chain[-1][0] == f"/versions/{marked.pk}/"
    page = done.content.decode()
    assert "is published openly: anyone can read" in page
    assert f'href="http://testserver/open/versions/{marked.pk}/"' in page
    assert 'data-testid="withdraw-form"' in page
    assert DatasetVersion.objects.get(pk=marked.pk).is_published

    conflict = client.post(f"/versions/{marked.pk}/publish/", {"confirm": "on"})
    assert conflict.status_code == 409
    assert "already published openly" in conflict.content.decode()

    withdrawn = client.post(f"/versions/{marked.pk}/withdraw/", {"confirm": "on"}, follow=True)
    assert "is withdrawn: its public page now answers 404." in withdrawn.content.decode()
    assert not DatasetVersion.objects.get(pk=marked.pk).is_published
    assert client.post(f"/versions/{marked.pk}/withdraw/", {"confirm": "on"}).status_code == 409
    actions = Event.objects.filter(action__startswith="registry.version.").order_by("seq")
    assert list(actions.values_list("action", flat=True))[-2:] == [
        "registry.version.published",
        "registry.version.withdrawn",
    ]


def test_a_refused_publication_lists_every_reason_and_changes_nothing(world, synthetic):
    client = signed_in(world.curator_a)
    assert client.get(f"/versions/{synthetic.pk}/publish/").status_code == 200
    response = client.post(f"/versions/{synthetic.pk}/publish/", {"confirm": "on"})
    assert response.status_code == 400
    assert publishing.NOT_WATERMARKED in response.content.decode().replace("&#x27;", "'")
    assert not DatasetVersion.objects.get(pk=synthetic.pk).is_published


@pytest.mark.parametrize("who", ["officer_a", "admin_a", "regulator"])
def test_readers_who_may_not_change_see_no_panel_and_are_refused(world, marked, who):
    client = signed_in(getattr(world, who))
    page = client.get(f"/versions/{marked.pk}/").content.decode()
    assert 'data-testid="publishing-panel"' not in page
    assert client.post(f"/versions/{marked.pk}/publish/", {"confirm": "on"}).status_code == 403
    assert client.get(f"/versions/{marked.pk}/publish/").status_code == 403
    assert not DatasetVersion.objects.get(pk=marked.pk).is_published


def test_other_organisations_learn_nothing(world, marked):
    client = signed_in(world.curator_b)
    assert client.post(f"/versions/{marked.pk}/publish/", {"confirm": "on"}).status_code == 404
    assert client.post(f"/versions/{marked.pk}/withdraw/", {"confirm": "on"}).status_code == 404
    assert Client().post(f"/versions/{marked.pk}/publish/", {"confirm": "on"}).status_code == 302


def test_the_forms_need_the_csrf_token(world, marked):
    client = signed_in(world.curator_a, enforce_csrf_checks=True)
    assert client.post(f"/versions/{marked.pk}/publish/", {"confirm": "on"}).status_code == 403
    assert not DatasetVersion.objects.get(pk=marked.pk).is_published


def test_withdraw_takes_only_post(world, marked):
    assert signed_in(world.curator_a).get(f"/versions/{marked.pk}/withdraw/").status_code == 405
