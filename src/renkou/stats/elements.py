"""The data elements derived from the register, declared once as data (数据元).

Each element counts rows of one *source* (a table the engine derives from the snapshot, see ``engine.STOCK_SOURCES`` and ``engine.DERIVED_STEPS``):

- stock sources hold the persons living here at a date (``pop_age``: everyone by sex and age; ``pop_attr``: by
  sex, registration type and residence status — the smaller one, read by the elements that need no age; ``mw``:
  married women by age) and are read
  at the period's start (the day before its first day, 24:00), its end (its last day, 24:00) or as the mean of
  the two (``at``);
- flow sources hold dated events (births, deaths, marriages, divorces, moves) counted in the period.

An element's disaggregation is a list of categories; its category option combos (COCs) are the cross product
of their options, coded ``OPTION`` or ``OPTION1.OPTION2``. The engines also return every element's total under
the empty COC ``""``, which counts every row, also the rows no option covers (e.g. a sex "unknown"). These
codes are stable: reports, indicators, frozen values and the other modules refer to them (docs/stats.md).

Working definitions (DOMAIN.md asks to keep them named in one place):

- *Living here at a date*: alive at the end of that day and living in a village of the county, reconstructed
  from the person's dated moves (before the first move: the state the move left; no move: the person's current
  state).
- *Reported late* (``LIVE_BIRTHS_LATE``): a live birth of the period recorded (local date) after the period's
  last day. ``LIVE_BIRTHS_EARLIER``: live births of earlier periods recorded during this period — the column
  "births of earlier years not reported before" of the national form.
- *Residence status* at a date: the person's registration relation as known now: registered here (``RESIDENT``:
  status resident or living in another county now) or from another county (``IN``: status in, or left again).
- *Married woman* at a date: the wife of a marriage begun on or before that day and not ended by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

AGE_SQL = ("(year({d}) - year({b}) - CASE WHEN month({d}) * 100 + dayofmonth({d}) "
           "< month({b}) * 100 + dayofmonth({b}) THEN 1 ELSE 0 END)")


def age_sql(birth: str, on: str) -> str:
    """Completed years of age on day ``on`` of someone born on ``birth`` (SQL, DuckDB and Spark alike)."""
    return AGE_SQL.format(b=birth, d=on)


@dataclass(frozen=True)
class Option:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    expr: str  # SQL giving the option code (NULL when no option covers the row), over source alias ``a``
    options: tuple[Option, ...]


def _case(expr_by_option: list[tuple[str, str]]) -> str:
    return "CASE " + " ".join(f"WHEN {cond} THEN '{code}'" for code, cond in expr_by_option) + " END"


SEX = Category("SEX", "性别", "Sex", "CASE a.sex WHEN '1' THEN 'MALE' WHEN '2' THEN 'FEMALE' END",
               (Option("MALE", "男", "Male"), Option("FEMALE", "女", "Female")))

_AGE5 = [(f"Y{lo:02d}_{lo + 4:02d}", f"{lo}–{lo + 4}岁", f"{lo}–{lo + 4}") for lo in range(0, 85, 5)]
_AGE5.append(("Y85P", "85岁及以上", "85+"))
AGE5 = Category(
    "AGE5", "五岁年龄组", "Five-year age group",
    _case([(code, f"a.age < {5 * (i + 1)}") for i, (code, _z, _e) in enumerate(_AGE5[:-1])] + [("Y85P", "a.age >= 85")]),
    tuple(Option(*t) for t in _AGE5),
)
# ``A15`` … ``A49`` made from the age itself (one test, not a branch per year).
AGE1_15_49 = Category(
    "AGE1", "单岁年龄（15–49岁）", "Single year of age (15–49)",
    "CASE WHEN a.age BETWEEN 15 AND 49 THEN 'A' || CAST(a.age AS VARCHAR) END",
    tuple(Option(f"A{a}", f"{a}岁", str(a)) for a in range(15, 50)),
)
MAGE1 = Category(
    "MAGE1", "母亲单岁年龄（15–49岁）", "Mother's single year of age (15–49)",
    "CASE WHEN a.mage BETWEEN 15 AND 49 THEN 'A' || CAST(a.mage AS VARCHAR) END",
    AGE1_15_49.options,
)
_MAGE5 = [("M_U20", "20岁以下", "Under 20", "a.mage < 20")] + [
    (f"M{lo}_{lo + 4}", f"{lo}–{lo + 4}岁", f"{lo}–{lo + 4}", f"a.mage < {lo + 5}") for lo in range(20, 45, 5)
] + [("M45P", "45岁及以上", "45 and over", "a.mage >= 45")]
MAGE5 = Category("MAGE5", "母亲年龄组", "Mother's age group", _case([(c, cond) for c, _z, _e, cond in _MAGE5]),
                 tuple(Option(c, z, e) for c, z, e, _cond in _MAGE5))
ORDER = Category("ORDER", "孩次", "Birth order",
                 "CASE WHEN a.birth_order = 1 THEN 'O1' WHEN a.birth_order = 2 THEN 'O2' "
                 "WHEN a.birth_order >= 3 THEN 'O3P' END",
                 (Option("O1", "一孩", "First"), Option("O2", "二孩", "Second"),
                  Option("O3P", "三孩及以上", "Third and later")))
OUTCOME = Category("OUTCOME", "活产/死产", "Outcome",
                   "CASE WHEN a.live_born THEN 'LIVE' WHEN NOT a.live_born THEN 'STILL' END",
                   (Option("LIVE", "活产", "Live birth"), Option("STILL", "死产", "Stillbirth")))
REGTYPE = Category("REGTYPE", "户口性质", "Registration type",
                   "CASE a.registration_type WHEN 'rural' THEN 'RURAL' WHEN 'urban' THEN 'URBAN' END",
                   (Option("RURAL", "农业", "Rural"), Option("URBAN", "非农业", "Urban")))
STATUS = Category("STATUS", "居住状态", "Residence status",
                  "CASE WHEN a.residence_status IN ('resident', 'out') THEN 'RESIDENT' "
                  "WHEN a.residence_status IN ('in', 'left') THEN 'IN' END",
                  (Option("RESIDENT", "户籍人口", "Registered here"),
                   Option("IN", "外县流入", "From another county")))
RESIDENCE = Category("RESIDENCE", "死亡时居住地", "Living here at death",
                     "CASE WHEN a.person_status IN ('resident', 'in') THEN 'HERE' "
                     "WHEN a.person_status IN ('out', 'left') THEN 'AWAY' END",
                     (Option("HERE", "本县居住", "Living here"), Option("AWAY", "外县居住", "Living elsewhere")))
SCOPE = Category("SCOPE", "迁移范围", "Scope of the move",
                 "a.scope", (Option("OTHER_COUNTY", "县外", "Other county"),
                             Option("WITHIN_COUNTY", "县内", "Within the county")))

WOMEN_15_49 = "a.sex = '2' AND a.age BETWEEN 15 AND 49"
LIVE = "a.live_born"


@dataclass(frozen=True)
class DataElement:
    code: str
    name_zh: str
    name_en: str
    source: str
    at: str | None = None  # stock sources: "start", "end" or "mean"
    filter: str = "TRUE"
    categories: tuple[Category, ...] = ()
    period_join: str | None = None  # flow sources: how a row falls in a period (default: its date)
    description: str = ""
    unit_label: str = "人"
    mean: bool = field(default=False)

    @property
    def stock(self) -> bool:
        return self.at is not None

    def cocs(self) -> list[tuple[str, str, str]]:
        """(code, Chinese name, English name) of each category option combo."""
        combos: list[tuple[str, str, str]] = [("", "", "")]
        for cat in self.categories:
            combos = [(f"{c}.{o.code}" if c else o.code, f"{z}{o.name_zh}", f"{e} {o.name_en}".strip())
                      for c, z, e in combos for o in cat.options]
        return combos if self.categories else []

    def coc_sql(self) -> str:
        if not self.categories:
            return "CAST(NULL AS VARCHAR)"
        if len(self.categories) == 1:
            return self.categories[0].expr
        # ``||`` is NULL when a part is (DuckDB and Spark alike): a row no option of one category covers has no COC.
        return "(" + " || '.' || ".join(f"({c.expr})" for c in self.categories) + ")"


def _stock(code: str, zh: str, en: str, at: str, *, source: str = "pop_attr", flt: str = "TRUE",
           cats: tuple[Category, ...] = (SEX,), desc: str = "") -> DataElement:
    return DataElement(code, zh, en, source, at=at, filter=flt, categories=cats, description=desc)


def _flow(code: str, zh: str, en: str, source: str, *, flt: str = "TRUE", cats: tuple[Category, ...] = (),
          join: str | None = None, desc: str = "") -> DataElement:
    return DataElement(code, zh, en, source, filter=flt, categories=cats, period_join=join, description=desc)


LATE_JOIN = "a.recorded_on BETWEEN pr.start_date AND pr.end_date AND a.date < pr.start_date"

ELEMENTS: tuple[DataElement, ...] = (
    _stock("POP_END", "期末人口", "Population at the end of the period", "end",
           desc="Persons living here at the end of the period's last day."),
    _stock("POP_START", "期初人口", "Population at the start of the period", "start",
           desc="Persons living here at the end of the day before the period's first day."),
    _stock("POP_MEAN", "平均人口", "Mean population", "mean",
           desc="(population at the start + population at the end) ÷ 2."),
    _stock("POP_END_AGE5", "期末人口（按年龄组、性别）", "Population at the end by age group and sex", "end",
           source="pop_age", cats=(AGE5, SEX)),
    _stock("POP_END_REGTYPE", "期末人口（按户口性质）", "Population at the end by registration type", "end",
           source="pop_attr", cats=(REGTYPE,)),
    _stock("POP_END_STATUS", "期末人口（按居住状态）", "Population at the end by residence status", "end",
           source="pop_attr", cats=(STATUS,)),
    _stock("WOMEN_15_49_END", "期末育龄妇女", "Women aged 15–49 at the end", "end", source="pop_age",
           flt=WOMEN_15_49, cats=()),
    _stock("WOMEN_15_49_MEAN", "平均育龄妇女", "Mean women aged 15–49", "mean", source="pop_age",
           flt=WOMEN_15_49, cats=()),
    _stock("WOMEN_MEAN_AGE1", "平均育龄妇女（按单岁年龄）", "Mean women by single year of age", "mean",
           source="pop_age", flt=WOMEN_15_49, cats=(AGE1_15_49,)),
    _stock("MWOMEN_15_49_END", "期末已婚育龄妇女", "Married women aged 15–49 at the end", "end", source="mw",
           flt="a.age BETWEEN 15 AND 49", cats=()),
    _stock("MWOMEN_15_49_MEAN", "平均已婚育龄妇女", "Mean married women aged 15–49", "mean", source="mw",
           flt="a.age BETWEEN 15 AND 49", cats=()),
    _flow("BIRTHS", "出生（活产与死产）", "Births, live and stillborn", "births", cats=(OUTCOME,)),
    _flow("LIVE_BIRTHS", "活产", "Live births", "births", flt=LIVE, cats=(SEX,)),
    _flow("LIVE_BIRTHS_ORDER", "活产（按孩次）", "Live births by order", "births", flt=LIVE, cats=(ORDER,)),
    _flow("LIVE_BIRTHS_ORDER_SEX", "活产（按孩次、性别）", "Live births by order and sex", "births", flt=LIVE,
          cats=(ORDER, SEX)),
    _flow("LIVE_BIRTHS_MAGE", "活产（按母亲年龄组）", "Live births by mother's age group", "births", flt=LIVE,
          cats=(MAGE5,)),
    _flow("LIVE_BIRTHS_MAGE1", "活产（按母亲单岁年龄）", "Live births by mother's single year of age", "births",
          flt=LIVE, cats=(MAGE1,)),
    _flow("LIVE_BIRTHS_LATE", "本期出生、期后登记", "Live births of the period recorded after its end", "births",
          flt=f"{LIVE} AND a.recorded_on > pr.end_date", cats=(SEX,)),
    _flow("LIVE_BIRTHS_EARLIER", "以前年度出生本期补报", "Live births of earlier periods recorded in this period",
          "births", flt=LIVE, cats=(SEX,), join=LATE_JOIN),
    _flow("DEATHS", "死亡", "Deaths", "deaths", cats=(SEX,)),
    _flow("DEATHS_RESIDENCE", "死亡（按居住地）", "Deaths by residence at death", "deaths", cats=(RESIDENCE,)),
    _flow("MARRIAGES", "结婚", "Marriages", "marriages"),
    _flow("DIVORCES", "离婚", "Divorces", "divorces"),
    _flow("MOVES_IN", "迁入", "Moves in", "moves_in", cats=(SCOPE,)),
    _flow("MOVES_OUT", "迁出", "Moves out", "moves_out", cats=(SCOPE,)),
)


@cache
def elements_by_code() -> dict[str, DataElement]:
    return {e.code: e for e in ELEMENTS}


def element_get(code: str) -> DataElement | None:
    return elements_by_code().get(code)


@cache
def value_keys() -> frozenset[tuple[str, str]]:
    """Every (element, COC) pair the engines produce, the totals ("") included."""
    return frozenset((e.code, c) for e in ELEMENTS for c in ["", *(k for k, _z, _e in e.cocs())])
