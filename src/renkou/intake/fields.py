"""Parsing the cells of a spreadsheet into the register's values: ID numbers, dates, codes, units and yes/no.

Pure functions (no database): each takes the raw cell (str, float, int, bool, date or datetime, as the readers give
them) and returns the value or raises RuleViolation naming the field, with a message an officer can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from renkou.core.errors import RuleViolation
from renkou.registry import idnumbers

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_FULLWIDTH_CHAR = re.compile("[\uff01-\uff5e\u3000]")

# Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is allowed for (serial 61 = 1900-03-01).
EXCEL_EPOCH = date(1899, 12, 30)
MAX_SERIAL = 2_958_465  # 9999-12-31

_DATE_SEPARATED = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def text(raw: Any) -> str:
    """A cell as text: full-width letters and digits made ASCII, outer spaces removed, 12.0 → "12"."""
    if raw.__class__ is str:  # the usual cell, first (and most have no full-width character: no translation)
        return raw.strip() if _FULLWIDTH_CHAR.search(raw) is None else raw.translate(_FULLWIDTH).strip()
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat(sep=" ")
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw).translate(_FULLWIDTH).strip()


def _impossible(value: str) -> RuleViolation:
    return RuleViolation("", _("“%(value)s” is not a real date.") % {"value": value}, code="date_impossible")


def parse_date(raw: Any) -> date:
    """A date as people type it (2008-03-05, 2008/3/5, 2008.3.5, 20080305, 2008年3月5日), a spreadsheet date cell,
    or a spreadsheet date serial (39512 = 2008-03-05). Raises RuleViolation (field left empty for the caller)."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _from_serial(float(raw), text(raw))
    value = text(raw)
    if not value:
        raise RuleViolation("", _("The date is missing."), code="required")
    m = _DATE_SEPARATED.match(value) or _DATE_COMPACT.match(value)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise _impossible(value) from None
    if _SERIAL.match(value) and len(value.split(".")[0]) <= 5:
        return _from_serial(float(value), value)
    raise RuleViolation(
        "", _("“%(value)s” is not a date; write it as 2008-03-05, 2008/3/5, 2008.3.5, 20080305 or 2008年3月5日.")
        % {"value": value}, code="date_format")


def _from_serial(serial: float, shown: str) -> date:
    if not 1 <= serial <= MAX_SERIAL:
        raise _impossible(shown)
    day = int(serial)
    if day == 60:  # 1900-02-29, which Excel counts but which never was
        raise _impossible(shown)
    if day < 60:
        day += 1
    return EXCEL_EPOCH + timedelta(days=day)


@dataclass(frozen=True)
class ParsedIdNumber:
    number: str | None
    errors: tuple[idnumbers.IdIssue, ...] = ()


def clean_id_cell(raw: Any) -> str:
    """The text handed to the register's ID-number rules. A numeric cell of 16 or more digits has lost its last
    digits in the spreadsheet (a double holds 15–16 significant digits): it is passed on in scientific form, which
    the rules reject with the explanation of how to keep the column as text."""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, float | int):
        if abs(raw) >= 1e15 and not (isinstance(raw, int) and len(str(abs(raw))) in (15, 18)):
            return f"{float(raw):.5E}"
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        return str(raw)
    return "" if raw is None else str(raw)


def parse_id_number(raw: Any, *, sex: str | None = None, birth_date: date | None = None) -> idnumbers.IdNumberCheck:
    """The register's ID-number check of a cell (never raises): full-width digits, spaces and a lowercase x are
    normalised, 15 digits converted to 18, numbers a spreadsheet turned into scientific notation or floats
    rejected with the reason, a checksum failure a warning."""
    return idnumbers.check(clean_id_cell(raw), sex=sex, birth_date=birth_date)


def parse_code(list_name: str, raw: Any, codes: dict[str, dict[str, str]], aliases: dict[str, str] | None = None
               ) -> str:
    """A code given as itself (01, 1) or by its Chinese name (汉族, 男, 已婚). ``codes`` is {list: {code: name}}."""
    value = text(raw)
    entries = codes.get(list_name, {})
    if value in entries:
        return value
    if aliases and value in aliases:
        return aliases[value]
    for code, name in entries.items():
        if name == value:
            return code
    if value.isdigit():
        for code in entries:  # "1" for "01" when a spreadsheet dropped the leading zero
            if code.isdigit() and code.lstrip("0") == value.lstrip("0") and len(code) > len(value):
                return code
    raise RuleViolation("", _("Unknown value “%(value)s”; give a code or a name from the list (see the template's "
                              "sheet of codes).") % {"value": value}, code="code")


YES = {"1", "是", "y", "yes", "true", "确认", "已确认", "√", "✓", "x", "对"}


def parse_yes(raw: Any) -> bool:
    return text(raw).lower() in YES


@dataclass(frozen=True)
class UnitRef:
    pk: int
    code: str
    name: str
    level: int
    parent_name: str


class UnitIndex:
    """Units by statistical code (anywhere in the county: the register's scope rule then answers "outside your
    area") and by name within the user's scope (a village name alone, or township name + village name)."""

    def __init__(self, units: list[Any], scope_ids: frozenset[int]) -> None:
        self.by_pk = {u.pk: u for u in units}
        self.by_code = {u.code: u for u in units}
        self.by_name: dict[str, list[Any]] = {}
        names = {u.pk: u.name for u in units}
        for u in units:
            if u.pk not in scope_ids:
                continue
            keys = {u.name}
            parent = names.get(u.parent_id)
            if parent:
                keys |= {parent + u.name, f"{parent}/{u.name}", f"{parent} {u.name}"}
            for key in keys:
                self.by_name.setdefault(key, []).append(u)

    def find(self, raw: Any) -> Any:
        value = text(raw)
        if value.isdigit():
            unit = self.by_code.get(value) or self.by_code.get(value.ljust(12, "0"))
            if unit is not None:
                return unit
            raise RuleViolation("", _("No unit has the code %(code)s.") % {"code": value}, code="unit_unknown")
        found = self.by_name.get(value) or self.by_name.get(re.sub(r"\s+", "", value), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RuleViolation("", _("Several units in your area are called “%(name)s”; give the township as well "
                                      "(东城街道/第一社区) or the statistical code.") % {"name": value},
                                code="unit_ambiguous")
        raise RuleViolation("", _("No unit in your area is called “%(name)s”; give its name or its 12-digit "
                                  "statistical code.") % {"name": value}, code="unit_unknown")


_ROW_REF = re.compile(r"^(?:第\s*(\d+)\s*行|[#＃](\d+)|row\s*(\d+))$", re.IGNORECASE)


def parse_row_ref(raw: Any) -> int | None:
    """A reference to another row of the same file (第5行, #5, row 5): its spreadsheet row number, else None."""
    m = _ROW_REF.match(text(raw))
    if not m:
        return None
    return int(next(g for g in m.groups() if g))
