"""Export of the records behind a data-quality figure, through the register's export (scope, masking, audit) and
the shared writer: the same columns as the persons export, titled with the check's label."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from renkou.accounts.models import User
from renkou.core.errors import RuleViolation
from renkou.quality.checks import CHECKS, Check
from renkou.quality.selectors import check_records
from renkou.registry.exports import (
    CHUNK_SIZE,
    PERSON_FIELDS,
    ExportKind,
    IdShow,
    person_columns,
    person_rows,
    unit_filter,
)


def _parse(user: User, filters: Mapping[str, str]) -> dict[str, Any]:
    return {"unit": unit_filter(user, filters.get("unit")), "check": (filters.get("check") or "").strip()}


def _rows(user: User, parsed: dict[str, Any], show_id: IdShow) -> Iterable[tuple]:
    qs = check_records(user=user, key=parsed["check"], unit=parsed["unit"])
    return person_rows(qs.values_list(*PERSON_FIELDS).iterator(chunk_size=CHUNK_SIZE), show_id)


def check_for_export(key: str) -> Check:
    check = CHECKS.get((key or "").strip())
    if check is None or not check.lists_persons:
        names = ", ".join(k for k, c in CHECKS.items() if c.lists_persons)
        raise RuleViolation("check", _("Unknown data-quality check; choose one of %(checks)s.") % {"checks": names})
    return check


def quality_export_kind(key: str) -> ExportKind:
    check = check_for_export(key)
    return ExportKind(name="quality", title=check.label, parse=_parse, columns=person_columns, rows=_rows)
