"""The unit tree page: each user sees their own part of the county, with links to counts and persons."""

import pytest
from django.urls import reverse

from renkou.testing import client_for

pytestmark = pytest.mark.django_db




def test_township_officer_sees_their_township_down_to_villages(personas, county):
    html = client_for(personas.dongcheng).get(reverse("unit_tree")).content.decode()
    assert "东城街道" in html and "第一社区" in html and "第二社区" in html
    assert "西城街道" not in html and "西街社区" not in html and "青山县" not in html.split('id="unit-tree"')[1]
    assert f'{reverse("person_search")}?unit={county.dc_village2.pk}' in html
    assert f'{reverse("home")}?unit={county.dc_village2.pk}' in html


def test_administrator_sees_the_whole_county(personas, county):
    html = client_for(personas.admin).get(reverse("unit_tree")).content.decode()
    for name in ("青山县", "东城街道", "西城街道", "龙河镇", "第一社区", "西街社区", "北街社区", "龙河村"):
        assert name in html
    assert "500230101201" in html


def test_aggregate_viewer_sees_the_tree_with_counts_but_no_person_links(personas, county):
    html = client_for(personas.viewer).get(reverse("unit_tree")).content.decode()
    assert "龙河村" in html and f'{reverse("home")}?unit={county.lh_village1.pk}' in html
    assert reverse("person_search") not in html


def test_village_reporter_sees_their_village(personas):
    html = client_for(personas.reporter).get(reverse("unit_tree")).content.decode()
    assert "第一社区" in html and "第二社区" not in html


def test_unit_tree_needs_login(db):
    response = client_for().get(reverse("unit_tree"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_unit_tree_costs_a_constant_number_of_queries(personas, django_assert_max_num_queries):
    client = client_for(personas.admin)
    with django_assert_max_num_queries(9):
        client.get(reverse("unit_tree"))
