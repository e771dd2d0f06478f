"""The person search page and its htmx fragment: scope, criteria, pagination and a constant query count."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from renkou.registry import idnumbers
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db




@pytest.fixture
def people(county):
    hh = make_household(county.dc_village1, "50023000100100007")
    dc = make_person(county.dc_village1, name="王芳", sex="2", birth_date=date(1990, 3, 3), household=hh)
    dc2 = make_person(county.dc_village2, name="王刚", sex="1", birth_date=date(1985, 7, 7))
    xc = make_person(county.xc_village1, name="王五", sex="1", birth_date=date(1988, 8, 8))
    return dc, dc2, xc, hh


def test_search_page_has_an_autofocused_labelled_box_and_no_results_yet(personas):
    response = client_for(personas.dongcheng).get(reverse("person_search"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_q"' in html and "autofocus" in html and '<label for="id_q">' in html
    assert 'id="search-hint"' in html
    # The unit filter offers the officer's township and its villages only.
    assert "第一社区" in html and "西街社区" not in html


def test_search_by_name_leaves_out_other_townships(personas, people):
    dc, dc2, xc, _ = people
    html = client_for(personas.dongcheng).get(reverse("person_search"), {"q": "王"}).content.decode()
    assert "王芳" in html and "王刚" in html
    assert "王五" not in html
    assert "2 persons found" in html
    assert idnumbers.mask(dc.id_number) in html and dc.id_number not in html


def test_xicheng_finds_only_xicheng(personas, people):
    html = client_for(personas.xicheng).get(reverse("person_search"), {"q": "王"}).content.decode()
    assert "王五" in html and "王芳" not in html and "王刚" not in html


def test_search_by_full_id_number_and_by_its_beginning(personas, people):
    dc, _, xc, _ = people
    client = client_for(personas.dongcheng)
    html = client.get(reverse("person_search"), {"q": dc.id_number.lower()}).content.decode()
    assert "王芳" in html and "1 person found" in html
    # Another township's number finds nobody, rather than saying that it exists.
    html = client.get(reverse("person_search"), {"q": xc.id_number}).content.decode()
    assert "0 persons found" in html and "王五" not in html


def test_search_by_household_number(personas, people):
    html = client_for(personas.dongcheng).get(reverse("person_search"),
                                              {"household": "50023000100100007"}).content.decode()
    assert "王芳" in html and "王刚" not in html


def test_search_by_unit_from_the_unit_tree(personas, county, people):
    html = client_for(personas.dongcheng).get(reverse("person_search"),
                                              {"unit": county.dc_village2.pk}).content.decode()
    assert "王刚" in html and "王芳" not in html


def test_search_in_a_unit_outside_the_area_is_404(personas, county, people):
    response = client_for(personas.dongcheng).get(reverse("person_search"), {"unit": county.xc_village1.pk})
    assert response.status_code == 404


def test_deceased_persons_only_when_asked(personas, county):
    p = make_person(county.dc_village1, name="孙老", sex="1", birth_date=date(1930, 1, 1))
    p.death_date = date(2020, 1, 1)
    p.save(update_fields=["death_date"])
    client = client_for(personas.dongcheng)
    assert "孙老" not in client.get(reverse("person_search"), {"q": "孙"}).content.decode()
    assert "孙老" in client.get(reverse("person_search"), {"q": "孙", "include_dead": "on"}).content.decode()


def test_fragment_renders_only_the_results_and_pushes_the_page_address(personas, people):
    response = client_for(personas.dongcheng).get(reverse("person_search_results"), {"q": "王芳"},
                                                  headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "王芳" in html and "<html" not in html and 'id="search-form"' not in html
    assert response["HX-Push-Url"] == reverse("person_search") + "?q=%E7%8E%8B%E8%8A%B3"


def test_search_refuses_viewer_and_anonymous(personas):
    assert client_for(personas.viewer).get(reverse("person_search")).status_code == 403
    assert client_for(personas.viewer).get(reverse("person_search_results"), {"q": "王"}).status_code == 403
    response = client_for().get(reverse("person_search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _many(county, n: int) -> None:
    for i in range(n):
        make_person(county.dc_village1, name=f"张{i:03d}", sex="1" if i % 2 else "2",
                    birth_date=date(1960, 1, 1) + timedelta(days=97 * i))


def test_a_page_holds_fifty_and_links_to_the_next(personas, county):
    _many(county, 60)
    client = client_for(personas.dongcheng)
    html = client.get(reverse("person_search"), {"q": "张"}).content.decode()
    assert "60 persons found" in html and "Page 1 of 2" in html
    assert len(re.findall(r'<a href="/persons/\d+/">', html)) == 50 and "张049" in html and "张050" not in html
    assert 'rel="next"' in html
    html = client.get(reverse("person_search"), {"q": "张", "page": 2}).content.decode()
    assert "张050" in html and "张059" in html and "张049" not in html and 'rel="prev"' in html


@pytest.mark.parametrize("n", [5, 50])
def test_the_search_page_costs_a_constant_number_of_queries(personas, county, django_assert_max_num_queries, n):
    _many(county, n)
    client = client_for(personas.dongcheng)
    # session, user, user's unit, unit subtree, count, page of rows, the audit entry of the search, unit tree
    # of the filter, synthetic-data fact, code lists, and the session save (savepoint, update, release): the
    # same for any size of page.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("person_search"), {"q": "张"})
    assert response.content.decode().count("<tr>") == n + 1  # header row + n rows
    with django_assert_max_num_queries(12):
        client.get(reverse("person_search_results"), {"q": "张"}, headers={"HX-Request": "true"})


def test_an_htmx_request_after_the_session_ended_redirects_the_whole_page_to_login(db):
    response = client_for().get(reverse("person_search_results"), {"q": "王"}, headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/persons/?q=%E7%8E%8B"})
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == reverse("login") + "?next=/persons/%3Fq%3D%25E7%258E%258B"
