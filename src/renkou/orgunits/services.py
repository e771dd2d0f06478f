"""Writes to the unit tree."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from renkou.core.errors import RuleViolation
from renkou.orgunits.models import OrgUnit, UnitLevel, UnitType

_LEVEL_OF_TYPE = {
    UnitType.COUNTY: UnitLevel.COUNTY,
    UnitType.SUBDISTRICT: UnitLevel.TOWNSHIP,
    UnitType.TOWN: UnitLevel.TOWNSHIP,
    UnitType.TOWNSHIP: UnitLevel.TOWNSHIP,
    UnitType.COMMUNITY: UnitLevel.VILLAGE,
    UnitType.VILLAGE: UnitLevel.VILLAGE,
    UnitType.GROUP: UnitLevel.GROUP,
}


def level_of_type(unit_type: str) -> int:
    return int(_LEVEL_OF_TYPE[UnitType(unit_type)])


@transaction.atomic
def unit_create(
    *, code: str, name: str, unit_type: str, parent: OrgUnit | None, opened_on: date | None = None
) -> OrgUnit:
    level = level_of_type(unit_type)
    if parent is None and level != UnitLevel.COUNTY:
        raise RuleViolation("parent", "Only a county may have no parent unit.")
    if parent is not None and parent.level != level - 1:
        raise RuleViolation("parent", "A unit must sit directly below a unit of the level above.")
    if level < UnitLevel.GROUP and (len(code) != 12 or not code.isdigit()):
        raise RuleViolation("code", "A statistical division code has 12 digits.")
    if parent is not None and level < UnitLevel.GROUP:
        prefix = {UnitLevel.TOWNSHIP: 6, UnitLevel.VILLAGE: 9}[UnitLevel(level)]
        if code[:prefix] != parent.code[:prefix]:
            raise RuleViolation("code", "The code must begin with the parent unit's code.")
    if OrgUnit.objects.filter(code=code).exists():
        raise RuleViolation("code", "A unit with this code already exists.")
    unit = OrgUnit.objects.create(
        code=code, name=name, unit_type=unit_type, level=level, parent=parent, opened_on=opened_on, path=""
    )
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.save(update_fields=["path"])
    return unit
