"""Statistical periods as immutable values (DOMAIN.md, "Statistical periods"; docs/periods.md).

A :class:`Period` is a type plus its first and last day (inclusive). Identifiers:

=========================  ============  ===========================  ===============
period                     renkou        runs                         DHIS2
=========================  ============  ===========================  ===============
calendar year              ``2025``      1 Jan–31 Dec 2025            ``2025``
family-planning year       ``FP2025``    1 Oct 2024–30 Sep 2025       ``2024Oct``
family-planning half-year  ``FP2025H1``  1 Oct 2024–31 Mar 2025       ``2024AprilS2``
                           ``FP2025H2``  1 Apr–30 Sep 2025            ``2025AprilS1``
calendar half-year         ``2025S1``    1 Jan–30 Jun 2025            same
quarter                    ``2025Q3``    1 Jul–30 Sep 2025            same
month                      ``202507``    July 2025                    same
=========================  ============  ===========================  ===============

The family-planning year is named by the calendar year it ends in. ``2025H1`` is refused: it could
mean either half-year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.utils.dates import MONTHS
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "Period",
    "PeriodError",
    "PeriodType",
    "periods_between",
    "subperiods",
]

#: Range of the year in an identifier (for FP periods: the year the FP year ends in).
MIN_YEAR = 1900
MAX_YEAR = 2200

_ONE_DAY = timedelta(days=1)
# full-width ASCII (as an input method types it) to ASCII; ideographic space to space
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _format(message: Any, params: dict[str, Any]) -> str:
    return str(message) % params


#: Lazy "msgid % params": translated when shown, in the reader's language.
_lazy_format = lazy(_format, str)


class PeriodError(ValueError):
    """A period identifier or value that does not exist (message says what is wrong)."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class PeriodType(StrEnum):
    YEAR = "year"
    FP_YEAR = "fp_year"
    FP_HALF = "fp_half"
    HALF = "half"
    QUARTER = "quarter"
    MONTH = "month"

    @property
    def label(self) -> str:
        """Human name of the type (lazily translated)."""
        return _TYPE_LABELS[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``(value, label)`` pairs, for model and form fields."""
        return [(t.value, t.label) for t in cls]


_TYPE_LABELS: dict[PeriodType, Any] = {
    PeriodType.YEAR: _("Calendar year"),
    PeriodType.FP_YEAR: _("Family-planning year"),
    PeriodType.FP_HALF: _("Family-planning half-year"),
    PeriodType.HALF: _("Calendar half-year"),
    PeriodType.QUARTER: _("Quarter"),
    PeriodType.MONTH: _("Month"),
}

# number of parts of a type within its year (None: the type is not divided)
_PARTS = {
    PeriodType.YEAR: None,
    PeriodType.FP_YEAR: None,
    PeriodType.FP_HALF: 2,
    PeriodType.HALF: 2,
    PeriodType.QUARTER: 4,
    PeriodType.MONTH: 12,
}


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _bounds(ptype: PeriodType, year: int, part: int | None) -> tuple[date, date]:
    """First and last day of the period named by (type, year, part)."""
    if ptype is PeriodType.YEAR:
        return date(year, 1, 1), date(year, 12, 31)
    if ptype is PeriodType.FP_YEAR:
        return date(year - 1, 10, 1), date(year, 9, 30)
    if ptype is PeriodType.FP_HALF:
        if part == 1:
            return date(year - 1, 10, 1), date(year, 3, 31)
        return date(year, 4, 1), date(year, 9, 30)
    if ptype is PeriodType.HALF:
        if part == 1:
            return date(year, 1, 1), date(year, 6, 30)
        return date(year, 7, 1), date(year, 12, 31)
    if ptype is PeriodType.QUARTER:
        assert part is not None
        return date(year, 3 * part - 2, 1), _month_end(year, 3 * part)
    assert part is not None
    return date(year, part, 1), _month_end(year, part)


def _key(ptype: PeriodType, d: date) -> tuple[int, int | None]:
    """(year, part) of the period of this type that contains day ``d``."""
    if ptype is PeriodType.YEAR:
        return d.year, None
    if ptype is PeriodType.FP_YEAR:
        return (d.year + 1 if d.month >= 10 else d.year), None
    if ptype is PeriodType.FP_HALF:
        if d.month >= 10:
            return d.year + 1, 1
        return d.year, (1 if d.month <= 3 else 2)
    if ptype is PeriodType.HALF:
        return d.year, (1 if d.month <= 6 else 2)
    if ptype is PeriodType.QUARTER:
        return d.year, (d.month - 1) // 3 + 1
    return d.year, d.month


def _check_year(year: int, text: str | None = None) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        if text is None:
            raise PeriodError(
                _lazy_format(
                    _("Year %(year)s is outside the supported range %(min)s–%(max)s."),
                    {"year": year, "min": MIN_YEAR, "max": MAX_YEAR},
                )
            )
        raise PeriodError(
            _lazy_format(
                _("Year %(year)s in “%(text)s” is outside the supported range %(min)s–%(max)s."),
                {"year": year, "text": text, "min": MIN_YEAR, "max": MAX_YEAR},
            )
        )


def _ptype(value: Any) -> PeriodType:
    try:
        return PeriodType(value)
    except ValueError:
        raise PeriodError(
            _lazy_format(
                _("Unknown period type “%(type)s”; expected one of %(types)s."),
                {"type": value, "types": ", ".join(t.value for t in PeriodType)},
            )
        ) from None


def _to_date(value: Any, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"{name} must be a date, got {value!r}")
    return value


@dataclass(frozen=True, order=True)
class Period:
    """One statistical period: its type, first day and last day (inclusive).

    Construct with :meth:`parse`, :meth:`from_dhis2`, :meth:`containing` or :meth:`of`; the
    constructor itself accepts only the exact bounds of a period of that type.
    """

    type: PeriodType
    start: date
    end: date

    def __post_init__(self) -> None:
        ptype = _ptype(self.type)
        object.__setattr__(self, "type", ptype)
        start = _to_date(self.start, "start")
        end = _to_date(self.end, "end")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        year, part = _key(ptype, start)
        _check_year(year)
        if (start, end) != _bounds(ptype, year, part):
            raise PeriodError(
                _lazy_format(
                    _(
                        "%(start)s–%(end)s is not a period of type “%(type)s”; the one containing "
                        "%(start)s runs %(expected_start)s–%(expected_end)s."
                    ),
                    {
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "type": ptype.label,
                        "expected_start": _bounds(ptype, year, part)[0].isoformat(),
                        "expected_end": _bounds(ptype, year, part)[1].isoformat(),
                    },
                )
            )

    # ---------------------------------------------------------------- constructors

    @classmethod
    def of(cls, type: PeriodType | str, year: int, part: int | None = None) -> Period:
        """The period named by its year and part: ``Period.of("fp_half", 2025, 1)`` is FP2025H1.

        ``part`` is the half (1–2), quarter (1–4) or month (1–12); none for years."""
        ptype = _ptype(type)
        parts = _PARTS[ptype]
        if parts is None:
            if part is not None:
                raise PeriodError(
                    _lazy_format(_("A %(type)s has no parts; got part %(part)s."), {"type": ptype.label, "part": part})
                )
        elif part is None or not 1 <= part <= parts:
            raise PeriodError(
                _lazy_format(
                    _("A %(type)s needs a part from 1 to %(parts)s; got %(part)s."),
                    {"type": ptype.label, "parts": parts, "part": part},
                )
            )
        _check_year(year)
        start, end = _bounds(ptype, year, part)
        return cls(ptype, start, end)

    @classmethod
    def containing(cls, type: PeriodType | str, d: date) -> Period:
        """The period of this type that contains day ``d``."""
        ptype = _ptype(type)
        year, part = _key(ptype, _to_date(d, "d"))
        return cls.of(ptype, year, part)

    @classmethod
    def parse(cls, text: str) -> Period:
        """A renkou identifier (``2025``, ``FP2025``, ``FP2025H1``, ``2025S1``, ``2025Q3``, ``202507``).

        Case-insensitive; surrounding spaces are ignored and full-width characters read as ASCII. Raises :class:`PeriodError` naming what is wrong.
        """
        if not isinstance(text, str):
            raise PeriodError(_lazy_format(_("A period identifier must be text, got %(value)r."), {"value": text}))
        raw = text.translate(_FULLWIDTH).strip()
        s = raw.upper()
        m = _RENKOU_RE.match(s)
        if not m:
            h = re.fullmatch(r"(\d{4})H(\d)", s, re.ASCII)
            if h:
                raise PeriodError(
                    _lazy_format(
                        _(
                            "“%(text)s” is ambiguous: write FP%(year)sH%(half)s for the family-planning "
                            "half-year or %(year)sS%(half)s for the calendar half-year."
                        ),
                        {"text": raw, "year": h.group(1), "half": h.group(2)},
                    )
                )
            raise PeriodError(
                _lazy_format(
                    _(
                        "“%(text)s” is not a period identifier; expected e.g. 2025 (year), FP2025 "
                        "(family-planning year), FP2025H1, 2025S1 (half-year), 2025Q3 (quarter) or 202507 (month)."
                    ),
                    {"text": raw},
                )
            )
        year = int(m.group("fpyear") or m.group("calyear"))
        if m.group("fp"):
            ptype = PeriodType.FP_HALF if m.group("fphalf") else PeriodType.FP_YEAR
            part = int(m.group("fphalf")) if m.group("fphalf") else None
        elif m.group("half"):
            ptype, part = PeriodType.HALF, int(m.group("half"))
        elif m.group("quarter"):
            ptype, part = PeriodType.QUARTER, int(m.group("quarter"))
        elif m.group("month"):
            ptype, part = PeriodType.MONTH, int(m.group("month"))
        else:
            ptype, part = PeriodType.YEAR, None
        _check_part(ptype, part, raw)
        _check_year(year, raw)
        return cls.of(ptype, year, part)

    @classmethod
    def from_dhis2(cls, text: str) -> Period:
        """A DHIS2 period identifier of a type renkou uses (``2025``, ``2024Oct``, ``2024AprilS2``,
        ``2025AprilS1``, ``2025S1``, ``2025Q3``, ``202507``)."""
        if not isinstance(text, str):
            raise PeriodError(_lazy_format(_("A period identifier must be text, got %(value)r."), {"value": text}))
        raw = text.translate(_FULLWIDTH).strip()
        m = _DHIS2_RE.match(raw.upper())
        if not m:
            raise PeriodError(
                _lazy_format(
                    _(
                        "“%(text)s” is not a DHIS2 period of a type renkou uses; expected e.g. 2025, "
                        "2024Oct, 2024AprilS2, 2025S1, 2025Q3 or 202507."
                    ),
                    {"text": raw},
                )
            )
        year = int(m.group("year"))
        if m.group("oct"):
            ptype, year, part = PeriodType.FP_YEAR, year + 1, None
        elif m.group("april"):
            april = int(m.group("april"))
            if april not in (1, 2):
                raise PeriodError(
                    _lazy_format(
                        _("There is no six-month period AprilS%(part)s in “%(text)s”; expected AprilS1 or AprilS2."),
                        {"part": april, "text": raw},
                    )
                )
            # AprilS1 = Apr–Sep of that year (FP H2); AprilS2 = Oct–Mar (FP H1 of the next year)
            ptype, year, part = PeriodType.FP_HALF, (year if april == 1 else year + 1), (2 if april == 1 else 1)
        elif m.group("half"):
            ptype, part = PeriodType.HALF, int(m.group("half"))
        elif m.group("quarter"):
            ptype, part = PeriodType.QUARTER, int(m.group("quarter"))
        elif m.group("month"):
            ptype, part = PeriodType.MONTH, int(m.group("month"))
        else:
            ptype, part = PeriodType.YEAR, None
        _check_part(ptype, part, raw)
        _check_year(year, raw)
        return cls.of(ptype, year, part)

    # ---------------------------------------------------------------- identifiers

    @property
    def year(self) -> int:
        """The year in the identifier (for FP periods, the year the FP year ends in)."""
        return _key(self.type, self.start)[0]

    @property
    def part(self) -> int | None:
        """Half (1–2), quarter (1–4) or month (1–12) within the year; ``None`` for years."""
        return _key(self.type, self.start)[1]

    @property
    def code(self) -> str:
        """renkou's identifier, e.g. ``FP2025H1``."""
        year, part = _key(self.type, self.start)
        t = self.type
        if t is PeriodType.YEAR:
            return f"{year:04d}"
        if t is PeriodType.FP_YEAR:
            return f"FP{year:04d}"
        if t is PeriodType.FP_HALF:
            return f"FP{year:04d}H{part}"
        if t is PeriodType.HALF:
            return f"{year:04d}S{part}"
        if t is PeriodType.QUARTER:
            return f"{year:04d}Q{part}"
        return f"{year:04d}{part:02d}"

    @property
    def dhis2(self) -> str:
        """The DHIS2 identifier used on export, e.g. ``2024AprilS2`` for FP2025H1."""
        if self.type is PeriodType.FP_YEAR:
            return f"{self.start.year:04d}Oct"
        if self.type is PeriodType.FP_HALF:
            # DHIS2 six-monthly April periods are named by the year they start in
            return f"{self.start.year:04d}AprilS{1 if self.start.month == 4 else 2}"
        return self.code

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Period.parse({self.code!r})"

    @property
    def label(self) -> str:
        """Human label, lazily translated, e.g. "FP year 2025 (1 Oct 2024 – 30 Sep 2025)"."""
        year, part = _key(self.type, self.start)
        params: dict[str, Any] = {"year": year, "prev": year - 1, "part": part}
        t = self.type
        if t is PeriodType.YEAR:
            msg = _("Year %(year)s")
        elif t is PeriodType.FP_YEAR:
            msg = _("FP year %(year)s (1 Oct %(prev)s – 30 Sep %(year)s)")
        elif t is PeriodType.FP_HALF:
            msg = (
                _("FP year %(year)s, first half (1 Oct %(prev)s – 31 Mar %(year)s)")
                if part == 1
                else _("FP year %(year)s, second half (1 Apr – 30 Sep %(year)s)")
            )
        elif t is PeriodType.HALF:
            msg = (
                _("First half of %(year)s (Jan – Jun)")
                if part == 1
                else _("Second half of %(year)s (Jul – Dec)")
            )
        elif t is PeriodType.QUARTER:
            msg = _("Quarter %(part)s of %(year)s")
        else:
            # both the month's name and number are given, so a translation can use either
            msg = _("%(month_name)s %(year)s")
            params["month_name"] = MONTHS[part]
            params["month"] = part
        return _lazy_format(msg, params)

    # ---------------------------------------------------------------- arithmetic

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        """Whether day ``d`` (a date or datetime) falls in the period."""
        return self.start <= _to_date(d, "d") <= self.end

    def next(self) -> Period:
        """The period of the same type that starts the day after this one ends."""
        return Period.containing(self.type, self.end + _ONE_DAY)

    def previous(self) -> Period:
        """The period of the same type that ends the day before this one starts."""
        return Period.containing(self.type, self.start - _ONE_DAY)


_RENKOU_RE = re.compile(
    r"""^(?:
        (?P<fp>FP)(?P<fpyear>\d{4})(?:H(?P<fphalf>\d))?
      | (?P<calyear>\d{4})(?:S(?P<half>\d)|Q(?P<quarter>\d)|(?P<month>\d{2}))?
    )$""",
    re.VERBOSE | re.ASCII,
)
_DHIS2_RE = re.compile(
    r"""^(?P<year>\d{4})(?:
        (?P<oct>OCT)
      | APRILS(?P<april>\d)
      | S(?P<half>\d)
      | Q(?P<quarter>\d)
      | (?P<month>\d{2})
    )?$""",
    re.VERBOSE | re.ASCII,
)


_PART_MESSAGES = {
    PeriodType.FP_HALF: (2, _("There is no FP half-year H%(part)s in “%(text)s”; FP half-years are H1 and H2.")),
    PeriodType.HALF: (2, _("There is no half-year S%(part)s in “%(text)s”; half-years are S1 and S2.")),
    PeriodType.QUARTER: (4, _("There is no quarter Q%(part)s in “%(text)s”; quarters run from Q1 to Q4.")),
    PeriodType.MONTH: (12, _("There is no month %(part)02d in “%(text)s”; months run from 01 to 12.")),
}


def _check_part(ptype: PeriodType, part: int | None, text: str) -> None:
    if ptype not in _PART_MESSAGES or part is None:
        return
    parts, message = _PART_MESSAGES[ptype]
    if not 1 <= part <= parts:
        raise PeriodError(_lazy_format(message, {"part": part, "text": text}))


def periods_between(type: PeriodType | str, start: date, end: date) -> list[Period]:
    """All periods of ``type`` that overlap the days ``start``..``end`` (inclusive), in order.

    An empty range (``start`` after ``end``) gives an empty list."""
    start, end = _to_date(start, "start"), _to_date(end, "end")
    if start > end:
        return []
    out = [Period.containing(type, start)]
    while out[-1].end < end:
        out.append(out[-1].next())
    return out


def subperiods(period: Period, type: PeriodType | str) -> list[Period]:
    """The periods of ``type`` that make up ``period`` exactly, in order (the 12 months of FP2025,
    the quarters Q4 2024–Q3 2025 of FP2025, …). Raises :class:`PeriodError` when periods of that type
    do not tile ``period`` (calendar half-years within an FP year, a year within a month)."""
    parts = periods_between(type, period.start, period.end)
    if parts[0].start != period.start or parts[-1].end != period.end:
        ptype = _ptype(type)
        raise PeriodError(
            _lazy_format(
                _(
                    "%(period)s (%(start)s–%(end)s) cannot be divided into periods of type “%(type)s”: "
                    "their boundaries do not fall on its first and last day."
                ),
                {
                    "period": period.code,
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                    "type": ptype.label,
                },
            )
        )
    return parts
