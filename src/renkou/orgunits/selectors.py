"""Reads of the unit tree. Subtrees are prefix queries on the materialised path."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from renkou.orgunits.models import OrgUnit, UnitLevel


def unit_subtree(unit: OrgUnit) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(path__startswith=unit.path)


def unit_subtree_ids(unit: OrgUnit) -> list[int]:
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


def unit_get(*, unit_id: int) -> OrgUnit | None:
    return OrgUnit.objects.filter(pk=unit_id).first()


def unit_get_by_code(*, code: str) -> OrgUnit | None:
    if "\x00" in code:  # no code holds one, and PostgreSQL refuses it in a query
        return None
    return OrgUnit.objects.filter(code=code).first()


def unit_county() -> OrgUnit | None:
    return OrgUnit.objects.filter(level=UnitLevel.COUNTY).order_by("id").first()


def unit_ancestors(unit: OrgUnit) -> list[OrgUnit]:
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    by_id = OrgUnit.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def unit_is_within(unit: OrgUnit, ancestor: OrgUnit) -> bool:
    return unit.path.startswith(ancestor.path)


@dataclass
class UnitNode:
    unit: OrgUnit
    children: list[UnitNode]


def unit_tree(root: OrgUnit, *, max_level: int = UnitLevel.VILLAGE) -> UnitNode:
    """The subtree under ``root`` down to ``max_level`` in one query."""
    units = list(unit_subtree(root).filter(level__lte=max_level).order_by("level", "code"))
    nodes = {u.pk: UnitNode(u, []) for u in units}
    for u in units:
        if u.pk != root.pk and u.parent_id in nodes:
            nodes[u.parent_id].children.append(nodes[u.pk])
    return nodes[root.pk]


def units_by_ids(ids: list[int]) -> dict[int, OrgUnit]:
    return OrgUnit.objects.in_bulk(ids)
