"""A township officer fills in the monthly family-services form in a real browser: a negative number is refused
beside its field, the corrected form is saved and marked complete, and the county's reporting rate counts it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from renkou.aggregates.models import CompleteRegistration, DataValue
from renkou.testing import PASSWORD

# serialized_rollback in the marker: pytest-django 4.14 serializes the test database at set-up only for tests
# whose marker asks for it (the fixture alone is not seen then), and without it no later test gets the code lists back
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def data_sets(county):
    """The shipped data sets, loaded again: a transactional test before this one may have flushed what the
    migrations loaded (the serialized rollback does not always restore it in a full parallel run)."""
    from django.apps import apps

    from renkou.aggregates.seed import load

    load(apps)


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page.locator(".user-name")).to_be_visible()


def test_officer_enters_a_form_and_marks_it_complete(page, county, personas, data_sets):
    log_in(page, "dongcheng")
    page.get_by_role("link", name="Data sets", exact=True).click()
    page.get_by_label("Data set", exact=True).select_option("FAMSVC_M")
    expect(page.get_by_label("Unit", exact=True)).to_have_value("500230001000")
    page.get_by_label("Period", exact=True).fill("202503")
    page.get_by_role("button", name="Open form").click()
    expect(page.locator("#complete-status")).to_have_text("Not complete")

    page.get_by_label("Total 开展宣传教育活动场次").fill("4")
    page.get_by_label("男 提供咨询服务人次").fill("-2")
    page.get_by_label("女 提供咨询服务人次").fill("15")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".form-errors")).to_contain_text("nothing was saved")
    expect(page.locator("#data-form .field-errors")).to_have_text("The value may not be negative.")
    assert not DataValue.objects.exists()

    page.get_by_label("男 提供咨询服务人次").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved: 3 new, 0 changed, 0 removed.")
    expect(page.get_by_label("男 提供咨询服务人次")).to_have_value("12")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#complete-status")).to_contain_text(re.compile(r"Completed \d{4}-\d\d-\d\d"))
    assert CompleteRegistration.objects.filter(unit__code="500230001000", period="202503").count() == 1
    assert sorted(DataValue.objects.values_list("element__code", "category_option_combo", "value")) == [
        ("CONSULTATIONS", "FEMALE", "15"), ("CONSULTATIONS", "MALE", "12"), ("PUBLICITY_EVENTS", "", "4")]

    page.get_by_role("link", name="Reporting rates").click()
    page.get_by_label("From period").fill("202503")
    page.get_by_label("To period").fill("202503")
    page.get_by_role("button", name="Show").click()
    first = page.locator("#reporting-table tbody tr").first
    expect(first).to_contain_text("东城街道")
    expect(first.locator("td").nth(1)).to_have_text("1")
