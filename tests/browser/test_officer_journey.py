"""The issue's journey in a real browser: log in, search, open a person, register a birth, be refused another
township's person, and see it all in the administrator's audit log."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from renkou.registry import idnumbers
from renkou.registry.services import marriage_register
from renkou.testing import PASSWORD, make_household, make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def register(county, personas):
    hh = make_household(county.dc_village1, "50023000100100031", address="东城路12号")
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2), household=hh,
                         relation="10")
    husband = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1993, 6, 9), household=hh,
                          relation="02")
    marriage_register(by=personas.dongcheng, husband=husband, wife=mother, married_on=date(2019, 5, 1))
    stranger = make_person(county.xc_village1, name="李四", sex="1", birth_date=date(1980, 2, 2))
    return mother, husband, stranger


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page.locator(".user-name")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_officer_registers_a_birth_and_the_administrator_sees_it_in_the_audit_log(page, register):
    mother, husband, stranger = register

    log_in(page, "dongcheng")
    expect(page.locator("#area-name")).to_have_text("东城街道")
    expect(page.locator('[data-count="persons"]')).to_have_text("2")

    # Search: the results come through htmx, only this township's people.
    page.get_by_role("link", name="Persons", exact=True).click()
    expect(page.locator("#id_q")).to_be_focused()  # autofocus
    page.locator("#id_q").fill("李")
    page.keyboard.press("Enter")
    results = page.locator("#person-results")
    expect(results.get_by_role("link", name="李梅")).to_be_visible()
    expect(results).not_to_contain_text("李四")
    expect(page).to_have_url(re.compile(r"/persons/\?q=%E6%9D%8E"))

    # Open the person: the ID number is masked.
    results.get_by_role("link", name="李梅").click()
    expect(page.locator("#person-name")).to_contain_text("李梅")
    expect(page.locator("#id-number")).to_have_text(idnumbers.mask(mother.id_number))

    # Register a birth from the mother's page; a date before her own birth is refused beside the field.
    page.get_by_role("link", name="Register a birth").click()
    page.get_by_label("Child's name").fill("王小花")
    page.locator("label[for=id_sex_1]").click()  # 女 (second of the sex codes)
    page.get_by_label("Date of birth").fill("1990-01-01")
    page.get_by_role("button", name="Register the birth").click()
    expect(page.locator("#id_born_on_errors")).to_have_text("The child is born before its mother.")
    page.get_by_label("Date of birth").fill("2024-03-05")
    page.get_by_role("button", name="Register the birth").click()

    # Back on the mother's page, with the child.
    expect(page).to_have_url(f"/persons/{mother.pk}/")
    expect(page.locator(".messages")).to_contain_text("The birth of 王小花 was registered.")
    expect(page.locator("#children").get_by_role("link", name="王小花")).to_be_visible()
    expect(page.locator("#events")).to_contain_text("2024-03-05")

    # Another township's person: 404, and nothing of them shown.
    response = page.goto(f"/persons/{stranger.pk}/")
    assert response.status == 404
    expect(page.locator("#not-found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("李四")
    log_out(page)

    # The administrator sees the officer's view of the mother and the birth in the audit log.
    log_in(page, "admin")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Username").fill("dongcheng")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#audit-table")
    view_row = table.locator("tr", has_text="Viewed a person").filter(has=page.locator(f"a[href='/persons/{mother.pk}/']"))
    expect(view_row.first).to_be_visible()
    expect(table.locator("tr", has_text="Birth registered")).to_have_count(1)
    expect(table).not_to_contain_text("admin")


def test_revealing_an_id_number_asks_for_a_purpose(page, register):
    mother, _, _ = register
    log_in(page, "dongcheng")
    page.goto(f"/persons/{mother.pk}/")
    page.get_by_text("Reveal", exact=True).click()
    page.get_by_label("Purpose").fill("核对出生登记")
    page.get_by_role("button", name="Show the full number").click()
    expect(page.locator("#id-number")).to_have_text(mother.id_number)
    expect(page).to_have_url(f"/persons/{mother.pk}/")  # swapped in place by htmx


def test_the_skip_link_comes_first_and_the_search_works_by_keyboard(page, register):
    log_in(page, "dongcheng")
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    # Tab from the top of the content reaches the search link, Enter opens the page with the box focused.
    page.get_by_role("link", name="Find a person").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("王强")
    page.keyboard.press("Enter")
    expect(page.locator("#person-results")).to_contain_text("王强")
    # Onwards with Tab through the form's fields to the first result, and Enter opens the person.
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "王强":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#person-name")).to_contain_text("王强")


def test_aggregate_viewer_is_refused_person_pages(page, register):
    mother, _, _ = register
    log_in(page, "viewer")
    expect(page.get_by_role("link", name="Persons", exact=True)).to_have_count(0)
    response = page.goto(f"/persons/{mother.pk}/")
    assert response.status == 403
    expect(page.locator("#forbidden")).to_be_visible()


def test_search_page_fits_a_375_pixel_phone(browser_context, register):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 375, "height": 812})
    log_in(page, "dongcheng")
    page.goto("/persons/?q=%E6%9D%8E")
    expect(page.locator("#person-results")).to_be_visible()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[2] and widths[1] <= widths[2], widths
    # The wide table scrolls inside its own box instead.
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    page.goto(f"/persons/{register[0].pk}/")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    page.close()
