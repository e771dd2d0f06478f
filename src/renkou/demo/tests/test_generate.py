"""A small synthetic county generated into the test database, and what must hold of it."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q
from django.test import override_settings
from django.utils import timezone

from renkou.accounts.models import Role, User
from renkou.core.models import SYNTHETIC_DATA, InstallationFact
from renkou.core.selectors import holds_synthetic_data
from renkou.demo.services import (
    DEMO_PASSWORD,
    DemoError,
    DemoLogin,
    demo_ensure,
    demo_generate,
    demo_wipe,
)
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.registry import idnumbers
from renkou.registry.codes import code_is_valid
from renkou.registry.models import Event, EventKind, Household, Marriage, Person
from renkou.registry.services.events import births_renumber

PERSONS, SEED = 4_000, 3


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """One county for the module, generated outside the tests' transactions (as `renkou demo` does)."""
    path = tmp_path_factory.mktemp("demo") / "truth.json"
    # The tests' password hasher (conftest.py), so that the demo users' passwords can be checked.
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher"]):
        facts = demo_generate(persons=PERSONS, seed=SEED, truth_path=path)
        yield {"truth": facts, "path": path, "hash": _register_hash()}
        demo_wipe()


def _register_hash() -> str:
    h = hashlib.sha256()
    skip = {"created_at", "updated_at"}
    for model in (OrgUnit, Person, Household, Marriage, Event):
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
        for row in model.objects.order_by("id").values_list(*fields):
            h.update(repr(row).encode())
    return h.hexdigest()


def _recorded(truth: dict) -> dict[str, dict]:
    return {y: v for y, v in truth["years"].items()}


def _year_range(v: dict) -> tuple[date, date]:
    return date.fromisoformat(v["period"][0]), date.fromisoformat(v["period"][1])


pytestmark = pytest.mark.django_db


def test_the_tree_is_written_with_paths_and_parent_codes(demo):
    assert OrgUnit.objects.filter(level=UnitLevel.TOWNSHIP).count() == 24
    assert OrgUnit.objects.filter(level=UnitLevel.VILLAGE).count() == 300
    county = OrgUnit.objects.get(level=UnitLevel.COUNTY)
    assert (county.code, county.name, county.path) == ("500230000000", "青山县", f"/{county.pk}/")
    assert OrgUnit.objects.get(code="500230001000").name == "东城街道"
    assert OrgUnit.objects.get(code="500230002000").name == "西城街道"
    for unit in OrgUnit.objects.select_related("parent").exclude(level=UnitLevel.COUNTY):
        assert unit.path == f"{unit.parent.path}{unit.pk}/"
        prefix = 3 * unit.level
        assert unit.code[:prefix] == unit.parent.code[:prefix]
        assert len(unit.code) == 12 and unit.code.isdigit()


def test_every_id_number_is_valid_unique_and_agrees_with_the_person(demo):
    rows = list(Person.objects.exclude(id_number=None).values_list("id_number", "birth_date", "sex"))
    assert len(rows) > 0.9 * Person.objects.count()
    assert len({r[0] for r in rows}) == len(rows)
    for number, born, sex in rows:
        result = idnumbers.check(number, sex=sex, birth_date=born)
        assert result.ok and not result.warnings, (number, result.codes)
    assert not Person.objects.filter(death_date=None, id_number=None).exists()
    local = Person.objects.filter(id_number__startswith="500230").count()
    assert local > 0.8 * len(rows)
    # People registered elsewhere carry their own county's code.
    for number in Person.objects.filter(residence_status="in", mother=None).values_list("id_number", flat=True)[:50]:
        assert not number.startswith("500230")


