"""Statistical periods: identifiers, DHIS2 identifiers, arithmetic (pure values, no database)."""

from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from renkou.orgunits.periods import (
    Period,
    PeriodError,
    PeriodType,
    periods_between,
    subperiods,
)

Y, FY, FH, H, Q, M = (
    PeriodType.YEAR,
    PeriodType.FP_YEAR,
    PeriodType.FP_HALF,
    PeriodType.HALF,
    PeriodType.QUARTER,
    PeriodType.MONTH,
)


@pytest.fixture(autouse=True)
def _english():
    """Messages are English msgids; the project's default language may be Chinese."""
    with translation.override("en"):
        yield


# ---------------------------------------------------------------- the DOMAIN.md table

TABLE = [
    # renkou, type, start, end, DHIS2
    ("2025", Y, date(2025, 1, 1), date(2025, 12, 31), "2025"),
    ("FP2025", FY, date(2024, 10, 1), date(2025, 9, 30), "2024Oct"),
    ("FP2025H1", FH, date(2024, 10, 1), date(2025, 3, 31), "2024AprilS2"),
    ("FP2025H2", FH, date(2025, 4, 1), date(2025, 9, 30), "2025AprilS1"),
    ("2025S1", H, date(2025, 1, 1), date(2025, 6, 30), "2025S1"),
    ("2025S2", H, date(2025, 7, 1), date(2025, 12, 31), "2025S2"),
    ("2025Q1", Q, date(2025, 1, 1), date(2025, 3, 31), "2025Q1"),
    ("2025Q3", Q, date(2025, 7, 1), date(2025, 9, 30), "2025Q3"),
    ("2025Q4", Q, date(2025, 10, 1), date(2025, 12, 31), "2025Q4"),
    ("202507", M, date(2025, 7, 1), date(2025, 7, 31), "202507"),
    ("202402", M, date(2024, 2, 1), date(2024, 2, 29), "202402"),
    ("210002", M, date(2100, 2, 1), date(2100, 2, 28), "210002"),
]


@pytest.mark.parametrize(("code", "ptype", "start", "end", "dhis2"), TABLE)
def test_parse_gives_the_periods_of_the_domain_table(code, ptype, start, end, dhis2):
    period = Period.parse(code)
    assert period == Period(ptype, start, end)
    assert (period.type, period.start, period.end) == (ptype, start, end)
    assert period.code == code
    assert str(period) == code
    assert period.dhis2 == dhis2


@pytest.mark.parametrize(("code", "ptype", "start", "end", "dhis2"), TABLE)
def test_from_dhis2_reads_the_export_identifiers(code, ptype, start, end, dhis2):
    assert Period.from_dhis2(dhis2) == Period(ptype, start, end)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fp2025", "FP2025"),
        ("  FP2025h1 ", "FP2025H1"),
        ("2025s2", "2025S2"),
        ("\t2025q3\n", "2025Q3"),
        (" 202507 ", "202507"),
        (" 2025 ", "2025"),
        ("ＦＰ２０２５Ｈ１", "FP2025H1"),  # full-width, as an input method may type it
        ("\u3000２０２５ｑ３", "2025Q3"),
    ],
)
def test_parse_is_case_insensitive_and_ignores_surrounding_spaces(text, code):
    assert Period.parse(text).code == code


def test_from_dhis2_ignores_case_and_spaces():
    assert Period.from_dhis2(" 2024oct ").code == "FP2025"
    assert Period.from_dhis2("2024APRILS2").code == "FP2025H1"


# ---------------------------------------------------------------- bad identifiers


