"""A curator signs off an evaluation, a regulator signs and issues the
certificate, and a visitor with no account verifies it on the public page."""

import pytest
from playwright.sync_api import expect

from audits.models import Certificate
from tests.audits.certification import helpers as helpers
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

# Fixtures shared by the certificate tests.
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_curator_and_regulator_sign_and_a_visitor_verifies(page, cert_world):
    evaluation = cert_world["evaluation"]

    sign_in(page, "curator_a", PASSWORD)
    waiting = page.get_by_test_id("signoffs-waiting")
    expect(waiting).to_contain_text("Synthetic placements v1")
    waiting.get_by_role("link").first.click()
    expect(page.get_by_test_id("evidence-hash")).to_have_text(evaluation.evidence_sha256)
    expect(page.get_by_test_id("signoff-audits")).to_contain_text(cert_world["run"].evidence_sha256)
    page.get_by_label("Approve").check()
    page.get_by_label("Comment").fill("All rules pass; the audit used the training data.")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Sign off", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("not your password")
    page.get_by_label("Approve").check()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off", exact=True).click()
    expect(page.get_by_test_id("signoff-producer")).to_contain_text("Approve")
    sign_out(page)

    sign_in(page, "regulator", PASSWORD)
    page.get_by_test_id("signoffs-waiting").get_by_role("link").first.click()
    expect(page.get_by_text("You sign as")).to_contain_text("regulator")
    page.get_by_label("Approve").check()
    page.get_by_label("Comment").fill("Evidence checked against the EU requirements.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off", exact=True).click()
    expect(page.get_by_test_id("certificate-status")).to_have_text("Valid")
    number = page.get_by_test_id("certificate-number").inner_text()
    assert number == Certificate.objects.get().number
    expect(page.get_by_test_id("certificate-qr").locator("svg")).to_be_visible()
    code = page.get_by_test_id("verify-token").inner_text()
    assert code == Certificate.objects.get().verify_token
    sign_out(page)

    # A visitor with no account who has only the number learns only its status.
    page.goto("/certificates/verify/")
    page.get_by_label("Certificate number").fill(number)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("verify-verdict")).to_contain_text("exists and is in force")
    expect(page.get_by_test_id("certificate-statement")).not_to_contain_text(
        cert_world["synthetic"].sha256
    )
    expect(page.get_by_test_id("certificate-download")).to_have_count(0)
    # With the code printed in the certificate's link, they see what it certifies.
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Show what it certifies").click()
    expect(page.get_by_test_id("verify-verdict")).to_contain_text("genuine and in force")
    expect(page.get_by_test_id("certificate-signature")).to_contain_text("valid")
    expect(page.get_by_test_id("certificate-statement")).to_contain_text(
        cert_world["synthetic"].sha256
    )
    with page.expect_download() as download:
        page.get_by_test_id("certificate-download").click()
    saved = download.value.path().read_bytes()
    assert saved == Certificate.objects.get().signed_text.encode()