def test_truth_counts_equal_the_database(demo):
    truth = demo["truth"]
    assert json.loads(demo["path"].read_text(encoding="utf-8"))["years"] == json.loads(json.dumps(truth["years"]))
    for year, v in _recorded(truth).items():
        start, end = _year_range(v)
        events = Event.objects.filter(date__gte=start, date__lte=end)
        births = events.filter(kind=EventKind.BIRTH, live_born=True)
        assert births.count() == v["live_births"]["total"], year
        assert births.filter(sex="1").count() == v["live_births"]["male"], year
        assert births.filter(birth_order=1).count() == v["live_births"]["by_order"]["1"], year
        assert births.filter(birth_order=2).count() == v["live_births"]["by_order"]["2"], year
        assert births.filter(birth_order__gte=3).count() == v["live_births"]["by_order"]["3+"], year
        assert events.filter(kind=EventKind.BIRTH, live_born=False).count() == v["stillbirths"], year
        assert events.filter(kind=EventKind.DEATH).count() == v["deaths"]["total"], year
        assert events.filter(kind=EventKind.MOVE_OUT).count() == v["moves_out"]["total"], year
        assert events.filter(kind=EventKind.MOVE_IN).count() == v["moves_in"]["total"], year
        assert Marriage.objects.filter(married_on__gte=start, married_on__lte=end).count() == v["marriages"], year
        assert Marriage.objects.filter(ended_on__gte=start, ended_on__lte=end,
                                       end_reason="divorce").count() == v["divorces"], year
    last = truth["years"][max(truth["years"])]
    residents = Person.objects.filter(death_date=None, residence_status__in=["resident", "in"]).count()
    assert residents == last["population_end"]["total"] == truth["final"]["residents"]
    assert abs(residents - PERSONS) / PERSONS < 0.1


def test_the_population_balances_year_after_year(demo):
    years = list(_recorded(demo["truth"]).values())
    for before, after in zip(years, years[1:], strict=False):
        assert before["population_end"] == after["population_start"]
    for v in years:
        assert v["population_end"]["total"] == (
            v["population_start"]["total"] + v["live_births"]["total"] - v["deaths"]["living_here"]
            + v["moves_in"]["total"] - v["moves_out"]["total"])


def test_birth_orders_rank_the_mothers_live_born_children(demo):
    by_mother: dict[int, list[tuple]] = defaultdict(list)
    for mother, born, pk, order in Event.objects.filter(kind=EventKind.BIRTH, live_born=True).values_list(
            "mother_id", "date", "id", "birth_order"):
        by_mother[mother].append((born, pk, order))
    for births in by_mother.values():
        births.sort()
        assert [o for _d, _pk, o in births] == list(range(1, len(births) + 1))
    # Every child on record with its mother on record has its birth event, so the ranks agree with the children.
    assert not Person.objects.filter(mother__isnull=False).exclude(events__kind=EventKind.BIRTH).exists()
    # The register's own renumbering finds nothing to change.
    mothers = Person.objects.filter(pk__in=list(by_mother)[:40])
    before = list(Event.objects.filter(mother__in=mothers).order_by("id").values_list("id", "birth_order"))
    for mother in mothers:
        births_renumber(mother)
    assert list(Event.objects.filter(mother__in=mothers).order_by("id").values_list("id", "birth_order")) == before


def test_nothing_happens_after_a_death_and_mothers_are_12_to_60(demo):
    dead = dict(Person.objects.exclude(death_date=None).values_list("id", "death_date"))
    born = dict(Person.objects.values_list("id", "birth_date"))
    for kind, person, day, mother, father in Event.objects.values_list("kind", "person_id", "date", "mother_id",
                                                                       "father_id"):
        if person in dead:
            assert day <= dead[person], (kind, person)
        if kind == EventKind.BIRTH:
            assert mother not in dead or day <= dead[mother]
            assert father not in dead or day <= dead[father]
            m_born = born[mother]
            age = day.year - m_born.year - ((day.month, day.day) < (m_born.month, m_born.day))
            assert 12 <= age <= 60
    for husband, wife, married, ended in Marriage.objects.values_list("husband_id", "wife_id", "married_on",
                                                                     "ended_on"):
        for p in (husband, wife):
            assert married >= born[p]
            assert p not in dead or married <= dead[p]
            assert ended is None or p not in dead or ended <= dead[p] or ended == min(
                dead.get(husband, ended), dead.get(wife, ended))
        if married.year >= 1950:
            assert married >= born[wife] + timedelta(days=20 * 365) and married >= born[husband] + timedelta(
                days=22 * 365)


