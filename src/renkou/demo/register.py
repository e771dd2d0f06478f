"""From the simulated history to the rows of the register (pure numpy, no database; demo/load.py writes them).

Who is in the register:

* everyone connected with the county at the start of the first recorded year (living here, or registered here
  and living in another county), with their parents where the parents are in the register too;
* everyone born into it or arriving later;
* every live-born child of a woman in the register, also those who died (or left) before the first recorded
  year, so that a mother's birth orders agree with her children on record.

Which events: every dated event of these persons (births to a mother in the register, deaths, moves), also
those before the first recorded year; the period statistics are complete from the first recorded year on.
Marriages between two persons of the register, with their ends by divorce or death.

Households (户) are the state at the end: a couple with their unmarried children; some young couples living
with his parents (their children are grandchildren, 40, of the head); widowed elderly living with a married
son (parent, 50) or alone; single adults in their own household.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from renkou.demo import county as cty
from renkou.demo import names
from renkou.demo import simulate as sim
from renkou.registry import idnumbers

STATUS_NAMES = np.array(["resident", "out", "in", "left"])
KIND_BIRTH, KIND_DEATH, KIND_MOVE_OUT, KIND_MOVE_IN = "birth", "death", "move_out", "move_in"
LOCAL_UTC_OFFSET = 8 * 3600  # Asia/Shanghai, no daylight saving since 1991


@dataclass
class Register:
    """Columns of each table; references are indexes into the other tables (-1: none)."""

    units: tuple[cty.UnitSpec, ...]
    persons: dict[str, np.ndarray]
    households: dict[str, np.ndarray]
    marriages: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    person_of_sim: np.ndarray  # register index of each simulated person (-1: not in the register)


def build(world: sim.World, *, seed: int) -> Register:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 2])))
    spec = cty.county_spec()
    p = world.persons
    n = world.n
    # -- membership --------------------------------------------------------------------------------------------
    n_a = world.n_at_first_year
    member = np.zeros(n, dtype=bool)
    member[:n_a] = world.connected_at_first_year
    member[n_a:] = True
    # Children of a woman in the register join it (the right side is evaluated before the assignment).
    mothers_of = p["mother"]
    member |= (mothers_of >= 0) & member[np.maximum(mothers_of, 0)]
    sim_ids = np.flatnonzero(member)
    reg_of = np.full(n, -1, dtype=np.int64)
    reg_of[sim_ids] = np.arange(len(sim_ids))

    def ref(sim_idx: np.ndarray) -> np.ndarray:
        sim_idx = np.asarray(sim_idx, dtype=np.int64)
        return np.where(sim_idx >= 0, reg_of[np.maximum(sim_idx, 0)], -1)

    P = {k: v[sim_ids] for k, v in p.items()}
    m_count = len(sim_ids)
    end_day = world.params.end_day
    alive = P["dday"] == sim.NO_DATE
    status = P["status"]
    village_units = spec.village_units.astype(np.int64)

    # -- households ----------------------------------------------------------------------------------------------
    hh = _households(rng, P, ref, alive, end_day)
    # Members live (or are registered) in the household's village.
    in_hh = hh["of_person"] >= 0
    village = P["village"].astype(np.int64).copy()
    village[in_hh] = hh["village"][hh["of_person"][in_hh]]
    hh_count = len(hh["head"])
    hh_seq = _sequence_within(hh["village"], np.arange(hh_count))
    urban_v = spec.village_urban[hh["village"]]
    hh_urban = urban_v ^ (rng.random(hh_count) < 0.1)
    households = {
        "number": np.strings.add(np.array([u.code for u in spec.units])[village_units[hh["village"]]],
                                 np.strings.zfill((hh_seq + 1).astype(str), 5)),
        "address": _addresses(rng, spec, hh["village"], hh_seq),
        "unit": village_units[hh["village"]],
        "registration_type": np.where(hh_urban, "urban", "rural"),
        "head": hh["head"],
    }

    # -- persons -------------------------------------------------------------------------------------------------
    unit_of_village = village_units[village]
    registered_here = (status == sim.RESIDENT) | (status == sim.OUT)
    living_here = (status == sim.RESIDENT) | (status == sim.IN)
    county_codes = np.array(cty.ADDRESS_CODES)
    other = np.where(P["county"] >= 0, county_codes[np.maximum(P["county"], 0)], "")
    other = np.where(status == sim.RESIDENT, "", other)
    # Registration type: the household's; a village's or a community's mostly for the others; mostly rural for
    # people registered in other counties.
    urban = spec.village_urban[village] ^ (rng.random(m_count) < 0.1)
    urban = np.where(in_hh, hh_urban[np.maximum(hh["of_person"], 0)], urban)
    urban = np.where(status == sim.IN, rng.random(m_count) < 0.3, urban)
    rtype = np.where(urban, "urban", "rural")
    age_end = sim.completed_age(P["bday"], np.minimum(P["dday"].astype(np.int64), end_day + 1))
    persons = {
        "id_number": _id_numbers(rng, P, alive),
        "name": names.full_names(P["surname"], names.given_names(rng, P["sex"], P["byear"])),
        "sex": P["sex"].astype(np.int64),
        "birth_date": P["bday"].astype(np.int64),
        "ethnicity": np.array(sim.ETHNICITIES)[P["eth"]],
        "education": _education(rng, age_end, P["byear"]),
        "marital_status": P["mstat"].astype(np.int64),
        "registration_type": rtype,
        "household": hh["of_person"],
        "relation_to_head": hh["relation"],
        "registration_unit": np.where(registered_here, unit_of_village, -1),
        "residence_unit": np.where(living_here, unit_of_village, -1),
        "residence_status": STATUS_NAMES[status],
        "other_county_code": other,
        "mother": ref(P["mother"]),
        "father": ref(P["father"]),
        "death_date": P["dday"].astype(np.int64),
    }

    # -- marriages -----------------------------------------------------------------------------------------------
    M = world.marriages
    both = (ref(M["husband"]) >= 0) & (ref(M["wife"]) >= 0)
    mk = np.flatnonzero(both)
    married_on = M["day"][mk].astype(np.int64)
    marriages = {
        "husband": ref(M["husband"][mk]),
        "wife": ref(M["wife"][mk]),
        "married_on": married_on,
        "ended_on": M["end_day"][mk].astype(np.int64),
        "end_reason": np.array(["", "divorce", "death"])[M["end_reason"][mk]],
        "unit": village_units[M["village"][mk]],
        "recorded_at": _recorded_at(rng, married_on, np.zeros(len(mk)), end_day),
    }

    # -- events --------------------------------------------------------------------------------------------------
    events = _events(rng, world, spec, ref, end_day)
    return Register(units=spec.units, persons=persons, households=households, marriages=marriages,
                    events=events, person_of_sim=reg_of)


class RegisterError(AssertionError):
    """The generated rows refer to rows that do not exist: a bug of the generator."""


def validate(reg: Register) -> None:
    """Every reference points into its table (or is -1) and every row of a table has the same length."""
    n_units, n_persons, n_households = len(reg.units), len(reg.persons["name"]), len(reg.households["head"])
    refs = {
        "persons": {"household": n_households, "registration_unit": n_units, "residence_unit": n_units,
                    "mother": n_persons, "father": n_persons},
        "households": {"unit": n_units, "head": n_persons},
        "marriages": {"husband": n_persons, "wife": n_persons, "unit": n_units},
        "events": {"person": n_persons, "unit": n_units, "mother": n_persons, "father": n_persons,
                   "from_unit": n_units, "to_unit": n_units},
    }
    for table, columns in refs.items():
        rows = getattr(reg, table)
        lengths = {len(v) for v in rows.values()}
        if len(lengths) > 1:
            raise RegisterError(f"{table}: columns of different lengths {lengths}")
        for column, size in columns.items():
            values = rows[column]
            if len(values) and (values.min() < -1 or values.max() >= size):
                raise RegisterError(f"{table}.{column} refers outside its table")
    for table, required in (("households", ("unit", "head")), ("marriages", ("husband", "wife"))):
        for column in required:
            if len(getattr(reg, table)[column]) and getattr(reg, table)[column].min() < 0:
                raise RegisterError(f"{table}.{column} is missing")


def _sequence_within(group: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group, by ``order_key``."""
    o = np.lexsort((order_key, group))
    g = group[o]
    rank = np.arange(len(g)) - np.searchsorted(g, g, side="left")
    out = np.empty(len(g), dtype=np.int64)
    out[o] = rank
    return out


