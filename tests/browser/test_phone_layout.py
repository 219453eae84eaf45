"""On a phone (390 px wide) the pages a user opens there — the public verify
page a QR code opens, the dashboard, an evaluation and its sign-off — never
scroll sideways: wide tables scroll inside their own box, and the navigation
folds behind a "Menu" button (static/js/nav.js) that still leaves every link
reachable when script does not run. The same pages are checked at desktop
width, where the menu is always open."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.audits.certification import helpers
from tests.browser.conftest import assert_no_page_scroll, sign_in
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every table in <main> that is wider than its box scrolls inside it, and no
# table reaches past the window's right edge.
TABLES = """() => Array.from(document.querySelectorAll("main table")).map((t) => ({
  testid: t.dataset.testid || t.className,
  right: t.getBoundingClientRect().right,
  wider: t.scrollWidth > t.clientWidth + 1,
  overflowX: getComputedStyle(t).overflowX,
  focusable: t.tabIndex >= 0,
  scrollsInWrapper: !!t.parentElement && t.parentElement.scrollWidth > t.parentElement.clientWidth
    && ["auto", "scroll"].includes(getComputedStyle(t.parentElement).overflowX),
}))"""


def assert_tables_scroll_in_their_box(page: Any) -> int:
    width = page.viewport_size["width"]
    tables = page.evaluate(TABLES)
    for table in tables:
        assert table["right"] <= width + 0.5, (page.url, table)
        if table["wider"]:
            assert table["overflowX"] in ("auto", "scroll") or table["scrollsInWrapper"], table
            # A keyboard user can reach it to scroll it (static/js/wide-tables.js).
            assert table["focusable"] or table["scrollsInWrapper"], table
    return sum(1 for table in tables if table["wider"] or table["scrollsInWrapper"])


def assert_fits(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert_no_page_scroll(page)
    assert_tables_scroll_in_their_box(page)


def test_pages_opened_on_a_phone_do_not_scroll_sideways(sized_page, open_page, cert_world):
    page, world = sized_page, cert_world["world"]
    evaluation = cert_world["evaluation"]
    sign_in(page, "curator_a", PASSWORD)
    expect(page.get_by_test_id("compliance-matrix")).to_be_attached()
    assert_no_page_scroll(page)  # the dashboard, where signing in lands
    assert_tables_scroll_in_their_box(page)
    assert_fits(page, f"/evaluations/{evaluation.pk}/")
    assert_fits(page, f"/evaluations/{evaluation.pk}/signoff/")
    expect(page.get_by_label("Your password")).to_be_visible()

    helpers.api_sign(world.curator_a, evaluation)
    number = helpers.api_sign(world.regulator, evaluation)["certificate"]
    page.goto(f"/certificates/{number}/")
    link = urlsplit(page.get_by_test_id("verify-link").get_attribute("href"))

    visitor = open_page(page.viewport_name)
    assert_fits(visitor, "/certificates/verify/")
    assert_fits(visitor, f"{link.path}?{link.query}")  # what the QR code opens
    expect(visitor.get_by_test_id("verify-verdict")).to_contain_text("genuine and in force")
    statement = visitor.get_by_test_id("certificate-statement")
    expect(statement).to_be_visible()
    assert statement.bounding_box()["width"] <= visitor.viewport_size["width"]


def test_a_wide_table_scrolls_inside_its_box_on_a_phone(open_page, world):
    page = open_page("phone")
    sign_in(page, "curator_a", PASSWORD)
    expect(page.get_by_test_id("current-user")).to_be_attached()
    cells = "".join(f"<td>column-{i}-with-a-long-value</td>" for i in range(12))
    page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
        f'<table class="table" data-testid="wide"><tr>{cells}</tr></table>',
    )
    page.set_viewport_size({"width": 390, "height": 800})  # a resize re-checks the tables
    wide = page.get_by_test_id("wide")
    assert wide.evaluate("t => t.scrollWidth > t.clientWidth")  # wider than the screen...
    expect(wide).to_have_attribute("tabindex", "0")
    assert_no_page_scroll(page)  # ...yet only the table scrolls
    assert assert_tables_scroll_in_their_box(page) >= 1
    before = wide.evaluate("t => t.scrollLeft")
    wide.evaluate("t => t.scrollBy(200, 0)")
    assert wide.evaluate("t => t.scrollLeft") > before


def test_the_page_scroll_check_sees_an_over_wide_page(open_page, world):
    page = open_page("phone")
    page.goto("/certificates/verify/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        '\'<div id="too-wide" style="width: 900px">x</div>\')'
    )
    with pytest.raises(AssertionError, match="too-wide"):
        assert_no_page_scroll(page)


def test_the_menu_folds_on_a_phone_and_opens_with_its_button(open_page, world):
    page = open_page("phone")
    sign_in(page, "curator_a", PASSWORD)
    menu = page.get_by_role("button", name="Menu")
    main_nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(main_nav).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    assert_no_page_scroll(page)

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(main_nav).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_no_page_scroll(page)
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(main_nav).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    main_nav.get_by_role("link", name="Evaluations").click()
    page.wait_for_url("**/evaluations/")
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")


def test_without_script_the_phone_menu_stays_open(open_page, world):
    page = open_page("phone", java_script_enabled=False)
    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name="Menu")).to_have_count(0)  # hidden: not in the tree
    public = page.get_by_role("navigation", name="Public")
    expect(public.get_by_role("link", name="Verify a certificate")).to_be_visible()
    public.get_by_role("link", name="Verify a certificate").click()
    page.wait_for_url("**/certificates/verify/")
    assert_no_page_scroll(page)


def test_on_a_desktop_the_menu_is_always_open(open_page, world):
    page = open_page("desktop")
    sign_in(page, "officer_a", PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator(".menu-toggle")).to_be_hidden()
