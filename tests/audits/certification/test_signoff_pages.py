"""What a signer and a revoker see on the pages (issue 13, forms and actions):
each irreversible action states what it does and asks to be confirmed; a refused
sign-off puts its error first, focused, and keeps what was typed but the password;
the status text speaks to the reader; decisions read as done ("Approved by")."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateformat import format as date_format

from audits.models import Certificate, SignOff
from tests.audits.certification import helpers as helpers
from tests.audits.certification.test_certificate_api import certified  # noqa: F401
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def signoff_url(evaluation) -> str:
    return f"/evaluations/{evaluation.pk}/signoff/"


def sign(client, evaluation, **fields):
    body = {"decision": "approve", "comment": "Reviewed.", "password": PASSWORD, "confirm": "on"}
    return client.post(signoff_url(evaluation), {**body, **fields})


def test_signing_states_what_each_decision_does_and_needs_the_tick(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    curator = client_for(world.curator_a)
    page = curator.get(signoff_url(evaluation)).content.decode()
    consequences = page[page.index('data-testid="signoff-consequences"') :]
    assert "passes the evaluation to a regulator" in consequences
    assert "Rejecting closes sign-off" in consequences
    assert 'data-confirm-for="request_changes"' in consequences
    assert 'name="confirm"' in page and "cannot be withdrawn" in page
    assert "js/confirm.js" in page

    unticked = sign(curator, evaluation, confirm="")
    assert unticked.status_code == 400
    assert "Tick the box to confirm; nothing was signed." in unticked.content.decode()
    assert not SignOff.objects.exists()
    assert sign(curator, evaluation).status_code == 302
    assert SignOff.objects.count() == 1

    regulator_page = client_for(world.regulator).get(signoff_url(evaluation)).content.decode()
    assert "Approving issues a signed certificate for Synthetic placements v1" in regulator_page


def test_a_refused_signoff_shows_its_error_first_focused_and_keeps_what_was_typed(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    curator = client_for(world.curator_a)
    refused = sign(
        curator,
        evaluation,
        decision="request_changes",
        comment="Please re-run with the holdout set.",
        password="not my password",
    )
    assert refused.status_code == 400
    page = refused.content.decode()
    summary = re.search(r'<div class="error error-summary"[^>]*>', page)
    assert summary is not None
    assert 'tabindex="-1"' in summary.group(0) and "data-autofocus" in summary.group(0)
    # First thing after the heading: before the sign-off status and the evidence.
    assert page.index("error-summary") < page.index('data-testid="signoff-status"')
    assert page.index("error-summary") < page.index('data-testid="signoff-evidence"')
    assert "not your password" in page[page.index("error-summary") :][:800]
    assert "js/focus.js" in page
    # The decision and comment come back; the password and the tick do not.
    assert re.search(r'<input[^>]*value="request_changes"[^>]*checked', page)
    assert "Please re-run with the holdout set.</textarea>" in page
    assert "not my password" not in page
    confirm = re.search(r'<input[^>]*name="confirm"[^>]*>', page).group(0)
    assert "checked" not in confirm
    assert not SignOff.objects.exists()


def test_a_curator_is_not_told_to_wait_for_themselves(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    for page in (
        client_for(world.curator_a).get(signoff_url(evaluation)).content.decode(),
        client_for(world.curator_a).get(evaluation.get_absolute_url()).content.decode(),
    ):
        assert "Waiting for a curator" not in page
        assert "Your signature comes first" in page
    others = client_for(world.regulator).get(evaluation.get_absolute_url()).content.decode()
    assert "Waiting for a curator of Alpha Synthetics to sign first." in others

    sign(client_for(world.curator_a), evaluation)
    regulator_page = client_for(world.regulator).get(signoff_url(evaluation)).content.decode()
    assert "Your signature as regulator is next" in regulator_page
    assert "Waiting for a regulator" not in regulator_page
    curator_page = client_for(world.curator_a).get(evaluation.get_absolute_url()).content.decode()
    assert "Waiting for a regulator" in curator_page


def test_decisions_read_as_done_with_one_date_format(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    curator = client_for(world.curator_a)
    response = sign(curator, evaluation, decision="request_changes")
    assert response.status_code == 302
    page = curator.get(response["Location"]).content.decode()
    signoff = SignOff.objects.get()
    when = date_format(timezone.localtime(signoff.created), "j M Y, H:i")
    assert f"Changes requested by {world.curator_a.get_full_name()}" in page
    assert when in page
    assert "Request changes by" not in page
    assert "Your decision was recorded: Changes requested." in page


def test_approved_reads_approved_by(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign(client_for(world.curator_a), evaluation)
    page = client_for(world.regulator).get(signoff_url(evaluation)).content.decode()
    assert "Approved by" in page and "Approve by" not in page


def test_the_revoke_form_is_folded_below_the_certificate_and_needs_the_tick(certified):  # noqa: F811
    regulator = client_for(certified["world"].regulator)
    number = certified["number"]
    page = regulator.get(f"/certificates/{number}/").content.decode()
    disclosure = re.search(r"<details[^>]*data-testid=\"revoke-disclosure\"[^>]*>", page).group(0)
    assert " open" not in disclosure
    assert "Revoke this certificate…" in page
    # Below the certificate and its sharing, not straight under the statement.
    assert page.index('data-testid="certificate-qr"') < page.index('data-testid="revoke-form"')
    assert page.index('data-testid="revoke-form"') > page.index("<details")
    assert f"I understand that revoking {number} is final" in page
    assert "js/confirm.js" in page

    url = f"/certificates/{number}/revoke/"
    unticked = regulator.post(url, {"reason": "Memorised records.", "password": PASSWORD})
    assert unticked.status_code == 400
    page = unticked.content.decode()
    assert "Tick the box to confirm; nothing was revoked." in page
    assert re.search(r"<details open[^>]*data-testid=\"revoke-disclosure\"", page)
    assert page.index("error-summary") < page.index('data-testid="certificate-statement"')
    assert Certificate.objects.get().status == "valid"
    done = regulator.post(
        url, {"reason": "Memorised records.", "password": PASSWORD, "confirm": "on"}
    )
    assert done.status_code == 302 and Certificate.objects.get().status == "revoked"


@pytest.mark.parametrize("role", ["curator_a", "regulator"])
def test_the_signoff_page_figures_use_the_shared_format(cert_world, role):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    page = client_for(getattr(world, role)).get(signoff_url(evaluation)).content.decode()
    rows = page[page.index('data-testid="rule-results"') :]
    assert "<td>0.9</td>" in rows  # quality.overall through |figure
    computed = date_format(timezone.localtime(evaluation.computed), "j M Y, H:i")
    assert f"(computed {computed})" in page