@pytest.mark.parametrize(("text", "fp", "cal"), [("2025H1", "FP2025H1", "2025S1"), ("2025h2", "FP2025H2", "2025S2")])
def test_parse_refuses_the_ambiguous_h_half_year_and_suggests_both(text, fp, cal):
    with pytest.raises(PeriodError) as exc:
        Period.parse(text)
    message = str(exc.value)
    assert "ambiguous" in message
    assert fp in message and cal in message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("202513", "no month 13"),
        ("202500", "no month 00"),
        ("2025Q5", "no quarter Q5"),
        ("2025Q0", "no quarter Q0"),
        ("2025S3", "no half-year S3"),
        ("FP2025H3", "no FP half-year H3"),
        ("FP2025H0", "no FP half-year H0"),
        ("1899", "Year 1899"),
        ("2201", "Year 2201"),
        ("FP2201", "Year 2201"),
        ("189912", "Year 1899"),
        ("garbage", "is not a period identifier"),
        ("", "is not a period identifier"),
        ("2025-07", "is not a period identifier"),
        ("20257", "is not a period identifier"),
        ("FP", "is not a period identifier"),
        ("2025Oct", "is not a period identifier"),  # a DHIS2 identifier, not renkou's
        ("٢٠٢٥", "is not a period identifier"),  # digits, but not ASCII ones
    ],
)
def test_parse_rejects_bad_identifiers_naming_what_is_wrong(text, says):
    with pytest.raises(PeriodError) as exc:
        Period.parse(text)
    assert says in str(exc.value)


def test_year_range_message_names_the_range():
    with pytest.raises(PeriodError) as exc:
        Period.parse("1899")
    assert "1900–2200" in str(exc.value)
    assert Period.parse("1900").start == date(1900, 1, 1)
    assert Period.parse("2200").end == date(2200, 12, 31)
    assert Period.parse("FP1900").start == date(1899, 10, 1)


def test_period_error_is_a_value_error():
    with pytest.raises(ValueError):
        Period.parse("nonsense")
    with pytest.raises(PeriodError):
        Period.parse(None)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2025W3", "not a DHIS2 period"),
        ("2025BiW1", "not a DHIS2 period"),
        ("20250101", "not a DHIS2 period"),
        ("2025July", "not a DHIS2 period"),
        ("FP2025", "not a DHIS2 period"),
        ("2025AprilS3", "AprilS3"),
        ("202513", "no month 13"),
        ("2200AprilS2", "Year 2201"),
    ],
)
def test_from_dhis2_rejects_types_renkou_does_not_use(text, says):
    with pytest.raises(PeriodError) as exc:
        Period.from_dhis2(text)
    assert says in str(exc.value)


# ---------------------------------------------------------------- construction


def test_constructor_accepts_only_the_exact_bounds_of_a_period():
    assert Period("month", date(2025, 1, 1), date(2025, 1, 31)).type is M
    with pytest.raises(PeriodError) as exc:
        Period(M, date(2025, 1, 1), date(2025, 1, 30))
    assert "2025-01-01–2025-01-31" in str(exc.value)
    with pytest.raises(PeriodError):
        Period(FY, date(2025, 1, 1), date(2025, 12, 31))
    with pytest.raises(PeriodError):
        Period("week", date(2025, 1, 6), date(2025, 1, 12))


def test_constructor_takes_datetimes_as_their_date_and_refuses_other_values():
    assert Period(M, datetime(2025, 1, 1, 0, 0), datetime(2025, 1, 31, 23, 59)) == Period.parse("202501")
    with pytest.raises(TypeError):
        Period(M, "2025-01-01", "2025-01-31")


def test_of_names_a_period_by_year_and_part():
    assert Period.of(FH, 2025, 1).code == "FP2025H1"
    assert Period.of("month", 2025, 7).code == "202507"
    assert Period.of(Y, 2025).code == "2025"
    with pytest.raises(PeriodError):
        Period.of(Y, 2025, 1)
    with pytest.raises(PeriodError):
        Period.of(Q, 2025)
    with pytest.raises(PeriodError):
        Period.of(M, 2025, 13)


def test_year_and_part_are_those_of_the_identifier():
    assert (Period.parse("FP2025H1").year, Period.parse("FP2025H1").part) == (2025, 1)
    assert (Period.parse("FP2025").year, Period.parse("FP2025").part) == (2025, None)
    assert (Period.parse("202507").year, Period.parse("202507").part) == (2025, 7)


def test_periods_are_immutable_hashable_and_ordered():
    p = Period.parse("202507")
    with pytest.raises(FrozenInstanceError):
        p.start = date(2025, 8, 1)
    assert {p, Period.parse("202507")} == {p}
    months = [Period.parse(c) for c in ["202503", "202412", "202501"]]
    assert [m.code for m in sorted(months)] == ["202412", "202501", "202503"]
    assert repr(p) == "Period.parse('202507')"


