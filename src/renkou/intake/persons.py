"""Importing persons: every row parsed, then checked by the register's own rules (``person_check_new`` /
``person_check_changes`` of registry.services), then written in bulk (``persons_write_many``).

The file is read and checked without a write (the references it needs are fetched once per file); only then, when
the outcome allows it, is everything written in one transaction. Persons are matched by ID number (or, without
one, by name, sex and birth date): a row that matches and changes nothing is "unchanged", so importing the same
file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NeedsConfirmation, NotFound, RuleViolation, violations_of
from renkou.intake import fields as f
from renkou.intake.columns import LAYOUTS, map_headers
from renkou.intake.readers import Table
from renkou.orgunits.selectors import unit_county, unit_subtree
from renkou.registry import idnumbers, services
from renkou.registry.codes import code_lists
from renkou.registry.models import Person
from renkou.registry.selectors import (
    households_by_numbers,
    persons_by_id_numbers,
    persons_without_id_number_named,
)

LAYOUT = LAYOUTS["persons"]
CODE_FIELDS = {c.field: c.code_list for c in LAYOUT.columns if c.code_list}
UNIT_FIELDS = ("registration_unit", "residence_unit")
REF_FIELDS = ("mother", "father")
WARNING_CODES = ("id_number.checksum", "id_number.address_unknown")
# Names officers write for the registration types besides the code list's own (农业户口 …)
CODE_ALIASES = {
    "registration_type": {"农业": "rural", "农村": "rural", "农业户籍": "rural", "非农业": "urban", "非农": "urban",
                          "城镇": "urban", "居民户口": "urban"},
    "residence_status": {"常住人口": "resident", "本地常住": "resident", "流出": "out", "外出": "out",
                         "流入": "in", "迁出": "left"},
    "sex": {"男性": "1", "女性": "2"},
}

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"


@dataclass
class Message:
    field: str
    code: str
    message: str
    warning: bool = False


@dataclass
class RowOutcome:
    row: int  # the spreadsheet's row number (the header is row 1)
    values: list[Any]
    status: str = ""
    messages: list[Message] = field(default_factory=list)
    person: Person | None = None
    diff: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    refs: dict[str, int] = field(default_factory=dict)  # field → row number of a person created by this file
    plan: Any = None  # marriages and events: what the write will do

    @property
    def warned(self) -> bool:
        return any(m.warning for m in self.messages)

    def reject(self, fld: str, code: str, message: str) -> None:
        self.status = REJECTED
        self.messages.append(Message(fld, code, message))


@dataclass
class Outcome:
    rows: list[RowOutcome]
    written: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {"total": len(self.rows), "created": self.count(CREATED), "updated": self.count(UPDATED),
                "unchanged": self.count(UNCHANGED), "rejected": self.count(REJECTED),
                "warned": sum(1 for r in self.rows if r.warned)}


class _Context:
    """What the rows refer to, fetched once per file."""

    def __init__(self, by: User, table: Table, cols: dict[str, int]) -> None:
        self.scope = scope_for(by)
        county = unit_county()
        units = list(unit_subtree(county)) if county is not None else []
        self.units = f.UnitIndex(units, self.scope.unit_ids)
        self.codes = code_lists()

        def column(name: str) -> list[Any]:
            i = cols.get(name)
            return [] if i is None else [row[i] if i < len(row) else "" for row in table.rows]

        self.today = timezone.localdate()
        self._memo: dict[tuple[str, type, Any], Any] = {}
        self.code_columns = [(name, list_name, cols[name]) for name, list_name in CODE_FIELDS.items() if name in cols]
        self._normalized: dict[Any, str | None] = {}
        numbers = [n for raw in column("id_number") + column("mother") + column("father")
                   if not f.is_blank(raw) and (n := self.normalize(raw))]
        self.persons = persons_by_id_numbers(numbers)
        households = [f.text(v) for v in column("household") if not f.is_blank(v)]
        self.households = households_by_numbers(households)
        nameless = []
        if "id_number" in cols:
            nameless = [f.text(r[cols["name"]]) for r in table.rows
                        if f.is_blank(r[cols["id_number"]] if cols["id_number"] < len(r) else "")]
        else:
            nameless = [f.text(r[cols["name"]]) for r in table.rows]
        self.without_id: dict[tuple[str, str, date], Person] = {}
        for p in persons_without_id_number_named(nameless) if nameless else []:
            self.without_id.setdefault((p.name, p.sex, p.birth_date), p)


    def memo(self, kind: str, raw: Any, parse: Callable[[Any], Any]) -> Any:
        """``parse(raw)`` remembered per file: codes and units repeat on most rows. A RuleViolation is remembered
        and raised again."""
        key = (kind, raw.__class__, raw)
        try:
            result = self._memo[key]
        except KeyError:
            try:
                result = parse(raw)
            except RuleViolation as v:
                result = v
            self._memo[key] = result
        except TypeError:  # an unhashable cell
            return parse(raw)
        if isinstance(result, RuleViolation):  # a fresh one: re-raising one object would grow its traceback
            raise RuleViolation(result.field, result.message, code=result.code)
        return result

    def normalize(self, raw: Any) -> str | None:
        """The 18-character form of an ID-number cell, or None when it has none (remembered per file)."""
        try:
            return self._normalized[raw]
        except KeyError:
            pass
        except TypeError:  # an unhashable cell
            return None
        try:
            number = idnumbers.normalize(f.clean_id_cell(raw))
        except idnumbers.IdNumberError:
            number = None
        self._normalized[raw] = number
        return number


def _cell(row: list[Any], cols: dict[str, int], name: str) -> Any:
    i = cols.get(name)
    if i is None or i >= len(row):
        return ""
    return row[i]


def _parse_row(out: RowOutcome, cols: dict[str, int], ctx: _Context, file_rows: dict[str, int]) -> dict[str, Any]:
    """Cells → values for the register; each bad cell adds a message naming its column."""
    row = out.values
    values: dict[str, Any] = {}
    for name in ("name", "other_county_code"):
        if name in cols:
            values[name] = f.text(_cell(row, cols, name))
    for name, list_name, i in ctx.code_columns:
        raw = row[i] if i < len(row) else ""
        if not f.is_blank(raw):
            try:
                values[name] = ctx.memo(name, raw, lambda r, n=name, ln=list_name: f.parse_code(
                    ln, r, ctx.codes, CODE_ALIASES.get(n)))
            except RuleViolation as v:
                out.reject(name, v.code, str(v.message))
    raw = _cell(row, cols, "birth_date")
    if not f.is_blank(raw):
        try:
            values["birth_date"] = f.parse_date(raw)
        except RuleViolation as v:
            out.reject("birth_date", v.code, str(v.message))
    for name in UNIT_FIELDS:
        raw = _cell(row, cols, name)
        if not f.is_blank(raw):
            try:
                values[name] = ctx.memo("unit", raw, ctx.units.find)
            except RuleViolation as v:
                out.reject(name, v.code, str(v.message))
    raw = _cell(row, cols, "household")
    if not f.is_blank(raw):
        household = ctx.households.get(f.text(raw))
        if household is None:
            out.reject("household", "household_unknown",
                       _("No household has the number %(number)s.") % {"number": f.text(raw)})
        else:
            values["household"] = household
    raw = _cell(row, cols, "id_number")
    values["id_number_raw"] = "" if f.is_blank(raw) else f.clean_id_cell(raw)
    number = ctx.normalize(raw) if values["id_number_raw"] else None
    if number:  # (a bad number: the register's check below gives the message)
        # Sex and birth date may be left out: the number carries them.
        values.setdefault("sex", "1" if int(number[16]) % 2 else "2")
        if "birth_date" not in values:
            try:
                values["birth_date"] = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            except ValueError:
                pass  # not a date: the register's check names the digits
        values["id_number"] = number
    for name in REF_FIELDS:
        raw = _cell(row, cols, name)
        if f.is_blank(raw):
            continue
        ref_row = f.parse_row_ref(raw)
        if ref_row is None:
            number = ctx.normalize(raw)
            if number is None:
                try:
                    idnumbers.normalize(f.clean_id_cell(raw))
                except idnumbers.IdNumberError as exc:
                    out.reject(name, exc.code, str(exc.message))
                continue
            if number in ctx.persons:
                values[name] = ctx.persons[number]
                continue
            ref_row = file_rows.get(number)
            if ref_row is None:
                out.reject(name, "reference_unknown", _("No person with this ID number is registered or in this "
                                                        "file."))
                continue
        if ref_row == out.row:
            out.reject(name, "reference_self", _("A row cannot refer to itself."))
            continue
        out.refs[name] = ref_row
    values["confirm"] = WARNING_CODES if f.parse_yes(_cell(row, cols, "confirm")) else ()
    return values


def add_violations(out: RowOutcome, exc: RuleViolation) -> None:
    for v in violations_of(exc):
        warning = isinstance(v, NeedsConfirmation)
        out.status = REJECTED
        text = str(v.message)
        if warning:
            text += _(" (write 是 in the column 确认 to confirm it)")
        out.messages.append(Message(v.field, v.code, text, warning=warning))


_COMPARED = ("name", "sex", "birth_date", "ethnicity", "education", "marital_status", "registration_type",
             "relation_to_head", "household", "registration_unit", "residence_unit", "residence_status",
             "other_county_code")


def _changes(person: Person, values: dict[str, Any]) -> dict[str, Any]:
    changes = {}
    for name in _COMPARED:
        if name not in values or (name == "name" and not values[name]):
            continue
        if name == "other_county_code" and not values[name]:
            continue
        new = values[name]
        if name in {"household", "registration_unit", "residence_unit"}:
            if getattr(person, f"{name}_id") != new.pk:
                changes[name] = new
        elif getattr(person, name) != new:
            changes[name] = new
    return changes


def check_rows(
    *, by: User, table: Table, progress: Callable[[int, int], None] | None = None, confirm_all: bool = False,
) -> Outcome:
    """Check every row of a persons file against the register (no write). Raises RuleViolation for a file that
    cannot be read at all (no 姓名 column …)."""
    cols = map_headers(LAYOUT, table.headers)
    ctx = _Context(by, table, cols)
    outcomes = [RowOutcome(row=table.first_row + i, values=list(r)) for i, r in enumerate(table.rows)]
    # ID numbers of the file's rows, to find a mother "by a row of the same file" and duplicates within the file
    file_rows: dict[str, int] = {}
    first_of: dict[str, int] = {}
    for out in outcomes:
        raw = _cell(out.values, cols, "id_number")
        number = None if f.is_blank(raw) else ctx.normalize(raw)
        if number is None:
            continue
        if number in first_of:
            out.reject("id_number", "duplicate_in_file",
                       _("The same ID number is on row %(row)s of this file.") % {"row": first_of[number]})
        else:
            first_of[number] = out.row
            file_rows[number] = out.row
    taken_in_db = ctx.persons
    total = len(outcomes)
    for n, out in enumerate(outcomes, 1):
        if progress is not None and n % 2000 == 0:
            progress(n, total)
        values = _parse_row(out, cols, ctx, file_rows)
        if out.status == REJECTED:
            continue
        confirm = WARNING_CODES if confirm_all else values["confirm"]
        number = values.get("id_number")
        existing = taken_in_db.get(number) if number else None
        if existing is None and not values["id_number_raw"] and values.get("birth_date") and values.get("sex"):
            existing = ctx.without_id.get((values.get("name", ""), values["sex"], values["birth_date"]))
        try:
            if existing is not None:
                _check_existing(out, existing, values, by=by, confirm=confirm)
            else:
                _check_new(out, values, by=by, confirm=confirm, ctx=ctx)
        except RuleViolation as exc:
            add_violations(out, exc)
        else:
            _note_confirmed_warnings(out, values)
    _reject_broken_references(outcomes)
    if progress is not None:
        progress(total, total)
    return Outcome(rows=outcomes)


def _note_confirmed_warnings(out: RowOutcome, values: dict[str, Any]) -> None:
    """A row written with a confirmed warning stays in the report, marked as confirmed."""
    if out.status != CREATED or not out.person.id_number_warnings:
        return
    result = idnumbers.check(values["id_number_raw"], sex=out.person.sex, birth_date=out.person.birth_date)
    for w in result.warnings:
        out.messages.append(Message("id_number", w.code, _("Confirmed: %(warning)s") % {"warning": w.message},
                                    warning=True))


def _check_existing(out: RowOutcome, person: Person, values: dict[str, Any], *, by: User, confirm) -> None:
    scope = scope_for(by)
    if not (scope.covers(person.residence_unit_id) or scope.covers(person.registration_unit_id)):
        out.reject("id_number", "scope", _("This ID number is registered to a person outside your area; it cannot "
                                           "be changed from here."))
        return
    changes = _changes(person, values)
    if not changes:
        out.status = UNCHANGED
        out.person = person
        return
    try:
        diff = services.person_check_changes(person, by=by, changes=changes, confirm=confirm,
                                             id_number_taken=lambda _n: False)
    except NotFound:
        out.reject("id_number", "scope", _("This person is outside your area."))
        return
    out.status, out.person, out.diff = (UPDATED if diff else UNCHANGED), person, diff


def _check_new(out: RowOutcome, values: dict[str, Any], *, by: User, confirm, ctx: _Context) -> None:
    kwargs = {k: values[k] for k in ("name", "sex", "birth_date", "ethnicity", "education", "marital_status",
                                     "registration_type", "household", "relation_to_head", "registration_unit",
                                     "residence_unit", "residence_status", "other_county_code", "mother", "father")
              if k in values}
    kwargs.setdefault("name", "")
    kwargs.setdefault("sex", "")
    kwargs.setdefault("birth_date", None)
    person = services.person_build(**kwargs)
    raw = values["id_number_raw"]
    # the normalised number saves the rules a second normalisation; a ".0" from a number cell keeps its own message
    given = raw if "." in raw else (values.get("id_number") or raw)
    services.person_check_new(person, by=by, id_number=given or None,
                              confirm=confirm, id_number_taken=ctx.persons.__contains__, today=ctx.today)
    out.status, out.person = CREATED, person


def _reject_broken_references(outcomes: list[RowOutcome]) -> None:
    by_row = {o.row: o for o in outcomes}
    changed = True
    while changed:
        changed = False
        for out in outcomes:
            if out.status == REJECTED or not out.refs:
                continue
            for name, row in out.refs.items():
                target = by_row.get(row)
                if target is None:
                    out.reject(name, "reference_unknown", _("Row %(row)s is not in this file.") % {"row": row})
                elif target.status == REJECTED:
                    out.reject(name, "reference_rejected",
                               _("Row %(row)s, which this row refers to, is rejected.") % {"row": row})
                if out.status == REJECTED:
                    changed = True
                    break


def write(*, by: User, outcome: Outcome, channel: str) -> None:
    """Write the accepted rows (created and updated) in one transaction, then the references to persons this file
    created (a mother on another row)."""
    created = [o.person for o in outcome.rows if o.status == CREATED]
    updated = [(o.person, o.diff) for o in outcome.rows if o.status == UPDATED]
    by_row = {o.row: o for o in outcome.rows}
    with transaction.atomic():
        services.persons_write_many(by=by, created=created, updated=updated, channel=channel)
        linked = []
        for o in outcome.rows:
            if o.status == CREATED and o.refs:
                for name, row in o.refs.items():
                    setattr(o.person, name, by_row[row].person)
                linked.append(o.person)
        if linked:
            Person.objects.bulk_update(linked, list(REF_FIELDS), batch_size=2000)
    outcome.written = True
