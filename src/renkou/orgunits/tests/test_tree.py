import pytest

from renkou.core.errors import RuleViolation
from renkou.orgunits.selectors import unit_ancestors, unit_subtree_ids, unit_tree
from renkou.orgunits.services import unit_create

pytestmark = pytest.mark.django_db


def test_subtree_is_the_unit_and_everything_below(county):
    ids = set(unit_subtree_ids(county.dongcheng))
    assert ids == {county.dongcheng.pk, county.dc_village1.pk, county.dc_village2.pk}
    assert len(unit_subtree_ids(county.county)) == 9


def test_tree_and_ancestors(county):
    tree = unit_tree(county.county)
    assert [n.unit.name for n in tree.children] == ["东城街道", "西城街道", "龙河镇"]
    assert [n.unit.name for n in tree.children[0].children] == ["第一社区", "第二社区"]
    assert [u.name for u in unit_ancestors(county.dc_village2)] == ["青山县", "东城街道", "第二社区"]


def test_groups_sit_below_villages(county):
    group = unit_create(code="500230001001001", name="一组", unit_type="group", parent=county.dc_village1)
    assert group.level == 4 and group.path.startswith(county.dc_village1.path)


@pytest.mark.parametrize(
    ("code", "unit_type", "parent_attr", "field"),
    [
        ("500230003000", "subdistrict", None, "parent"),           # a township needs a parent
        ("50023000300", "subdistrict", "county", "code"),          # 11 digits
        ("510230003000", "subdistrict", "county", "code"),         # not under the county's code
        ("500230001003", "village", "county", "parent"),           # a village directly under the county
        ("500230001001", "community", "dongcheng", "code"),        # taken
    ],
)
def test_bad_units_are_refused(county, code, unit_type, parent_attr, field):
    parent = getattr(county, parent_attr) if parent_attr else None
    with pytest.raises(RuleViolation) as info:
        unit_create(code=code, name="x", unit_type=unit_type, parent=parent)
    assert info.value.field == field


def test_subtree_query_is_one_query_at_five_hundred_villages(county, django_assert_num_queries):
    from renkou.orgunits.models import OrgUnit, UnitLevel

    OrgUnit.objects.bulk_create([
        OrgUnit(code=f"500230101{i:03d}", name=f"村{i}", level=UnitLevel.VILLAGE, unit_type="village",
                parent=county.longhe, path=f"{county.longhe.path}x{i}/")
        for i in range(300, 800)
    ])
    with django_assert_num_queries(1):
        ids = unit_subtree_ids(county.longhe)
    assert len(ids) == 502
