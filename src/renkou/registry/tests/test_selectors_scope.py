from datetime import date

import pytest

from renkou.core.errors import NotFound, PermissionDenied
from renkou.registry.selectors import PersonQuery, person_get_for_user, person_search, scope_counts
from renkou.testing import make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(county):
    hh = make_household(county.dc_village1, "50023000100100009")
    return {
        "dc": make_person(county.dc_village1, name="东一", household=hh),
        "dc2": make_person(county.dc_village2, name="东二", sex="2", birth_date=date(1991, 1, 1)),
        "xc": make_person(county.xc_village1, name="西一", birth_date=date(1992, 2, 2)),
        "lh": make_person(county.lh_village1, name="龙一", birth_date=date(1993, 3, 3)),
    }


def test_township_officer_sees_only_own_township(personas, people):
    page = person_search(user=personas.dongcheng, query=PersonQuery())
    assert {p.name for p in page.rows} == {"东一", "东二"} and page.count == 2
    with pytest.raises(NotFound):
        person_get_for_user(user=personas.dongcheng, person_id=people["xc"].pk)
    assert person_get_for_user(user=personas.xicheng, person_id=people["xc"].pk).name == "西一"


def test_missing_and_out_of_scope_look_the_same(personas, people):
    with pytest.raises(NotFound):
        person_get_for_user(user=personas.dongcheng, person_id=10**9)


def test_village_reporter_sees_only_own_village(personas, people):
    page = person_search(user=personas.reporter, query=PersonQuery())
    assert [p.name for p in page.rows] == ["东一"]


def test_aggregate_viewer_sees_no_personal_data_but_counts(personas, people):
    with pytest.raises(PermissionDenied):
        person_search(user=personas.viewer, query=PersonQuery())
    assert scope_counts(user=personas.viewer).persons == 4


def test_search_by_name_prefix_id_number_and_household(personas, people):
    admin = personas.admin
    assert [p.name for p in person_search(user=admin, query=PersonQuery(text="东")).rows] == ["东一", "东二"]
    by_id = person_search(user=admin, query=PersonQuery(text=people["xc"].id_number.lower()))
    assert [p.name for p in by_id.rows] == ["西一"]
    by_prefix = person_search(user=admin, query=PersonQuery(text=people["lh"].id_number[:12]))
    assert "龙一" in [p.name for p in by_prefix.rows]
    hh = person_search(user=admin, query=PersonQuery(household_number="50023000100100009"))
    assert [p.name for p in hh.rows] == ["东一"]


def test_search_by_unit_within_scope(personas, people, county):
    page = person_search(user=personas.admin, query=PersonQuery(unit_id=county.xicheng.pk))
    assert [p.name for p in page.rows] == ["西一"]
    with pytest.raises(NotFound):
        person_search(user=personas.dongcheng, query=PersonQuery(unit_id=county.xicheng.pk))


def test_search_pages_cost_a_constant_number_of_queries(personas, county, django_assert_max_num_queries):
    for i in range(120):
        make_person(county.dc_village1, name=f"批{i:03d}", birth_date=date(1980, 1, 1 + i % 28))
    with django_assert_max_num_queries(4):
        page = person_search(user=personas.admin, query=PersonQuery(text="批"), page=2)
        assert [p.residence_unit.name for p in page.rows][:1] == ["第一社区"]
    assert page.count == 120 and len(page.rows) == 50 and page.has_next


def test_id_number_prefixes_stop_at_the_birth_date(personas, people):
    number = people["xc"].id_number
    assert [p.name for p in person_search(user=personas.admin, query=PersonQuery(text=number[:14])).rows] == ["西一"]
    # a longer prefix would let a search rebuild the number without a stated purpose
    assert person_search(user=personas.admin, query=PersonQuery(text=number[:16])).rows == []
    assert [p.name for p in person_search(user=personas.admin, query=PersonQuery(text=number)).rows] == ["西一"]
