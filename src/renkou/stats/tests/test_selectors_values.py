"""The values() contract on the small hand-counted register (conftest.small_register)."""

from __future__ import annotations

import pytest

from renkou.stats import selectors
from renkou.stats.elements import ELEMENTS

C, DC, XC, LH = "500230000000", "500230001000", "500230002000", "500230101000"
DC1, DC2, XC1, XC2, LH1 = "500230001001", "500230001002", "500230002001", "500230002002", "500230101201"


def _v(rows, element, coc, unit, period):
    found = [r["value"] for r in rows if (r["data_element"], r["category_option_combo"], r["org_unit"],
                                          r["period"]) == (element, coc, unit, period)]
    assert len(found) == 1, (element, coc, unit, period, found)
    return found[0]


@pytest.fixture
def rows(small_register):
    codes = [e.code for e in ELEMENTS]
    return selectors.values(codes, [C, DC, XC, LH, DC1, DC2, XC1, XC2, LH1],
                            ["2023", "2024", "FP2024", "2024Q1", "202404", "2024S2"])


def test_population_at_start_end_and_mean(rows):
    assert _v(rows, "POP_START", "", C, "2024") == 8
    assert (_v(rows, "POP_START", "MALE", C, "2024"), _v(rows, "POP_START", "FEMALE", C, "2024")) == (4, 4)
    assert _v(rows, "POP_END", "", C, "2024") == 9
    assert (_v(rows, "POP_END", "MALE", C, "2024"), _v(rows, "POP_END", "FEMALE", C, "2024")) == (3, 6)
    assert _v(rows, "POP_MEAN", "", C, "2024") == 8.5
    assert [_v(rows, "POP_END", "", u, "2024") for u in (DC1, DC2, XC1, XC2, LH1, DC, XC, LH)] == [4, 2, 2, 1, 0,
                                                                                                 6, 3, 0]
    # Q1: X died on 1 March: 8 at both ends.
    assert (_v(rows, "POP_START", "", C, "2024Q1"), _v(rows, "POP_END", "", C, "2024Q1")) == (8, 8)
    assert _v(rows, "POP_END_STATUS", "IN", C, "2024") == 1  # Z, from another county
    assert _v(rows, "POP_END_AGE5", "Y00_04.FEMALE", C, "2024") == 2  # C1 (2022) and C4 (2024)


def test_births_by_sex_order_outcome_and_mothers_age(rows):
    assert _v(rows, "BIRTHS", "", C, "2024") == 3
    assert (_v(rows, "BIRTHS", "LIVE", C, "2024"), _v(rows, "BIRTHS", "STILL", C, "2024")) == (2, 1)
    assert (_v(rows, "LIVE_BIRTHS", "MALE", C, "2024"), _v(rows, "LIVE_BIRTHS", "FEMALE", C, "2024")) == (1, 1)
    assert [_v(rows, "LIVE_BIRTHS_ORDER", o, C, "2024") for o in ("O1", "O2", "O3P")] == [1, 1, 0]
    assert _v(rows, "LIVE_BIRTHS_ORDER_SEX", "O2.MALE", C, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS_MAGE", "M25_29", C, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS_MAGE", "M20_24", C, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS_MAGE1", "A29", C, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS", "", C, "FP2024") == 3  # Oct 2023 – Sep 2024 holds C3 too
    assert _v(rows, "LIVE_BIRTHS", "", C, "2024Q1") == 1


