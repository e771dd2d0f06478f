"""Every write of a person, an event or a marriage moves the row's change marker (``updated_at``): the statistics
snapshot fetches only the rows changed since it was read (stats/snapshot.py), so a write path that forgot it would
leave the snapshot wrong. One test per write path: single services, the bulk import's writes, the merge."""

from __future__ import annotations

from datetime import UTC, date, datetime

from renkou.intake.services import import_file
from renkou.intake.tests.helpers import csv_bytes
from renkou.registry.models import Event, Marriage, Person
from renkou.registry.services import (
    birth_register,
    death_register,
    marriage_end,
    marriage_register,
    move_in_register,
    move_out_register,
    person_merge,
    person_update,
)
from renkou.testing import make_person

OLD = datetime(2000, 1, 1, tzinfo=UTC)


def _age_markers() -> None:
    """Every row's marker set far back, so that a marker that moved is one the write under test set."""
    for model in (Person, Event, Marriage):
        model.objects.update(updated_at=OLD)


def _moved(model, *rows) -> set[int]:
    """Which of ``rows`` (instances or ids) have a marker newer than OLD."""
    ids = [getattr(r, "pk", r) for r in rows]
    return set(model.objects.filter(pk__in=ids, updated_at__gt=OLD).values_list("pk", flat=True))


def _ids(*rows) -> set[int]:
    return {getattr(r, "pk", r) for r in rows}


def _couple(county, admin, married_on=date(2015, 5, 1)):
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1985, 1, 1))
    woman = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1988, 3, 4))
    marriage = marriage_register(by=admin, husband=man, wife=woman, married_on=married_on)
    return man, woman, marriage


def test_marriage_register_moves_both_spouses_markers(personas, county):
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1985, 1, 1))
    woman = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1988, 3, 4))
    _age_markers()
    marriage = marriage_register(by=personas.admin, husband=man, wife=woman, married_on=date(2015, 5, 1))
    assert _moved(Person, man, woman) == _ids(man, woman)
    assert _moved(Marriage, marriage) == _ids(marriage)


def test_marriage_end_moves_the_marriage_and_the_spouses(personas, county):
    man, woman, marriage = _couple(county, personas.admin)
    _age_markers()
    marriage_end(by=personas.admin, marriage=marriage, ended_on=date(2020, 1, 1))
    assert _moved(Marriage, marriage) == _ids(marriage)
    assert _moved(Person, man, woman) == _ids(man, woman)


def test_death_moves_the_ended_marriage_and_the_widowed_spouse(personas, county):
    man, woman, marriage = _couple(county, personas.admin)
    _age_markers()
    event = death_register(by=personas.admin, person=man, died_on=date(2023, 2, 1))
    assert _moved(Marriage, marriage) == _ids(marriage)
    assert _moved(Person, man, woman) == _ids(man, woman)
    assert _moved(Event, event) == _ids(event)


def test_a_birth_registered_late_moves_the_later_births_it_renumbers(personas, county):
    _man, woman, _m = _couple(county, personas.admin)
    later = birth_register(by=personas.admin, mother=woman, born_on=date(2022, 6, 1), sex="1", name="二宝")
    assert later.birth_order == 1
    _age_markers()
    earlier = birth_register(by=personas.admin, mother=woman, born_on=date(2019, 6, 1), sex="2", name="大宝")
    later.refresh_from_db()
    assert later.birth_order == 2
    assert _moved(Event, later, earlier) == _ids(later, earlier)
    assert _moved(Person, earlier.person_id) == {earlier.person_id}


