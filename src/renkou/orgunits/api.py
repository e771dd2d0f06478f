"""The unit tree over the JSON API (mounted at /api/v1/units). Units are not personal data: every authenticated
role may list them; the aggregate counts of a unit are given only inside the caller's own area."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.params import Path

from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.orgunits.selectors import unit_county, unit_get, unit_get_by_code, unit_tree
from renkou.registry.schemas import UnitDetailOut, UnitListIn, UnitOut, answers
from renkou.registry.selectors import scope_counts

router = Router(tags=["units"])


def _flatten(node) -> list[OrgUnit]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current.unit)
        stack.extend(reversed(current.children))
    return out


@router.get("", response=answers(200, list[UnitOut], 401, 404, 422), summary="List organisation units")
def units_list(request: HttpRequest, filters: Query[UnitListIn]):
    """All units of the county in tree order (each names its ``parent_id``), or the direct children of
    ``parent``; ``level`` keeps one level."""
    if filters.parent:
        parent = (unit_get_by_code(code=filters.parent) if len(filters.parent) >= 12
                  else unit_get(unit_id=int(filters.parent)))
        if parent is None:
            raise NotFound
        units = [child.unit for child in unit_tree(parent, max_level=min(parent.level + 1, UnitLevel.GROUP)).children]
    else:
        county = unit_county()
        units = _flatten(unit_tree(county, max_level=UnitLevel.GROUP)) if county is not None else []
    if filters.level is not None:
        units = [u for u in units if u.level == filters.level]
    return units


@router.get("/{code}", response=answers(200, UnitDetailOut, 401, 404, 422), summary="A unit, its children and counts")
def unit_detail(request: HttpRequest, code: str = Path(..., pattern=r"^[0-9]{6,15}$", examples=["500230001000"])):
    unit = unit_get_by_code(code=code)
    if unit is None:
        raise NotFound
    user = request.auth
    tree = unit_tree(unit, max_level=min(unit.level + 1, UnitLevel.GROUP))
    counts = scope_counts(user=user, unit=unit) if scope_for(user).covers(unit.pk) else None
    return {"unit": unit, "parent": unit.parent, "children": [child.unit for child in tree.children],
            "counts": counts}