def test_marriages_and_marital_status_agree(demo):
    current = Marriage.objects.filter(ended_on=None)
    assert not current.values("husband").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not current.values("wife").annotate(n=Count("id")).filter(n__gt=1).exists()
    married_now = set(current.values_list("husband_id", flat=True)) | set(current.values_list("wife_id", flat=True))
    living_married = set(Person.objects.filter(death_date=None, marital_status__in=["20", "22"])
                         .values_list("id", flat=True))
    assert living_married == married_now
    assert not Person.objects.filter(pk__in=married_now).exclude(death_date=None).exists()
    assert Marriage.objects.filter(end_reason="divorce").exists()
    assert Marriage.objects.filter(end_reason="death").exists()


def test_persons_are_consistent_records(demo):
    for status, registered, living in (("resident", True, True), ("out", True, False), ("in", False, True),
                                       ("left", False, False)):
        qs = Person.objects.filter(residence_status=status)
        assert qs.exists(), status
        assert not qs.filter(registration_unit__isnull=registered).exists(), status
        assert not qs.filter(residence_unit__isnull=living).exists(), status
        if status == "resident":
            assert not qs.exclude(other_county_code="").exists()
        else:
            assert not qs.filter(other_county_code="").exists(), status
    for field, list_name, blank in (("sex", "sex", False), ("ethnicity", "ethnicity", False),
                                    ("education", "education", True), ("marital_status", "marital_status", False),
                                    ("relation_to_head", "relation", True)):
        for code in Person.objects.values_list(field, flat=True).distinct():
            assert (blank and code == "") or code_is_valid(list_name, code), (field, code)
    ethnicities = dict(Person.objects.values_list("ethnicity").annotate(n=Count("id")))
    assert ethnicities["01"] > 0.85 * sum(ethnicities.values())
    assert {"15", "06"} <= set(ethnicities)
    p = Person.objects.first()
    assert p.id_number_warnings == [] and p.version == 1 and timezone.is_aware(p.created_at)
    assert all(0 < len(n) <= 4 for n in Person.objects.values_list("name", flat=True)[:500])


def test_households_have_one_head_and_live_in_their_village(demo):
    assert not Household.objects.filter(head=None).exists()
    for hh_id, head_hh, head_rel in Household.objects.values_list("id", "head__household_id",
                                                                 "head__relation_to_head"):
        assert (head_hh, head_rel) == (hh_id, "02")
    assert not Person.objects.filter(relation_to_head="02").exclude(household__head=F("id")).exists()
    heads = Person.objects.filter(relation_to_head="02").values("household").annotate(n=Count("id"))
    assert not heads.filter(n__gt=1).exists()
    assert not Person.objects.exclude(household=None).exclude(
        Q(registration_unit=F("household__unit")) | Q(residence_unit=F("household__unit"))).exists()
    numbers = Household.objects.values_list("number", "unit__code")
    assert all(len(n) == 17 and n.startswith(code) for n, code in numbers)
    relations = set(Person.objects.values_list("relation_to_head", flat=True).distinct())
    assert {"02", "10", "20", "30", "40", "50"} <= relations


def test_events_are_dated_recorded_and_attributed(demo):
    now = timezone.now()
    assert not Event.objects.filter(recorded_at__gt=now).exists()
    assert not Event.objects.exclude(source="demo").exists()
    assert not Event.objects.exclude(recorded_by=None).exists()
    assert not Event.objects.filter(unit__level__lt=UnitLevel.VILLAGE).exists()
    assert not Event.objects.filter(date__gt=timezone.localdate()).exists()
    late = Event.objects.filter(kind=EventKind.BIRTH, recorded_at__gt=F("date") + timedelta(days=59)).count()
    births = Event.objects.filter(kind=EventKind.BIRTH).count()
    assert 0.01 < late / births < 0.15
    assert Event.objects.filter(kind=EventKind.MOVE_OUT).exclude(to_county="").exists()
    assert not Event.objects.filter(kind=EventKind.MOVE_IN, from_county="").exists()


