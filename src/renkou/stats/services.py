"""Writes of the statistics module: indicator definitions and the publication (freezing) of a period."""

from __future__ import annotations

import math

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.models import Role, User
from renkou.accounts.services import audit_record
from renkou.core.errors import PermissionDenied, Problems, RuleViolation
from renkou.orgunits.periods import Period, PeriodError
from renkou.stats.indicators import check_definition
from renkou.stats.models import FrozenValue, Indicator, Interval, PublishedPeriod
from renkou.stats.snapshot import SnapshotInfo, snapshot_ensure

STATS_ROLES = frozenset({Role.COUNTY_ADMIN, Role.STATISTICIAN})
FIELDS = ("name_zh", "name_en", "description", "numerator", "denominator", "factor", "decimals", "unit_label",
          "interval", "target", "target_is_minimum")


def require_statistician(by: User) -> None:
    """Indicator definitions and publication are the county statistician's (and administrator's) work."""
    if not (by.is_active and by.role in STATS_ROLES and by.unit_id is not None and by.unit.level == 1):
        raise PermissionDenied(_("Only the county statistician or administrator may do this."))


def _clean(data: dict) -> dict:
    out = {k: data[k] for k in FIELDS if k in data}
    for k in ("name_zh", "name_en", "description", "numerator", "denominator", "unit_label"):
        if k in out:
            out[k] = (out[k] or "").strip()
    return out


@transaction.atomic
def indicator_save(*, by: User, code: str, data: dict, create: bool, channel: str = "web") -> Indicator:
    """Create or change an indicator after checking its definition (unknown elements, division by zero)."""
    require_statistician(by)
    code = (code or "").strip().upper()
    problems = Problems()
    existing = Indicator.objects.select_for_update().filter(code=code).first()
    if create:
        if not code or not code.replace("_", "").isalnum() or not code.isascii():
            problems.add(RuleViolation("code", _("The code takes Latin letters, digits and underscores.")))
        elif existing is not None:
            problems.add(RuleViolation("code", _("An indicator with this code exists already.")))
    elif existing is None:
        raise RuleViolation("code", _("No indicator has this code."), code="not_found")
    fields = _clean(data)
    merged = {k: getattr(existing, k) for k in FIELDS} if existing is not None and not create else {}
    merged.update(fields)
    for k in ("name_zh", "name_en", "numerator"):
        if not merged.get(k):
            problems.add(RuleViolation(k, _("This field is required.")))
    merged.setdefault("denominator", "1")
    merged["denominator"] = merged.get("denominator") or "1"
    if merged.get("interval", "") not in Interval.values:
        problems.add(RuleViolation("interval", _("Unknown kind of interval.")))
    target = merged.get("target")
    if target is not None and not math.isfinite(target):
        problems.add(RuleViolation("target", _("The target must be a number.")))
    merged["target_is_minimum"] = bool(merged.get("target_is_minimum", True))
    try:
        check_definition(numerator=merged.get("numerator") or "", denominator=merged["denominator"],
                         factor=merged.get("factor", 1), decimals=merged.get("decimals", 1))
    except RuleViolation as exc:
        for v in getattr(exc, "violations", [exc]):
            problems.add(v)
    problems.raise_if_any()
    if create:
        indicator = Indicator(code=code, updated_by=by, **merged)
        indicator.save()
    else:
        for k, v in merged.items():
            setattr(indicator := existing, k, v)
        indicator.updated_by = by
        indicator.save()
    audit_record(user=by, action="indicator_create" if create else "indicator_update", object_type="indicator",
                 object_id=code, detail={k: str(v) for k, v in fields.items()}, channel=channel)
    return indicator


@transaction.atomic
def indicator_delete(*, by: User, code: str, channel: str = "web") -> None:
    require_statistician(by)
    indicator = Indicator.objects.filter(code=code).first()
    if indicator is None:
        raise RuleViolation("code", _("No indicator has this code."), code="not_found")
    indicator.delete()
    audit_record(user=by, action="indicator_delete", object_type="indicator", object_id=code, channel=channel)


def _parse_period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise RuleViolation("period", str(exc)) from None


@transaction.atomic
def period_publish(*, by: User, period: str, channel: str = "web") -> PublishedPeriod:
    """Freeze every value of ``period`` for every unit: later changes to the register no longer alter it."""
    from renkou.stats import contributed
    from renkou.stats.selectors import computed_cube
    from renkou.stats.snapshot import snapshot_meta

    require_statistician(by)
    p = _parse_period(period)
    if p.end >= timezone.localdate():
        raise RuleViolation("period", _("Only a period that has ended can be published."))
    if PublishedPeriod.objects.filter(period=p.code).exists():
        raise RuleViolation("period", _("This period is published already."))
    cube = contributed.merge(computed_cube([p]), contributed.cube([p]))
    meta = snapshot_meta() or {}
    published = PublishedPeriod.objects.create(period=p.code, published_at=timezone.now(), published_by=by,
                                               snapshot_built_at=meta.get("built_at", ""))
    rows = [FrozenValue(published=published, data_element=k[0], coc=k[1], org_unit=u, value=float(cube.matrix[i, j]))
            for j, (u, code) in enumerate(cube.rows) if code == p.code
            for i, k in enumerate(cube.keys) if cube.matrix[i, j] != 0]
    FrozenValue.objects.bulk_create(rows, batch_size=5000)
    published.values_count = len(rows)
    published.save(update_fields=["values_count"])
    audit_record(user=by, action="period_publish", object_type="period", object_id=p.code,
                 detail={"values": len(rows)}, channel=channel)
    return published


def snapshot_prepare() -> SnapshotInfo:
    """The statistics snapshot brought up to date now (written in full the first time, refreshed after changes,
    left as it is when current), so that the first page that reads figures does not pay for it."""
    return snapshot_ensure()
