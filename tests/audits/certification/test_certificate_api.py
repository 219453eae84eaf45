"""Sign-off and certificates through the API and the pages: the flow, public
verification without login, permissions (404 invisible, 403 forbidden, 409
conflict), fresh login, and no way to edit or delete."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audits.models import Certificate, SignOff
from synthgov.signing.certificates import parse_certificate_file, verify_certificate
from tests.audits.certification import helpers as helpers
from tests.audits.certification.helpers import GOOD, evaluate, record_audit
from tests.factories import PASSWORD

# Fixtures shared by the certificate tests.
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def sign(user, evaluation, decision="approve", comment="Reviewed.", password=PASSWORD):
    return api(user).post(
        f"/api/v1/evaluations/{evaluation.pk}/signoffs/",
        {"decision": decision, "comment": comment, "password": password},
        format="json",
    )


@pytest.fixture
def certified(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    assert sign(world.curator_a, evaluation).status_code == 201
    response = sign(world.regulator, evaluation)
    assert response.status_code == 201, response.json()
    return {**cert_world, "number": response.json()["certificate"]}


def test_api_flow_then_anyone_verifies_without_logging_in(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    first = sign(world.curator_a, evaluation)
    assert first.status_code == 201
    assert first.json()["role"] == "producer" and first.json()["certificate"] is None
    state = api(world.regulator).get(f"/api/v1/evaluations/{evaluation.pk}/signoffs/").json()
    assert state["stage"] == "regulator"
    assert state["evidence_sha256"] == evaluation.evidence_sha256

    second = sign(world.regulator, evaluation)
    assert second.status_code == 201
    number = second.json()["certificate"]
    assert number.startswith("SG-")

    public = api()  # no credentials at all
    token = Certificate.objects.get().verify_token  # from the link the holder shares
    verified = public.get(f"/api/v1/certificates/{number}/verify/", {"token": token})
    assert verified.status_code == 200
    body = verified.json()
    assert body["status"] == "valid" and body["signature_valid"] is True
    assert body["certifies"]["dataset_version"]["sha256"] == cert_world["synthetic"].sha256
    assert body["certifies"]["standard"]["code"] == "CERT-TEST"

    file = public.get(f"/api/v1/certificates/{number}/file/", {"token": token})
    assert file.status_code == 200
    keys = public.get("/.well-known/synthgov-keys.json").json()
    from synthgov.signing.keys import public_keys_from_document

    result = verify_certificate(
        parse_certificate_file(file.content), public_keys_from_document(keys)
    )
    assert result.valid

    listed = api(world.curator_a).get("/api/v1/certificates/").json()
    assert [c["number"] for c in listed["results"]] == [number]
    assert api(world.curator_b).get("/api/v1/certificates/").json()["results"] == []


def test_wrong_password_signs_nothing(cert_world):
    response = sign(cert_world["world"].curator_a, cert_world["evaluation"], password="wrong")
    assert response.status_code == 403
    assert "not your password" in response.json()["detail"]
    assert not SignOff.objects.exists()


def test_permissions_404_403_400_409(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    assert sign(world.curator_b, evaluation).status_code == 404  # cannot see it
    assert api().get(f"/api/v1/evaluations/{evaluation.pk}/signoffs/").status_code == 401
    forbidden = sign(world.regulator, evaluation)  # may see, may not sign first
    assert forbidden.status_code == 403 and "signs first" in forbidden.json()["detail"]
    assert sign(world.curator_a, evaluation, comment="  ").status_code == 400

    bad = record_audit(
        cert_world["synthetic"],
        cert_world["real"],
        world.curator_a,
        {**GOOD, "quality.overall": 0.1},
    )
    failing = evaluate(cert_world["synthetic"], cert_world["standard"])
    refused = sign(world.curator_a, failing)
    assert refused.status_code == 400 and bad.pk
    assert "cannot be approved" in str(refused.json())

    stale = sign(world.curator_a, evaluation)  # replaced by the failing evaluation
    assert stale.status_code == 409
    assert "Newer evidence replaced" in stale.json()["detail"]


def test_the_second_regulator_gets_a_conflict(certified):
    from synthgov.accounts.models import Membership, Role
    from tests.factories import UserFactory

    world = certified["world"]
    other = UserFactory(username="late_regulator")
    Membership.objects.create(user=other, organisation=world.regulator_org, role=Role.REGULATOR)
    response = sign(other, certified["evaluation"])
    assert response.status_code == 409
    assert "certificate was issued" in response.json()["detail"]
    assert Certificate.objects.count() == 1


def test_revoke_through_the_api(certified):
    world, number = certified["world"], certified["number"]
    url = f"/api/v1/certificates/{number}/revoke/"
    body = {"reason": "Data found to include real records.", "password": PASSWORD}
    assert api(world.curator_a).post(url, body, format="json").status_code == 403
    assert api(world.curator_b).post(url, body, format="json").status_code == 404
    wrong = api(world.regulator).post(url, {**body, "password": "nope"}, format="json")
    assert wrong.status_code == 403
    done = api(world.regulator).post(url, body, format="json")
    assert done.status_code == 200 and done.json()["status"] == "revoked"
    assert api(world.regulator).post(url, body, format="json").status_code == 409
    token = Certificate.objects.get().verify_token
    public = api().get(f"/api/v1/certificates/{number}/verify/", {"token": token}).json()
    assert public["status"] == "revoked"
    assert public["status_reason"] == "Data found to include real records."


def test_certificates_and_signoffs_cannot_be_edited_or_deleted(certified):
    world, number = certified["world"], certified["number"]
    admin = api(world.admin_a)
    for method in ("put", "patch", "delete"):
        assert getattr(admin, method)(f"/api/v1/certificates/{number}/").status_code == 405
        response = getattr(admin, method)(
            f"/api/v1/evaluations/{certified['evaluation'].pk}/signoffs/"
        )
        assert response.status_code == 405
    assert api(world.regulator).post("/api/v1/certificates/", {}).status_code == 405

    browser = Client()
    browser.force_login(world.admin_a)  # a superuser
    certificate = Certificate.objects.get()
    signoff = SignOff.objects.first()
    for url in (
        f"/admin/audits/certificate/{certificate.pk}/change/",
        f"/admin/audits/certificate/{certificate.pk}/delete/",
        "/admin/audits/certificate/add/",
        f"/admin/audits/signoff/{signoff.pk}/delete/",
        "/admin/audits/signoff/add/",
    ):
        response = browser.post(url, {"number": "SG-1999-000001", "comment": "edited"})
        assert response.status_code == 403, url
    assert browser.get(f"/admin/audits/certificate/{certificate.pk}/change/").status_code == 200
    certificate.refresh_from_db()
    assert certificate.number == number and SignOff.objects.count() == 2


def test_public_pages_need_no_login(certified):
    number, public = certified["number"], Client()
    token = Certificate.objects.get().verify_token
    page = public.get(f"/certificates/verify/{number}/", {"token": token})
    assert page.status_code == 200
    text = page.content.decode()
    assert "genuine and in force" in text and certified["synthetic"].sha256 in text
    assert "<svg" in text  # the QR code of the verification link
    assert public.get(f"/certificates/verify/?number={number.lower()}").status_code == 302
    missing = public.get("/certificates/verify/?number=SG-1999-000001")
    assert (
        missing.status_code == 404 and "No certificate SG-1999-000001" in missing.content.decode()
    )
    assert public.get("/certificates/verify/SG-1999-000001/").status_code == 404
    download = public.get(f"/certificates/verify/{number}/certificate.json", {"token": token})
    assert download["Content-Disposition"] == f'attachment; filename="{number}.json"'
    assert download.content == Certificate.objects.get().signed_text.encode()
    assert public.get(f"/certificates/{number}/").status_code == 302  # internal page: login


def test_signoff_page_shows_the_evidence_and_checks_the_password(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    client = Client()
    client.force_login(world.curator_a)
    url = f"/evaluations/{evaluation.pk}/signoff/"
    page = client.get(url).content.decode()
    assert evaluation.evidence_sha256 in page
    assert cert_world["run"].evidence_sha256 in page
    assert "quality.overall" in page and 'data-testid="signoff-form"' in page

    early = Client()
    early.force_login(world.regulator)
    assert "signs first" in early.get(url).content.decode()  # shown instead of the form
    refused = early.post(
        url, {"decision": "approve", "comment": "ok", "password": PASSWORD, "confirm": "on"}
    )
    assert refused.status_code == 403 and "signs first" in refused.content.decode()

    wrong = client.post(
        url, {"decision": "approve", "comment": "ok", "password": "wrong", "confirm": "on"}
    )
    assert wrong.status_code == 400 and "not your password" in wrong.content.decode()
    assert not SignOff.objects.exists()
    done = client.post(
        url, {"decision": "approve", "comment": "ok", "password": PASSWORD, "confirm": "on"}
    )
    assert done.status_code == 302 and SignOff.objects.count() == 1

    outsider = Client()
    outsider.force_login(world.curator_b)
    assert outsider.get(url).status_code == 404
    regulator_b = Client()
    regulator_b.force_login(world.regulator_b)
    assert regulator_b.get(url).status_code == 404  # UK regulator cannot see EU data

    regulator = Client()
    regulator.force_login(world.regulator)
    signed = regulator.post(
        url, {"decision": "approve", "comment": "ok", "password": PASSWORD, "confirm": "on"}
    )
    certificate = Certificate.objects.get()
    assert signed.status_code == 302 and signed["Location"] == certificate.get_absolute_url()
    detail = regulator.get(certificate.get_absolute_url()).content.decode()
    assert 'data-testid="revoke-form"' in detail
    evaluation_page = client.get(evaluation.get_absolute_url()).content.decode()
    assert certificate.number in evaluation_page


def test_revoke_page_refuses_a_wrong_password(certified):
    client = Client()
    client.force_login(certified["world"].regulator)
    url = f"/certificates/{certified['number']}/revoke/"
    wrong = client.post(url, {"reason": "r", "password": "wrong", "confirm": "on"})
    assert wrong.status_code == 400
    assert Certificate.objects.get().status == "valid"
    right = client.post(
        url, {"reason": "Generator memorised records.", "password": PASSWORD, "confirm": "on"}
    )
    assert right.status_code == 302 and Certificate.objects.get().status == "revoked"
    curator = Client()
    curator.force_login(certified["world"].curator_a)
    assert 'data-testid="revoke-form"' not in curator.get(right["Location"]).content.decode()