def test_moves_and_person_corrections_move_the_persons_marker(personas, county):
    p = make_person(county.dc_village1, name="王走", sex="1", birth_date=date(1990, 1, 1))
    q = make_person(county.dc_village2, name="陈改", sex="2", birth_date=date(1991, 1, 1))
    _age_markers()
    out = move_out_register(by=personas.admin, person=p, moved_on=date(2023, 1, 1), to_county="110105")
    assert _moved(Person, p) == _ids(p) and _moved(Event, out) == _ids(out)
    _age_markers()
    back = move_in_register(by=personas.admin, person=p, moved_on=date(2024, 1, 1), to_unit=county.dc_village2,
                            from_county="110105")
    assert _moved(Person, p) == _ids(p) and _moved(Event, back) == _ids(back)
    _age_markers()
    person_update(by=personas.admin, person=q, changes={"registration_type": "urban"})
    assert _moved(Person, p, q) == _ids(q)


def test_a_merge_moves_every_row_it_rewrites(personas, county):
    admin = personas.admin
    survivor = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1988, 3, 4), id_number=None)
    duplicate = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1988, 3, 4))
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1985, 1, 1))
    marriage = marriage_register(by=admin, husband=man, wife=duplicate, married_on=date(2012, 1, 1))
    birth = birth_register(by=admin, mother=duplicate, born_on=date(2015, 1, 1), sex="1", name="小王")
    moved_out = move_out_register(by=admin, person=duplicate, moved_on=date(2020, 1, 1), to_unit=county.dc_village2)
    _age_markers()
    person_merge(by=admin, survivor=survivor, duplicate=duplicate)
    assert _moved(Event, birth, moved_out) == _ids(birth, moved_out)  # as mother and as the person who moved
    assert _moved(Marriage, marriage) == _ids(marriage)
    assert _moved(Person, survivor, duplicate, birth.person_id) == _ids(survivor, duplicate, birth.person_id)
    assert _moved(Person, man) == set()


EVENT_HEADERS = ["事件类型", "日期", "身份证号", "姓名", "性别", "母亲身份证号", "父亲身份证号", "活产", "村（居）",
                 "迁往村（居）", "迁出地县级代码", "迁往县级代码", "户口迁移", "备注"]


def _event_row(kind, on, number="", name="", sex="", mother=""):
    return [kind, on, number, name, sex, mother, "", "", "", "", "", "", "", ""]


def test_the_events_import_moves_ended_marriages_spouses_and_renumbered_births(personas, county):
    man, woman, marriage = _couple(county, personas.admin)
    later = birth_register(by=personas.admin, mother=woman, born_on=date(2022, 6, 1), sex="1", name="二宝")
    _age_markers()
    rows = [_event_row("出生", "2019-06-01", name="大宝", sex="女", mother=woman.id_number),
            _event_row("死亡", "2024-01-02", man.id_number)]
    run, outcome = import_file(by=personas.admin, kind="events", file_name="e.csv",
                               data=csv_bytes(rows, EVENT_HEADERS, encoding="gbk"))
    assert (run.status, run.created) == ("done", 2), [r.messages for r in outcome.rows]
    later.refresh_from_db()
    assert later.birth_order == 2
    new = list(Event.objects.exclude(pk=later.pk).values_list("pk", flat=True))
    assert _moved(Event, later, *new) == _ids(later, *new)
    assert _moved(Marriage, marriage) == _ids(marriage)
    assert _moved(Person, man, woman) == _ids(man, woman)


MARRIAGE_HEADERS = ["男方身份证号", "女方身份证号", "结婚日期", "登记地", "离婚日期", "终止原因"]


def test_the_marriages_import_moves_an_ended_marriage_and_the_spouses(personas, county):
    man, woman, marriage = _couple(county, personas.admin, married_on=date(2015, 5, 20))
    _age_markers()
    rows = [[man.id_number, woman.id_number, "2015-05-20", "", "2023-06-01", "离婚"]]
    run, _ = import_file(by=personas.admin, kind="marriages", file_name="m.csv",
                         data=csv_bytes(rows, MARRIAGE_HEADERS, encoding="gbk"))
    assert (run.status, run.updated) == ("done", 1)
    assert Marriage.objects.get(pk=marriage.pk).ended_on == date(2023, 6, 1)
    assert _moved(Marriage, marriage) == _ids(marriage)
    assert _moved(Person, man, woman) == _ids(man, woman)
