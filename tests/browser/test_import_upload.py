"""The import in a real browser: an officer downloads the template, uploads a GBK CSV with one bad row, sees the
file rejected with the row's message while nothing is written, downloads the report, imports the valid rows
with "partial", and finds the import in the list. The job runs in a background thread, polled with htmx."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from renkou.intake.tests.helpers import HEADERS, csv_bytes
from renkou.registry.models import Person
from renkou.testing import PASSWORD, id_number_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rows():
    good = ["李四", id_number_for(date(1990, 5, 6), "1"), "男", "1990/5/6", "汉族", "未婚", "第一社区",
            "500230001001", "", ""]
    bad = ["王五", id_number_for(date(1991, 2, 3), "1"), "男", "1991-02-30", "汉族", "未婚", "第一社区",
           "500230001001", "", ""]
    return [good, bad]


def test_officer_uploads_a_file_sees_the_bad_row_and_imports_the_valid_rows(page, personas, tmp_path):
    upload = tmp_path / "村报表.csv"
    upload.write_bytes(csv_bytes(_rows(), HEADERS, encoding="gbk"))

    page.goto("/login/")
    page.get_by_label("Username").fill("dongcheng")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"/intake/$"))

    with page.expect_download() as template:
        page.locator("#template-link").click()
    assert template.value.suggested_filename.endswith(".xlsx")

    # All or nothing: one bad row rejects the file.
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and check").click()
    expect(page).to_have_url(re.compile(r"/intake/\d+/$"))
    outcome = page.locator("#import-outcome")
    expect(outcome).to_have_attribute("data-status", "rejected", timeout=30_000)
    expect(page.locator('[data-count="rejected"]')).to_have_text("1")
    expect(page.locator("#import-problems")).to_contain_text("1991-02-30")
    assert Person.objects.count() == 0
    with page.expect_download() as report:
        page.locator("#report-link").click()
    assert report.value.suggested_filename.endswith(".xlsx")

    # Again with "partial": the valid row is written.
    page.get_by_role("link", name="Another file").click()
    page.locator("#id_file").set_input_files(str(upload))
    page.locator("#id_partial").check()
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#import-outcome")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    assert list(Person.objects.values_list("name", flat=True)) == ["李四"]

    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.locator("#import-list tbody tr")).to_have_count(2)
    expect(page.locator("#import-list")).to_contain_text("村报表.csv")


def test_officer_imports_an_events_file_with_the_kind_selector(page, personas, county, tmp_path):
    from renkou.intake.tests.test_import_events import HEADERS as EVENT_HEADERS
    from renkou.intake.tests.test_import_events import _row
    from renkou.registry.models import Event
    from renkou.testing import make_person

    old = make_person(county.dc_village1, name="张老", sex="1", birth_date=date(1930, 1, 1))
    mother = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    upload = tmp_path / "事件月报.csv"
    upload.write_bytes(csv_bytes([_row("死亡", "2024-01-02", old.id_number),
                                  _row("出生", "2024-02-30", name="小宝", sex="男", mother=mother.id_number)],
                                 EVENT_HEADERS, encoding="gbk"))
    page.goto("/login/")
    page.get_by_label("Username").fill("dongcheng")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.goto("/intake/")
    with page.expect_download() as template:
        page.locator("a[href='/intake/template/events/']").click()
    assert template.value.suggested_filename.endswith(".xlsx")
    page.locator("#id_kind").select_option("events")
    page.locator("#id_file").set_input_files(str(upload))
    page.locator("#id_partial").check()
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#import-outcome")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    expect(page.locator('[data-count="rejected"]')).to_have_text("1")
    expect(page.locator("#import-problems")).to_contain_text("2024-02-30")
    assert list(Event.objects.values_list("kind", flat=True)) == ["death"]
