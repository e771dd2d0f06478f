"""Stocks on the boundary days, counted by hand: a birthday, a birth, a death, a move, a marriage or a divorce on
the very date a stock is read (the end of that day), the 15th and the 50th birthday, 29 February, and the age
groups' edges. The engine counts stocks without expanding persons × dates (engine.stock_steps), or reads them from
the month-end stocks the snapshot keeps (engine.stock_delta_sql, stock_store_sql): these are the cases where an
off-by-one day would show, checked both ways."""

from __future__ import annotations

from datetime import date

import pytest

from renkou.registry.services import events as ev
from renkou.registry.services import marriages as mar
from renkou.stats import engine, selectors
from renkou.testing import make_person

LH1 = "500230101201"  # 龙河村: everyone below lives there
PERIODS = ["2023", "2024", "202302", "202303"]


@pytest.fixture(params=["stored", "counted"])
def rows(request, county, personas, monkeypatch):
    """In 龙河村:

    - women: A 1975-12-31 (49 on 2024-12-31), B 1974-12-31 (50 on 2024-12-31), C 2009-12-31 (15 on
      2024-12-31), D 2010-01-01 (15 only on 2025-01-01), E 2008-02-29 (15 on 2023-03-01: no 29 February in 2023);
      K 1990-06-01 married L on 2024-12-31; N 1980-01-01 married M on 2000-01-01, divorced on 2024-12-31;
      I 1990-01-01 moved in from 510100 on 2024-12-31;
    - men: F 1974-12-31 (50 on 2024-12-31), G 1939-12-31 (85 on 2024-12-31), H 1960-06-01 died on 2024-12-31,
      J born on 2024-12-31, L 1990-01-01, M 1965-01-01.
    """
    admin, v = personas.admin, county.lh_village1
    woman = {k: make_person(v, name=k, sex="2", birth_date=b) for k, b in (
        ("A", date(1975, 12, 31)), ("B", date(1974, 12, 31)), ("C", date(2009, 12, 31)), ("D", date(2010, 1, 1)),
        ("E", date(2008, 2, 29)), ("K", date(1990, 6, 1)), ("N", date(1980, 1, 1)))}
    man = {k: make_person(v, name=k, sex="1", birth_date=b) for k, b in (
        ("F", date(1974, 12, 31)), ("G", date(1939, 12, 31)), ("H", date(1960, 6, 1)), ("J", date(2024, 12, 31)),
        ("L", date(1990, 1, 1)), ("M", date(1965, 1, 1)))}
    ev.death_register(by=admin, person=man["H"], died_on=date(2024, 12, 31))
    ev.move_in_register(by=admin, moved_on=date(2024, 12, 31), to_unit=v, from_county="510100",
                        new_person={"name": "I", "sex": "2", "birth_date": date(1990, 1, 1)})
    mar.marriage_register(by=admin, husband=man["L"], wife=woman["K"], married_on=date(2024, 12, 31), unit=v)
    m = mar.marriage_register(by=admin, husband=man["M"], wife=woman["N"], married_on=date(2000, 1, 1), unit=v)
    mar.marriage_end(by=admin, marriage=m, ended_on=date(2024, 12, 31))
    covered = []

    def cover(snapshots, dates):
        covered.append(request.param == "stored" and real_cover(snapshots, dates))
        return covered[-1]

    real_cover = engine.stocks_cover
    monkeypatch.setattr(engine, "stocks_cover", cover)
    out = selectors.values(["POP_START", "POP_END", "POP_END_AGE5", "WOMEN_15_49_END", "WOMEN_MEAN_AGE1",
                            "MWOMEN_15_49_END", "DEATHS", "MOVES_IN"], [LH1], PERIODS)
    assert covered == [request.param == "stored"]  # the way asked was the way taken
    return out


def _v(rows, element, coc, period):
    found = [r["value"] for r in rows if (r["data_element"], r["category_option_combo"], r["org_unit"],
                                          r["period"]) == (element, coc, LH1, period)]
    assert len(found) == 1, (element, coc, period, found)
    return found[0]


