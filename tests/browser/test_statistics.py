"""The statistician's journey in a real browser: the dashboard's form and charts, a new indicator through the
form (refused first, for an unknown element), and its value through the API."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from renkou.registry.models import Event
from renkou.testing import PASSWORD, make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def births(county, personas, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    # Written directly: the code lists the birth service checks may be flushed by other transactional tests.
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2))
    for order, (born, sex) in enumerate(((date(2024, 3, 1), "2"), (date(2025, 5, 1), "1")), start=1):
        child = make_person(county.dc_village1, name="小梅", sex=sex, birth_date=born, mother=mother)
        Event.objects.create(kind="birth", person=child, mother=mother, date=born, unit=county.dc_village1,
                             sex=sex, live_born=True, birth_order=order, recorded_at=timezone.now())


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page.locator(".user-name")).to_be_visible()


def test_statistician_reads_the_forms_and_adds_an_indicator(page, births):
    log_in(page, "statistician")
    page.get_by_role("link", name="Statistics", exact=True).click()
    page.locator("input[name=period]").fill("2024")
    page.locator("select[name=form]").select_option("pop_births")
    page.get_by_role("button", name="Show").click()
    table = page.locator("#report-table")
    expect(table.locator("tr[data-code='500230000000'] td").nth(4)).to_have_text("1")  # live births
    # Drawn by ECharts after load (slow on a loaded machine: a longer wait).
    for chart in ("[data-stats-chart=trend]", "[data-pyramid]", "[data-stats-chart=compare]", "[data-stats-chart=grid]"):
        expect(page.locator(f"{chart} svg")).to_have_count(1, timeout=30_000)

    page.get_by_role("link", name="Indicators").first.click()
    page.get_by_role("link", name="New indicator").click()
    page.get_by_label("Code").fill("GIRLS")
    page.get_by_label("Chinese name").fill("女婴数")
    page.get_by_label("English name").fill("Girls")
    page.get_by_label("Numerator").fill("#{LIVE_BIRTHS.GIRL}")
    page.get_by_label("Decimals").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#indicator-form")).to_contain_text("has no category option combo “GIRL”")
    page.get_by_label("Numerator").fill("#{LIVE_BIRTHS.FEMALE}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#indicator-table tr[data-code=GIRLS]")).to_be_visible()
    answer = page.request.get("/api/v1/stats/values?elements=GIRLS&units=500230000000&periods=2024,2025").json()
    assert {(r["period"], r["value"]) for r in answer} == {("2024", 1), ("2025", 0)}