def test_births_reported_late_count_in_both_periods(rows):
    # C3, born 2023-11-20, recorded 2024-01-05 Beijing time.
    assert _v(rows, "LIVE_BIRTHS_LATE", "", C, "2023") == 1
    assert _v(rows, "LIVE_BIRTHS_LATE", "", C, "2024") == 0
    assert _v(rows, "LIVE_BIRTHS_EARLIER", "MALE", C, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS_EARLIER", "", XC1, "2024") == 1
    assert _v(rows, "LIVE_BIRTHS_EARLIER", "", C, "2023") == 0


def test_deaths_moves_marriages_and_women(rows):
    assert _v(rows, "DEATHS", "MALE", C, "2024") == 1
    assert _v(rows, "DEATHS_RESIDENCE", "HERE", XC, "2024") == 1
    assert _v(rows, "MOVES_IN", "OTHER_COUNTY", XC2, "202404") == 1
    assert _v(rows, "MOVES_OUT", "OTHER_COUNTY", LH, "2024S2") == 1
    assert _v(rows, "MARRIAGES", "", C, "2024") == 0
    assert (_v(rows, "WOMEN_15_49_END", "", C, "2024"), _v(rows, "WOMEN_15_49_MEAN", "", C, "2024")) == (4, 3.5)
    assert (_v(rows, "MWOMEN_15_49_END", "", C, "2024"), _v(rows, "MWOMEN_15_49_MEAN", "", C, "2024")) == (1, 1)
    assert _v(rows, "WOMEN_MEAN_AGE1", "A29", C, "2024") == 0.5


def test_roll_ups_add_up_exactly(rows):
    by = {(r["data_element"], r["category_option_combo"], r["org_unit"], r["period"]): r["value"] for r in rows}
    children = {C: [DC, XC, LH], DC: [DC1, DC2], XC: [XC1, XC2], LH: [LH1]}
    checked = 0
    for (el, coc, unit, period), value in by.items():
        if unit in children:
            assert value == sum(by[(el, coc, c, period)] for c in children[unit]), (el, coc, unit, period)
            checked += 1
    assert checked > 1000


def test_indicators_hand_computed(small_register):
    rows = selectors.values(["CBR", "CDR", "NGR", "SRB", "GFR", "TFR", "MEAN_POP", "ORDER1_SHARE",
                             "BIRTHS_EARLIER"], [C], ["2024", "2024Q1"])
    got = {(r["data_element"], r["period"]): r["value"] for r in rows}
    assert got[("MEAN_POP", "2024")] == 8.5
    assert got[("CBR", "2024")] == 235.29  # 2 / 8.5 × 1000
    assert got[("CDR", "2024")] == 117.65
    assert got[("NGR", "2024")] == 117.65
    assert got[("SRB", "2024")] == 100
    assert got[("GFR", "2024")] == 571.43  # 2 / 3.5 × 1000
    assert got[("TFR", "2024")] == 4  # 1 / 0.5 at age 23 + 1 / 0.5 at age 29
    assert got[("ORDER1_SHARE", "2024")] == 50
    assert got[("BIRTHS_EARLIER", "2024")] == 1
    assert got[("CBR", "2024Q1")] == 500  # 1 birth in a quarter, annualised: 4 / 8 × 1000


def test_unknown_code_is_refused(small_register):
    with pytest.raises(ValueError, match="NOPE"):
        selectors.values(["NOPE"], [C], ["2024"])


def test_values_follow_register_changes(small_register, county, personas):
    from datetime import date

    from renkou.registry.services import events as ev

    assert selectors.values(["DEATHS"], [C], ["2024"])[0]["value"] == 1
    ev.death_register(by=personas.admin, person=small_register.m1, died_on=date(2024, 10, 1))
    assert selectors.values(["DEATHS"], [C], ["2024"])[0]["value"] == 2


def test_a_few_flow_elements_are_computed_without_the_stocks(small_register, monkeypatch):
    """A page showing flows alone (the dashboard's trend) computes those elements only, with no stock step: the
    same values as in the run of every element, over years the kept stocks do not cover."""
    from renkou.stats import engine

    steps = []
    real = engine.plan_steps

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        steps.append([name for name, _sql in out])
        return out

    monkeypatch.setattr(engine, "plan_steps", spy)
    years = [str(y) for y in range(2004, 2025)]
    flows = ["LIVE_BIRTHS", "DEATHS", "MOVES_IN", "MOVES_OUT"]
    few = selectors.cube_for(years, [C, DC], elements=flows)
    assert not any(n.startswith(("cnt_", "src_pop", "src_mw", "spells", "mv")) for n in steps[-1]), steps[-1]
    every = selectors.cube_for(years, [C, DC])
    assert any(n.startswith("cnt_") for n in steps[-1])  # 2004 lies before the kept stocks: counted
    mine = {k for k in few.keys if k[0] in flows}
    assert mine == {k for k in every.keys if k[0] in flows} and ("LIVE_BIRTHS", "MALE") in mine
    assert not any(k[0].startswith(("POP_", "WOMEN_", "MWOMEN_")) for k in few.keys)
    for key in mine:
        assert few.aligned(every.rows).get(key).tolist() == every.get(key).tolist(), key
    assert few.value(("LIVE_BIRTHS", ""), C, "2024") == 2


def test_a_pinned_block_checks_the_register_once(small_register, django_assert_num_queries):
    from renkou.stats.snapshot import snapshot_ensure, snapshot_pinned

    with snapshot_pinned():
        first = snapshot_ensure()
        with django_assert_num_queries(0):
            again = snapshot_ensure()
    assert again is first
    with django_assert_num_queries(12):  # outside the block: the fingerprint's queries again
        snapshot_ensure()
