"""Indicators: the shipped definitions (DOMAIN.md, "Indicators"), their checking and their computation.

An indicator is numerator ÷ denominator × factor, both expressions over data elements (expressions.py). The
definitions live in the database (models.Indicator) so that county staff change them without code; the ones
below are installed by a migration and marked built-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from django.utils.translation import gettext as _

from renkou.core.errors import Problems, RuleViolation
from renkou.orgunits.periods import Period, PeriodType
from renkou.stats import contributed, expressions
from renkou.stats.cube import Cube
from renkou.stats.elements import element_get, value_keys

DEFAULT_INDICATORS: tuple[dict, ...] = (
    {"code": "MEAN_POP", "name_zh": "平均人口", "name_en": "Mean population",
     "description": "(期初人口 + 期末人口) ÷ 2", "numerator": "#{POP_MEAN}", "denominator": "1", "factor": 1,
     "decimals": 1, "unit_label": "人"},
    {"code": "CBR", "name_zh": "出生率", "name_en": "Crude birth rate",
     "description": "活产数 ÷ 平均人口 × 1000（不足一年的时期按年计算）",
     "numerator": "#{LIVE_BIRTHS} / years()", "denominator": "#{POP_MEAN}", "factor": 1000, "decimals": 2,
     "unit_label": "‰"},
    {"code": "CDR", "name_zh": "死亡率", "name_en": "Crude death rate",
     "description": "本县居住者死亡数 ÷ 平均人口 × 1000（不足一年的时期按年计算）",
     "numerator": "#{DEATHS_RESIDENCE.HERE} / years()", "denominator": "#{POP_MEAN}", "factor": 1000,
     "decimals": 2, "unit_label": "‰"},
    {"code": "NGR", "name_zh": "自然增长率", "name_en": "Natural growth rate",
     "description": "(活产数 − 死亡数) ÷ 平均人口 × 1000",
     "numerator": "(#{LIVE_BIRTHS} - #{DEATHS_RESIDENCE.HERE}) / years()", "denominator": "#{POP_MEAN}",
     "factor": 1000, "decimals": 2, "unit_label": "‰"},
    {"code": "SRB", "name_zh": "出生人口性别比", "name_en": "Sex ratio at birth",
     "description": "男性活产数 ÷ 女性活产数 × 100（正常值 103–107），附 95% 置信区间",
     "numerator": "#{LIVE_BIRTHS.MALE}", "denominator": "#{LIVE_BIRTHS.FEMALE}", "factor": 100, "decimals": 2,
     "unit_label": "", "interval": "binomial"},
    {"code": "ORDER1_SHARE", "name_zh": "一孩占比", "name_en": "Share of first births",
     "description": "一孩活产数 ÷ 活产数 × 100%", "numerator": "#{LIVE_BIRTHS_ORDER.O1}",
     "denominator": "#{LIVE_BIRTHS}", "factor": 100, "decimals": 2, "unit_label": "%"},
    {"code": "ORDER2_SHARE", "name_zh": "二孩占比", "name_en": "Share of second births",
     "description": "二孩活产数 ÷ 活产数 × 100%", "numerator": "#{LIVE_BIRTHS_ORDER.O2}",
     "denominator": "#{LIVE_BIRTHS}", "factor": 100, "decimals": 2, "unit_label": "%"},
    {"code": "ORDER3P_SHARE", "name_zh": "三孩及以上占比", "name_en": "Share of third and later births",
     "description": "三孩及以上活产数 ÷ 活产数 × 100%", "numerator": "#{LIVE_BIRTHS_ORDER.O3P}",
     "denominator": "#{LIVE_BIRTHS}", "factor": 100, "decimals": 2, "unit_label": "%"},
    {"code": "GFR", "name_zh": "一般生育率", "name_en": "General fertility rate",
     "description": "活产数 ÷ 15–49岁妇女平均人数 × 1000", "numerator": "#{LIVE_BIRTHS} / years()",
     "denominator": "#{WOMEN_15_49_MEAN}", "factor": 1000, "decimals": 2, "unit_label": "‰"},
    {"code": "TFR", "name_zh": "总和生育率", "name_en": "Total fertility rate",
     "description": "15–49岁各单岁年龄别生育率之和（按母亲生育时的周岁年龄，妇女数取期初期末平均）",
     "numerator": "sumratio(#{LIVE_BIRTHS_MAGE1}, #{WOMEN_MEAN_AGE1}) / years()", "denominator": "1",
     "factor": 1, "decimals": 3, "unit_label": ""},
    {"code": "BIRTHS_EARLIER", "name_zh": "以前年度出生本期补报数", "name_en": "Births of earlier periods reported late",
     "description": "本期登记的以前时期出生的活产数", "numerator": "#{LIVE_BIRTHS_EARLIER}", "denominator": "1",
     "factor": 1, "decimals": 0, "unit_label": "人"},
    {"code": "LATE_SHARE", "name_zh": "出生迟报比例", "name_en": "Share of births reported late",
     "description": "本期出生但期末以后登记的活产数 ÷ 本期活产数 × 100%", "numerator": "#{LIVE_BIRTHS_LATE}",
     "denominator": "#{LIVE_BIRTHS}", "factor": 100, "decimals": 2, "unit_label": "%"},
)


def _known(element: str, coc: str) -> bool:
    return (element, coc) in value_keys() or contributed.known(element, coc)


@cache
def _cocs_of(element: str) -> list[str]:
    el = element_get(element)
    return [c for c, _z, _e in el.cocs()] if el else []


def cocs_of(element: str) -> list[str]:
    other = contributed.contributed_get(element)
    return [c for c, _z, _e in other.cocs()] if other is not None else _cocs_of(element)


@cache
def parse(text: str) -> expressions.Parsed:
    return expressions.parse(text, known=_known, cocs_of=cocs_of)


def check_definition(*, numerator: str, denominator: str, factor: float | None = 1,
                     decimals: int | None = 1) -> None:
    """Raise RuleViolation(s) naming the field when a definition cannot be computed."""
    problems = Problems()
    for field_name, text in (("numerator", numerator), ("denominator", denominator)):
        try:
            parsed = parse(text or "")
        except expressions.ExpressionError as exc:
            problems.add(RuleViolation(field_name, str(exc)))
            continue
        if field_name == "denominator" and expressions.is_constant_zero(parsed):
            problems.add(RuleViolation(field_name, _("The denominator is always zero.")))
    if factor is None or not np.isfinite(factor) or factor == 0:
        problems.add(RuleViolation("factor", _("The factor must be a number other than zero.")))
    if decimals is None or not 0 <= decimals <= 6:
        problems.add(RuleViolation("decimals", _("Decimals must be between 0 and 6.")))
    problems.raise_if_any()


_YEARS = {PeriodType.YEAR: 1.0, PeriodType.FP_YEAR: 1.0, PeriodType.HALF: 0.5, PeriodType.FP_HALF: 0.5,
          PeriodType.QUARTER: 0.25, PeriodType.MONTH: 1 / 12}


@cache
def period_years(code: str) -> float:
    return _YEARS[Period.parse(code).type]


@dataclass(frozen=True)
class Definition:
    """What the computation needs of an indicator (a model instance or a dict will do)."""

    code: str
    numerator: str
    denominator: str
    factor: float
    decimals: int
    interval: str = ""

    @classmethod
    def of(cls, obj) -> Definition:
        get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
        return cls(get("code"), get("numerator"), get("denominator"), float(get("factor")), int(get("decimals")),
                   get("interval", "") or "")


@dataclass
class Computed:
    value: np.ndarray  # NaN where the denominator is 0
    numerator: np.ndarray
    denominator: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def compute(definition: Definition, cube: Cube) -> Computed:
    years = np.array([period_years(p) for _u, p in cube.rows]) if cube.rows else np.zeros(0)
    num = expressions.evaluate(parse(definition.numerator), cube, years, cocs_of)
    den = expressions.evaluate(parse(definition.denominator), cube, years, cocs_of)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den != 0, num / np.where(den != 0, den, 1) * definition.factor, np.nan)
    value = np.round(value, definition.decimals)
    out = Computed(value=value, numerator=num, denominator=den)
    if definition.interval == "binomial":
        lo, hi = expressions.wilson(num, den)
        out.low = np.round(lo * definition.factor, definition.decimals)
        out.high = np.round(hi * definition.factor, definition.decimals)
    return out


def compute_all(definitions: Sequence[Definition], cube: Cube) -> dict[str, Computed]:
    return {d.code: compute(d, cube) for d in definitions}
