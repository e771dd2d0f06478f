"""Importing households: each row checked by the register's own rules (``household_check_new``), written in bulk
(``households_write_many``). Matched by household number: a household already registered with the same unit,
address and type is "unchanged"; one that differs is rejected (the register has no bulk correction of households:
correct it on its page), so importing the same file twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import RuleViolation
from renkou.intake import fields as f
from renkou.intake.columns import LAYOUTS, map_headers
from renkou.intake.persons import (
    CODE_ALIASES,
    CREATED,
    REJECTED,
    UNCHANGED,
    Outcome,
    RowOutcome,
    add_violations,
)
from renkou.intake.readers import Table
from renkou.orgunits.selectors import unit_county, unit_subtree
from renkou.registry import services
from renkou.registry.codes import code_lists
from renkou.registry.models import Household, RegistrationType
from renkou.registry.selectors import households_by_numbers

LAYOUT = LAYOUTS["households"]


def check_rows(*, by: User, table: Table, progress: Callable[[int, int], None] | None = None,
               confirm_all: bool = False) -> Outcome:
    cols = map_headers(LAYOUT, table.headers)
    scope = scope_for(by)
    county = unit_county()
    units = f.UnitIndex(list(unit_subtree(county)) if county is not None else [], scope.unit_ids)
    codes = code_lists()

    def cell(row, name):
        i = cols.get(name)
        return "" if i is None or i >= len(row) else row[i]

    existing = households_by_numbers([f.text(cell(r, "number")) for r in table.rows])
    seen: dict[str, int] = {}
    outcomes = [RowOutcome(row=table.first_row + i, values=list(r)) for i, r in enumerate(table.rows)]
    for n, out in enumerate(outcomes, 1):
        if progress is not None and n % 2000 == 0:
            progress(n, len(outcomes))
        row = out.values
        number = f.text(cell(row, "number"))
        address = f.text(cell(row, "address"))
        rtype = RegistrationType.RURAL
        if not number:
            out.reject("number", "required", _("The household number is required in a file (it is how a second "
                                               "import finds the household)."))
        elif number in seen:
            out.reject("number", "duplicate_in_file",
                       _("The same household number is on row %(row)s of this file.") % {"row": seen[number]})
        else:
            seen[number] = out.row
        unit = None
        try:
            unit = units.find(cell(row, "unit")) if not f.is_blank(cell(row, "unit")) else None
        except RuleViolation as v:
            out.reject("unit", v.code, str(v.message))
        if not f.is_blank(cell(row, "registration_type")):
            try:
                rtype = f.parse_code("registration_type", cell(row, "registration_type"), codes,
                                     CODE_ALIASES["registration_type"])
            except RuleViolation as v:
                out.reject("registration_type", v.code, str(v.message))
        if out.status == REJECTED:
            continue
        if unit is None:
            out.reject("unit", "required", _("Give the village or community (name or statistical code)."))
            continue
        current = existing.get(number)
        if current is not None:
            if not scope.covers(current.unit_id):
                out.reject("number", "scope", _("This household number belongs to a household outside your area."))
            elif (current.unit_id, current.address, current.registration_type) == (unit.pk, address, rtype):
                out.status = UNCHANGED
            else:
                out.reject("number", "differs", _("This household is registered with another unit, address or "
                                                  "type; correct it on the household's page."))
            continue
        try:
            services.household_check_new(by=by, unit=unit, address=address, registration_type=rtype, number=number,
                                         number_taken=lambda _n: False)
        except RuleViolation as exc:
            add_violations(out, exc)
            continue
        out.status = CREATED
        out.person = Household(number=number, address=address.strip(), unit=unit, registration_type=rtype)
    if progress is not None:
        progress(len(outcomes), len(outcomes))
    return Outcome(rows=outcomes)


def write(*, by: User, outcome: Outcome, channel: str) -> None:
    with transaction.atomic():
        services.households_write_many(by=by, created=[o.person for o in outcome.rows if o.status == CREATED],
                                       channel=channel)
    outcome.written = True