# ---------------------------------------------------------------------------------------------------------------
# households


def _households(rng: np.random.Generator, P: dict[str, np.ndarray], ref, alive: np.ndarray,
                end_day: int) -> dict[str, np.ndarray]:
    m = len(alive)
    inside = alive & (P["status"] != sim.LEFT)
    sex = P["sex"]
    age = sim.completed_age(P["bday"], end_day + 1)
    mstat = P["mstat"]

    def inside_ref(sim_idx: np.ndarray) -> np.ndarray:
        r = ref(sim_idx)
        return np.where((r >= 0) & inside[np.maximum(r, 0)], r, -1)

    spouse, mother, father = inside_ref(P["spouse"]), inside_ref(P["mother"]), inside_ref(P["father"])
    village = P["village"]

    # Who heads a household: husbands, and single adults not living with their parents — except elderly
    # widowed or divorced parents who live with a married son, and young couples who live with his parents.
    husbands = np.flatnonzero(inside & (sex == 1) & (spouse >= 0))
    single = inside & (spouse < 0)
    with_parents = single & (mstat == sim.NEVER_MARRIED) & (age < 30) & ((mother >= 0) | (father >= 0))
    minor = single & (age < 16)
    elderly = np.flatnonzero(single & ~with_parents & (age >= 65) & (mstat != sim.NEVER_MARRIED))
    par = np.concatenate([mother[husbands], father[husbands]])
    kid = np.concatenate([husbands, husbands])
    keep = par >= 0
    par, kid = par[keep], kid[keep]
    son_of = np.full(m, -1, dtype=np.int64)
    o = np.lexsort((kid, par))
    son_of[par[o]] = kid[o]  # the youngest married son
    joins_son = elderly[(son_of[elderly] >= 0) & (rng.random(len(elderly)) < 0.55)]
    candidate = np.zeros(m, dtype=bool)
    candidate[husbands] = True
    candidate |= single & ~with_parents & ~minor
    candidate[joins_son] = False
    young = husbands[(age[husbands] < 35) & (rng.random(len(husbands)) < 0.3)]
    pa = np.where(father[young] >= 0, father[young], mother[young])
    ok = (pa >= 0) & candidate[np.maximum(pa, 0)] & (village[np.maximum(pa, 0)] == village[young])
    young, pa = young[ok], pa[ok]
    not_young = np.ones(m, dtype=bool)
    not_young[young] = False
    keep = not_young[pa]  # a parent who moves in with his own parents cannot take his son in
    young, pa = young[keep], pa[keep]
    candidate[young] = False

    heads = np.flatnonzero(candidate)
    household = np.full(m, -1, dtype=np.int64)
    relation = np.full(m, "", dtype="<U2")
    household[heads] = np.arange(len(heads))
    relation[heads] = "02"
    wives = spouse[husbands]
    household[young] = household[pa]
    relation[young] = "20"
    household[wives] = household[husbands]
    relation[wives] = "10"
    relation[spouse[young]] = "80"  # daughter-in-law: "other relative" in the shipped relation list
    household[joins_son] = household[son_of[joins_son]]
    relation[joins_son] = "50"
    # Children join their father's (else their mother's) household, generation by generation.
    pending = np.flatnonzero((household < 0) & inside)
    for _ in range(8):
        if len(pending) == 0:
            break
        f, mo = father[pending], mother[pending]
        via = np.where((f >= 0) & (household[np.maximum(f, 0)] >= 0), f, mo)
        ready = (via >= 0) & (household[np.maximum(via, 0)] >= 0)
        household[pending[ready]] = household[via[ready]]
        pending = pending[~ready]
    # Children with no parent in the county are listed on their own.
    household[pending] = np.arange(len(heads), len(heads) + len(pending))
    relation[pending] = "02"
    heads = np.concatenate([heads, pending])
    # Relations of the others by who the head is.
    need = np.flatnonzero((household >= 0) & (relation == ""))
    h = heads[household[need]]
    hs = spouse[h]

    def is_child_of(child_mother, child_father, parent_a, parent_b):
        return (((child_mother >= 0) & ((child_mother == parent_a) | (child_mother == parent_b)))
                | ((child_father >= 0) & ((child_father == parent_a) | (child_father == parent_b))))

    hs_or = np.where(hs >= 0, hs, -2)
    mo, fa = mother[need], father[need]
    child_of_head = is_child_of(mo, fa, h, hs_or)
    grand = np.zeros(len(need), dtype=bool)
    for parent in (mo, fa):
        ok = parent >= 0
        pp = parent[ok]
        grand[ok] |= is_child_of(mother[pp], father[pp], h[ok], hs_or[ok])
    sibling = ((mo >= 0) & (mo == mother[h])) | ((fa >= 0) & (fa == father[h]))
    relation[need] = np.where(child_of_head, np.where(sex[need] == 1, "20", "30"),
                              np.where(grand, "40", np.where(sibling, "70", "80")))
    return {
        "head": heads,
        "village": village[heads].astype(np.int64),
        "of_person": household,
        "relation": relation,
    }


