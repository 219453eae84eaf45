"""A curator signs off an evaluation, a regulator signs and issues the
certificate, and a visitor with no account verifies it on the public page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audits.certification import signoffs
from audits.models import Certificate, SignOff
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
    # With JavaScript the "I understand" tick gives way to a dialog stating what approving does.
    expect(page.get_by_label("I understand that my decision is final", exact=False)).to_be_hidden()
    page.get_by_role("button", name="Sign off", exact=True).click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("passes the evaluation to a regulator")
    dialog.get_by_role("button", name="Yes, sign").click()
    # Refused: the error comes first and has the focus; what was typed stays, but the password.
    errors = page.get_by_test_id("signoff-errors")
    expect(errors).to_contain_text("not your password")
    expect(errors).to_be_focused()
    expect(page.get_by_label("Approve")).to_be_checked()
    expect(page.get_by_label("Comment")).to_have_value(
        "All rules pass; the audit used the training data."
    )
    expect(page.get_by_label("Your password")).to_have_value("")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off", exact=True).click()
    dialog.get_by_role("button", name="Cancel").click()  # changing one's mind signs nothing
    expect(dialog).to_be_hidden()
    assert not SignOff.objects.exists()
    page.get_by_role("button", name="Sign off", exact=True).click()
    dialog.get_by_role("button", name="Yes, sign").click()
    expect(page.get_by_test_id("signoff-producer")).to_contain_text("Approved by")
    sign_out(page)

    sign_in(page, "regulator", PASSWORD)
    page.get_by_test_id("signoffs-waiting").get_by_role("link").first.click()
    expect(page.get_by_text("You sign as")).to_contain_text("regulator")
    expect(page.get_by_test_id("signoff-next")).to_contain_text("Your signature as regulator")
    page.get_by_label("Approve").check()
    page.get_by_label("Comment").fill("Evidence checked against the EU requirements.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off", exact=True).click()
    expect(dialog).to_contain_text("Approving issues a signed certificate")
    dialog.get_by_role("button", name="Yes, sign").click()
    expect(page.get_by_test_id("certificate-status")).to_have_text("Valid")
    number = page.get_by_test_id("certificate-number").inner_text()
    assert number == Certificate.objects.get().number
    expect(page.get_by_test_id("certificate-qr").locator("svg")).to_be_visible()
    # The revoke form is not under the certificate just issued: folded, further down.
    expect(page.get_by_test_id("revoke-form")).to_be_hidden()
    expect(page.get_by_text("Revoke this certificate…")).to_be_visible()
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


def page_fits(page) -> None:
    """No horizontal scrolling of the page itself (a wide table scrolls in its box)."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_regulator_revokes_only_after_opening_the_section_and_confirming(
    browser, live_server, cert_world, width
):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    for user in (world.curator_a, world.regulator):
        signoffs.signoff_record(
            evaluation=evaluation,
            user=user,
            decision="approve",
            comment="Reviewed.",
            reauthenticated_at=timezone.now(),
        )
    number = Certificate.objects.get().number
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "regulator", PASSWORD)
        page.goto(f"/evaluations/{evaluation.pk}/signoff/")
        page_fits(page)
        page.goto(f"/certificates/{number}/")
        page_fits(page)
        form = page.get_by_test_id("revoke-form")
        expect(form).to_be_hidden()
        page.get_by_text("Revoke this certificate…").click()
        expect(form).to_be_visible()
        page_fits(page)
        form.get_by_role("textbox", name="Reason").fill("The generator memorised training records.")
        form.get_by_label("Your password").fill(PASSWORD)
        form.get_by_role("button", name="Revoke certificate").click()
        dialog = page.get_by_test_id("confirm-dialog")
        expect(dialog).to_contain_text(f"Revoke {number}? This is final")
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        dialog.get_by_role("button", name="Cancel").click()
        assert Certificate.objects.get().status == "valid"
        form.get_by_role("button", name="Revoke certificate").click()
        dialog.get_by_role("button", name=f"Yes, revoke {number}").click()
        expect(page.get_by_test_id("certificate-status")).to_have_text("Revoked")
        assert Certificate.objects.get().status == "revoked"
    finally:
        context.close()


def test_without_javascript_the_tick_confirms(browser, live_server, cert_world):
    evaluation = cert_world["evaluation"]
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "curator_a", PASSWORD)
        page.goto(f"/evaluations/{evaluation.pk}/signoff/")
        page.get_by_label("Request changes").check()
        page.get_by_label("Comment").fill("Please add the holdout audit.")
        page.get_by_label("Your password").fill(PASSWORD)
        tick = page.get_by_label("I understand that my decision is final", exact=False)
        expect(tick).to_be_visible()
        page.get_by_role("button", name="Sign off", exact=True).click()
        # The browser itself refuses an unticked required box; nothing was sent.
        assert (
            page.evaluate("document.querySelector('input[name=confirm]').validity.valid") is False
        )
        assert not SignOff.objects.exists()
        tick.check()
        page.get_by_role("button", name="Sign off", exact=True).click()
        expect(page.get_by_test_id("signoff-producer")).to_contain_text("Changes requested by")
    finally:
        context.close()
