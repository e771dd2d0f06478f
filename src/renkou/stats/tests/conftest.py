"""A small register whose figures are computed by hand in the tests (see ``small_register``'s docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from renkou.registry.models import Event, Person
from renkou.registry.services import events as ev
from renkou.registry.services import marriages as mar
from renkou.stats.selectors import forget_cache
from renkou.testing import make_person


@pytest.fixture(autouse=True)
def _stats_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    forget_cache()
    yield
    forget_cache()


@dataclass
class Small:
    w1: Person
    m1: Person
    w2: Person
    x: Person
    y: Person
    w3: Person


def _recorded(event: Event, when: datetime) -> None:
    Event.objects.filter(pk=event.pk).update(recorded_at=when)


@pytest.fixture
def small_register(county, personas) -> Small:
    """People of 青山县 and what happens to them (the tests count by hand from this list):

    - 东城 第一社区: W1 (woman, 1995-03-10) married M1 (man, 1993-02-01) on 2020-05-01; W1 bore a girl
      2022-01-15 (order 1) and a boy 2024-06-01 (order 2, W1 aged 29).
    - 东城 第二社区: W2 (woman, 2000-07-01, unmarried) bore a girl 2024-02-10 (order 1, aged 23) and a stillborn
      child 2024-08-01.
    - 西城 西街社区: X (man, 1950-01-01) died 2024-03-01; W3 (woman, 1990-05-05) bore a boy 2023-11-20 (order 1,
      aged 33), recorded only on 2024-01-05 (reported late).
    - 西城 北街社区: Z (woman, 1985-06-15) moved in from 510100 on 2024-04-01.
    - 龙河 龙河村: Y (man, 1980-01-01) moved out to 510100 on 2024-09-01.
    """
    admin = personas.admin
    w1 = make_person(county.dc_village1, name="甲", sex="2", birth_date=date(1995, 3, 10))
    m1 = make_person(county.dc_village1, name="乙", sex="1", birth_date=date(1993, 2, 1))
    mar.marriage_register(by=admin, husband=m1, wife=w1, married_on=date(2020, 5, 1), unit=county.dc_village1)
    for born, sex in ((date(2022, 1, 15), "2"), (date(2024, 6, 1), "1")):
        e = ev.birth_register(by=admin, mother=w1, born_on=born, sex=sex, name="甲子", father=m1)
        _recorded(e, datetime.combine(born, datetime.min.time(), UTC))
    w2 = make_person(county.dc_village2, name="丙", sex="2", birth_date=date(2000, 7, 1))
    e = ev.birth_register(by=admin, mother=w2, born_on=date(2024, 2, 10), sex="2", name="丙子")
    _recorded(e, datetime(2024, 2, 12, 2, tzinfo=UTC))
    e = ev.birth_register(by=admin, mother=w2, born_on=date(2024, 8, 1), sex="1", live_born=False)
    _recorded(e, datetime(2024, 8, 2, 2, tzinfo=UTC))
    x = make_person(county.xc_village1, name="丁", sex="1", birth_date=date(1950, 1, 1))
    e = ev.death_register(by=admin, person=x, died_on=date(2024, 3, 1))
    _recorded(e, datetime(2024, 3, 2, 2, tzinfo=UTC))
    w3 = make_person(county.xc_village1, name="戊", sex="2", birth_date=date(1990, 5, 5))
    e = ev.birth_register(by=admin, mother=w3, born_on=date(2023, 11, 20), sex="1", name="戊子")
    # 2024-01-05 01:00 in Beijing is still 2024-01-04 in UTC: the local date counts.
    _recorded(e, datetime(2024, 1, 4, 17, tzinfo=UTC))
    e = ev.move_in_register(by=admin, moved_on=date(2024, 4, 1), to_unit=county.xc_village2, from_county="510100",
                            new_person={"name": "己", "sex": "2", "birth_date": date(1985, 6, 15)})
    _recorded(e, datetime(2024, 4, 2, 2, tzinfo=UTC))
    y = make_person(county.lh_village1, name="庚", sex="1", birth_date=date(1980, 1, 1))
    e = ev.move_out_register(by=admin, person=y, moved_on=date(2024, 9, 1), to_county="510100")
    _recorded(e, datetime(2024, 9, 2, 2, tzinfo=UTC))
    return Small(w1=w1, m1=m1, w2=w2, x=x, y=y, w3=w3)
