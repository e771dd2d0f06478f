"""The demo county's population history: a yearly microsimulation in numpy (no database, no Django).

It starts decades before the first recorded year (1940 by default) from a stable high-fertility population,
so that families, birth orders, marriages and the age pyramid of the recorded years emerge from one
consistent history. Each simulated year, in this order:

1. deaths, from a life table (Gompertz–Makeham adult hazard, infant and child mortality) whose level follows
   China's history (life expectancy about 40 in 1940, a famine in 1959–61, about 78 today); a death makes the
   spouse a widow(er);
2. births, *aligned* to the year's total fertility rate: for every single year of age the expected number of
   births (TFR × the share of the age schedule × the resident women of that age) is drawn among the eligible
   women by weighted sampling without replacement, the weights depending on marriage, parity (order-specific,
   by family-planning era), time since marriage and since the last birth — so the TFR is met and birth orders
   emerge; a boy with probability SRB / (100 + SRB); about 0.5 % stillbirths (no child, no change of parity);
3. divorces, first marriages (hazards by age and era, women about 24–26 recently, men about two years older,
   partners matched by age difference) and remarriages of the divorced and widowed;
4. migration: working-age residents leave for other counties (status "out", registration kept), some of them
   return; people registered elsewhere arrive (status "in") and some leave again (status "left"), taking their
   young children with them.

A person has at most one of these events a year (besides being born), which keeps every record's dates in
order: nothing happens to anybody after their death, and a mother has at most one confinement a year.

The time unit is the day, as an int32 count of days since 1970-01-01 (negative before). Ages "reached in the
year" are ``year - birth year``. Out-migrants do not give birth while away (they come home for that, as they
do for their weddings: they do marry); they die, and their deaths are recorded like everybody's.

Everything is drawn from ``numpy.random.Generator(PCG64(seed))``: the same parameters give the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np

from renkou.demo import county as cty
from renkou.demo import names

# Residence status (registry.ResidenceStatus)
RESIDENT, OUT, IN, LEFT = 0, 1, 2, 3
# Marital status (GB/T 2261.2)
NEVER_MARRIED, MARRIED, REMARRIED, WIDOWED, DIVORCED = 10, 20, 22, 30, 40
# Kinds of move
DEPART, RETURN, ARRIVE, LEAVE = 0, 1, 2, 3
# Reasons a marriage ended
ENDED_NOT, ENDED_DIVORCE, ENDED_DEATH = 0, 1, 2

NO_DATE = np.iinfo(np.int32).max
MAX_AGE = 110
STILLBIRTH_SHARE = 0.005
# Ethnicities (GB/T 3304): 汉 01, 土家 15, 苗 06, and a few others.
ETHNICITIES = ("01", "15", "06", "03", "08", "12")
_ETH_LOCAL = np.array([0.955, 0.03, 0.012, 0.001, 0.001, 0.001])
_ETH_ARRIVING = np.array([0.86, 0.08, 0.05, 0.005, 0.003, 0.002])

# Legal ages of marriage (Civil Code art. 1047), as days safely after the birthday.
_WIFE_MIN_DAYS = 7306  # 20 years
_HUSBAND_MIN_DAYS = 8037  # 22 years


def day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def jan1(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01", "D").astype(np.int64))


def jan1_many(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def day_of(year: int, month: int, day: int) -> int:
    return int(np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D").astype(np.int64))


def _interp(year: float, knots: tuple[tuple[float, float], ...]) -> float:
    xs, ys = zip(*knots, strict=True)
    return float(np.interp(year, xs, ys))


# ---------------------------------------------------------------------------------------------------------------
# The history the recorded years follow (knots interpolated linearly).

#: Total fertility rate before the recorded years (China: ~5.5 in the 1950s–60s, famine, one-child era, …).
TFR_HISTORY = (
    (1940, 5.4), (1957, 5.9), (1958, 5.4), (1959, 4.0), (1960, 3.0), (1961, 3.0), (1962, 6.0), (1963, 6.8),
    (1965, 6.1), (1968, 6.2), (1970, 5.8), (1972, 5.0), (1974, 4.2), (1976, 3.2), (1978, 2.7), (1980, 2.4),
    (1982, 2.7), (1987, 2.7), (1990, 2.2), (1992, 1.9), (1995, 1.8), (2000, 1.6), (2006, 1.65), (2013, 1.7),
    (2016, 1.8), (2017, 1.75), (2018, 1.55), (2020, 1.3), (2022, 1.05), (2030, 1.05),
)
#: Sex ratio at birth before the recorded years.
SRB_HISTORY = (
    (1940, 106.0), (1980, 107.0), (1985, 111.0), (1990, 113.0), (1995, 116.0), (2000, 118.0), (2008, 120.0),
    (2012, 117.0), (2015, 114.0), (2020, 111.3), (2030, 110.0),
)
#: Mean and spread of the age schedule of fertility.
FERTILITY_ORIGIN = 16.5
FERTILITY_MEAN_AGE = ((1940, 29.0), (1970, 28.5), (1980, 26.0), (1990, 25.0), (2000, 26.0), (2010, 27.5),
                      (2020, 29.0), (2030, 29.5))
FERTILITY_SD = ((1940, 6.5), (1970, 6.2), (1980, 4.6), (1990, 4.0), (2000, 4.3), (2010, 4.8), (2020, 5.0),
                (2030, 5.0))
#: Relative weight of a married woman of parity 0, 1, 2, 3+ being the one to give birth, by era of policy.
PARITY_WEIGHTS = (
    (1971, (1.0, 0.85, 0.75, 0.65)),  # before 晚稀少
    (1980, (1.0, 0.55, 0.25, 0.15)),  # 晚、稀、少
    (2016, (1.0, 0.35, 0.08, 0.03)),  # one child (1.5 in the countryside)
    (2021, (0.6, 1.5, 0.8, 0.3)),  # two children
    (9999, (0.6, 1.5, 1.0, 0.4)),  # three children
)
UNMARRIED_WEIGHT = 0.01
MAX_MARRIED_BIRTH_RATE = 0.45
# Births are aligned to the women living here at the start of the year by age reached in the year; the standard
# measure (births by completed age over the women living here at mid-year, whom returning migrants swell) comes
# out about 2 % lower, so the target is raised by as much.
TFR_ALIGNMENT = 1.02
#: Level of the adult death hazard (× the modern Gompertz–Makeham hazard) and the infant death probability.
MORTALITY_LEVEL = ((1940, 6.0), (1950, 4.5), (1957, 2.8), (1958, 3.2), (1959, 6.5), (1960, 11.0), (1961, 5.5),
                   (1962, 2.6), (1970, 1.9), (1980, 1.6), (1990, 1.45), (2000, 1.33), (2010, 1.15), (2020, 1.02),
                   (2030, 0.92))
INFANT_MORTALITY = ((1940, 0.20), (1950, 0.17), (1958, 0.11), (1960, 0.22), (1961, 0.14), (1962, 0.085),
                    (1970, 0.055), (1980, 0.042), (1990, 0.033), (2000, 0.028), (2005, 0.018), (2010, 0.012),
                    (2015, 0.0085), (2020, 0.0055), (2030, 0.004))
#: Mean age of women at first marriage, and the share of women who ever marry.
FIRST_MARRIAGE_AGE = ((1940, 20.8), (1970, 21.5), (1976, 23.0), (1990, 22.6), (2000, 23.6), (2010, 24.6),
                      (2020, 26.0), (2030, 26.5))
EVER_MARRY = ((1940, 0.99), (2000, 0.985), (2025, 0.95), (2030, 0.95))
#: Divorces a year per married couple.
DIVORCE_RATE = ((1940, 0.0008), (1980, 0.001), (1990, 0.002), (2000, 0.004), (2010, 0.010), (2019, 0.014),
                (2021, 0.010), (2030, 0.010))
#: Leaving for another county: the hazard at the peak ages (20–24).
OUT_MIGRATION = ((1940, 0.0), (1982, 0.0), (1988, 0.012), (1995, 0.04), (2000, 0.06), (2012, 0.06),
                 (2020, 0.045), (2030, 0.04))
#: Age profile of leaving (ages reached in the year 0..MAX_AGE).
_OUT_AGE = np.interp(np.arange(MAX_AGE + 1), [15, 16, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65],
                     [0, 0.25, 0.8, 1.0, 0.85, 0.55, 0.4, 0.3, 0.18, 0.1, 0.05, 0.02, 0.0])
#: Coming back, by age.
_RETURN_AGE = np.interp(np.arange(MAX_AGE + 1), [0, 24, 25, 35, 45, 55, 60, 70], [0.07, 0.07, 0.09, 0.11, 0.13,
                                                                                   0.15, 0.2, 0.25])
#: People registered elsewhere arriving each year, per resident.
IN_MIGRATION = ((1940, 0.0), (1985, 0.0), (1990, 0.002), (2000, 0.004), (2010, 0.006), (2030, 0.006))
_IN_AGE = np.interp(np.arange(MAX_AGE + 1), [15, 16, 20, 24, 28, 35, 45, 55, 60], [0, 0.3, 0.9, 1.0, 0.9, 0.5,
                                                                                   0.2, 0.05, 0.0])
_IN_AGE = _IN_AGE / _IN_AGE.sum()
IN_LEAVE_RATE = 0.12
IN_MALE_SHARE = 0.6
# Women leave less often than men (× this), mothers of small children less still (× 0.4).
OUT_WOMEN = 1.0


# Men's death hazard relative to women's, by age: highest in middle age, converging in old age.
_MALE_EXCESS = np.interp(np.arange(MAX_AGE + 1), [0, 15, 20, 40, 55, 65, 75, 85, 110],
                         [1.15, 1.4, 2.2, 2.0, 1.75, 1.4, 1.2, 1.08, 1.0])


@lru_cache(maxsize=256)
def death_probabilities(year: int) -> np.ndarray:
    """q[sex - 1, age reached in the year]: the probability of dying within the year."""
    age = np.arange(MAX_AGE + 1, dtype=float)
    level = _interp(year, MORTALITY_LEVEL)
    q0 = _interp(year, INFANT_MORTALITY)
    out = np.empty((2, MAX_AGE + 1))
    female = 0.00025 + 2.6e-5 * np.exp(0.094 * age)
    for s, adult in enumerate((female * _MALE_EXCESS, female)):
        hazard = level * adult
        # Children 1–9: a declining excess tied to infant mortality.
        hazard += q0 * 0.22 * np.exp(-0.55 * np.maximum(age - 1, 0)) * (age >= 1)
        q = 1 - np.exp(-hazard)
        q0s = q0 * (1.12 if s == 0 else 0.88)
        q[0] = q0s  # used for the newborn's first calendar year, see _births
        q[1] = min(1.0, q[1] + 0.45 * q0s)  # the rest of infancy falls in the next calendar year
        q[-1] = 1.0
        out[s] = np.minimum(q, 1.0)
    return out


def life_expectancy(year: int, sex: int) -> float:
    """Period life expectancy at birth implied by ``death_probabilities`` (for documentation and tests)."""
    q = death_probabilities(year)[sex - 1].copy()
    q[0] = q[0] * 0.75 * 0.714  # the newborn's share of the first calendar year, on average
    survivors = np.concatenate([[1.0], np.cumprod(1 - q)])
    return float((survivors[:-1] + survivors[1:]).sum() / 2)


@lru_cache(maxsize=256)
def fertility_schedule(year: int) -> np.ndarray:
    """Shares of a woman's births at ages (reached in the year) 15..49; sums to 1; peak at 25–29 recently.

    A gamma density starting at FERTILITY_ORIGIN (few births before 20: first marriages start at 20).
    """
    mean, sd = _interp(year, FERTILITY_MEAN_AGE), _interp(year, FERTILITY_SD)
    x = np.maximum(np.arange(15, 50) - FERTILITY_ORIGIN, 0.05)
    scale = sd * sd / (mean - FERTILITY_ORIGIN)
    shape = (mean - FERTILITY_ORIGIN) / scale
    f = np.exp((shape - 1) * np.log(x) - x / scale)
    return f / f.sum()


@lru_cache(maxsize=256)
def first_marriage_hazard(year: int, sex: int) -> np.ndarray:
    """Probability that a never-married person of each age (reached in the year) marries this year."""
    mean = _interp(year, FIRST_MARRIAGE_AGE) + (2.2 if sex == 1 else 0.0)
    ever = _interp(year, EVER_MARRY)
    low = 22 if sex == 1 else 20
    age = np.arange(MAX_AGE + 1)
    dens = np.exp(-0.5 * ((age - mean) / 3.0) ** 2) * (age >= low) * (age <= 60)
    # Skewed to the right: later marriages are less rare than earlier ones.
    dens = dens + 0.08 * np.exp(-(age - mean) / 8.0) * (age > mean) * (age <= 60)
    p = ever * dens / dens.sum()
    left = 1 - np.concatenate([[0.0], np.cumsum(p)[:-1]])
    return np.clip(p / np.maximum(left, 1e-9), 0, 1)


def tfr_for(year: int, params: Params) -> float:
    return params.tfr if params.first_year <= year else _interp(year, TFR_HISTORY)


def srb_for(year: int, params: Params) -> float:
    return params.srb if params.first_year <= year else _interp(year, SRB_HISTORY)


def _parity_weights(year: int) -> np.ndarray:
    for until, weights in PARITY_WEIGHTS:
        if year < until:
            return np.array(weights)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    persons: int  # residents wanted at the end
    seed: int = 1
    tfr: float = 1.3
    srb: float = 111.0
    first_year: int = 2014
    last_year: int = 2025
    # The simulation runs to the end of ``last_year``, or on to this date (a partial current year).
    through: date | None = None
    start_year: int = 1940

    @property
    def end_day(self) -> int:
        return day_number(self.through) if self.through else jan1(self.last_year + 1) - 1

    @property
    def end_year(self) -> int:
        return self.through.year if self.through else self.last_year


_PERSON_FIELDS: dict[str, tuple[type, object]] = {
    "bday": (np.int32, 0),
    "byear": (np.int16, 0),
    "sex": (np.int8, 0),
    "mother": (np.int32, -1),
    "father": (np.int32, -1),
    "dday": (np.int32, NO_DATE),
    "status": (np.int8, RESIDENT),
    "village": (np.int16, 0),
    "county": (np.int16, -1),  # index into county.ADDRESS_CODES: where an "out" lives, where an "in" is from
    "addr": (np.int16, 0),  # index into county.ADDRESS_CODES: the address code of the ID number
    "surname": (np.int16, 0),
    "eth": (np.int8, 0),
    "parity": (np.int8, 0),
    "last_birth": (np.int32, -(10**8)),
    "mstat": (np.int8, NEVER_MARRIED),
    "spouse": (np.int32, -1),
    "marriage": (np.int32, -1),
    "n_marr": (np.int8, 0),
    "mend": (np.int32, -(10**8)),  # day the last marriage ended
}
_MARRIAGE_FIELDS: dict[str, tuple[type, object]] = {
    "husband": (np.int32, -1),
    "wife": (np.int32, -1),
    "day": (np.int32, 0),
    "end_day": (np.int32, NO_DATE),
    "end_reason": (np.int8, ENDED_NOT),
    "village": (np.int16, 0),
}


class _Table:
    """Growable columns of one kind of record."""

    def __init__(self, fields: dict[str, tuple[type, object]], capacity: int) -> None:
        self._fields = fields
        self.n = 0
        self._cap = max(capacity, 16)
        for name, (dtype, fill) in fields.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))

    def add(self, k: int) -> np.ndarray:
        if self.n + k > self._cap:
            new_cap = max(2 * self._cap, self.n + k)
            for name, (dtype, fill) in self._fields.items():
                old = getattr(self, name)
                grown = np.full(new_cap, fill, dtype=dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
            self._cap = new_cap
        idx = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        return idx

    def trimmed(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[: self.n].copy() for name in self._fields}


class _Events:
    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.parts: list[dict[str, np.ndarray]] = []

    def append(self, **cols: np.ndarray) -> None:
        if len(next(iter(cols.values()))):
            self.parts.append(cols)

    def concat(self, dtypes: dict[str, type]) -> dict[str, np.ndarray]:
        if not self.parts:
            return {c: np.empty(0, dtype=dtypes.get(c, np.int32)) for c in self.columns}
        return {c: np.concatenate([np.asarray(p[c]) for p in self.parts]).astype(dtypes.get(c, np.int32))
                for c in self.columns}


@dataclass
class YearStats:
    """Counts taken inside the simulation at points in time (events are counted from the event tables)."""

    year: int
    start_day: int
    end_day: int
    partial: bool
    pop_start: tuple[int, int]  # living in the county at 00:00 on the first day: (men, women)
    pop_end: tuple[int, int]  # at 24:00 on the last day
    mid_day: int
    women_mid_by_age: np.ndarray  # women living here at 00:00 on the mid day, by completed age 15..49
    deaths_away: int = 0  # deaths of people living in other counties (recorded, not in the county's rates)


@dataclass
class World:
    params: Params
    start_size: int
    persons: dict[str, np.ndarray]
    marriages: dict[str, np.ndarray]
    births: dict[str, np.ndarray]  # mother, father, child (-1 stillborn), day, sex, live, village, order
    deaths: dict[str, np.ndarray]  # person, day, village, status
    moves: dict[str, np.ndarray]  # person, day, kind, county, village
    years: dict[int, YearStats] = field(default_factory=dict)
    n_at_first_year: int = 0  # persons created before the first recorded year
    connected_at_first_year: np.ndarray | None = None  # alive and not "left" at its start (len n_at_first_year)

    @property
    def n(self) -> int:
        return len(self.persons["bday"])

    def residents_at_end(self) -> int:
        p = self.persons
        return int(np.count_nonzero((p["dday"] == NO_DATE) & ((p["status"] == RESIDENT) | (p["status"] == IN))))


# ---------------------------------------------------------------------------------------------------------------


def _uniform_days(rng: np.random.Generator, lo, hi) -> np.ndarray:
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return (lo + np.floor(rng.random(np.broadcast(lo, hi).shape) * (hi - lo + 1))).astype(np.int32)


def _stochastic_round(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    base = np.floor(x)
    return (base + (rng.random(np.shape(x)) < (x - base))).astype(np.int64)


def _match(rng: np.random.Generator, want_age: np.ndarray, men_age: np.ndarray,
           offsets: tuple[int, ...] = (0, 1, -1, 2, -2, 3, 4, -3, 5, 6, -4, 7, 8, 10, 12)
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pair brides with men: each bride wants a man of ``want_age``; failing that, a little older or younger.

    Returns positions (bride, man) into the two arrays. Men of an age are taken in random order.
    """
    nb, nm = len(want_age), len(men_age)
    if nb == 0 or nm == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    top = MAX_AGE + 20
    men_age = np.clip(men_age, 0, top)
    order_m = np.lexsort((rng.random(nm), men_age))
    start = np.searchsorted(men_age[order_m], np.arange(top + 1))
    avail = np.bincount(men_age, minlength=top + 1)
    used = np.zeros(top + 1, dtype=np.int64)
    bride_key = rng.random(nb)
    unmatched = np.arange(nb)
    got_b: list[np.ndarray] = []
    got_m: list[np.ndarray] = []
    for off in offsets:
        if len(unmatched) == 0:
            break
        t = want_age[unmatched] + off
        ok = (t >= 0) & (t <= top)
        cand, t = unmatched[ok], t[ok]
        o = np.lexsort((bride_key[cand], t))
        cand, t = cand[o], t[o]
        rank = np.arange(len(t)) - np.searchsorted(t, t, side="left")
        take = rank < (avail[t] - used[t])
        b, tt, r = cand[take], t[take], rank[take]
        got_b.append(b)
        got_m.append(order_m[start[tt] + used[tt] + r])
        used += np.bincount(tt, minlength=top + 1)
        done = np.zeros(nb, dtype=bool)
        done[b] = True
        unmatched = unmatched[~done[unmatched]]
    return np.concatenate(got_b), np.concatenate(got_m)


