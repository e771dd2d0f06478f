"""Importing persons: every row parsed, then checked by the register's own rules (``person_check_new`` /
``person_check_changes`` of registry.services), then written in bulk (``persons_write_many``).

The file is read and checked without a write (the references it needs are fetched once per file); only then, when
the outcome allows it, is everything written in one transaction. Persons are matched by ID number (or, without
one, by name, sex and birth date): a row that matches and changes nothing is "unchanged", so importing the same
file twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
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


@dataclass(slots=True)
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
        return bool(self.messages) and any(m.warning for m in self.messages)

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
        by_status = Counter(r.status for r in self.rows)
        return {"total": len(self.rows), "created": by_status[CREATED], "updated": by_status[UPDATED],
                "unchanged": by_status[UNCHANGED], "rejected": by_status[REJECTED],
                "warned": sum(1 for r in self.rows if r.messages and r.warned)}


class _Bad:
    """A cell that cannot be read (remembered per distinct cell like a good value)."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


_BLANK = object()  # a blank cell, as remembered


def _remembering(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse`` of a cell as the row loop takes it: the value, _BLANK for a blank cell, or _Bad."""

    def cell_value(raw: Any) -> Any:
        if f.is_blank(raw):
            return _BLANK
        try:
            return parse(raw)
        except RuleViolation as v:
            return _Bad(v.code, str(v.message))

    return cell_value


def _cache_key(raw: Any) -> Any:
    # text cells by themselves; others with their type (1, 1.0 and True are equal keys of a dict)
    return raw if raw.__class__ is str else (raw.__class__, raw)


class _Context:
    """What the rows refer to, fetched once per file."""

    def __init__(self, by: User, table: Table, cols: dict[str, int]) -> None:
        self.scope = scope_for(by)
        county = unit_county()
        units = list(unit_subtree(county)) if county is not None else []
        self.units = f.UnitIndex(units, self.scope.unit_ids)
        self.codes = code_lists()
        width = max(cols.values()) + 1
        # every row at least as wide as the columns read: a cell is row[i], "" when the row was short
        self.rows = [r if len(r) >= width else [*r, *[""] * (width - len(r))] for r in table.rows]

        def column(name: str) -> list[Any]:
            i = cols.get(name)
            return [] if i is None else [row[i] for row in self.rows]

        self.today = timezone.localdate()
        self._normalized: dict[Any, str | None] = {}
        # each row's normalised ID number (None: blank or not a number)
        self.id_numbers = [None if f.is_blank(raw) else self.normalize(raw) for raw in column("id_number")] or (
            [None] * len(self.rows))
        numbers = [n for n in self.id_numbers if n]
        numbers += [n for raw in column("mother") + column("father") if not f.is_blank(raw) and (n := self.normalize(raw))]
        self.persons = persons_by_id_numbers(numbers)
        households = [f.text(v) for v in column("household") if not f.is_blank(v)]
        self.households = households_by_numbers(households)
        name_col = cols["name"]
        if "id_number" in cols:
            id_col = cols["id_number"]
            nameless = [f.text(r[name_col]) for r in self.rows if f.is_blank(r[id_col])]
        else:
            nameless = [f.text(r[name_col]) for r in self.rows]
        self.without_id: dict[tuple[str, str, date], Person] = {}
        for p in persons_without_id_number_named(nameless) if nameless else []:
            self.without_id.setdefault((p.name, p.sex, p.birth_date), p)
        # the cells read through a parser remembered per distinct cell: (field, column, cache, parse)
        self.cached_columns: list[tuple[str, int, dict[Any, Any], Callable[[Any], Any]]] = []
        for name, list_name in CODE_FIELDS.items():
            if name in cols:
                self.cached_columns.append((name, cols[name], {}, _remembering(
                    lambda r, n=name, ln=list_name: f.parse_code(ln, r, self.codes, CODE_ALIASES.get(n)))))
        if "birth_date" in cols:  # dates repeat less, but the cache costs a lookup
            self.cached_columns.append(("birth_date", cols["birth_date"], {}, _remembering(f.parse_date)))
        units_cache: dict[Any, Any] = {}  # both unit columns share what they found
        for name in UNIT_FIELDS:
            if name in cols:
                self.cached_columns.append((name, cols[name], units_cache, _remembering(self.units.find)))

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


def _parse_row(out: RowOutcome, row: list[Any], number: str | None, cols: dict[str, int], ctx: _Context,
               file_rows: dict[str, int]) -> tuple[dict[str, Any], str, tuple[str, ...]]:
    """Cells → values for the register (the arguments of ``person_build``), the ID-number cell as given and the
    warnings confirmed in the row; each bad cell adds a message naming its column. ``row`` is as wide as the
    columns read (``_Context.rows``); ``number`` is the row's normalised ID number."""
    values: dict[str, Any] = {}
    i = cols.get("name")
    if i is not None:
        values["name"] = f.text(row[i])
    i = cols.get("other_county_code")
    if i is not None:
        values["other_county_code"] = f.text(row[i])
    for name, i, cache, parse in ctx.cached_columns:
        raw = row[i]
        try:
            value = cache[raw if raw.__class__ is str else (raw.__class__, raw)]
        except KeyError:
            value = cache[_cache_key(raw)] = parse(raw)
        except TypeError:  # an unhashable cell
            value = parse(raw)
        if value is _BLANK:
            continue
        if value.__class__ is _Bad:
            out.reject(name, value.code, value.message)
        else:
            values[name] = value
    i = cols.get("household")
    if i is not None and not f.is_blank(raw := row[i]):
        household = ctx.households.get(f.text(raw))
        if household is None:
            out.reject("household", "household_unknown",
                       _("No household has the number %(number)s.") % {"number": f.text(raw)})
        else:
            values["household"] = household
    i = cols.get("id_number")
    raw = "" if i is None else row[i]
    id_raw = "" if f.is_blank(raw) else (raw if raw.__class__ is str else f.clean_id_cell(raw))
    if number and id_raw:  # (a bad number: the register's check gives the message)
        # Sex and birth date may be left out: the number carries them.
        if "sex" not in values:
            values["sex"] = "1" if int(number[16]) % 2 else "2"
        if "birth_date" not in values:
            try:
                values["birth_date"] = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            except ValueError:
                pass  # not a date: the register's check names the digits
    for name in REF_FIELDS:
        i = cols.get(name)
        if i is None or f.is_blank(raw := row[i]):
            continue
        ref_row = f.parse_row_ref(raw)
        if ref_row is None:
            ref_number = ctx.normalize(raw)
            if ref_number is None:
                try:
                    idnumbers.normalize(f.clean_id_cell(raw))
                except idnumbers.IdNumberError as exc:
                    out.reject(name, exc.code, str(exc.message))
                continue
            if ref_number in ctx.persons:
                values[name] = ctx.persons[ref_number]
                continue
            ref_row = file_rows.get(ref_number)
            if ref_row is None:
                out.reject(name, "reference_unknown", _("No person with this ID number is registered or in this "
                                                        "file."))
                continue
        if ref_row == out.row:
            out.reject(name, "reference_self", _("A row cannot refer to itself."))
            continue
        out.refs[name] = ref_row
    i = cols.get("confirm")
    confirm = WARNING_CODES if i is not None and f.parse_yes(row[i]) else ()
    return values, id_raw, confirm


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
    first = table.first_row
    outcomes = [RowOutcome(row=first + i, values=r) for i, r in enumerate(ctx.rows)]
    # ID numbers of the file's rows, to find a mother "by a row of the same file" and duplicates within the file
    file_rows: dict[str, int] = {}
    for out, number in zip(outcomes, ctx.id_numbers, strict=True):
        if number is None:
            continue
        if number in file_rows:
            out.reject("id_number", "duplicate_in_file",
                       _("The same ID number is on row %(row)s of this file.") % {"row": file_rows[number]})
        else:
            file_rows[number] = out.row
    taken_in_db = ctx.persons
    without_id = ctx.without_id
    taken = taken_in_db.__contains__
    today = ctx.today
    total = len(outcomes)
    for n, (out, number) in enumerate(zip(outcomes, ctx.id_numbers, strict=True), 1):
        if progress is not None and n % 2000 == 0:
            progress(n, total)
        values, id_raw, confirm = _parse_row(out, out.values, number, cols, ctx, file_rows)
        if out.status == REJECTED:
            continue
        if confirm_all:
            confirm = WARNING_CODES
        if not id_raw:
            number = None
        existing = taken_in_db.get(number) if number else None
        if existing is None and not id_raw and values.get("birth_date") and values.get("sex"):
            existing = without_id.get((values.get("name", ""), values["sex"], values["birth_date"]))
        try:
            if existing is not None:
                _check_existing(out, existing, values, by=by, confirm=confirm)
            else:
                # the normalised number saves the rules a second normalisation; a ".0" from a number cell keeps
                # its own message
                given = id_raw if "." in id_raw else (number or id_raw)
                if "sex" not in values or "birth_date" not in values:
                    values = {"sex": "", "birth_date": None, **values}
                person = services.person_build(**values)
                services.person_check_new(person, by=by, id_number=given or None, confirm=confirm,
                                          id_number_taken=taken, today=today)
                out.status, out.person = CREATED, person
        except RuleViolation as exc:
            add_violations(out, exc)
        else:
            if out.status == CREATED and out.person.id_number_warnings:
                _note_confirmed_warnings(out, id_raw)
    _reject_broken_references(outcomes)
    if progress is not None:
        progress(total, total)
    return Outcome(rows=outcomes)


def _note_confirmed_warnings(out: RowOutcome, id_raw: str) -> None:
    """A row written with a confirmed warning stays in the report, marked as confirmed."""
    result = idnumbers.check(id_raw, sex=out.person.sex, birth_date=out.person.birth_date)
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
