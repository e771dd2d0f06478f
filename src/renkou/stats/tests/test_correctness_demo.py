"""On the synthetic county, the figures equal the generator's truth.json: yearly counts exactly, TFR and SRB
within sampling error of the generator's parameters; roll-ups add up exactly."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from renkou.demo.services import demo_generate, demo_wipe
from renkou.orgunits.models import OrgUnit
from renkou.stats import expressions, selectors

PERSONS, SEED, TFR, SRB = 8_000, 11, 1.3, 111.0


@pytest.fixture(scope="module")
def truth(django_db_setup, django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "truth.json"
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher"]):
        facts = demo_generate(persons=PERSONS, seed=SEED, tfr=TFR, srb=SRB, truth_path=path)
        yield facts
        demo_wipe()


@pytest.fixture
def computed(truth, db):
    years = [y for y, v in truth["years"].items() if not v["partial"]]
    county = truth["parameters"]["county_code"] + "000000"
    cube = selectors.cube_for(years)
    return years, county, cube


def test_yearly_counts_match_truth_exactly(truth, computed):
    years, county, cube = computed

    def v(element, coc, year):
        return cube.value((element, coc), county, year)

    assert len(years) >= 5
    for y in years:
        t = truth["years"][y]
        assert v("POP_START", "", y) == t["population_start"]["total"], y
        assert (v("POP_END", "MALE", y), v("POP_END", "FEMALE", y)) == (t["population_end"]["male"],
                                                                        t["population_end"]["female"]), y
        assert v("POP_MEAN", "", y) == t["mean_population"], y
        lb = t["live_births"]
        assert (v("LIVE_BIRTHS", "", y), v("LIVE_BIRTHS", "MALE", y), v("LIVE_BIRTHS", "FEMALE", y)) == (
            lb["total"], lb["male"], lb["female"]), y
        assert [v("LIVE_BIRTHS_ORDER", o, y) for o in ("O1", "O2", "O3P")] == [lb["by_order"][k]
                                                                               for k in ("1", "2", "3+")], y
        assert v("LIVE_BIRTHS_LATE", "", y) == lb["recorded_after_year_end"], y
        assert v("BIRTHS", "STILL", y) == t["stillbirths"], y
        assert v("DEATHS", "", y) == t["deaths"]["total"], y
        assert v("DEATHS", "MALE", y) == t["deaths"]["male"], y
        assert v("DEATHS_RESIDENCE", "HERE", y) == t["deaths"]["living_here"], y
        assert v("MARRIAGES", "", y) == t["marriages"] and v("DIVORCES", "", y) == t["divorces"], y
        assert v("MOVES_IN", "", y) == t["moves_in"]["total"], y
        assert v("MOVES_OUT", "", y) == t["moves_out"]["total"], y


def test_indicators_match_truth_and_the_generators_parameters(truth, computed):
    years, county, cube = computed
    values = {(r["data_element"], r["period"]): r["value"]
              for r in selectors.values(["SRB", "TFR", "CBR", "CDR"], [county], years)}
    tfrs = []
    for y in years:
        t = truth["years"][y]
        assert values[("SRB", y)] == t["srb"], y  # the same births: exactly
        assert values[("CBR", y)] == pytest.approx(t["crude_birth_rate"], abs=0.01), y
        assert values[("CDR", y)] == pytest.approx(t["crude_death_rate"], abs=0.01), y
        # Women by age: the mean of both ends of the year here, the mid-year count in truth.json.
        assert values[("TFR", y)] == pytest.approx(t["tfr"], rel=0.06), y
        tfrs.append(values[("TFR", y)])
    assert abs(np.mean(tfrs) - TFR) < 0.2
    male = sum(cube.value(("LIVE_BIRTHS", "MALE"), county, y) for y in years)
    female = sum(cube.value(("LIVE_BIRTHS", "FEMALE"), county, y) for y in years)
    lo, hi = expressions.wilson(np.array([male]), np.array([female]), z=3.29)
    assert lo[0] * 100 <= SRB <= hi[0] * 100


def test_roll_ups_add_up_exactly_on_the_county(truth, computed):
    years, county, cube = computed
    townships = list(OrgUnit.objects.filter(level=2).values_list("code", flat=True))
    children: dict[str, list[str]] = {}
    for parent, code in OrgUnit.objects.filter(level=3).values_list("parent__code", "code"):
        children.setdefault(parent, []).append(code)
    m = cube.matrix
    idx = cube.row_index
    for y in years[-2:]:
        county_col = m[:, idx[(county, y)]]
        township_sum = sum(m[:, idx[(t, y)]] for t in townships if (t, y) in idx)
        assert np.array_equal(county_col, township_sum)
        for t in townships[:5]:
            villages = sum(m[:, idx[(v, y)]] for v in children.get(t, []) if (v, y) in idx)
            assert np.array_equal(m[:, idx[(t, y)]], villages)