class _Simulation:
    def __init__(self, params: Params, start_size: int, rng: np.random.Generator, record: bool = True) -> None:
        self.p = params
        self.rng = rng
        self.record = record
        self.spec = cty.county_spec()
        self.people = _Table(_PERSON_FIELDS, int(start_size * 3.2))
        self.marr = _Table(_MARRIAGE_FIELDS, int(start_size * 1.2))
        self.births = _Events(("mother", "father", "child", "day", "sex", "live", "village", "order"))
        self.deaths = _Events(("person", "day", "village", "status"))
        self.moves = _Events(("person", "day", "kind", "county", "village"))
        self.years: dict[int, YearStats] = {}
        self.n_at_first_year = 0
        self.connected_at_first_year: np.ndarray | None = None
        dest = np.array([w for _c, _n, w in cty.DESTINATIONS])
        self.dest_idx = np.array([cty.address_index(c) for c, _n, _w in cty.DESTINATIONS], dtype=np.int16)
        self.dest_p = dest / dest.sum()
        orig = np.array([w for _c, _n, w in cty.ORIGINS])
        self.orig_idx = np.array([cty.address_index(c) for c, _n, _w in cty.ORIGINS], dtype=np.int16)
        self.orig_p = orig / orig.sum()
        self._populate(start_size)

    # -- the starting population -----------------------------------------------------------------------------

    def _populate(self, size: int) -> None:
        rng, P, y0 = self.rng, self.people, self.p.start_year
        # A stable population: survivorship of the starting life table × growth of 0.8 % a year.
        q = death_probabilities(y0).mean(axis=0)
        q[0] *= 0.54
        surv = np.concatenate([[1.0], np.cumprod(1 - q)])[: MAX_AGE + 1]
        c = surv * np.exp(-0.008 * np.arange(MAX_AGE + 1))
        c[101:] = 0
        ages = rng.choice(MAX_AGE + 1, size=size, p=c / c.sum())  # completed years at the start
        idx = P.add(size)
        P.byear[idx] = y0 - 1 - ages
        P.bday[idx] = _uniform_days(rng, jan1_many(P.byear[idx]), jan1_many(P.byear[idx] + 1) - 1)
        P.sex[idx] = np.where(rng.random(size) < 0.51, 1, 2)
        P.village[idx] = rng.choice(self.spec.n_villages, size=size, p=self.spec.village_weight)
        P.surname[idx] = names.surnames_draw(rng, size)
        P.eth[idx] = rng.choice(len(ETHNICITIES), size=size, p=_ETH_LOCAL)
        age = ages + 1  # reached in the start year
        d0 = jan1(y0)
        women = idx[(P.sex[idx] == 2) & (age >= 17)]
        men = idx[(P.sex[idx] == 1) & (age >= 19)]
        wage = age[women - idx[0]]
        ever = rng.random(len(women)) < 0.99 / (1 + np.exp(-(wage - 19.5) / 1.4))
        widowed = ever & (rng.random(len(women)) < np.clip((wage - 35) / 55, 0, 0.7))
        wives = women[ever & ~widowed]
        gap = np.rint(rng.normal(2.5, 3.0, len(wives))).astype(np.int64)
        b, m = _match(rng, age[wives - idx[0]] + gap, age[men - idx[0]])
        wives, husbands = wives[b], men[m]
        k = len(wives)
        mi = self.marr.add(k)
        wage_m = age[wives - idx[0]]
        years_married = np.floor(rng.random(k) * np.maximum(wage_m - 18, 1)).astype(np.int64)
        day = d0 - 1 - years_married * 365 - rng.integers(0, 365, k)
        day = np.maximum(day, np.maximum(P.bday[wives] + _WIFE_MIN_DAYS - 730, P.bday[husbands] + 7306))
        self.marr.husband[mi], self.marr.wife[mi], self.marr.day[mi] = husbands, wives, day
        self.marr.village[mi] = P.village[husbands]
        P.village[wives] = P.village[husbands]
        P.spouse[wives], P.spouse[husbands] = husbands, wives
        P.marriage[wives], P.marriage[husbands] = mi, mi
        P.mstat[wives] = MARRIED
        P.mstat[husbands] = MARRIED
        P.n_marr[wives] = 1
        P.n_marr[husbands] = 1
        unmatched = np.setdiff1d(women[ever], wives)
        P.mstat[unmatched] = WIDOWED
        P.n_marr[unmatched] = 1
        single_men = np.setdiff1d(men, husbands)
        old = single_men[(age[single_men - idx[0]] > 40) & (rng.random(len(single_men)) < 0.5)]
        P.mstat[old] = WIDOWED
        P.n_marr[old] = 1
        # Children born before the start are not linked to their mothers; parity is known all the same.
        mothers = women[ever]
        sched = np.cumsum(fertility_schedule(y0))
        a = np.clip(age[mothers - idx[0]] - 15, 0, 34)
        P.parity[mothers] = np.minimum(rng.poisson(5.6 * sched[a]), 12)
        had = mothers[P.parity[mothers] > 0]
        P.last_birth[had] = d0 - rng.integers(30, 4 * 365, len(had))

    # -- one year ----------------------------------------------------------------------------------------------

    def run(self) -> None:
        for year in range(self.p.start_year, self.p.end_year + 1):
            self._year(year)

    def _year(self, y: int) -> None:
        p, P = self.p, self.people
        d0 = jan1(y)
        full_end = jan1(y + 1) - 1
        d1 = min(full_end, p.end_day)
        frac = (d1 - d0 + 1) / (full_end - d0 + 1)
        recorded = self.record and y >= p.first_year
        if y == p.first_year:
            self.n_at_first_year = P.n
            self.connected_at_first_year = (P.dday[: P.n] == NO_DATE) & (P.status[: P.n] != LEFT)
        n = P.n
        alive = P.dday[:n] == NO_DATE
        status = P.status[:n]
        active = alive & (status != LEFT)
        here = active & ((status == RESIDENT) | (status == IN))
        sex = P.sex[:n]
        if recorded:
            pop_start = (int(np.count_nonzero(here & (sex == 1))), int(np.count_nonzero(here & (sex == 2))))
        age = (y - P.byear[:n]).astype(np.int64)
        busy = np.zeros(n, dtype=bool)
        moves_before = len(self.moves.parts)

        deaths_away = self._deaths(y, d0, d1, frac, active, age, busy)
        self._births(y, d0, d1, frac, here, age, busy)
        self._divorces(y, d0, d1, frac, active, age, busy)
        self._marriages(y, d0, d1, frac, active, age, busy)
        self._migration(y, d0, d1, frac, here, active, age, busy)

        if recorded:
            self._snapshot(y, d0, d1, full_end, pop_start, moves_before, deaths_away)

    def _deaths(self, y, d0, d1, frac, active, age, busy) -> int:
        P, rng, M = self.people, self.rng, self.marr
        idx = np.flatnonzero(active)
        q = death_probabilities(y)[P.sex[idx] - 1, np.minimum(age[idx], MAX_AGE)]
        if frac < 1:
            q = 1 - (1 - q) ** frac
        die = idx[rng.random(len(idx)) < q]
        day = _uniform_days(rng, d0, np.full(len(die), d1))
        P.dday[die] = day
        busy[die] = True
        self.deaths.append(person=die, day=day, village=P.village[die], status=P.status[die])
        away = int(np.count_nonzero(P.status[die] == OUT))
        # A death ends the marriage; the survivor is widowed (if both die, the later one was widowed first).
        married = die[P.spouse[die] >= 0]
        sp = P.spouse[married]
        end = np.minimum(P.dday[married], P.dday[sp])
        m = P.marriage[married]
        M.end_day[m] = end
        M.end_reason[m] = ENDED_DEATH
        survivor = np.where(P.dday[sp] > P.dday[married], sp, married)
        P.mstat[survivor] = WIDOWED
        for who in (married, sp):
            P.spouse[who] = -1
            P.marriage[who] = -1
            P.mend[who] = end
        return away

    def _births(self, y, d0, d1, frac, here, age, busy) -> None:
        p, P, rng = self.p, self.people, self.rng
        n = len(here)
        female_here = here & (P.sex[:n] == 2)
        denom = np.bincount(age[female_here & (age >= 15) & (age <= 49)], minlength=50)[15:50]
        expected = (tfr_for(y, p) * TFR_ALIGNMENT * fertility_schedule(y) * denom * frac
                    / (1 - STILLBIRTH_SHARE))
        target = _stochastic_round(rng, expected)
        elig = np.flatnonzero(female_here & ~busy & (age >= 15) & (age <= 49) & (P.last_birth[:n] <= d0 - 300))
        if len(elig) == 0:
            return
        married = (P.spouse[elig] >= 0)
        # Births an age cannot bear (few married women yet) move on to the next age, keeping the TFR:
        # at most MAX_MARRIED_BIRTH_RATE of the eligible married women and a few unmarried ones give birth.
        ea = age[elig] - 15
        capacity = (MAX_MARRIED_BIRTH_RATE * np.bincount(ea[married], minlength=35)
                    + 0.4 * UNMARRIED_WEIGHT * np.bincount(ea[~married], minlength=35))
        carry = 0.0
        target = target.astype(float)
        for i in range(35):
            want = target[i] + carry
            target[i] = min(want, np.floor(capacity[i]))
            carry = want - target[i]
        target = target.astype(np.int64)
        parity = np.minimum(P.parity[elig], 3)
        w = _parity_weights(y)[parity] * np.where(married, 1.0, UNMARRIED_WEIGHT)
        since_birth = (d0 - P.last_birth[elig]) / 365.25
        w *= np.where(parity == 0, 1.0, np.interp(since_birth, [0.8, 1.5, 2.5, 6, 10, 15], [0.1, 0.5, 1.0, 1.0,
                                                                                           0.5, 0.25]))
        mday = np.where(married, self.marr.day[np.maximum(P.marriage[elig], 0)], d0)
        since_marriage = (d0 - mday) / 365.25
        w *= np.where(married & (parity == 0), np.interp(since_marriage, [0, 2, 5, 10], [2.0, 1.6, 0.6, 0.25]),
                      1.0)
        key = np.log(rng.random(len(elig))) / w
        a = age[elig]
        o = np.lexsort((-key, a))
        elig, a = elig[o], a[o]
        rank = np.arange(len(a)) - np.searchsorted(a, a, side="left")
        mothers = elig[rank < target[a - 15]]
        k = len(mothers)
        day = _uniform_days(rng, d0, np.full(k, d1))
        live = rng.random(k) >= STILLBIRTH_SHARE
        srb = srb_for(y, p)
        sex = np.where(rng.random(k) < srb / (100 + srb), 1, 2).astype(np.int8)
        fathers = P.spouse[mothers]
        busy[mothers] = True
        P.last_birth[mothers] = day
        lm = mothers[live]
        P.parity[lm] += 1
        order = np.full(k, -1, dtype=np.int32)
        order[live] = P.parity[lm]
        c = P.add(int(live.sum()))
        children = np.full(k, -1, dtype=np.int64)
        children[live] = c
        P.bday[c] = day[live]
        P.byear[c] = y
        P.sex[c] = sex[live]
        P.mother[c] = lm
        P.father[c] = fathers[live]
        mstatus = P.status[lm]
        P.status[c] = np.where(mstatus == IN, IN, RESIDENT)
        P.village[c] = P.village[lm]
        P.county[c] = np.where(mstatus == IN, P.county[lm], -1)
        P.addr[c] = np.where(mstatus == IN, P.county[lm], 0)
        f = fathers[live]
        has_f = f >= 0
        P.surname[c] = np.where(has_f, P.surname[np.maximum(f, 0)], P.surname[lm])
        P.eth[c] = np.where(has_f & (rng.random(len(c)) < 0.5), P.eth[np.maximum(f, 0)], P.eth[lm])
        self.births.append(mother=mothers, father=fathers, child=children, day=day, sex=sex, live=live,
                           village=P.village[mothers], order=order)
        # Deaths in the first calendar year of life, front-loaded (most infant deaths are neonatal).
        rest = (jan1(y + 1) - P.bday[c]) / 365.25
        q0 = death_probabilities(y)[P.sex[c] - 1, 0]
        die = rng.random(len(c)) < q0 * 0.75 * rest ** 0.4
        dc = c[die]
        dday = P.bday[dc] + np.floor(rest[die] * 365.25 * rng.random(len(dc)) ** 2.5).astype(np.int32)
        keep = dday <= d1
        dc, dday = dc[keep], dday[keep]
        P.dday[dc] = dday
        self.deaths.append(person=dc, day=dday, village=P.village[dc], status=P.status[dc])

    def _divorces(self, y, d0, d1, frac, active, age, busy) -> None:
        P, rng, M = self.people, self.rng, self.marr
        n = len(active)
        wives = np.flatnonzero(active & (P.sex[:n] == 2) & (P.spouse[:n] >= 0) & ~busy)
        husbands = P.spouse[wives]
        ok = ~busy[husbands] & (P.dday[husbands] == NO_DATE)
        wives, husbands = wives[ok], husbands[ok]
        m = P.marriage[wives]
        duration = (d0 - M.day[m]) / 365.25
        rate = _interp(y, DIVORCE_RATE) * np.interp(duration, [0, 3, 10, 20, 35], [1.2, 1.6, 1.0, 0.6, 0.2])
        rate *= np.where(age[wives] > 60, 0.3, 1.0)
        if frac < 1:
            rate = rate * frac
        d = rng.random(len(wives)) < rate
        wives, husbands, m = wives[d], husbands[d], m[d]
        day = _uniform_days(rng, np.maximum(d0, M.day[m] + 1), np.full(len(m), d1))
        M.end_day[m] = day
        M.end_reason[m] = ENDED_DIVORCE
        for who in (wives, husbands):
            P.mstat[who] = DIVORCED
            P.spouse[who] = -1
            P.marriage[who] = -1
            P.mend[who] = day
            busy[who] = True

    def _marriages(self, y, d0, d1, frac, active, age, busy) -> None:
        P, rng, M = self.people, self.rng, self.marr
        n = len(active)
        single = active & ~busy & (P.spouse[:n] < 0) & (P.mend[:n] < d0)
        women = np.flatnonzero(single & (P.sex[:n] == 2) & (age >= 20))
        men = np.flatnonzero(single & (P.sex[:n] == 1) & (age >= 22))
        wa = np.minimum(age[women], MAX_AGE)
        first = P.mstat[women] == NEVER_MARRIED
        h = np.where(first, first_marriage_hazard(y, 2)[wa],
                     np.where(P.mstat[women] == DIVORCED, 0.10, 0.05) * np.interp(wa, [20, 40, 50, 60],
                                                                                  [1.0, 0.8, 0.3, 0.05]))
        if frac < 1:
            h = 1 - (1 - h) ** frac
        brides = women[rng.random(len(women)) < h]
        first = P.mstat[brides] == NEVER_MARRIED
        gap = np.where(first, rng.normal(2.2, 2.4, len(brides)), rng.normal(4.0, 5.0, len(brides)))
        want = age[brides] + np.rint(gap).astype(np.int64)
        b, m = _match(rng, want, age[men])
        wives, husbands = brides[b], men[m]
        lo = np.maximum(np.maximum(d0, P.bday[wives].astype(np.int64) + _WIFE_MIN_DAYS),
                        P.bday[husbands].astype(np.int64) + _HUSBAND_MIN_DAYS)
        ok = lo <= d1
        wives, husbands, lo = wives[ok], husbands[ok], lo[ok]
        k = len(wives)
        day = _uniform_days(rng, lo, np.full(k, d1))
        mi = M.add(k)
        M.husband[mi], M.wife[mi], M.day[mi] = husbands, wives, day
        # She moves to his village, unless he is from another county and she is registered here.
        uxorilocal = (P.status[husbands] == IN) & (P.status[wives] != IN)
        village = np.where(uxorilocal, P.village[wives], P.village[husbands])
        M.village[mi] = village
        P.village[wives] = village
        P.village[husbands] = village
        for who, other in ((wives, husbands), (husbands, wives)):
            P.mstat[who] = np.where(P.n_marr[who] > 0, REMARRIED, MARRIED)
            P.n_marr[who] += 1
            P.spouse[who] = other
            P.marriage[who] = mi
            busy[who] = True

    def _migration(self, y, d0, d1, frac, here, active, age, busy) -> None:
        P, rng = self.people, self.rng
        n = len(active)
        status = P.status[:n]

        # Out-migrants coming home (those married without children most of all).
        o = np.flatnonzero(active & (status == OUT) & ~busy)
        sp = P.spouse[o]
        childless_couple = (sp >= 0) & (P.parity[np.where(P.sex[o] == 2, o, np.maximum(sp, 0))] == 0)
        h = _RETURN_AGE[np.minimum(age[o], MAX_AGE)] * np.where(childless_couple & (age[o] < 40), 3.0, 1.0)
        if frac < 1:
            h = h * frac
        back = o[rng.random(len(o)) < h]
        day = _uniform_days(rng, d0, np.full(len(back), d1))
        self.moves.append(person=back, day=day, kind=np.full(len(back), RETURN), county=P.county[back],
                          village=P.village[back])
        P.status[back] = RESIDENT
        P.county[back] = -1
        busy[back] = True

        # Residents leaving for other counties to work (mothers of small children less often).
        r = np.flatnonzero(active & (status == RESIDENT) & ~busy & (age >= 16) & (age <= 64))
        h = _interp(y, OUT_MIGRATION) * _OUT_AGE[age[r]]
        h = h * np.where(P.sex[r] == 2, OUT_WOMEN, 1.0) * np.where(
            (P.sex[r] == 2) & (P.last_birth[r] > d0 - 3 * 365), 0.4, 1.0)
        if frac < 1:
            h = h * frac
        go = r[rng.random(len(r)) < h]
        day = _uniform_days(rng, d0, np.full(len(go), d1))
        dest = self.dest_idx[rng.choice(len(self.dest_idx), size=len(go), p=self.dest_p)]
        self.moves.append(person=go, day=day, kind=np.full(len(go), DEPART), county=dest, village=P.village[go])
        P.status[go] = OUT
        P.county[go] = dest
        busy[go] = True

        # People from other counties leaving again: single ones, couples from elsewhere (her decision), and their
        # children under 16. Someone married to a local stays.
        i = np.flatnonzero(active & (status == IN) & ~busy & (age >= 16))
        sp = P.spouse[i]
        sp_in = (sp >= 0) & (P.status[np.maximum(sp, 0)] == IN)
        can = (sp < 0) | (sp_in & (P.sex[i] == 2) & ~busy[np.maximum(sp, 0)])
        rate = np.where(sp < 0, IN_LEAVE_RATE, IN_LEAVE_RATE * 0.6) * can
        if frac < 1:
            rate = rate * frac
        lead = i[rng.random(len(i)) < rate]
        lead_day = _uniform_days(rng, d0, np.full(len(lead), d1))
        leave_day = np.full(n, -1, dtype=np.int64)
        leave_day[lead] = lead_day
        partners = P.spouse[lead]
        has = partners >= 0
        leave_day[partners[has]] = lead_day[has]
        kids = np.flatnonzero(active & (status == IN) & ~busy & (age < 16) & (leave_day < 0))
        mo, fa = P.mother[kids], P.father[kids]
        kday = np.where(mo >= 0, leave_day[np.maximum(mo, 0)], -1)
        kday = np.where((kday < 0) & (fa >= 0), leave_day[np.maximum(fa, 0)], kday)
        leave_day[kids] = kday
        leaving = np.flatnonzero(leave_day >= 0)
        day = leave_day[leaving].astype(np.int32)
        self.moves.append(person=leaving, day=day, kind=np.full(len(leaving), LEAVE), county=P.county[leaving],
                          village=P.village[leaving])
        P.status[leaving] = LEFT
        busy[leaving] = True

        # Arrivals from other counties: young adults, single.
        k = int(_stochastic_round(rng, np.array(_interp(y, IN_MIGRATION) * np.count_nonzero(here) * frac)))
        if k == 0:
            return
        c = P.add(k)
        a = rng.choice(MAX_AGE + 1, size=k, p=_IN_AGE)
        P.byear[c] = y - a
        P.bday[c] = _uniform_days(rng, jan1_many(y - a), jan1_many(y - a + 1) - 1)
        arrive = _uniform_days(rng, np.maximum(d0, P.bday[c].astype(np.int64) + 1), np.full(k, d1))
        P.sex[c] = np.where(rng.random(k) < IN_MALE_SHARE, 1, 2)
        P.status[c] = IN
        origin = self.orig_idx[rng.choice(len(self.orig_idx), size=k, p=self.orig_p)]
        P.county[c] = origin
        P.addr[c] = origin
        weight = self.spec.village_weight * np.where(self.spec.village_urban, 2.5, 1.0)
        P.village[c] = rng.choice(self.spec.n_villages, size=k, p=weight / weight.sum())
        P.surname[c] = names.surnames_draw(rng, k)
        P.eth[c] = rng.choice(len(ETHNICITIES), size=k, p=_ETH_ARRIVING)
        divorced = (a >= 30) & (rng.random(k) < 0.35)
        P.mstat[c] = np.where(divorced, DIVORCED, NEVER_MARRIED)
        P.n_marr[c] = divorced
        # Marriage eligibility starts next year; the arrival is this year's event.
        P.mend[c] = np.where(divorced, arrive, -(10**8))
        self.moves.append(person=c, day=arrive, kind=np.full(k, ARRIVE), county=origin, village=P.village[c])

    # -- counts at points in time -------------------------------------------------------------------------------

    def _snapshot(self, y, d0, d1, full_end, pop_start, moves_before, deaths_away) -> None:
        P = self.people
        n = P.n
        alive = P.dday[:n] == NO_DATE
        st = P.status[:n]
        here_end = alive & ((st == RESIDENT) | (st == IN))
        sex = P.sex[:n]
        pop_end = (int(np.count_nonzero(here_end & (sex == 1))), int(np.count_nonzero(here_end & (sex == 2))))
        partial = d1 < full_end
        mid = day_of(y, 7, 1) if not partial else d0 + (d1 - d0 + 1) // 2
        # Status at 00:00 on the mid day: undo this year's moves made on or after it.
        status_mid = st.astype(np.int8).copy()
        present = np.ones(n, dtype=bool)
        for part in self.moves.parts[moves_before:]:
            late = part["day"] >= mid
            who, kind = part["person"][late], part["kind"][late]
            status_mid[who[kind == DEPART]] = RESIDENT
            status_mid[who[kind == RETURN]] = OUT
            status_mid[who[kind == LEAVE]] = IN
            present[who[kind == ARRIVE]] = False
        living_mid = (P.bday[:n] < mid) & (P.dday[:n] >= mid) & present
        here_mid = living_mid & ((status_mid == RESIDENT) | (status_mid == IN))
        women = np.flatnonzero(here_mid & (sex == 2))
        age_mid = completed_age(P.bday[women], mid)
        ok = (age_mid >= 15) & (age_mid <= 49)
        by_age = np.bincount(age_mid[ok] - 15, minlength=35)
        self.years[y] = YearStats(year=y, start_day=d0, end_day=d1, partial=partial, pop_start=pop_start,
                                  pop_end=pop_end, mid_day=mid, women_mid_by_age=by_age, deaths_away=deaths_away)

    def world(self, start_size: int) -> World:
        P = self.people
        persons = P.trimmed()
        return World(
            params=self.p,
            start_size=start_size,
            persons=persons,
            marriages=self.marr.trimmed(),
            births=self.births.concat({"live": np.bool_, "sex": np.int8, "village": np.int16}),
            deaths=self.deaths.concat({"village": np.int16, "status": np.int8}),
            moves=self.moves.concat({"kind": np.int8, "county": np.int16, "village": np.int16}),
            years=self.years,
            n_at_first_year=self.n_at_first_year,
            connected_at_first_year=self.connected_at_first_year,
        )


