"""What part of the county a user may see: their unit's subtree, and whether they see personal data at all."""

from __future__ import annotations

from dataclasses import dataclass

from renkou.accounts.models import User
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.selectors import unit_subtree_ids


@dataclass(frozen=True)
class Scope:
    unit: OrgUnit | None
    unit_ids: frozenset[int]
    personal_data: bool
    can_write: bool

    def covers(self, unit_id: int | None) -> bool:
        return unit_id is not None and unit_id in self.unit_ids


def scope_for(user: User) -> Scope:
    """Computed once per request (cached on the user object); the unit table is small."""
    cached = getattr(user, "_renkou_scope", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active or user.unit_id is None:
        scope = Scope(unit=None, unit_ids=frozenset(), personal_data=False, can_write=False)
    else:
        unit = user.unit
        scope = Scope(
            unit=unit,
            unit_ids=frozenset(unit_subtree_ids(unit)),
            personal_data=user.sees_personal_data,
            can_write=user.writes_register,
        )
    user._renkou_scope = scope
    return scope