def test_the_install_says_it_is_synthetic(demo):
    assert holds_synthetic_data()
    fact = InstallationFact.objects.get(key=SYNTHETIC_DATA).value
    assert fact["seed"] == SEED and fact["persons"] == PERSONS and fact["county_code"] == "500230"


def test_demo_users_exist_with_their_roles_and_units(demo):
    users = {u.username: u for u in User.objects.select_related("unit")}
    assert users["admin"].role == Role.COUNTY_ADMIN and users["admin"].unit.level == UnitLevel.COUNTY
    assert users["tongji"].role == Role.STATISTICIAN
    assert (users["dongcheng"].role, users["dongcheng"].unit.name) == (Role.TOWNSHIP_OFFICER, "东城街道")
    assert (users["xicheng"].role, users["xicheng"].unit.name) == (Role.TOWNSHIP_OFFICER, "西城街道")
    assert users["cunyuan"].role == Role.VILLAGE_REPORTER
    assert users["cunyuan"].unit.code == "500230001001"
    assert users["lingdao"].role == Role.AGGREGATE_VIEWER
    assert users["admin"].check_password(DEMO_PASSWORD)


def test_demo_ensure_reuses_the_county_and_creates_nothing_twice(demo):
    counts = (Person.objects.count(), User.objects.count(), OrgUnit.objects.count())
    first = demo_ensure(persons=PERSONS, seed=SEED, out=None)
    second = demo_ensure(persons=PERSONS, seed=SEED, out=None)
    assert first == second
    assert all(isinstance(x, DemoLogin) for x in first)
    assert [x.username for x in first] == ["admin", "tongji", "dongcheng", "xicheng", "cunyuan", "lingdao"]
    assert "东城街道" in first[2].description
    assert (Person.objects.count(), User.objects.count(), OrgUnit.objects.count()) == counts


def test_a_second_generation_needs_replace_and_gives_the_same_data(demo, tmp_path):
    with pytest.raises(DemoError):
        demo_generate(persons=PERSONS, seed=SEED, truth_path=tmp_path / "t.json")
    with pytest.raises(CommandError):
        call_command("demo", "--persons", "500", "--truth", str(tmp_path / "t.json"))
    again = demo_generate(persons=PERSONS, seed=SEED, replace=True, truth_path=tmp_path / "t.json")
    assert _register_hash() == demo["hash"]
    assert again["years"] == demo["truth"]["years"]
    assert User.objects.filter(username="admin").count() == 1


def test_replace_refuses_a_register_that_is_not_synthetic(demo):
    InstallationFact.objects.filter(key=SYNTHETIC_DATA).delete()
    with pytest.raises(DemoError):
        demo_wipe()


def test_rows_added_after_the_demo_get_fresh_ids(demo):
    top = Person.objects.order_by("-id").values_list("id", flat=True).first()
    village = OrgUnit.objects.filter(level=UnitLevel.VILLAGE).first()
    person = Person.objects.create(name="新人", sex="1", birth_date=date(2000, 1, 1), registration_unit=village,
                                   residence_unit=village)
    assert person.pk > top
    unit = OrgUnit.objects.create(code="500230206299", name="新村", level=3, unit_type="village",
                                  parent=village.parent, path="")
    assert unit.pk > OrgUnit.objects.exclude(pk=unit.pk).order_by("-id").values_list("id", flat=True).first()
    event = Event.objects.create(kind=EventKind.DEATH, person=person, date=date(2025, 1, 1), unit=village,
                                 recorded_at=timezone.now())
    assert event.pk > Event.objects.exclude(pk=event.pk).order_by("-id").values_list("id", flat=True).first()
