"""What an anonymous visitor learns about a certificate.

By number alone (which anyone can guess: numbers are sequential) only that a
certificate with this number exists and whether it is in force. What it
certifies, why it was revoked and the signed file need the verification
token the holder publishes in the certificate's link and QR code. The status
is never "valid" unless the stored file's signature verifies. Revoked and
suspended numbers are published in a signed list that the offline verifier
checks against.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audits.models import Certificate
from registry.models import Dataset
from synthgov.signing.keys import public_keys_from_document
from synthgov.trail.models import Event
from tests.audits.certification import helpers as helpers
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

REPO = Path(__file__).resolve().parents[3]


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def sign(user, evaluation):
    return api(user).post(
        f"/api/v1/evaluations/{evaluation.pk}/signoffs/",
        {"decision": "approve", "comment": "Reviewed.", "password": PASSWORD},
        format="json",
    )


@pytest.fixture
def certified(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    assert sign(world.curator_a, evaluation).status_code == 201
    response = sign(world.regulator, evaluation)
    assert response.status_code == 201, response.json()
    number = response.json()["certificate"]
    # The holder reads their certificate's verification link (the QR code's).
    mine = api(world.curator_a).get(f"/api/v1/certificates/{number}/").json()
    return {**cert_world, "number": number, "link": mine["verify_url"]}


def token_of(link: str) -> str:
    (token,) = parse_qs(urlsplit(link).query)["token"]
    return token


def secrets_of(certified) -> list[str]:
    """What a certificate of a restricted dataset must not tell an enumerator."""
    synthetic = certified["synthetic"]
    return [
        synthetic.dataset.name,
        synthetic.dataset.organisation.name,
        synthetic.sha256,
        certified["evaluation"].evidence_sha256,
        certified["run"].evidence_sha256,
    ]


def test_the_number_alone_says_only_whether_it_is_in_force(certified):
    number = certified["number"]
    public = api()
    body = public.get(f"/api/v1/certificates/{number}/verify/")
    assert body.status_code == 200
    data = body.json()
    assert data["number"] == number and data["status"] == "valid"
    assert data["disclosed"] is False and data["certifies"] is None
    assert "verification token" in data["detail"]
    page = Client().get(f"/certificates/verify/{number}/")
    assert page.status_code == 200 and "exists and is in force" in page.content.decode()
    for secret in secrets_of(certified):
        assert secret not in body.content.decode(), secret
        assert secret not in page.content.decode(), secret
    assert "certificate.json" not in page.content.decode()

    assert Client().get(f"/certificates/verify/{number}/certificate.json").status_code == 404
    assert public.get(f"/api/v1/certificates/{number}/file/").status_code == 404


def test_the_number_with_its_token_shows_the_published_certificate(certified):
    number, link = certified["number"], certified["link"]
    token = token_of(link)
    assert len(token) >= 22  # 128 bits, URL-safe
    assert urlsplit(link).path == f"/certificates/verify/{number}/"

    data = api().get(f"/api/v1/certificates/{number}/verify/", {"token": token}).json()
    assert data["disclosed"] is True and data["status"] == "valid"
    assert data["certifies"]["dataset_version"]["sha256"] == certified["synthetic"].sha256
    page = Client().get(f"{urlsplit(link).path}?{urlsplit(link).query}").content.decode()
    assert "genuine and in force" in page and certified["synthetic"].sha256 in page

    file = Client().get(f"/certificates/verify/{number}/certificate.json", {"token": token})
    assert file.status_code == 200
    assert file.content == Certificate.objects.get().signed_text.encode()
    signed = json.loads(file.content)
    assert signed["certificate"]["verify_url"] == link  # the signed file carries the link
    api_file = api().get(f"/api/v1/certificates/{number}/file/", {"token": token})
    assert api_file.status_code == 200 and api_file.content == file.content


def test_a_wrong_token_discloses_nothing_and_says_so(certified):
    number = certified["number"]
    wrong = token_of(certified["link"])[:-1] + "A"
    wrong = wrong if wrong != token_of(certified["link"]) else wrong[:-1] + "B"
    data = api().get(f"/api/v1/certificates/{number}/verify/", {"token": wrong}).json()
    assert data["disclosed"] is False and data["certifies"] is None
    assert "does not match" in data["detail"] and token_of(certified["link"]) not in str(data)
    page = Client().get(f"/certificates/verify/{number}/", {"token": wrong}).content.decode()
    assert "does not match" in page
    for secret in secrets_of(certified):
        assert secret not in str(data) and secret not in page
    file = Client().get(f"/certificates/verify/{number}/certificate.json", {"token": wrong})
    assert file.status_code == 404


def test_the_lookup_form_takes_the_number_and_the_code(certified):
    number, token = certified["number"], token_of(certified["link"])
    alone = Client().get("/certificates/verify/", {"number": number.lower()})
    assert alone.status_code == 302 and alone["Location"] == f"/certificates/verify/{number}/"
    both = Client().get("/certificates/verify/", {"number": number, "token": token})
    assert both.status_code == 302
    assert both["Location"] == f"/certificates/verify/{number}/?token={token}"


def test_a_revocation_reason_is_shown_only_with_the_token(certified):
    world, number, token = certified["world"], certified["number"], token_of(certified["link"])
    reason = "Data found to include real records of patients."
    revoked = api(world.regulator).post(
        f"/api/v1/certificates/{number}/revoke/",
        {"reason": reason, "password": PASSWORD},
        format="json",
    )
    assert revoked.status_code == 200
    alone = api().get(f"/api/v1/certificates/{number}/verify/").json()
    assert alone["status"] == "revoked" and alone["status_reason"] == ""
    assert reason not in Client().get(f"/certificates/verify/{number}/").content.decode()
    shown = api().get(f"/api/v1/certificates/{number}/verify/", {"token": token}).json()
    assert shown["status"] == "revoked" and shown["status_reason"] == reason
    page = Client().get(f"/certificates/verify/{number}/", {"token": token}).content.decode()
    assert reason in page and "Revoked" in page


@pytest.mark.parametrize("with_token", [False, True])
@pytest.mark.parametrize("duplicate", [False, True])
def test_verify_never_says_valid_when_the_signature_fails(certified, with_token, duplicate):
    number = certified["number"]
    certificate = Certificate.objects.get()
    # Someone with write access to the database extends the expiry in the file,
    # or adds a second expiry that readers keeping the first value would show.
    expires = certificate.expires.isoformat()
    forged = '"expires":"2999-01-01"' + (f',"expires":"{expires}"' if duplicate else "")
    tampered = certificate.signed_text.replace(f'"expires":"{expires}"', forged)
    assert tampered != certificate.signed_text
    Certificate.objects.filter(pk=certificate.pk).update(signed_text=tampered)
    query = {"token": token_of(certified["link"])} if with_token else {}
    data = api().get(f"/api/v1/certificates/{number}/verify/", query).json()
    assert data["signature_valid"] is False
    assert data["status"] == "invalid"
    page = Client().get(f"/certificates/verify/{number}/", query).content.decode()
    assert "does not verify" in page
    assert "genuine and in force" not in page and "exists and is in force" not in page


def test_the_token_is_shown_only_to_the_holder_and_the_issuer(certified):
    world, number, token = certified["world"], certified["number"], token_of(certified["link"])
    # An open dataset's certificate is listed to every signed-in user...
    Dataset.objects.filter(pk=certified["synthetic"].dataset_id).update(access="open")
    listed = api(world.curator_b).get("/api/v1/certificates/").json()["results"]
    assert [c["number"] for c in listed] == [number]
    # ...but its verification token is the holder's to publish.
    assert token not in json.dumps(listed)
    assert listed[0]["verify_url"].endswith(f"/certificates/verify/{number}/")
    other = Client()
    other.force_login(world.curator_b)
    detail = other.get(f"/certificates/{number}/")
    assert detail.status_code == 200 and token not in detail.content.decode()

    for holder in (world.curator_a, world.regulator):
        client = Client()
        client.force_login(holder)
        assert token in client.get(f"/certificates/{number}/").content.decode()
    # Nor in the trail or notifications.
    assert not [e for e in Event.objects.all() if token in json.dumps(e.payload)]
    from audits.models import Notification

    assert not Notification.objects.filter(message__contains=token).exists()
    assert not Notification.objects.filter(link__contains=token).exists()


def test_the_signed_revocation_list_names_revoked_numbers_only(certified):
    from synthgov.signing.revocations import verify_revocation_list

    world, number = certified["world"], certified["number"]
    empty = api().get("/.well-known/synthgov-revocations.json")
    assert empty.status_code == 200 and empty.json()["revocations"]["certificates"] == []
    reason = "The generator memorised records."
    done = api(world.regulator).post(
        f"/api/v1/certificates/{number}/revoke/",
        {"reason": reason, "password": PASSWORD},
        format="json",
    )
    assert done.status_code == 200
    response = api().get("/.well-known/synthgov-revocations.json")
    assert response.status_code == 200
    document = response.json()
    keys = public_keys_from_document(api().get("/.well-known/synthgov-keys.json").json())
    result = verify_revocation_list(document, keys)
    assert result.signature_valid, result.reason
    revoked_at = Certificate.objects.get().status_changed
    assert result.entries == {
        number: {
            "number": number,
            "status": "revoked",
            "since": revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    }
    text = response.content.decode()
    for secret in [*secrets_of(certified), reason, token_of(certified["link"])]:
        assert secret not in text


def run_verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings_that_do_not_exist"}
    return subprocess.run(
        [sys.executable, "-m", "synthgov.verify", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=REPO,
        env=env,
    )


def test_offline_verification_of_a_downloaded_certificate_and_revocation_list(certified, tmp_path):
    world, number, token = certified["world"], certified["number"], token_of(certified["link"])
    public = api()
    cert = tmp_path / f"{number}.json"
    cert.write_bytes(public.get(f"/api/v1/certificates/{number}/file/", {"token": token}).content)
    keys = tmp_path / "keys.json"
    keys.write_bytes(public.get("/.well-known/synthgov-keys.json").content)

    alone = run_verify(cert, "--public-key", keys)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.startswith("VALID signature")
    assert "Revocation not checked" in alone.stdout and "--revocations" in alone.stdout

    before = tmp_path / "before.json"
    before.write_bytes(public.get("/.well-known/synthgov-revocations.json").content)
    checked = run_verify(cert, "--public-key", keys, "--revocations", before)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Not revoked or suspended according to the revocation list" in checked.stdout

    assert (
        api(world.regulator)
        .post(
            f"/api/v1/certificates/{number}/revoke/",
            {"reason": "Memorised records.", "password": PASSWORD},
            format="json",
        )
        .status_code
        == 200
    )
    after = tmp_path / "after.json"
    after.write_bytes(public.get("/.well-known/synthgov-revocations.json").content)
    revoked = run_verify(cert, "--public-key", keys, "--revocations", after)
    assert revoked.returncode == 4, revoked.stdout + revoked.stderr
    assert revoked.stdout.startswith(f"REVOKED: certificate {number} is revoked since ")

    forged = json.loads(after.read_text())
    forged["revocations"]["certificates"] = []  # an attacker hides the revocation
    after.write_text(json.dumps(forged))
    refused = run_verify(cert, "--public-key", keys, "--revocations", after)
    assert refused.returncode == 3
    assert "revocation list" in refused.stderr and "does not verify" in refused.stderr


def test_a_certificate_issued_before_tokens_keeps_verifying_and_gets_one(certified):
    import importlib

    from django.apps import apps

    from synthgov.signing.certificates import (
        certificate_file_bytes,
        parse_certificate_file,
        sign_certificate,
    )
    from synthgov.signing_keys import signing_keyring

    migration = importlib.import_module("audits.migrations.0005_certificate_verify_token")
    number = certified["number"]
    certificate = Certificate.objects.get()
    # As issued before this change: the signed link is the page by number, no token.
    payload = parse_certificate_file(certificate.signed_text)["certificate"]
    payload["verify_url"] = payload["verify_url"].split("?")[0]
    legacy = certificate_file_bytes(sign_certificate(payload, signing_keyring())).decode()
    Certificate.objects.filter(pk=certificate.pk).update(signed_text=legacy, verify_token="")

    migration.give_each_certificate_a_token(apps, None)
    certificate.refresh_from_db()
    assert certificate.signed_text == legacy  # the signed file never changes
    assert len(certificate.verify_token) >= 22

    alone = api().get(f"/api/v1/certificates/{number}/verify/").json()
    assert alone["status"] == "valid" and alone["signature_valid"] is True
    shown = (
        api()
        .get(f"/api/v1/certificates/{number}/verify/", {"token": certificate.verify_token})
        .json()
    )
    assert shown["disclosed"] is True and shown["certifies"] == payload
    # The holder's page offers the new link to share.
    holder = Client()
    holder.force_login(certified["world"].curator_a)
    page = holder.get(f"/certificates/{number}/").content.decode()
    assert f"/certificates/verify/{number}/?token={certificate.verify_token}" in page


def test_a_newer_version_is_mentioned_only_to_the_token_holder(certified):
    """With the token the page names the dataset and its version already, so it
    also says that a newer version exists; by number alone it says nothing more
    than whether the certificate is in force."""
    from tests.registry.conftest import make_version, placements_csv

    world, number, token = certified["world"], certified["number"], token_of(certified["link"])
    path = f"/certificates/verify/{number}/"
    before = Client().get(path, {"token": token}).content.decode()
    assert 'data-testid="certificate-newer-version"' not in before
    alone_before = Client().get(path).content.decode()
    make_version(certified["synthetic"].dataset, world.curator_a, placements_csv(seed=77))
    shown = Client().get(path, {"token": token}).content.decode()
    assert 'data-testid="certificate-newer-version"' in shown
    assert "A newer version of this dataset exists (version 2)" in shown
    assert "covers version 1 only" in shown
    alone = Client().get(path).content.decode()
    assert "newer version" not in alone.lower() and "version 2" not in alone
    # Byte for byte what it was before the new version: nothing more is disclosed.
    assert alone == alone_before
    wrong = Client().get(path, {"token": token[:-1] + ("A" if token[-1] != "A" else "B")})
    assert "newer version" not in wrong.content.decode().lower()
    api_alone = api().get(f"/api/v1/certificates/{number}/verify/").json()
    assert "newer" not in json.dumps(api_alone)
    # The signed-in holder sees it on the certificate's page too.
    holder = Client()
    holder.force_login(world.curator_a)
    detail = holder.get(f"/certificates/{number}/").content.decode()
    assert "A newer version of this dataset exists (version 2)" in detail


def test_the_public_status_uses_the_shared_words_and_colours(certified):
    number = certified["number"]
    page = Client().get(f"/certificates/verify/{number}/").content.decode()
    assert 'class="status status-compliant" data-testid="certificate-status"' in page
    assert ">Valid<" in page