@pytest.mark.parametrize(
    ("code", "days"),
    [("2025", 365), ("2024", 366), ("FP2024", 366), ("FP2025", 365), ("FP2025H1", 182), ("FP2025H2", 183),
     ("2025S1", 181), ("2025S2", 184), ("2025Q1", 90), ("2024Q1", 91), ("202402", 29), ("202502", 28), ("210002", 28)],
)
def test_days_counts_the_days_of_the_period(code, days):
    assert Period.parse(code).days == days


def test_contains_includes_both_ends():
    fp = Period.parse("FP2025")
    assert fp.contains(date(2024, 10, 1))
    assert fp.contains(date(2025, 9, 30))
    assert fp.contains(datetime(2025, 9, 30, 23, 59, 59))  # 30 September 24:00
    assert not fp.contains(date(2024, 9, 30))
    assert not fp.contains(date(2025, 10, 1))


@pytest.mark.parametrize(
    ("ptype", "day", "code"),
    [
        (FY, date(2024, 10, 1), "FP2025"),
        (FY, date(2024, 9, 30), "FP2024"),
        (FY, date(2025, 9, 30), "FP2025"),
        (FH, date(2024, 12, 31), "FP2025H1"),
        (FH, date(2025, 3, 31), "FP2025H1"),
        (FH, date(2025, 4, 1), "FP2025H2"),
        (H, date(2025, 6, 30), "2025S1"),
        (H, date(2025, 7, 1), "2025S2"),
        (Q, date(2025, 8, 15), "2025Q3"),
        (M, date(2025, 7, 31), "202507"),
        (Y, date(2025, 7, 31), "2025"),
        ("fp_year", date(2025, 7, 31), "FP2025"),
    ],
)
def test_containing_finds_the_period_of_a_day(ptype, day, code):
    assert Period.containing(ptype, day).code == code


@pytest.mark.parametrize(
    ("code", "next_code", "previous_code"),
    [
        ("202512", "202601", "202511"),
        ("2025Q4", "2026Q1", "2025Q3"),
        ("FP2025", "FP2026", "FP2024"),
        ("FP2025H1", "FP2025H2", "FP2024H2"),
        ("FP2025H2", "FP2026H1", "FP2025H1"),
        ("2025S2", "2026S1", "2025S1"),
        ("2025", "2026", "2024"),
    ],
)
def test_next_and_previous_are_adjacent_periods_of_the_same_type(code, next_code, previous_code):
    p = Period.parse(code)
    assert p.next().code == next_code
    assert p.previous().code == previous_code


def test_next_and_previous_stop_at_the_supported_range():
    with pytest.raises(PeriodError):
        Period.parse("220012").next()
    with pytest.raises(PeriodError):
        Period.parse("FP1900").previous()


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("2025", "Year 2025"),
        ("FP2025", "FP year 2025 (1 Oct 2024 – 30 Sep 2025)"),
        ("FP2025H1", "FP year 2025, first half (1 Oct 2024 – 31 Mar 2025)"),
        ("FP2025H2", "FP year 2025, second half (1 Apr – 30 Sep 2025)"),
        ("2025S1", "First half of 2025 (Jan – Jun)"),
        ("2025S2", "Second half of 2025 (Jul – Dec)"),
        ("2025Q3", "Quarter 3 of 2025"),
        ("202507", "July 2025"),
    ],
)
def test_label_reads_as_a_sentence(code, label):
    assert str(Period.parse(code).label) == label


def test_labels_are_lazy_and_render_in_chinese_too():
    label = Period.parse("202507").label
    with translation.override("zh-hans"):
        assert "2025" in str(label)
        assert str(label) != "July 2025"  # the month name comes from Django's own catalogue


def test_period_types_are_str_enums_with_labels():
    assert PeriodType("fp_half") is FH
    assert FY == "fp_year"
    assert [str(t.label) for t in PeriodType] == [
        "Calendar year",
        "Family-planning year",
        "Family-planning half-year",
        "Calendar half-year",
        "Quarter",
        "Month",
    ]
    assert [v for v, _ in PeriodType.choices()] == ["year", "fp_year", "fp_half", "half", "quarter", "month"]


# ---------------------------------------------------------------- ranges


def test_periods_between_lists_every_period_that_overlaps():
    months = periods_between(M, date(2025, 1, 15), date(2025, 3, 1))
    assert [p.code for p in months] == ["202501", "202502", "202503"]
    assert [p.code for p in periods_between(FY, date(2024, 9, 30), date(2024, 10, 1))] == ["FP2024", "FP2025"]
    assert [p.code for p in periods_between("quarter", date(2025, 7, 1), date(2025, 7, 1))] == ["2025Q3"]