def test_born_died_and_moved_in_on_the_date(rows):
    # End of 2023: A B C D E F G H K L M N. End of 2024: H died that day (gone), I moved in and J was born that day.
    assert _v(rows, "POP_END", "", "2023") == 12
    assert _v(rows, "POP_START", "", "2024") == 12
    assert _v(rows, "POP_END", "", "2024") == 13
    assert (_v(rows, "POP_END", "MALE", "2024"), _v(rows, "POP_END", "FEMALE", "2024")) == (5, 8)
    assert _v(rows, "POP_END_AGE5", "Y00_04.MALE", "2024") == 1  # J, born on the date
    assert _v(rows, "POP_END_AGE5", "Y60_64.MALE", "2023") == 1  # H, 63
    assert _v(rows, "POP_END_AGE5", "Y60_64.MALE", "2024") == 0  # H died on the date
    assert (_v(rows, "DEATHS", "", "2024"), _v(rows, "MOVES_IN", "", "2024")) == (1, 1)


def test_the_15th_and_50th_birthday_on_the_date(rows):
    # End of 2023: A 48, B 49, E 15, K 33, N 43 (C 14 and D 13 too young).
    assert _v(rows, "WOMEN_15_49_END", "", "2023") == 5
    # End of 2024: A 49, C 15 (that day), E 16, I 34, K 34, N 44; B turned 50 that day, D is still 14.
    assert _v(rows, "WOMEN_15_49_END", "", "2024") == 6
    # Single years, mean of the start (2023-12-31) and the end (2024-12-31) of 2024.
    assert _v(rows, "WOMEN_MEAN_AGE1", "A15", "2024") == 1  # E at the start, C at the end
    assert _v(rows, "WOMEN_MEAN_AGE1", "A49", "2024") == 1  # B at the start, A at the end
    assert _v(rows, "WOMEN_MEAN_AGE1", "A48", "2024") == 0.5  # A at the start


def test_29_february_birthday_in_a_common_year(rows):
    # E (2008-02-29) is 14 on 2023-02-28 and 15 from 2023-03-01.
    assert _v(rows, "WOMEN_15_49_END", "", "202302") == 4  # A 47, B 48, K 32, N 43
    assert _v(rows, "WOMEN_15_49_END", "", "202303") == 5  # and E


def test_age_groups_change_on_the_birthday(rows):
    assert (_v(rows, "POP_END_AGE5", "Y45_49.MALE", "2023"), _v(rows, "POP_END_AGE5", "Y50_54.MALE", "2023")) \
        == (1, 0)  # F 49
    assert (_v(rows, "POP_END_AGE5", "Y45_49.MALE", "2024"), _v(rows, "POP_END_AGE5", "Y50_54.MALE", "2024")) \
        == (0, 1)  # F 50 that day
    assert (_v(rows, "POP_END_AGE5", "Y80_84.MALE", "2023"), _v(rows, "POP_END_AGE5", "Y85P.MALE", "2023")) == (1, 0)
    assert (_v(rows, "POP_END_AGE5", "Y80_84.MALE", "2024"), _v(rows, "POP_END_AGE5", "Y85P.MALE", "2024")) == (0, 1)
    assert _v(rows, "POP_END_AGE5", "Y15_19.FEMALE", "2023") == 1  # E
    assert _v(rows, "POP_END_AGE5", "Y10_14.FEMALE", "2023") == 2  # C, D
    assert _v(rows, "POP_END_AGE5", "Y15_19.FEMALE", "2024") == 2  # C (that day), E
    assert _v(rows, "POP_END_AGE5", "Y10_14.FEMALE", "2024") == 1  # D


def test_married_and_divorced_on_the_date(rows):
    # End of 2023: N (43, married). End of 2024: K married that day counts; N divorced that day does not.
    assert _v(rows, "MWOMEN_15_49_END", "", "2023") == 1
    assert _v(rows, "MWOMEN_15_49_END", "", "2024") == 1
