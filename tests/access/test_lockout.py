"""Brute force on the sign-in page and on the password re-entry for signing
and revoking: a username+address pair is locked after a few wrong passwords,
the page says when to try again, and the trail grows by one entry per
lockout, not one per attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audits.models import Certificate, SignOff
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.certification import helpers as helpers
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

LOCKED = "accounts.login.locked_out"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def signed_in_as(client):
    response = client.get(reverse("home"))
    return response.status_code == 200


def test_wrong_passwords_lock_the_username_from_that_address(client, world):
    for _ in range(2):
        assert sign_in(client, "curator_a", "guess").status_code == 200
    locked = sign_in(client, "curator_a", "guess")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many wrong passwords" in page
    assert "Try again after" in page and "15 minutes" in page
    assert int(locked["Retry-After"]) > 0
    # Even the right password is refused until the cool-off ends.
    right = sign_in(client, "curator_a", PASSWORD)
    assert right.status_code == 429
    assert not signed_in_as(client)


def test_the_same_username_from_another_address_still_signs_in(client, world):
    for _ in range(3):
        sign_in(client, "curator_a", "guess", address="198.51.100.66")
    response = sign_in(client, "curator_a", PASSWORD, address="203.0.113.7")
    assert response.status_code == 302
    assert signed_in_as(client)


def test_sign_in_works_again_after_the_cool_off(client, world):
    for _ in range(3):
        sign_in(client, "curator_a", "guess")
    assert sign_in(client, "curator_a", PASSWORD).status_code == 429
    # The cool-off has passed: move the recorded attempts back in time.
    from axes.models import AccessAttempt

    earlier = AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=earlier)
    assert sign_in(client, "curator_a", PASSWORD).status_code == 302


def test_failed_sign_ins_leave_one_trail_entry_per_lockout(client, world):
    for _ in range(2):
        sign_in(client, "curator_a", "wrong password")
    assert not Event.objects.filter(action__startswith="accounts.login").exists()
    for _ in range(20):
        sign_in(client, "curator_a", "wrong password")
    event = Event.objects.get(action=LOCKED)
    assert event.payload["username"] == "curator_a"
    assert event.payload["ip"] == "203.0.113.7"
    assert event.payload["failures"] == 3
    assert "wrong password" not in str(event.payload)
    # The victim's organisation sees the lockout in its trail.
    assert event.organisation == world.org_a
    assert not Event.objects.filter(action="accounts.login.failed").exists()
    assert trail_verify().ok


def test_lockout_entries_are_capped_per_window(client, settings, world):
    settings.SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW = 2
    for name in ["alice", "bob", "carol", "dave", "erin"]:
        for _ in range(3):
            sign_in(client, name, "guess")
    assert Event.objects.filter(action=LOCKED).count() == 2
    assert Event.objects.filter(action="accounts.login.lockouts_suppressed").count() == 1


def test_sign_in_page_failures_below_the_limit_still_explain(client, world):
    response = sign_in(client, "curator_a", "wrong password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


# --- Password re-entry for signing and revoking -----------------------------


def test_signoff_password_reentry_counts_toward_the_lockout(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.force_login(world.curator_a)
    url = f"/evaluations/{evaluation.pk}/signoff/"
    body = {"decision": "approve", "comment": "Reviewed.", "confirm": "on"}
    for _ in range(2):
        assert client.post(url, {**body, "password": "guess"}).status_code == 400
    locked = client.post(url, {**body, "password": "guess"})
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    refused = client.post(url, {**body, "password": PASSWORD})
    assert refused.status_code == 429
    assert not SignOff.objects.exists()
    # And the sign-in page from the same address is locked for that user too.
    assert sign_in(Client(), "curator_a", PASSWORD, address="203.0.113.9").status_code == 429


def test_revoke_password_reentry_counts_toward_the_lockout(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    for user in (world.curator_a, world.regulator):
        signer = Client()
        signer.force_login(user)
        url = f"/evaluations/{evaluation.pk}/signoff/"
        body = {"decision": "approve", "comment": "ok", "password": PASSWORD, "confirm": "on"}
        assert signer.post(url, body).status_code == 302
    certificate = Certificate.objects.get()
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.force_login(world.regulator)
    url = f"/certificates/{certificate.number}/revoke/"
    statuses = [
        client.post(url, {"reason": "r", "password": "guess", "confirm": "on"}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
    assert (
        client.post(url, {"reason": "r", "password": PASSWORD, "confirm": "on"}).status_code == 429
    )
    assert Certificate.objects.get().status == "valid"


def test_api_password_reentry_counts_toward_the_lockout(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    api = APIClient(REMOTE_ADDR="203.0.113.9")
    api.force_login(world.curator_a)
    url = f"/api/v1/evaluations/{evaluation.pk}/signoffs/"
    body = {"decision": "approve", "comment": "Reviewed."}
    for _ in range(2):
        wrong = api.post(url, {**body, "password": "guess"}, format="json")
        assert wrong.status_code == 403
    locked = api.post(url, {**body, "password": "guess"}, format="json")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0
    assert api.post(url, {**body, "password": PASSWORD}, format="json").status_code == 429
    assert not SignOff.objects.exists()


def test_api_token_still_authenticates(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world.curator_a)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "curator_a"


def test_behind_a_proxy_the_forwarded_client_address_is_locked(client, settings, world):
    settings.SYNTHGOV_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def via_proxy(forwarded_for, password):
        return client.post(
            reverse("login"),
            {"username": "curator_a", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    # The attacker writes a different left-most address each time; the proxy
    # appends the one it saw, which is what counts.
    for n in range(3):
        via_proxy(f"192.0.2.{n}, 198.51.100.66", "guess")
    assert via_proxy("198.51.100.66", PASSWORD).status_code == 429
    # The colleague behind the same proxy, from their own address, signs in.
    assert via_proxy("203.0.113.7", PASSWORD).status_code == 302


def test_password_change_old_password_counts_toward_the_lockout(client, world):
    client.force_login(world.curator_a)
    url = reverse("password_change")
    body = {
        "new_password1": "a fresh long passphrase 42",
        "new_password2": "a fresh long passphrase 42",
    }
    statuses = [
        client.post(url, {**body, "old_password": "guess"}, REMOTE_ADDR="203.0.113.7").status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    refused = client.post(url, {**body, "old_password": PASSWORD}, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    world.curator_a.refresh_from_db()
    assert world.curator_a.check_password(PASSWORD)
