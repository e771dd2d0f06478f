"""The home page: the counts of the user's area for every role, the population chart, the demo banner."""

from datetime import date

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from renkou.core.models import SYNTHETIC_DATA
from renkou.core.services import installation_fact_set
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_chart_cache():
    cache.clear()
    yield
    cache.clear()




@pytest.fixture
def residents(county):
    make_household(county.dc_village1, "50023000100100021")
    make_person(county.dc_village1, name="甲", sex="1", birth_date=date(1990, 1, 1))
    make_person(county.dc_village2, name="乙", sex="2", birth_date=date(1991, 1, 1))
    make_person(county.dc_village2, name="丙", sex="2", birth_date=date(2020, 1, 1))
    make_person(county.xc_village1, name="丁", sex="1", birth_date=date(1950, 1, 1))


def count_of(html: str, key: str) -> str:
    marker = f'data-count="{key}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


def test_home_shows_the_counts_of_the_officers_township(personas, residents):
    html = client_for(personas.dongcheng).get(reverse("home")).content.decode()
    assert "东城街道" in html
    assert count_of(html, "persons") == "3" and count_of(html, "residents") == "3"
    assert count_of(html, "households") == "1"
    assert "甲" not in html  # counts only, no names


def test_home_of_the_county_administrator_counts_the_whole_county(personas, residents):
    html = client_for(personas.admin).get(reverse("home")).content.decode()
    assert "青山县" in html and count_of(html, "persons") == "4"
    assert reverse("audit_log") in html


def test_aggregate_viewer_gets_counts_but_no_personal_pages_in_the_menu(personas, residents):
    html = client_for(personas.viewer).get(reverse("home")).content.decode()
    assert count_of(html, "persons") == "4"
    assert reverse("person_search") not in html and reverse("audit_log") not in html
    assert reverse("unit_tree") in html


def test_home_of_one_unit_of_the_area(personas, county, residents):
    client = client_for(personas.dongcheng)
    html = client.get(reverse("home"), {"unit": county.dc_village2.pk}).content.decode()
    assert "第二社区" in html and count_of(html, "persons") == "2"
    assert client.get(reverse("home"), {"unit": county.xc_village1.pk}).status_code == 404
    assert client.get(reverse("home"), {"unit": "x"}).status_code == 404


def test_header_names_the_user_role_and_unit(personas):
    html = client_for(personas.dongcheng).get(reverse("home")).content.decode()
    assert "东城专干" in html and "Township officer" in html and "东城街道" in html
    assert 'class="skip-link" href="#main"' in html and 'id="main"' in html


def test_population_chart_fragment_counts_living_residents_by_age_and_sex(personas, residents):
    response = client_for(personas.dongcheng).get(reverse("home_chart"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="pyramid-data"' in html
    data = response.context["chart_data"]
    assert sum(data["men"]) == 1 and sum(data["women"]) == 2
    assert data["labels"][0] == "0–4" and data["labels"][-1] == "90+"
    year = timezone.localdate().year  # everyone here was born on 1 January, so their age is year − birth year
    assert data["women"][(year - 2020) // 5] == 1  # 丙
    assert data["men"][(year - 1990) // 5] == 1  # 甲


def test_population_chart_without_htmx_is_a_whole_page(personas, residents):
    html = client_for(personas.viewer).get(reverse("home_chart")).content.decode()
    assert "<html" in html and "echarts.min.js" in html


def test_static_assets_are_served_from_the_project(personas):
    html = client_for(personas.dongcheng).get(reverse("home")).content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in html and "/static/vendor/echarts/echarts.min.js" in html
    assert "/static/renkou/renkou.css" in html
    assert "://" not in html.split("<body")[0]  # no CDN in the head
    for path in ("/static/vendor/htmx/htmx.min.js", "/static/vendor/echarts/echarts.min.js",
                 "/static/renkou/renkou.css", "/static/renkou/charts.js"):
        response = client_for().get(path)
        assert response.status_code == 200, path
        response.close()


def test_anonymous_is_sent_to_login(db):
    response = client_for().get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_demo_install_says_so_on_every_page(personas, residents):
    installation_fact_set(key=SYNTHETIC_DATA, value={"generator": "test"})
    assert 'id="synthetic-banner"' in client_for().get(reverse("login")).content.decode()
    for user, url in ((personas.dongcheng, reverse("home")), (personas.dongcheng, reverse("person_search")),
                      (personas.viewer, reverse("unit_tree")), (personas.admin, reverse("audit_log"))):
        html = client_for(user).get(url).content.decode()
        assert "every person in this system is fictitious (synthetic data)" in html, url


def test_no_banner_on_a_real_install(personas):
    assert 'id="synthetic-banner"' not in client_for(personas.dongcheng).get(reverse("home")).content.decode()


def test_error_pages_carry_the_banner_too(personas):
    installation_fact_set(key=SYNTHETIC_DATA, value=True)
    response = client_for(personas.dongcheng).get(reverse("person_detail", args=[424242]))
    assert response.status_code == 404 and 'id="synthetic-banner"' in response.content.decode()
