import random
from datetime import date, timedelta

import pytest

from renkou.core.models import SYNTHETIC_DATA
from renkou.core.services import installation_fact_set
from renkou.registry.services import birth_register, marriage_register, move_out_register, person_update, death_register
from renkou.testing import make_household, make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shots(browser_context, county, personas):
    installation_fact_set(key=SYNTHETIC_DATA, value=True)
    random.seed(3)
    villages = [county.dc_village1, county.dc_village2, county.xc_village1, county.lh_village1]
    for i in range(400):
        make_person(random.choice(villages), name=random.choice("王李张刘陈") + random.choice("伟芳娜敏静丽强磊"),
                    sex=random.choice("12"), birth_date=date(1935, 1, 1) + timedelta(days=random.randint(0, 32000)))
    hh = make_household(county.dc_village1, "50023000100100031", address="东城街道人民路12号")
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2), household=hh, relation="10")
    husband = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1993, 6, 9), household=hh, relation="02")
    grandma = make_person(county.dc_village1, name="张秀英", sex="2", birth_date=date(1948, 11, 20), household=hh, relation="50")
    marriage_register(by=personas.dongcheng, husband=husband, wife=mother, married_on=date(2019, 5, 1))
    birth_register(by=personas.dongcheng, mother=mother, father=husband, born_on=date(2020, 8, 15), sex="1", name="王小龙", place="1")
    birth_register(by=personas.dongcheng, mother=mother, father=husband, born_on=date(2023, 2, 3), sex="2", name="王小花", place="3")
    mother.refresh_from_db()
    person_update(by=personas.dongcheng, person=mother, changes={"education": "30"})
    mother.refresh_from_db()
    move_out_register(by=personas.dongcheng, person=mother, moved_on=date(2024, 5, 1), to_unit=county.dc_village2)
    page = browser_context.new_page()
    page.goto("/login/")
    page.screenshot(path="/tmp/shots/login.png", full_page=True)
    page.get_by_label("Username").fill("dongcheng")
    page.get_by_label("Password").fill("correct-horse-42")
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_selector("[data-pyramid][data-rendered]")
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/shots/home.png", full_page=True)
    page.goto(f"/persons/{mother.pk}/")
    page.screenshot(path="/tmp/shots/person.png", full_page=True)
    page.goto("/persons/?q=%E7%8E%8B")
    page.screenshot(path="/tmp/shots/search.png", full_page=True)
    page.goto(f"/persons/{mother.pk}/birth/")
    page.get_by_label("Date of birth").fill("1990-01-01")
    page.get_by_role("button", name="Register the birth").click()
    page.screenshot(path="/tmp/shots/birth_error.png", full_page=True)
    page.goto("/units/")
    page.screenshot(path="/tmp/shots/units.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"/persons/{mother.pk}/")
    page.screenshot(path="/tmp/shots/person_375.png", full_page=True)
    page.goto("/persons/?q=%E7%8E%8B")
    page.screenshot(path="/tmp/shots/search_375.png", full_page=False)
    page.goto("/")
    page.wait_for_selector("[data-pyramid][data-rendered]")
    page.screenshot(path="/tmp/shots/home_375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("correct-horse-42")
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_selector(".user-name")
    page.goto("/audit/")
    page.screenshot(path="/tmp/shots/audit.png", full_page=True)