def completed_age(bday: np.ndarray, on) -> np.ndarray:
    """Age in completed years at 00:00 of day ``on`` (a day number, or an array of them; a birthday counts from
    its first moment)."""
    d = np.asarray(bday).astype("datetime64[D]")
    on_d = np.asarray(on, dtype=np.int64).astype("datetime64[D]")
    years = on_d.astype("datetime64[Y]").astype(np.int64) - d.astype("datetime64[Y]").astype(np.int64)
    on_m = on_d.astype("datetime64[M]").astype(np.int64) % 12
    m = d.astype("datetime64[M]").astype(np.int64) % 12
    on_dom = (on_d - on_d.astype("datetime64[M]")).astype(np.int64)
    dom = (d - d.astype("datetime64[M]")).astype(np.int64)
    before = (m > on_m) | ((m == on_m) & (dom > on_dom))
    return (years - before).astype(np.int64)


PILOT_SIZE = 20_000


def simulate(params: Params) -> World:
    """Simulate the county so that about ``params.persons`` people live in it at the end.

    A pilot run (a smaller population, its own random stream derived from the seed) measures how much a starting
    population grows under these parameters; the real run starts from the size that ends near the target.
    """
    pilot_size = int(np.clip(params.persons // 3, 5_000, PILOT_SIZE))
    pilot_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([params.seed, 1])))
    pilot = _Simulation(params, pilot_size, pilot_rng, record=False)
    pilot.run()
    grown = pilot.world(pilot_size).residents_at_end() / pilot_size
    start = max(100, round(params.persons / grown))
    # A small population's growth over eight decades is noisy: start again (from the same seed) with a corrected
    # size when the end is more than 1.5 % off, and keep the closest of up to four runs.
    best: World | None = None
    for _attempt in range(4):
        sim = _Simulation(params, start, np.random.Generator(np.random.PCG64(params.seed)))
        sim.run()
        world = sim.world(start)
        ratio = world.residents_at_end() / params.persons
        if best is None or abs(ratio - 1) < abs(best.residents_at_end() / params.persons - 1):
            best = world
        if abs(ratio - 1) <= 0.015:
            break
        start = max(100, round(start / ratio))
    return best


def living_here_on(world: World, day: int) -> np.ndarray:
    """Mask of the persons living in the county at 00:00 of ``day`` (status "resident" or "in" then)."""
    p, mv = world.persons, world.moves
    status = p["status"].copy()
    present = np.ones(len(status), dtype=bool)
    later = mv["day"] >= day
    who, when, kind = mv["person"][later], mv["day"][later], mv["kind"][later]
    order = np.lexsort((when, who))
    who, kind = who[order], kind[order]
    first = np.ones(len(who), dtype=bool)
    first[1:] = who[1:] != who[:-1]
    who, kind = who[first], kind[first]
    status[who[kind == DEPART]] = RESIDENT
    status[who[kind == RETURN]] = OUT
    status[who[kind == LEAVE]] = IN
    present[who[kind == ARRIVE]] = False
    return present & (p["bday"] < day) & (p["dday"] >= day) & ((status == RESIDENT) | (status == IN))
