"""The population simulation, without a database."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from renkou.demo import simulate as sim
from renkou.demo import truth


@pytest.fixture(scope="module")
def large_world() -> sim.World:
    return sim.simulate(sim.Params(persons=200_000, seed=7, first_year=2014, last_year=2025))


def _recorded_births(world: sim.World) -> dict[str, np.ndarray]:
    b = world.births
    keep = b["live"] & (b["day"] >= sim.jan1(world.params.first_year))
    return {k: v[keep] for k, v in b.items()}


def _shares(world: sim.World, day: int) -> dict[str, float]:
    here = sim.living_here_on(world, day)
    p = world.persons
    age = sim.completed_age(p["bday"][here], day)
    return {"0-14": 100 * np.mean(age < 15), "15-59": 100 * np.mean((age >= 15) & (age < 60)),
            "60+": 100 * np.mean(age >= 60),
            "sex_ratio": 100 * np.count_nonzero(p["sex"][here] == 1) / np.count_nonzero(p["sex"][here] == 2)}


def test_the_county_ends_near_the_requested_size(large_world):
    assert abs(large_world.residents_at_end() - 200_000) / 200_000 < 0.03


def test_age_structure_on_census_day_is_near_the_2020_census(large_world):
    got = _shares(large_world, sim.day_of(2020, 11, 1))
    # Twelve years at the requested TFR of 1.3 (China's was about 1.6 in 2014–2019) leave fewer children.
    assert abs(got["0-14"] - truth.CENSUS_2020["0-14"]) < 3.5
    assert abs(got["15-59"] - truth.CENSUS_2020["15-59"]) < 4.5
    assert abs(got["60+"] - truth.CENSUS_2020["60+"]) < 3
    assert 101 < got["sex_ratio"] < 108


def test_age_structure_at_the_end_is_within_a_few_points_of_the_census(large_world):
    got = _shares(large_world, large_world.params.end_day + 1)
    for group in ("0-14", "15-59", "60+"):
        assert abs(got[group] - truth.CENSUS_2020[group]) < 5, (group, got)


def test_srb_and_tfr_of_the_recorded_years_are_the_requested_ones(large_world):
    b = _recorded_births(large_world)
    srb = 100 * np.count_nonzero(b["sex"] == 1) / np.count_nonzero(b["sex"] == 2)
    assert abs(srb - 111) < 4
    p = large_world.persons
    tfrs = []
    for year, ys in large_world.years.items():
        in_year = (b["day"] >= ys.start_day) & (b["day"] <= ys.end_day)
        age = sim.completed_age(p["bday"][b["mother"][in_year]], b["day"][in_year])
        by_age = np.bincount(np.clip(age - 15, 0, 34), minlength=35)
        tfrs.append((by_age / ys.women_mid_by_age).sum())
        assert abs(tfrs[-1] - 1.3) < 0.08, year
    assert abs(np.mean(tfrs) - 1.3) < 0.03


def test_birth_orders_are_near_45_40_15(large_world):
    order = _recorded_births(large_world)["order"]
    assert abs(100 * np.mean(order == 1) - 45) < 6
    assert abs(100 * np.mean(order == 2) - 40) < 6
    assert abs(100 * np.mean(order >= 3) - 15) < 5


def test_births_outside_marriage_are_rare(large_world):
    assert np.mean(_recorded_births(large_world)["father"] < 0) < 0.03


def test_a_requested_tfr_and_srb_are_followed():
    world = sim.simulate(sim.Params(persons=30_000, seed=3, tfr=2.0, srb=105, first_year=2016, last_year=2025))
    b = _recorded_births(world)
    women = sum(ys.women_mid_by_age.sum() for ys in world.years.values())
    # General fertility rate rises with the TFR (about TFR / 35 per woman 15–49 per year).
    assert len(b["day"]) / women > 1.6 / 35
    srb = 100 * np.count_nonzero(b["sex"] == 1) / np.count_nonzero(b["sex"] == 2)
    assert abs(srb - 105) < 6


def test_life_expectancy_is_plausible():
    both = [(sim.life_expectancy(y, 1) + sim.life_expectancy(y, 2)) / 2 for y in (1950, 1980, 2020)]
    assert 35 < both[0] < 55
    assert 62 < both[1] < 72
    assert 76 < both[2] < 80
    assert sim.life_expectancy(2020, 2) - sim.life_expectancy(2020, 1) > 3


def test_the_fertility_schedule_peaks_at_25_to_29():
    f = sim.fertility_schedule(2020)
    assert abs(f.sum() - 1) < 1e-9
    assert 25 <= 15 + int(np.argmax(f)) <= 29


def test_the_same_seed_gives_the_same_world_and_another_seed_another():
    params = sim.Params(persons=3_000, seed=11, through=date(2026, 3, 1))
    a, b = sim.simulate(params), sim.simulate(params)
    for table in ("persons", "births", "deaths", "moves", "marriages"):
        for column, values in getattr(a, table).items():
            assert np.array_equal(values, getattr(b, table)[column]), (table, column)
    c = sim.simulate(sim.Params(persons=3_000, seed=12, through=date(2026, 3, 1)))
    assert not np.array_equal(a.persons["bday"][:100], c.persons["bday"][:100])


def test_a_partial_year_stops_at_its_date():
    world = sim.simulate(sim.Params(persons=3_000, seed=5, through=date(2026, 3, 1)))
    end = sim.day_of(2026, 3, 1)
    assert world.years[2026].partial and world.years[2026].end_day == end
    for table in (world.births, world.deaths, world.moves):
        assert table["day"].max() <= end
    assert world.persons["bday"].max() <= end


def test_matching_prefers_the_wanted_age_and_uses_each_man_once():
    rng = np.random.Generator(np.random.PCG64(1))
    want = np.array([25, 25, 30, 40])
    men = np.array([25, 26, 30, 30, 60])
    b, m = sim._match(rng, want, men)
    assert len(set(m.tolist())) == len(m)
    pairs = dict(zip(b.tolist(), men[m].tolist(), strict=True))
    assert sorted([pairs[0], pairs[1]]) == [25, 26]
    assert pairs[2] == 30
    assert 3 not in pairs  # nobody within 12 years of 40 is left


def test_completed_age_counts_birthdays_from_their_first_moment():
    born = np.array([sim.day_of(2000, 7, 1), sim.day_of(2000, 7, 2), sim.day_of(2000, 2, 29)])
    assert sim.completed_age(born, sim.day_of(2020, 7, 1)).tolist() == [20, 19, 20]
    assert sim.completed_age(born[2:], sim.day_of(2021, 2, 28)).tolist() == [20]
