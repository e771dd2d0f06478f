"""Importing marriages: a marriage registered (the spouses by ID number, the date, the unit) and optionally its end
(divorce or annulment). Every row is checked by the register's own rules (``marriage_check_spouses``,
``marriage_check_new``, ``marriage_unit``, ``marriage_check_end``) against the marriages on record, fetched once per
file, and against the rows before it (a divorce on one row, the next marriage on a later one); the accepted rows
are written in bulk (``marriages_write_many``).

A marriage on record with the same husband, wife and date is "unchanged" (or "updated" when the file adds its
end), so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.core.errors import NotFound, RuleViolation
from renkou.intake import fields as f
from renkou.intake.columns import LAYOUTS, map_headers
from renkou.intake.persons import CREATED, REJECTED, UNCHANGED, UPDATED, Outcome, RowOutcome, add_violations
from renkou.intake.readers import Table
from renkou.intake.refs import Refs, cell
from renkou.registry import services
from renkou.registry.models import Marriage, MarriageEnd
from renkou.registry.selectors import marriages_of_persons

LAYOUT = LAYOUTS["marriages"]
END_ALIASES = {"离婚": MarriageEnd.DIVORCE, "协议离婚": MarriageEnd.DIVORCE, "诉讼离婚": MarriageEnd.DIVORCE,
               "撤销": MarriageEnd.ANNULMENT, "无效": MarriageEnd.ANNULMENT, "婚姻无效": MarriageEnd.ANNULMENT,
               "撤销婚姻": MarriageEnd.ANNULMENT, "丧偶": MarriageEnd.DEATH, "死亡": MarriageEnd.DEATH}

# the register's field names → the columns of this file
FIELD_COLUMNS = {"reason": "end_reason", "marriage": "ended_on", "person": "husband"}


@dataclass
class MarriagePlan:
    husband: object
    wife: object
    married_on: date
    unit: object
    ended_on: date | None
    reason: str
    existing: Marriage | None = None  # the marriage on record (an end added to it), else a new one
    marriage: Marriage | None = None  # the new marriage, unsaved
    changes: list[tuple[int, str, str, str]] = field(default_factory=list)  # marital statuses, in order


def check_rows(*, by: User, table: Table, progress: Callable[[int, int], None] | None = None,
               confirm_all: bool = False) -> Outcome:
    cols = map_headers(LAYOUT, table.headers)
    refs = Refs(by, table, cols, ("husband", "wife"))
    on_record = marriages_of_persons([p.pk for p in refs.persons.values()])
    # the marriages as the rows leave them: those on record, then those the accepted rows add or end
    state: list[Marriage] = list(on_record)
    status_now = {p.pk: p.marital_status for p in refs.persons.values()}
    seen: dict[tuple[int, int, date], int] = {}
    outcomes = [RowOutcome(row=table.first_row + i, values=list(r)) for i, r in enumerate(table.rows)]
    for n, out in enumerate(outcomes, 1):
        if progress is not None and n % 2000 == 0:
            progress(n, len(outcomes))
        row = out.values
        husband = wife = None
        for name in ("husband", "wife"):
            raw = cell(row, cols, name)
            if f.is_blank(raw):
                out.reject(name, "required", _("This column is required."))
            elif name == "husband":
                husband = refs.person(out, name, raw, scoped=False)
            else:
                wife = refs.person(out, name, raw, scoped=False)
        married_on = refs.date(out, "married_on", cell(row, cols, "married_on"), required=True)
        unit = refs.unit(out, "unit", cell(row, cols, "unit"))
        ended_on = refs.date(out, "ended_on", cell(row, cols, "ended_on"))
        reason = refs.code(out, "end_reason", "marriage_end", cell(row, cols, "end_reason"), END_ALIASES)
        if reason and ended_on is None and out.status != REJECTED:
            out.reject("ended_on", "required", _("Give the date the marriage ended."))
        if out.status == REJECTED:
            continue
        key = (husband.pk, wife.pk, married_on)
        if key in seen:
            out.reject("married_on", "duplicate_in_file",
                       _("The same marriage is on row %(row)s of this file.") % {"row": seen[key]})
            continue
        reason = reason or (MarriageEnd.DIVORCE if ended_on else "")
        try:
            services.marriage_check_spouses(by, husband, wife)
        except NotFound:
            out.reject("husband", "scope", _("Neither spouse is in your area."))
            continue
        except RuleViolation as exc:
            add_violations(out, exc)
            continue
        same = next((m for m in state if (m.husband_id, m.wife_id, m.married_on) == key), None)
        try:
            if same is not None:
                _check_known(out, same, ended_on, reason, refs, status_now)
            else:
                _check_new(out, husband, wife, married_on, unit, ended_on, reason, state, by, refs, status_now)
        except RuleViolation as exc:
            add_violations(out, exc)
        if out.status != REJECTED:
            seen[key] = out.row
        for m in out.messages:
            m.field = FIELD_COLUMNS.get(m.field, m.field)
    if progress is not None:
        progress(len(outcomes), len(outcomes))
    return Outcome(rows=outcomes)


def _check_known(out: RowOutcome, marriage: Marriage, ended_on: date | None, reason: str, refs: Refs,
                 status_now: dict[int, str]) -> None:
    if ended_on is None or marriage.ended_on == ended_on:
        out.status = UNCHANGED
        return
    if marriage.ended_on is not None:
        out.reject("ended_on", "differs", _("This marriage is on record as ended on %(date)s.")
                   % {"date": marriage.ended_on.isoformat()})
        return
    services.marriage_check_end(marriage, ended_on=ended_on, reason=reason, today=refs.today)
    out.status = UPDATED
    out.plan = MarriagePlan(marriage.husband_id, marriage.wife_id, marriage.married_on, None, ended_on, reason,
                            existing=marriage)
    out.plan.changes = _ended(marriage, reason, status_now)
    marriage.ended_on, marriage.end_reason = ended_on, reason  # in memory: what the later rows see, and the write


def _ended(marriage: Marriage, reason: str, status_now: dict[int, str]) -> list[tuple[int, str, str, str]]:
    after = services.marriage_end_status(reason)
    changes = [(pid, "marriage_end", status_now.get(pid, ""), after) for pid in (marriage.husband_id, marriage.wife_id)]
    status_now.update({marriage.husband_id: after, marriage.wife_id: after})
    return changes


def _check_new(out, husband, wife, married_on, unit, ended_on, reason, state, by, refs, status_now) -> None:
    services.marriage_check_new(husband=husband, wife=wife, married_on=married_on, marriages=state,
                                today=refs.today)
    unit = services.marriage_unit(by, husband, wife, unit)
    marriage = Marriage(husband_id=husband.pk, wife_id=wife.pk, married_on=married_on,
                        unit_id=unit.pk if unit else None)
    if ended_on is not None:
        services.marriage_check_end(marriage, ended_on=ended_on, reason=reason, today=refs.today)
    theirs = [m for m in state if {m.husband_id, m.wife_id} & {husband.pk, wife.pk}]
    statuses = services.marriage_status_after(husband, wife, theirs)
    changes = [(p.pk, "marriage", status_now.get(p.pk, ""), statuses[p.pk]) for p in (husband, wife)]
    status_now.update(statuses)
    if ended_on is not None:
        changes += _ended(marriage, reason, status_now)
        marriage.ended_on, marriage.end_reason = ended_on, reason
    state.append(marriage)
    out.status = CREATED
    out.plan = MarriagePlan(husband, wife, married_on, unit, ended_on, reason, marriage=marriage, changes=changes)


def write(*, by: User, outcome: Outcome, channel: str) -> None:
    """The accepted rows in bulk, in one transaction (``marriages_write_many``): the ends added to marriages on
    record, the new marriages, the spouses' statuses with their history, the audit entries."""
    accepted = [o for o in outcome.rows if o.status in (CREATED, UPDATED)]
    with transaction.atomic():
        services.marriages_write_many(
            by=by, created=[o.plan.marriage for o in accepted if o.status == CREATED],
            ended=[o.plan.existing for o in accepted if o.status == UPDATED],
            status_changes=[c for o in accepted for c in o.plan.changes], channel=channel)
    outcome.written = True
