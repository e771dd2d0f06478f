"""Importing events: births, deaths, moves in and moves out, one kind with a 事件类型 column (出生/死亡/迁入/迁出, or
birth/death/move_in/move_out), since a township's monthly returns mix them.

Every row is checked by the register's own rules (``birth_check`` and ``birth_child_fields`` with
``person_check_new`` for the child, ``death_check``, ``move_out_plan``, ``move_in_check`` / ``move_in_plan``, the
scope rules) against the persons and events on record, fetched once per file, and against the rows before it: a
person's state is carried from row to row in memory (a move out, then a move in; a newcomer who moves in, then gives
birth). A mother or father may be a newcomer of an earlier row (by ID number or 第N行).

An event on record with the same person, type and date (a birth: the same mother, date, sex, outcome and child's
name) is "unchanged", so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.core.errors import RuleViolation
from renkou.intake import fields as f
from renkou.intake.columns import LAYOUTS, map_headers
from renkou.intake.persons import (
    CODE_ALIASES,
    CREATED,
    REJECTED,
    UNCHANGED,
    WARNING_CODES,
    Outcome,
    RowOutcome,
    add_violations,
)
from renkou.intake.readers import Table
from renkou.intake.refs import Refs, cell
from renkou.registry import services
from renkou.registry.models import Event, EventKind, Marriage, Person, ResidenceStatus
from renkou.registry.selectors import events_of_persons, marriages_of_persons
from renkou.registry.services import EventWrite
from renkou.registry.services._common import require_current, require_unit_in_scope, require_village_or_below

LAYOUT = LAYOUTS["events"]
KINDS = {"出生": EventKind.BIRTH, "死亡": EventKind.DEATH, "迁入": EventKind.MOVE_IN, "迁出": EventKind.MOVE_OUT,
         "birth": EventKind.BIRTH, "death": EventKind.DEATH, "move_in": EventKind.MOVE_IN,
         "move_out": EventKind.MOVE_OUT, "出生登记": EventKind.BIRTH, "死亡登记": EventKind.DEATH,
         "迁入登记": EventKind.MOVE_IN, "迁出登记": EventKind.MOVE_OUT, "户口迁入": EventKind.MOVE_IN,
         "户口迁出": EventKind.MOVE_OUT}
STILLBORN = {"否", "死产", "死胎", "0", "no", "n", "false", "×"}
# the register's field names → the columns of this file (per event type where they differ)
FIELD_COLUMNS = {"born_on": "date", "died_on": "date", "moved_on": "date", "person": "id_number",
                 "residence_unit": "unit", "registration_unit": "unit", "other_county_code": "from_county",
                 "relation_to_head": "household", "marital_status": "id_number", "residence_status": "id_number"}


class _State:
    """The persons as the accepted rows leave them, with the dates of their events."""

    def __init__(self, refs: Refs) -> None:
        self.persons: dict[Any, Person] = {}  # key: pk, or ("row", n) for a person of this file
        self.moves: dict[Any, list[date]] = {}
        self.dated: dict[Any, list[date]] = {}  # events (but their own birth) and births given
        self.keys: Counter = Counter()  # events on record, for idempotency
        ids = [p.pk for p in refs.persons.values()]
        self.marriage_of: dict[int, Marriage] = {}  # the current marriage of each person on record
        for m in marriages_of_persons(ids):
            if m.ended_on is None:
                self.marriage_of[m.husband_id] = self.marriage_of[m.wife_id] = m
        for e in events_of_persons(ids):
            if e.kind == EventKind.BIRTH:
                self.keys[_birth_key(e.mother_id, e.date, e.sex, e.live_born, e.person.name if e.person else "")] += 1
                self.dated.setdefault(e.mother_id, []).append(e.date)
            else:
                self.keys[(e.kind, e.person_id, e.date)] += 1
                self.dated.setdefault(e.person_id, []).append(e.date)
                if e.kind in {EventKind.MOVE_IN, EventKind.MOVE_OUT}:
                    self.moves.setdefault(e.person_id, []).append(e.date)

    def get(self, key: Any, person: Person) -> Person:
        if key not in self.persons:
            self.persons[key] = copy.copy(person)
        return self.persons[key]


def _birth_key(mother: Any, on: date, sex: str, live: bool | None, name: str) -> tuple:
    return ("birth", mother, on, sex, bool(live), (name or "").strip() if live else "")


class _Rows:
    """A person named in a cell: on the register (scope-checked), or created by an earlier accepted row."""

    def __init__(self, refs: Refs) -> None:
        self.refs = refs
        self.by_number: dict[str, int] = {}  # ID number → row of this file that creates the person
        self.created: dict[int, Person] = {}  # row → the person it creates (unsaved)
        self.status: dict[int, str] = {}
        self.existing: dict[int, Person] = {}  # row → the registered person it concerns (a reference follows it)

    def find(self, out: RowOutcome, name: str, raw: Any) -> tuple[Person | None, int | None]:
        ref_row = f.parse_row_ref(raw)
        if ref_row is None:
            number = self.refs.id_number(out, name, raw)
            if number is None:
                return None, None
            if number in self.refs.persons:
                return self.refs.person(out, name, raw), None
            ref_row = self.by_number.get(number)
            if ref_row is None:
                out.reject(name, "reference_unknown",
                           _("No person with this ID number is registered or created by an earlier row of this "
                             "file."))
                return None, None
        if ref_row >= out.row:
            out.reject(name, "reference_order", _("Row %(row)s comes after this row; put it first.")
                       % {"row": ref_row})
            return None, None
        if self.status.get(ref_row) == REJECTED:
            out.reject(name, "reference_rejected",
                       _("Row %(row)s, which this row refers to, is rejected.") % {"row": ref_row})
            return None, None
        if ref_row in self.existing:
            return self.existing[ref_row], None
        if ref_row not in self.created:
            out.reject(name, "reference_unknown", _("Row %(row)s creates no person.") % {"row": ref_row})
            return None, None
        return self.created[ref_row], ref_row


def check_rows(*, by: User, table: Table, progress: Callable[[int, int], None] | None = None,
               confirm_all: bool = False) -> Outcome:
    cols = map_headers(LAYOUT, table.headers)
    refs = Refs(by, table, cols, ("id_number", "mother", "father"))
    state = _State(refs)
    rows = _Rows(refs)
    outcomes = [RowOutcome(row=table.first_row + i, values=list(r)) for i, r in enumerate(table.rows)]
    for n, out in enumerate(outcomes, 1):
        if progress is not None and n % 2000 == 0:
            progress(n, len(outcomes))
        values = out.values
        raw_kind = f.text(cell(values, cols, "kind"))
        kind = KINDS.get(raw_kind) or KINDS.get(raw_kind.lower())
        if not raw_kind:
            out.reject("kind", "required", _("This column is required."))
        elif kind is None:
            out.reject("kind", "code", _("Unknown event type “%(value)s”; write 出生, 死亡, 迁入 or 迁出.")
                       % {"value": raw_kind})
        on = refs.date(out, "date", cell(values, cols, "date"), required=True)
        confirm = WARNING_CODES if confirm_all or f.parse_yes(cell(values, cols, "confirm")) else ()
        if out.status != REJECTED:
            check = {EventKind.BIRTH: _birth, EventKind.DEATH: _death, EventKind.MOVE_OUT: _move_out,
                     EventKind.MOVE_IN: _move_in}[kind]
            try:
                check(out, cols, refs, state, rows, on, by=by, confirm=confirm)
            except RuleViolation as exc:
                add_violations(out, exc)
        for m in out.messages:
            m.field = _column(kind, m.field)
        rows.status[out.row] = out.status
        if out.status == REJECTED:
            rows.created.pop(out.row, None)
    if progress is not None:
        progress(len(outcomes), len(outcomes))
    return Outcome(rows=outcomes)


def _column(kind: str | None, name: str) -> str:
    if name == "to_unit" and kind == EventKind.MOVE_IN:
        return "unit"
    if name == "birth_date" and kind == EventKind.BIRTH:
        return "date"
    return FIELD_COLUMNS.get(name, name)


def _person_cell(out, cols, refs, rows, state) -> tuple[Person | None, int | None, Any]:
    raw = cell(out.values, cols, "id_number")
    if f.is_blank(raw):
        out.reject("id_number", "required", _("Give the person's ID number."))
        return None, None, None
    person, row = rows.find(out, "id_number", raw)
    if person is None:
        return None, None, None
    if row is None:
        rows.existing[out.row] = person
    key = ("row", row) if row else person.pk
    return person, row, key


def _in_scope_unit(by: User, unit: Any, field_name: str) -> None:
    require_village_or_below(unit, field_name)
    require_unit_in_scope(by, unit, field_name)


def _birth(out, cols, refs, state, rows, on, *, by, confirm) -> None:
    v = out.values
    raw = cell(v, cols, "mother")
    if f.is_blank(raw):
        out.reject("mother", "required", _("A birth needs the mother's ID number."))
        return
    mother, mother_row = rows.find(out, "mother", raw)
    father = father_row = None
    if not f.is_blank(cell(v, cols, "father")):
        father, father_row = rows.find(out, "father", cell(v, cols, "father"))
    sex = refs.code(out, "sex", "sex", cell(v, cols, "sex"), CODE_ALIASES["sex"])
    if sex is None and f.is_blank(cell(v, cols, "sex")):
        out.reject("sex", "required", _("This column is required."))
    live = f.text(cell(v, cols, "live_born")).lower() not in STILLBORN
    place = refs.code(out, "place", "birth_place", cell(v, cols, "place")) or ""
    ethnicity = refs.code(out, "ethnicity", "ethnicity", cell(v, cols, "ethnicity"))
    household = refs.household(out, "household", cell(v, cols, "household"))
    unit = refs.unit(out, "unit", cell(v, cols, "unit"))
    name = f.text(cell(v, cols, "name"))
    child_raw = cell(v, cols, "id_number")
    child_id = None if f.is_blank(child_raw) else f.clean_id_cell(child_raw)
    if out.status == REJECTED:
        return
    mother_key = ("row", mother_row) if mother_row else mother.pk
    key = _birth_key(mother_key, on, sex, live, name)
    if state.keys[key] > 0:
        state.keys[key] -= 1
        out.status = UNCHANGED
        return
    mother = state.get(mother_key, mother)
    if father is not None:
        father = state.get(("row", father_row) if father_row else father.pk, father)
    require_current(mother, "mother")
    services.birth_check(mother=mother, father=father, born_on=on, sex=sex, place=place, live_born=live,
                         name=name, today=refs.today)
    unit = unit or mother.residence_unit or mother.registration_unit
    _in_scope_unit(by, unit, "unit")
    child = None
    if live:
        fields = services.birth_child_fields(mother=mother, sex=sex, born_on=on, name=name, father=father,
                                             id_number=child_id, ethnicity=ethnicity, household=household)
        fields.pop("id_number")
        child = services.person_build(**fields)
        taken = refs.persons.keys() | rows.by_number.keys()
        services.person_check_new(child, by=by, id_number=child_id, confirm=confirm,
                                  id_number_taken=taken.__contains__, today=refs.today)
        rows.created[out.row] = child
        state.persons[("row", out.row)] = child
        if child.id_number:
            rows.by_number[child.id_number] = out.row
    state.dated.setdefault(mother_key, []).append(on)
    out.status = CREATED
    out.plan = EventWrite(
        Event(kind=EventKind.BIRTH, person=child if live else None, date=on, unit=unit,
              mother=rows.created[mother_row] if mother_row else refs_person(refs, mother),
              father=(rows.created[father_row] if father_row else refs_person(refs, father)) if father else None,
              sex=sex, live_born=live, place=place),
        created=child if live else None)


def refs_person(refs: Refs, person: Person) -> Person:
    """The person as fetched (not the in-memory state the rows changed): the services fetch it again anyway."""
    return refs.persons.get(person.id_number, person)


def _death(out, cols, refs, state, rows, on, *, by, confirm) -> None:
    unit = refs.unit(out, "unit", cell(out.values, cols, "unit"))
    person, row, key = _person_cell(out, cols, refs, rows, state)
    if out.status == REJECTED:
        return
    if state.keys[(EventKind.DEATH, key, on)] > 0:
        state.keys[(EventKind.DEATH, key, on)] -= 1
        out.status = UNCHANGED
        return
    current = state.get(key, person)
    require_current(current, "person")
    after = any(d > on for d in state.dated.get(key, []))
    services.death_check(person=current, died_on=on, events_after=after, today=refs.today)
    unit = unit or current.residence_unit or current.registration_unit
    require_unit_in_scope(by, unit, "unit")
    current.death_date = on
    state.dated.setdefault(key, []).append(on)
    ends = None if row else state.marriage_of.get(person.pk)
    if ends is not None:  # ended by this death: a second death in the file finds none
        state.marriage_of.pop(ends.husband_id, None)
        state.marriage_of.pop(ends.wife_id, None)
    out.status = CREATED
    out.plan = EventWrite(Event(kind=EventKind.DEATH, person=rows.created[row] if row else person, date=on,
                                unit=unit, note=f.text(cell(out.values, cols, "note"))[:200]),
                          changes={"death_date": (None, on)}, ends=ends, person_state=None if row else current)


def _move_out(out, cols, refs, state, rows, on, *, by, confirm) -> None:
    v = out.values
    to_unit = refs.unit(out, "to_unit", cell(v, cols, "to_unit"))
    to_county = f.text(cell(v, cols, "to_county"))
    moved = f.parse_yes(cell(v, cols, "registration_moved"))
    person, row, key = _person_cell(out, cols, refs, rows, state)
    if out.status == REJECTED:
        return
    if state.keys[(EventKind.MOVE_OUT, key, on)] > 0:
        state.keys[(EventKind.MOVE_OUT, key, on)] -= 1
        out.status = UNCHANGED
        return
    current = state.get(key, person)
    require_current(current, "person")
    moves = state.moves.get(key, [])
    after = services.move_out_plan(current, moved_on=on, to_unit=to_unit, to_county=to_county,
                                   registration_moved=moved, last_move=max(moves) if moves else None,
                                   today=refs.today)
    from_unit = current.residence_unit
    unit = from_unit or current.registration_unit
    require_unit_in_scope(by, unit, "unit")
    to_county = after.pop("to_county")
    changes = _apply(current, after)
    state.moves.setdefault(key, []).append(on)
    state.dated.setdefault(key, []).append(on)
    out.status = CREATED
    out.plan = EventWrite(Event(kind=EventKind.MOVE_OUT, person=rows.created[row] if row else person, date=on,
                                unit=unit, from_unit=from_unit, to_unit=to_unit, to_county=to_county,
                                note=f.text(cell(v, cols, "note"))[:200]),
                          changes=changes, person_state=None if row else current)


def _apply(person: Person, after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the fields on the person (in memory) and return {field: (before, after)} of those that changed."""
    changes = {}
    for name, value in after.items():
        before = getattr(person, name)
        setattr(person, name, value)
        if before != value:
            changes[name] = (before, value)
    return changes