_ROADS = np.array(list("人民 解放 建设 新华 滨江 文化 学府 朝阳 和平 胜利 中山 青年 长江 龙河 环城 育才".split()))


def _addresses(rng: np.random.Generator, spec: cty.CountySpec, village: np.ndarray, seq: np.ndarray) -> np.ndarray:
    n = len(village)
    township = np.array([spec.units[u.parent].name if u.parent >= 0 else "" for u in spec.units])
    unit_names = np.array([u.name for u in spec.units])
    vu = spec.village_units[village]
    place = np.strings.add(township[vu], unit_names[vu])
    urban = spec.village_urban[village]
    group = (seq % 9 + 1).astype(str)
    door = (seq // 9 + 1).astype(str)
    rural = np.strings.add(np.strings.add(np.strings.add(place, group), "组"), np.strings.add(door, "号"))
    road = _ROADS[rng.integers(0, len(_ROADS), n)]
    building = (seq // 24 % 40 + 1).astype(str)
    room = ((seq % 24) // 4 + 1) * 100 + seq % 4 + 1
    town = np.strings.add(np.strings.add(place, road), "路")
    town = np.strings.add(np.strings.add(town, (seq // 960 * 2 + 1).astype(str)), "号")
    town = np.strings.add(np.strings.add(town, building), "栋")
    town = np.strings.add(np.strings.add(town, room.astype(str)), "室")
    return np.where(urban, town, rural)


# ---------------------------------------------------------------------------------------------------------------
# ID numbers, education


def _id_numbers(rng: np.random.Generator, P: dict[str, np.ndarray], alive: np.ndarray) -> np.ndarray:
    """Valid, unique numbers: address code of first registration + birth date + sequence (odd men, even women).

    The living all have one; of the dead, those who died at one year or older since 1990 mostly (the second
    generation of cards came in 2004; before 1985 there were none).
    """
    n = len(alive)
    dday = P["dday"].astype(np.int64)
    age_at_death = (dday - P["bday"]) / 365.25
    gets = alive | ((dday >= sim.jan1(1990)) & (age_at_death >= 1) & (rng.random(n) < 0.92))
    idx = np.flatnonzero(gets)
    addr = P["addr"][idx].astype(np.int64)
    bday = P["bday"][idx].astype(np.int64)
    sex = P["sex"][idx].astype(np.int64)
    key = (addr * 1_000_000 + (bday + 100_000)) * 2 + (sex - 1)
    o = np.lexsort((rng.random(len(idx)), key))
    k = key[o]
    first = np.searchsorted(k, k, side="left")
    rank = np.arange(len(k)) - first
    if len(rank) and rank.max() >= 499:
        raise ValueError("more than 499 persons of one sex born on one day under one address code")
    group_offset = rng.integers(0, 499, len(k))[first]
    seq = np.empty(len(idx), dtype=np.int64)
    seq[o] = 2 * ((group_offset + rank) % 499) + np.where(sex[o] == 1, 1, 2)
    codes = np.array(cty.ADDRESS_CODES)[addr]
    out = np.full(n, "", dtype="<U18")
    out[idx] = idnumbers.make_many(codes, bday.astype("datetime64[D]"), seq)
    return out


# (birth year from, share of: 90 none/other, 80 primary, 70 junior, 60 senior, 40 vocational, 30 college, 20
# bachelor, 10 postgraduate) for adults
_EDU_CODES = np.array(["90", "80", "70", "60", "40", "30", "20", "10"])
_EDU_ADULT = (
    (1900, (0.40, 0.40, 0.15, 0.05, 0.0, 0.0, 0.0, 0.0)),
    (1950, (0.10, 0.35, 0.35, 0.15, 0.0, 0.03, 0.02, 0.0)),
    (1965, (0.02, 0.20, 0.45, 0.18, 0.07, 0.05, 0.03, 0.0)),
    (1980, (0.0, 0.05, 0.35, 0.20, 0.12, 0.15, 0.11, 0.02)),
    (1995, (0.0, 0.01, 0.15, 0.20, 0.20, 0.25, 0.16, 0.03)),
)


def _education(rng: np.random.Generator, age: np.ndarray, byear: np.ndarray) -> np.ndarray:
    n = len(age)
    out = np.full(n, "", dtype="<U2")
    u = rng.random(n)
    starts = np.array([s for s, _ in _EDU_ADULT])
    era = np.searchsorted(starts, byear, side="right") - 1
    cum = np.cumsum(np.array([w for _, w in _EDU_ADULT]), axis=1)
    cum = cum / cum[:, -1:]
    level = (u[:, None] > cum[np.maximum(era, 0)]).sum(axis=1)
    adult = age >= 18
    out[adult] = _EDU_CODES[np.minimum(level[adult], 7)]
    out[(age >= 6) & (age <= 11)] = "80"
    out[(age >= 12) & (age <= 14)] = "70"
    teen = (age >= 15) & (age <= 17)
    out[teen] = np.where(u[teen] < 0.6, "60", np.where(u[teen] < 0.9, "40", "70"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# events


# Place of birth (registry code list birth_place) by era: hospital 1, MCH hospital 2, township health centre 3,
# home 4, other 9.
_PLACE_CODES = np.array(["1", "2", "3", "4", "9"])
_PLACE_BY_ERA = (
    (1900, (0.05, 0.0, 0.15, 0.79, 0.01)),
    (1980, (0.15, 0.05, 0.35, 0.44, 0.01)),
    (2000, (0.40, 0.15, 0.34, 0.10, 0.01)),
    (2010, (0.60, 0.23, 0.15, 0.01, 0.01)),
)


def _recorded_at(rng: np.random.Generator, day: np.ndarray, delay_days: np.ndarray, end_day: int) -> np.ndarray:
    """When a record was entered: ``delay_days`` after ``day`` during office hours (08:30–17:30 Beijing time), never
    after the end of the simulated period. Returned as UTC datetime64[s]."""
    n = len(day)
    local = (np.asarray(day, dtype=np.int64) + np.asarray(delay_days, dtype=np.int64)) * 86400
    local = local + 30600 + rng.integers(0, 9 * 3600, n)
    last = (end_day + 1) * 86400 - 60
    local = np.minimum(local, last)
    return (local - LOCAL_UTC_OFFSET).astype("datetime64[s]")


def _events(rng: np.random.Generator, world: sim.World, spec: cty.CountySpec, ref, end_day: int
            ) -> dict[str, np.ndarray]:
    vu = spec.village_units.astype(np.int64)
    codes = np.array(cty.ADDRESS_CODES)
    parts: list[dict[str, np.ndarray]] = []

    def part(kind: str, k: int, **cols: np.ndarray) -> dict[str, np.ndarray]:
        base = {
            "kind": np.full(k, kind, dtype="<U8"),
            "person": np.full(k, -1, dtype=np.int64),
            "date": np.zeros(k, dtype=np.int64),
            "unit": np.full(k, -1, dtype=np.int64),
            "mother": np.full(k, -1, dtype=np.int64),
            "father": np.full(k, -1, dtype=np.int64),
            "sex": np.full(k, "", dtype="<U1"),
            "live_born": np.full(k, -1, dtype=np.int64),
            "birth_order": np.full(k, -1, dtype=np.int64),
            "place": np.full(k, "", dtype="<U1"),
            "from_unit": np.full(k, -1, dtype=np.int64),
            "to_unit": np.full(k, -1, dtype=np.int64),
            "from_county": np.full(k, "", dtype="<U6"),
            "to_county": np.full(k, "", dtype="<U6"),
            "delay": np.zeros(k, dtype=np.int64),
            # Not written; kept for truth.json and the checks.
            "sim_order": np.full(k, -1, dtype=np.int64),  # the mother's true parity after a live birth
            "sim_status": np.full(k, -1, dtype=np.int64),  # residence status at a death
            "move_kind": np.full(k, -1, dtype=np.int64),  # simulate.DEPART, RETURN, ARRIVE or LEAVE
        }
        base.update(cols)
        return base

    # Births to a mother in the register (a live birth also needs its child in the register).
    B = world.births
    mother = ref(B["mother"])
    child = np.where(B["child"] >= 0, ref(B["child"]), -1)
    keep = (mother >= 0) & (~B["live"] | (child >= 0))
    k = int(keep.sum())
    day = B["day"][keep].astype(np.int64)
    byear = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    starts = np.array([s for s, _ in _PLACE_BY_ERA])
    cum = np.cumsum(np.array([w for _, w in _PLACE_BY_ERA]), axis=1)
    cum = cum / cum[:, -1:]
    era = np.searchsorted(starts, byear, side="right") - 1
    place = _PLACE_CODES[np.minimum((rng.random(k)[:, None] > cum[era]).sum(axis=1), 4)]
    late = rng.random(k) < 0.05
    delay = np.where(late, rng.integers(60, 330, k), rng.integers(1, 31, k))
    live = B["live"][keep]
    parts.append(part(
        KIND_BIRTH, k, person=child[keep], date=day, unit=vu[B["village"][keep]], mother=mother[keep],
        father=ref(B["father"][keep]), sex=B["sex"][keep].astype(str), live_born=live.astype(np.int64),
        place=place, delay=delay, sim_order=B["order"][keep].astype(np.int64),
    ))
    # Deaths.
    D = world.deaths
    person = ref(D["person"])
    keep = person >= 0
    k = int(keep.sum())
    late = rng.random(k) < 0.03
    parts.append(part(KIND_DEATH, k, person=person[keep], date=D["day"][keep].astype(np.int64),
                      unit=vu[D["village"][keep]], delay=np.where(late, rng.integers(60, 200, k),
                                                                  rng.integers(1, 16, k)),
                      sim_status=D["status"][keep].astype(np.int64)))
    # Moves: out to another county (residents leaving, in-migrants leaving again), in from one.
    V = world.moves
    person = ref(V["person"])
    keep = person >= 0
    kind = V["kind"][keep]
    k = int(keep.sum())
    unit = vu[V["village"][keep]]
    county = codes[V["county"][keep]]
    out = (kind == sim.DEPART) | (kind == sim.LEAVE)
    parts.append(part(
        KIND_MOVE_OUT, k, person=person[keep], date=V["day"][keep].astype(np.int64), unit=unit,
        delay=rng.integers(0, 31, k), move_kind=kind.astype(np.int64),
        from_unit=np.where(out, unit, -1), to_unit=np.where(out, -1, unit),
        from_county=np.where(out, "", county), to_county=np.where(out, county, ""),
    ))
    parts[-1]["kind"] = np.where(out, KIND_MOVE_OUT, KIND_MOVE_IN)
    ev = {c: np.concatenate([pt[c] for pt in parts]) for c in parts[0]}
    # Birth order = the mother's count of live-born children on record, including this one, by date.
    is_live_birth = (ev["kind"] == KIND_BIRTH) & (ev["live_born"] == 1)
    lb = np.flatnonzero(is_live_birth)
    o = np.lexsort((ev["person"][lb], ev["date"][lb], ev["mother"][lb]))
    lb = lb[o]
    mo = ev["mother"][lb]
    ev["birth_order"][lb] = np.arange(len(lb)) - np.searchsorted(mo, mo, side="left") + 1
    # Chronological ids.
    kind_rank = np.select([ev["kind"] == KIND_BIRTH, ev["kind"] == KIND_MOVE_IN, ev["kind"] == KIND_MOVE_OUT],
                          [0, 1, 2], 3)
    o = np.lexsort((ev["person"], kind_rank, ev["date"]))
    ev = {c: v[o] for c, v in ev.items()}
    ev["recorded_at"] = _recorded_at(rng, ev["date"], ev.pop("delay"), end_day)
    return ev
