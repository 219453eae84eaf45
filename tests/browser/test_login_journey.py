import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("who", "role_heading", "sees_trail"),
    [
        ("curator_a", "Curator", False),
        ("officer_a", "Compliance officer", True),
        ("regulator", "Regulator", True),
        ("admin_a", "Administrator", True),
    ],
)
def test_each_role_signs_in_and_sees_its_home(page, world, who, role_heading, sees_trail):
    sign_in(page, who, PASSWORD)
    expect(page.get_by_role("heading", name=role_heading, exact=True)).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text("Test")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(1 if sees_trail else 0)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_a_clear_error(page, world):
    sign_in(page, "curator_a", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def test_administrator_reaches_the_admin_for_roles(page, world):
    sign_in(page, "admin_a", PASSWORD)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Memberships").click()
    expect(page.get_by_role("heading", name="Select membership to change")).to_be_visible()
    expect(page.locator("#result_list")).to_contain_text("curator_a")