def _move_in(out, cols, refs, state, rows, on, *, by, confirm) -> None:
    v = out.values
    to_unit = refs.unit(out, "unit", cell(v, cols, "unit"))
    if to_unit is None and out.status != REJECTED:
        out.reject("unit", "required", _("Give the village or community moved to."))
    from_county = f.text(cell(v, cols, "from_county"))
    household = refs.household(out, "household", cell(v, cols, "household"))
    raw = cell(v, cols, "id_number")
    if f.is_blank(raw):
        out.reject("id_number", "required", _("Give the ID number of the person moving in (it is how a second "
                                              "import knows the person)."))
        return
    number = refs.id_number(out, "id_number", raw)
    if out.status == REJECTED:
        return
    note = f.text(cell(v, cols, "note"))[:200]
    from_county = services.move_in_check(moved_on=on, to_unit=to_unit, from_county=from_county, today=refs.today)
    require_unit_in_scope(by, to_unit, "unit")
    if number in refs.persons or number in rows.by_number:  # a returning person
        person, row, key = _person_cell(out, cols, refs, rows, state)
        if out.status == REJECTED:
            return
        if state.keys[(EventKind.MOVE_IN, key, on)] > 0:
            state.keys[(EventKind.MOVE_IN, key, on)] -= 1
            out.status = UNCHANGED
            return
        current = state.get(key, person)
        require_current(current, "person")
        moves = state.moves.get(key, [])
        if moves and on < max(moves):
            raise RuleViolation("moved_on", _("A later move is already on record for this person."), code="order")
        after = services.move_in_plan(current, moved_on=on, to_unit=to_unit, from_county=from_county,
                                      household=household)
        changes = _apply(current, after)
        state.moves.setdefault(key, []).append(on)
        state.dated.setdefault(key, []).append(on)
        out.status = CREATED
        out.plan = EventWrite(Event(kind=EventKind.MOVE_IN, person=rows.created[row] if row else person, date=on,
                                    unit=to_unit, to_unit=to_unit, from_county=from_county, note=note),
                              changes=changes, person_state=None if row else current)
        return
    # a newcomer: the register's rules of a new person
    sex = refs.code(out, "sex", "sex", cell(v, cols, "sex"), CODE_ALIASES["sex"])
    birth_date = refs.date(out, "birth_date", cell(v, cols, "birth_date"))
    ethnicity = refs.code(out, "ethnicity", "ethnicity", cell(v, cols, "ethnicity"))
    if out.status == REJECTED:
        return
    sex = sex or ("1" if int(number[16]) % 2 else "2")
    if birth_date is None:
        try:
            birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            birth_date = None
    fields = dict(name=f.text(cell(v, cols, "name")), sex=sex, birth_date=birth_date, ethnicity=ethnicity or "01",
                  household=household, residence_unit=to_unit, residence_status=ResidenceStatus.IN,
                  other_county_code=from_county, registration_unit=None)
    person = services.person_build(**fields)
    taken = refs.persons.keys() | rows.by_number.keys()
    services.person_check_new(person, by=by, id_number=f.clean_id_cell(raw), confirm=confirm,
                              id_number_taken=taken.__contains__, today=refs.today)
    rows.created[out.row] = person
    rows.by_number[person.id_number] = out.row
    state.persons[("row", out.row)] = person
    state.moves[("row", out.row)] = [on]
    state.dated[("row", out.row)] = [on]
    out.status = CREATED
    out.plan = EventWrite(Event(kind=EventKind.MOVE_IN, person=person, date=on, unit=to_unit, to_unit=to_unit,
                                from_county=from_county, note=note), created=person)


def write(*, by: User, outcome: Outcome, channel: str) -> None:
    """The accepted rows in bulk, in one transaction (``registry.services.events_write_many``): the children and
    newcomers, the events, the changes to the persons, the marriages ended by deaths, the history, the birth
    order and the audit entries."""
    with transaction.atomic():
        services.events_write_many(by=by, writes=[o.plan for o in outcome.rows if o.status == CREATED],
                                   channel=channel)
    outcome.written = True
