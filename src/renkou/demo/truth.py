"""truth.json: the parameters of a demo county and its true counts by year, to check statistics against.

Computed from the rows written to the register (so that every count equals what the database holds) and from
the simulation's counts at points in time (population on 1 January and 31 December, women at mid-year). The
counts are checked against each other as they are computed: the births of each recorded year are the ones
simulated, their birth orders are the mothers' true parities, and the population balances (start + births −
deaths here + moves in − moves out = end). A failure is a bug of the generator, reported as such.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from renkou.demo import county as cty
from renkou.demo import simulate as sim
from renkou.demo.register import KIND_BIRTH, KIND_DEATH, KIND_MOVE_IN, KIND_MOVE_OUT, Register

#: 2020 census (DOMAIN.md): shares of the population by age group, per cent, and the sex ratio.
CENSUS_2020 = {"0-14": 17.95, "15-59": 63.35, "60+": 18.70, "sex_ratio": 105.07}
CENSUS_DAY_2020 = (2020, 11, 1)


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _age_shares(bday: np.ndarray, sex: np.ndarray, day: int) -> dict[str, float]:
    age = sim.completed_age(bday, day)
    total = max(len(age), 1)
    men, women = int(np.count_nonzero(sex == 1)), int(np.count_nonzero(sex == 2))
    return {
        "0-14": round(100 * np.count_nonzero(age < 15) / total, 2),
        "15-59": round(100 * np.count_nonzero((age >= 15) & (age < 60)) / total, 2),
        "60+": round(100 * np.count_nonzero(age >= 60) / total, 2),
        "sex_ratio": round(100 * men / max(women, 1), 2),
    }


class TruthError(AssertionError):
    """The generated register contradicts itself: a bug of the generator."""


def compute(world: sim.World, reg: Register, *, generated_at: datetime) -> dict:
    p = world.params
    ev = reg.events
    persons = reg.persons
    kind = ev["kind"]
    sex_of_person = persons["sex"]
    years: dict[str, dict] = {}
    births_sim = world.births
    for y, ys in sorted(world.years.items()):
        d0, d1 = ys.start_day, ys.end_day
        frac = (d1 - d0 + 1) / (sim.jan1(y + 1) - d0)
        in_year = (ev["date"] >= d0) & (ev["date"] <= d1)
        birth = in_year & (kind == KIND_BIRTH)
        live = birth & (ev["live_born"] == 1)
        still = birth & (ev["live_born"] == 0)
        order = ev["birth_order"][live]
        sim_in_year = (births_sim["day"] >= d0) & (births_sim["day"] <= d1)
        if np.count_nonzero(sim_in_year) != np.count_nonzero(birth):
            raise TruthError(f"{y}: births on record differ from the births simulated")
        if not np.array_equal(order, ev["sim_order"][live]):
            raise TruthError(f"{y}: a birth order on record differs from the mother's parity")
        male = np.count_nonzero(ev["sex"][live] == "1")
        female = np.count_nonzero(ev["sex"][live] == "2")
        death = in_year & (kind == KIND_DEATH)
        deaths_here = death & ((ev["sim_status"] == sim.RESIDENT) | (ev["sim_status"] == sim.IN))
        dsex = sex_of_person[ev["person"][death]]
        mk = ev["move_kind"]
        moves_out = in_year & (kind == KIND_MOVE_OUT)
        moves_in = in_year & (kind == KIND_MOVE_IN)
        married = (reg.marriages["married_on"] >= d0) & (reg.marriages["married_on"] <= d1)
        divorced = ((reg.marriages["ended_on"] >= d0) & (reg.marriages["ended_on"] <= d1)
                    & (reg.marriages["end_reason"] == "divorce"))
        start, end = sum(ys.pop_start), sum(ys.pop_end)
        balance = (start + int(live.sum()) - int(deaths_here.sum()) + int(moves_in.sum())
                   - int(moves_out.sum()))
        if balance != end:
            raise TruthError(f"{y}: population does not balance ({balance} computed, {end} counted)")
        # Realised TFR: births by the mother's completed age at the birth, over the women of that age living here
        # at mid-year (annualised for a partial year).
        mothers = ev["mother"][live]
        mage = sim.completed_age(persons["birth_date"][mothers], ev["date"][live])
        ok = (mage >= 15) & (mage <= 49)
        by_age = np.bincount(mage[ok] - 15, minlength=35)
        women = ys.women_mid_by_age
        asfr = np.divide(by_age, women, out=np.zeros(35), where=women > 0) / frac
        mean_pop = (start + end) / 2
        recorded_late = live & (ev["recorded_at"] > np.datetime64(_iso(d1 + 1)) - np.timedelta64(8, "h"))
        years[str(y)] = {
            "period": [_iso(d0), _iso(d1)],
            "partial": ys.partial,
            "population_start": {"total": start, "male": ys.pop_start[0], "female": ys.pop_start[1]},
            "population_end": {"total": end, "male": ys.pop_end[0], "female": ys.pop_end[1]},
            "mean_population": mean_pop,
            "live_births": {
                "total": int(live.sum()), "male": int(male), "female": int(female),
                "by_order": {"1": int(np.count_nonzero(order == 1)), "2": int(np.count_nonzero(order == 2)),
                             "3+": int(np.count_nonzero(order >= 3))},
                "outside_marriage": int(np.count_nonzero(ev["father"][live] < 0)),
                "recorded_after_year_end": int(recorded_late.sum()),
            },
            "stillbirths": int(still.sum()),
            "deaths": {"total": int(death.sum()), "male": int(np.count_nonzero(dsex == 1)),
                       "female": int(np.count_nonzero(dsex == 2)), "living_here": int(deaths_here.sum()),
                       "living_in_other_counties": int((death & ~deaths_here).sum())},
            "marriages": int(married.sum()),
            "divorces": int(divorced.sum()),
            "moves_out": {"total": int(moves_out.sum()),
                          "residents_leaving": int(np.count_nonzero(moves_out & (mk == sim.DEPART))),
                          "in_migrants_leaving": int(np.count_nonzero(moves_out & (mk == sim.LEAVE)))},
            "moves_in": {"total": int(moves_in.sum()),
                         "out_migrants_returning": int(np.count_nonzero(moves_in & (mk == sim.RETURN))),
                         "arrivals_from_other_counties": int(np.count_nonzero(moves_in & (mk == sim.ARRIVE)))},
            "mid_year_date": _iso(ys.mid_day),
            "women_15_49_mid_year": int(women.sum()),
            "tfr": round(float(asfr.sum()), 4),
            "srb": round(100 * male / female, 2) if female else None,
            "crude_birth_rate": round(1000 * int(live.sum()) / mean_pop / frac, 3) if mean_pop else None,
            "crude_death_rate": round(1000 * int(deaths_here.sum()) / mean_pop / frac, 3) if mean_pop else None,
        }
    recorded = [y for y in years.values() if not y["partial"]]
    births = sum(y["live_births"]["total"] for y in recorded)
    by_order = {k: sum(y["live_births"]["by_order"][k] for y in recorded) for k in ("1", "2", "3+")}
    # The residents at the end.
    alive = persons["death_date"] > p.end_day
    here = alive & np.isin(persons["residence_status"], ["resident", "in"])
    final = {
        "date": _iso(p.end_day + 1),
        "residents": int(here.sum()),
        "registered": int((alive & np.isin(persons["residence_status"], ["resident", "out"])).sum()),
        "living_in_other_counties": int((alive & (persons["residence_status"] == "out")).sum()),
        "from_other_counties": int((alive & (persons["residence_status"] == "in")).sum()),
        "age_shares": _age_shares(persons["birth_date"][here], persons["sex"][here], p.end_day + 1),
        "census_2020": CENSUS_2020,
    }
    out = {
        "synthetic": True,
        "generator": "renkou demo",
        "parameters": {
            "persons": p.persons,
            "seed": p.seed,
            "tfr": p.tfr,
            "srb": p.srb,
            "years": [p.first_year, p.last_year],
            "through": _iso(p.end_day),
            "simulation_start_year": p.start_year,
            "starting_population": world.start_size,
            "county_code": cty.COUNTY_CODE,
            "county_name": cty.COUNTY_NAME,
            "generated_at": generated_at.isoformat(timespec="seconds"),
        },
        "register": {
            "units": len(reg.units),
            "persons": len(persons["name"]),
            "households": len(reg.households["head"]),
            "marriages": len(reg.marriages["husband"]),
            "events": {k: int(np.count_nonzero(kind == k)) for k in (KIND_BIRTH, KIND_DEATH, KIND_MOVE_OUT,
                                                                     KIND_MOVE_IN)},
            "persons_with_id_number": int(np.count_nonzero(persons["id_number"] != "")),
        },
        "years": years,
        "recorded_years": {
            "live_births": births,
            "birth_order_shares": {k: round(100 * v / births, 2) if births else None for k, v in by_order.items()},
            "mean_tfr": round(float(np.mean([y["tfr"] for y in recorded])), 4) if recorded else None,
            "srb": round(100 * sum(y["live_births"]["male"] for y in recorded)
                         / max(sum(y["live_births"]["female"] for y in recorded), 1), 2),
        },
        "final": final,
    }
    census_day = sim.day_of(*CENSUS_DAY_2020)
    if sim.jan1(p.first_year) <= census_day <= p.end_day:
        present = sim.living_here_on(world, census_day)
        reg_of = reg.person_of_sim
        rows = reg_of[np.flatnonzero(present)]
        out["census_day_2020"] = {
            "date": _iso(census_day),
            "residents": int(present.sum()),
            **_age_shares(persons["birth_date"][rows], persons["sex"][rows], census_day),
        }
    return out
