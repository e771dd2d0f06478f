"""The exchange's figures as data elements and indicators of the statistics module (issue 5, §5).

The counts behind the three rates of the two-way assessment (rules.Rates, DOMAIN.md's working definitions) are
contributed to ``renkou.stats`` as data elements of the county unit (see stats/contributed.py); the three rates
are shipped as indicators over them (migration ``migrants.0002_rate_indicators``) with the work plan's targets,
so they appear wherever indicators do: the statistics pages and API, ``values()``, the DHIS2/ADX exports and the
publication of a period. The counts are read through ``selectors.county_rates`` only, so an indicator equals
``selectors.rates(county, period)`` for the same county and period.

Units below the county have no exchange of their own: the elements count 0 there and the rates have no value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from renkou.migrants import rules

# element code → (Rates field, Chinese name, English name, description)
ELEMENTS: dict[str, tuple[str, str, str, str]] = {
    "EXCH_RECORDS_DUE": ("records_due", "流动人口婚育信息应报送数", "Case records due",
                         "本期到期应向户籍地报送的流入人口婚育信息（个案）数"),
    "EXCH_RECORDS_SUBMITTED": ("records_submitted", "流动人口婚育信息按期报送数", "Case records submitted",
                               "本期到期的个案中在期末前已报送的数"),
    "EXCH_REQUESTS_RECEIVED": ("requests_received", "收到协查请求数", "Requests received",
                               "本期收到的协查请求和出生通报数"),
    "EXCH_REQUESTS_ANSWERED": ("requests_answered", "协查请求已反馈数", "Requests answered",
                               "本期收到的协查请求和出生通报中已反馈的数"),
    "EXCH_ANSWERS_GIVEN": ("answers_given", "反馈数", "Answers given", "本期给出的反馈数"),
    "EXCH_ANSWERS_ON_TIME": ("answers_on_time", "按时反馈数", "Answers given on time",
                             "本期给出的反馈中在期限内（含到期日）给出的数"),
}

# The three rates (rules.Rates): indicator code → definition; targets from rules.TARGETS.
INDICATORS: tuple[dict, ...] = (
    {"code": "EXCH_SUBMISSION_RATE", "name_zh": "流动人口婚育信息报送率", "name_en": "Submission rate",
     "description": "按期报送的个案数 ÷ 本期到期应报送的个案数 × 100%（流入地考核）",
     "numerator": "#{EXCH_RECORDS_SUBMITTED}", "denominator": "#{EXCH_RECORDS_DUE}", "factor": 100,
     "decimals": 1, "unit_label": "%", "target": rules.TARGETS["submission_rate"], "target_is_minimum": True},
    {"code": "EXCH_FEEDBACK_RATE", "name_zh": "协查反馈率", "name_en": "Feedback rate",
     "description": "已反馈的协查请求数 ÷ 本期收到的协查请求数 × 100%（含出生通报）",
     "numerator": "#{EXCH_REQUESTS_ANSWERED}", "denominator": "#{EXCH_REQUESTS_RECEIVED}", "factor": 100,
     "decimals": 1, "unit_label": "%", "target": rules.TARGETS["feedback_rate"], "target_is_minimum": True},
    {"code": "EXCH_TIMELINESS", "name_zh": "协查反馈及时率", "name_en": "Timeliness of feedback",
     "description": "期限内给出的反馈数 ÷ 本期给出的反馈数 × 100%",
     "numerator": "#{EXCH_ANSWERS_ON_TIME}", "denominator": "#{EXCH_ANSWERS_GIVEN}", "factor": 100,
     "decimals": 1, "unit_label": "%", "target": rules.TARGETS["timeliness"], "target_is_minimum": True},
)
RATE_OF_INDICATOR = {"EXCH_SUBMISSION_RATE": "submission_rate", "EXCH_FEEDBACK_RATE": "feedback_rate",
                     "EXCH_TIMELINESS": "timeliness"}


def provide(unit_codes: Sequence[str] | None, periods: Sequence) -> Iterable[tuple[str, str, str, str, int]]:
    """The counts for every county unit among ``unit_codes`` (None: every county unit) and period."""
    from renkou.migrants import selectors
    from renkou.orgunits.models import OrgUnit, UnitLevel

    counties = OrgUnit.objects.filter(level=UnitLevel.COUNTY)
    if unit_codes is not None:
        counties = counties.filter(code__in=list(unit_codes))
    for unit_code in counties.values_list("code", flat=True):
        for period in periods:
            figures = selectors.county_rates(unit_code[:6], period).figures()
            for code, (name, _zh, _en, _d) in ELEMENTS.items():
                yield code, "", unit_code, period.code, figures[name]


def register() -> None:
    """Contribute the elements to the statistics module (called from MigrantsConfig.ready)."""
    from renkou.stats.contributed import ContributedElement, register_elements

    register_elements("migrants", [ContributedElement(code, zh, en, description=d, unit_label="个")
                                   for code, (_n, zh, en, d) in ELEMENTS.items()], provide)
