"""What the rows of a marriages or events file refer to, fetched once per file: units, code lists, persons by ID
number (with their marriages and events), households. The parsing of one cell into one of them names the column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import RuleViolation
from renkou.intake import fields as f
from renkou.intake.persons import RowOutcome
from renkou.intake.readers import Table
from renkou.orgunits.selectors import unit_county, unit_subtree
from renkou.registry import idnumbers
from renkou.registry.codes import code_lists
from renkou.registry.models import Person
from renkou.registry.selectors import households_by_numbers, persons_by_id_numbers_related


def cell(row: list[Any], cols: dict[str, int], name: str) -> Any:
    i = cols.get(name)
    if i is None or i >= len(row):
        return ""
    return row[i]


class Refs:
    def __init__(self, by: User, table: Table, cols: dict[str, int], person_columns: tuple[str, ...]) -> None:
        self.by = by
        self.scope = scope_for(by)
        county = unit_county()
        self.units = f.UnitIndex(list(unit_subtree(county)) if county is not None else [], self.scope.unit_ids)
        self.codes = code_lists()
        self.today = timezone.localdate()
        self._normalized: dict[Any, str | None] = {}
        self._memo: dict[tuple[str, Any], Any] = {}
        numbers = [n for name in person_columns for row in table.rows
                   if not f.is_blank(raw := cell(row, cols, name)) and (n := self.normalize(raw))]
        self.persons: dict[str, Person] = persons_by_id_numbers_related(numbers)
        self.households = households_by_numbers(
            [f.text(v) for row in table.rows if not f.is_blank(v := cell(row, cols, "household"))])

    def normalize(self, raw: Any) -> str | None:
        try:
            return self._normalized[raw]
        except KeyError:
            pass
        except TypeError:
            return None
        try:
            number = idnumbers.normalize(f.clean_id_cell(raw))
        except idnumbers.IdNumberError:
            number = None
        self._normalized[raw] = number
        return number

    def memo(self, kind: str, raw: Any, parse: Callable[[Any], Any]) -> Any:
        key = (kind, raw.__class__, raw)
        try:
            result = self._memo[key]
        except KeyError:
            try:
                result = parse(raw)
            except RuleViolation as v:
                result = v
            self._memo[key] = result
        except TypeError:
            return parse(raw)
        if isinstance(result, RuleViolation):
            raise RuleViolation(result.field, result.message, code=result.code)
        return result

    # ---- one cell each; a bad cell rejects the row naming the column and returns None

    def id_number(self, out: RowOutcome, name: str, raw: Any) -> str | None:
        """The normalised ID number of a cell (the register's own normalisation and its messages)."""
        number = self.normalize(raw)
        if number is None:
            try:
                idnumbers.normalize(f.clean_id_cell(raw))
            except idnumbers.IdNumberError as exc:
                out.reject(name, exc.code, str(exc.message))
            else:  # pragma: no cover - normalize and the memo agree
                out.reject(name, "id_number", _("Not an ID number."))
        return number

    def person(self, out: RowOutcome, name: str, raw: Any, *, scoped: bool = True) -> Person | None:
        """A person on the register by ID number, in the user's area (unless ``scoped`` is false: the caller's
        rule decides, as for a marriage, where one spouse in the area is enough)."""
        number = self.id_number(out, name, raw)
        if number is None:
            return None
        person = self.persons.get(number)
        if person is None:
            out.reject(name, "reference_unknown", _("No person with this ID number is registered."))
            return None
        if scoped and not (self.scope.covers(person.residence_unit_id) or self.scope.covers(person.registration_unit_id)):
            out.reject(name, "scope", _("This ID number is registered to a person outside your area."))
            return None
        return person

    def date(self, out: RowOutcome, name: str, raw: Any, *, required: bool = False):
        if f.is_blank(raw):
            if required:
                out.reject(name, "required", _("This column is required."))
            return None
        try:
            return f.parse_date(raw)
        except RuleViolation as v:
            out.reject(name, v.code, str(v.message))
            return None

    def unit(self, out: RowOutcome, name: str, raw: Any):
        if f.is_blank(raw):
            return None
        try:
            return self.memo("unit", raw, self.units.find)
        except RuleViolation as v:
            out.reject(name, v.code, str(v.message))
            return None

    def code(self, out: RowOutcome, name: str, list_name: str, raw: Any, aliases: dict[str, str] | None = None):
        if f.is_blank(raw):
            return None
        try:
            return self.memo(name, raw, lambda r: f.parse_code(list_name, r, self.codes, aliases))
        except RuleViolation as v:
            out.reject(name, v.code, str(v.message))
            return None

    def household(self, out: RowOutcome, name: str, raw: Any):
        if f.is_blank(raw):
            return None
        household = self.households.get(f.text(raw))
        if household is None:
            out.reject(name, "household_unknown", _("No household has the number %(number)s.") % {"number": f.text(raw)})
        return household