def test_periods_between_an_empty_range_is_empty():
    assert periods_between(M, date(2025, 2, 1), date(2025, 1, 31)) == []


def test_subperiods_of_an_fp_year_are_its_months_in_order():
    months = subperiods(Period.parse("FP2025"), M)
    assert [m.code for m in months] == [
        "202410", "202411", "202412", "202501", "202502", "202503",
        "202504", "202505", "202506", "202507", "202508", "202509",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "ptype", "codes"),
    [
        ("FP2025", Q, ["2024Q4", "2025Q1", "2025Q2", "2025Q3"]),
        ("FP2025", FH, ["FP2025H1", "FP2025H2"]),
        ("FP2025", FY, ["FP2025"]),
        ("FP2025H1", Q, ["2024Q4", "2025Q1"]),
        ("2025", H, ["2025S1", "2025S2"]),
        ("2025S2", Q, ["2025Q3", "2025Q4"]),
        ("2025Q3", M, ["202507", "202508", "202509"]),
    ],
)
def test_subperiods_divide_a_period(code, ptype, codes):
    assert [p.code for p in subperiods(Period.parse(code), ptype)] == codes


@pytest.mark.parametrize(
    ("code", "ptype"),
    [("FP2025", H), ("FP2025", Y), ("2025", FH), ("2025", FY), ("202507", Q), ("2025Q3", Y), ("FP2025H2", H)],
)
def test_subperiods_refuse_types_that_do_not_tile_the_period(code, ptype):
    with pytest.raises(PeriodError) as exc:
        subperiods(Period.parse(code), ptype)
    assert code in str(exc.value)


# ---------------------------------------------------------------- properties

ALL_TYPES = st.sampled_from(list(PeriodType))
# inner days, so that next(), previous() and subperiods stay within the supported years
DAYS = st.dates(min_value=date(1901, 1, 1), max_value=date(2199, 9, 30))
ANY_DAY = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 9, 30))
periods = st.builds(Period.containing, ALL_TYPES, DAYS)

TILINGS = {
    Y: [Y, H, Q, M],
    FY: [FY, FH, Q, M],
    FH: [FH, Q, M],
    H: [H, Q, M],
    Q: [Q, M],
    M: [M],
}


@given(st.builds(Period.containing, ALL_TYPES, ANY_DAY))
def test_parse_of_str_gives_the_period_back(period):
    assert Period.parse(str(period)) == period
    assert Period.parse(f"  {period.code.lower()} ") == period


@given(st.builds(Period.containing, ALL_TYPES, ANY_DAY))
def test_from_dhis2_of_dhis2_gives_the_period_back(period):
    assert Period.from_dhis2(period.dhis2) == period


@given(periods)
def test_next_starts_the_day_after_the_end(period):
    nxt = period.next()
    assert nxt.type == period.type
    assert nxt.start == period.end + timedelta(days=1)
    assert nxt.previous() == period
    assert period < nxt


@given(periods)
def test_previous_ends_the_day_before_the_start(period):
    assert period.previous().end == period.start - timedelta(days=1)


@given(ALL_TYPES, ANY_DAY)
def test_containing_contains_the_day(ptype, day):
    period = Period.containing(ptype, day)
    assert period.contains(day)
    assert period.start <= day <= period.end
    assert period.days == (period.end - period.start).days + 1


@given(st.data(), periods)
def test_subperiods_tile_the_period_without_gaps(data, period):
    small = data.draw(st.sampled_from(TILINGS[period.type]), label="subperiod type")
    parts = subperiods(period, small)
    assert parts[0].start == period.start
    assert parts[-1].end == period.end
    for a, b in zip(parts, parts[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)
    assert sum(p.days for p in parts) == period.days
    assert all(p.type == small for p in parts)


@given(ALL_TYPES, DAYS, st.integers(min_value=0, max_value=400))
def test_periods_between_covers_the_range_contiguously(ptype, start, length):
    end = start + timedelta(days=length)
    found = periods_between(ptype, start, end)
    assert found[0].contains(start)
    assert found[-1].contains(end)
    for a, b in zip(found, found[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)
