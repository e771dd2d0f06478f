"""The synthetic county: generating it into the database, replacing it, and its demo users.

``demo_generate`` simulates (demo/simulate.py), builds the register's rows (demo/register.py), writes them in one
transaction (demo/load.py), marks the installation as holding synthetic data (every page says so), creates the
demo users and writes truth.json beside the database. ``demo_ensure`` is what ``renkou serve --demo`` calls:
generate on the first run, reuse afterwards.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from renkou.accounts.models import Role, User
from renkou.accounts.services import user_create
from renkou.core.models import SYNTHETIC_DATA, InstallationFact
from renkou.core.selectors import forget_cached_facts
from renkou.core.services import installation_fact_set
from renkou.demo import county as cty
from renkou.demo import duplicates as dup
from renkou.demo import load, register, simulate, truth
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.registry.models import Event, Household, Marriage, Person, PersonHistory

DEMO_PASSWORD = "demo-2026"  # noqa: S105 - printed on purpose: the demo's logins are public
RECORDED_YEARS = 12


class DemoError(Exception):
    """The demo cannot be generated here (the database holds data already, bad parameters, …)."""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str


@dataclass(frozen=True)
class _DemoUser:
    username: str
    role: str
    where: str  # "county", "dongcheng", "xicheng", "dongcheng_village"
    full_name: str
    description: str


_DEMO_USERS = (
    _DemoUser("admin", Role.COUNTY_ADMIN, "county", "县管理员", "县管理员（全县，可维护）"),
    _DemoUser("tongji", Role.STATISTICIAN, "county", "县统计员", "县统计员（全县）"),
    _DemoUser("dongcheng", Role.TOWNSHIP_OFFICER, "dongcheng", "东城街道计生专干", "东城街道 计生专干"),
    _DemoUser("xicheng", Role.TOWNSHIP_OFFICER, "xicheng", "西城街道计生专干", "西城街道 计生专干"),
    _DemoUser("cunyuan", Role.VILLAGE_REPORTER, "dongcheng_village", "社区信息员", "{village} 信息员"),
    _DemoUser("lingdao", Role.AGGREGATE_VIEWER, "county", "县领导", "县领导（只看汇总数据）"),
)
DEMO_USERNAMES = tuple(u.username for u in _DEMO_USERS)


def default_years(today: date | None = None) -> tuple[int, int]:
    """The 12 full calendar years ending with last year."""
    today = today or timezone.localdate()
    return today.year - RECORDED_YEARS, today.year - 1


def _say(out: Any, message: str) -> None:
    if out is None:
        return
    out.write(message if message.endswith("\n") else message + "\n")
    flush = getattr(out, "flush", None)
    if flush is not None:
        flush()


def demo_generate(
    *,
    persons: int,
    seed: int,
    tfr: float = 1.3,
    srb: float = 111.0,
    years: tuple[int, int] | None = None,
    replace: bool = False,
    out: Any = None,
    current_year: bool = True,
    truth_path: Path | str | None = None,
    duplicates: float = 0.0,
) -> dict:
    """Generate the synthetic county into the (empty) database and return the truth dictionary.

    ``years`` are the recorded years (default: the 12 full years ending with last year). When they end with
    last year and ``current_year`` is true, the events of this year up to yesterday are generated as well (the
    truth lists that year as partial). The same parameters (and the same day, for the partial year) give the
    same database contents. ``replace`` first removes a previous demo county (never a real register).
    ``duplicates`` is the share of persons registered a second time (demo/duplicates.py); they are extra rows,
    left out of every count of truth.json and listed in its ``duplicates`` section.
    """
    today = timezone.localdate()
    first, last = years or default_years(today)
    if persons < 100:
        raise DemoError("A county needs at least 100 persons.")
    if not 0.3 <= tfr <= 8:
        raise DemoError("The total fertility rate must lie between 0.3 and 8.")
    if not 0 <= duplicates <= 0.2:
        raise DemoError("The share of duplicates must lie between 0 and 0.2.")
    if not 80 <= srb <= 150:
        raise DemoError("The sex ratio at birth must lie between 80 and 150 boys per 100 girls.")
    if not 1960 <= first <= last < today.year:
        raise DemoError(f"The recorded years must be full years from 1960 to {today.year - 1}, first ≤ last.")
    through = (today - timedelta(days=1)
               if current_year and last == today.year - 1 and (today.month, today.day) != (1, 1) else None)
    if replace:
        _require_replaceable()
    else:
        _require_empty()
    started = time.perf_counter()
    params = simulate.Params(persons=persons, seed=seed, tfr=tfr, srb=srb, first_year=first, last_year=last,
                             through=through)
    _say(out, f"Generating the synthetic county {cty.COUNTY_NAME} ({cty.COUNTY_CODE}): about {persons:,} residents, "
              f"seed {seed}, TFR {tfr}, SRB {srb}, recorded years {first}–{last}"
              + (f", and {through.year} up to {through.isoformat()}" if through else ""))
    t = time.perf_counter()
    world = simulate.simulate(params)
    _say(out, f"  simulated {params.start_year}–{params.end_year} from {world.start_size:,} people "
              f"({world.n:,} lives) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    reg = register.build(world, seed=seed)
    now = timezone.now()
    facts = truth.compute(world, reg, generated_at=now)
    injected = dup.inject(reg, rate=duplicates, seed=seed) if duplicates > 0 else None
    simulated = time.perf_counter() - started
    _say(out, f"  built {len(reg.persons['name']):,} persons, {len(reg.households['head']):,} households, "
              f"{len(reg.marriages['husband']):,} marriages, {len(reg.events['kind']):,} events in "
              f"{time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with load.bulk_mode(), transaction.atomic():
        if replace:
            demo_wipe(out=out)
            _require_empty()
        loaded = load.write(reg, now=now, progress=lambda m: _say(out, m))
        if injected is not None:
            first = loaded["first_id"]["persons"]
            injected["pairs"] = [[a + first, b + first] for a, b in injected["pairs"]]
            facts["duplicates"] = injected
        installation_fact_set(key=SYNTHETIC_DATA, value={
            **facts["parameters"],
            "note": "All persons, households and events in this database are fictitious (synthetic demo data).",
        })
        _ensure_users()
    load.analyze()
    written = time.perf_counter() - t
    _say(out, f"  written and committed in {written:.1f} s")
    facts["timing_seconds"] = {"simulation": round(simulated, 2), "writing": round(written, 2),
                               "writing_by_table": loaded["seconds"],
                               "total": round(time.perf_counter() - started, 2)}
    path = Path(truth_path) if truth_path else Path(settings.DEMO_TRUTH_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8")
    _say(out, f"  wrote {path}")
    return facts


def demo_ensure(*, persons: int, seed: int, out: Any) -> list[DemoLogin]:
    """For ``renkou serve --demo``: generate the county if the register is empty, else reuse it; then make sure
    the demo users exist and return their logins."""
    if Person.objects.exists():
        _say(out, "The register holds persons already: reusing it (renkou demo --replace makes a new county).")
        with transaction.atomic():
            _ensure_users()
    else:
        started = time.perf_counter()
        demo_generate(persons=persons, seed=seed, out=out)
        elapsed = time.perf_counter() - started
        _say(out, f"Demo county ready in {elapsed:.1f} s ({persons / elapsed:,.0f} persons/s).")
    return demo_logins()


def demo_logins() -> list[DemoLogin]:
    village = _units().get("dongcheng_village")
    return [DemoLogin(u.username, DEMO_PASSWORD, u.description.format(village=village.name if village else ""))
            for u in _DEMO_USERS]


def _units() -> dict[str, OrgUnit | None]:
    county = OrgUnit.objects.filter(level=UnitLevel.COUNTY).order_by("id").first()
    found: dict[str, OrgUnit | None] = {"county": county}
    for key, name in (("dongcheng", "东城街道"), ("xicheng", "西城街道")):
        found[key] = OrgUnit.objects.filter(level=UnitLevel.TOWNSHIP, name=name).order_by("code").first()
    dc = found["dongcheng"]
    found["dongcheng_village"] = (OrgUnit.objects.filter(parent=dc, level=UnitLevel.VILLAGE).order_by("code").first()
                                  if dc else None)
    return found


def _ensure_users() -> None:
    units = _units()
    missing = [key for key, unit in units.items() if unit is None]
    if missing:
        raise DemoError("The unit tree has no county, no township named 东城街道 or 西城街道, or no village under "
                        "东城街道: the demo users cannot be placed. Use renkou demo --replace for a demo county.")
    existing = set(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
    for u in _DEMO_USERS:
        if u.username not in existing:
            user_create(username=u.username, password=DEMO_PASSWORD, role=u.role, unit=units[u.where],
                        full_name=u.full_name)


def _require_empty() -> None:
    if Person.objects.exists():
        raise DemoError("The database already holds persons. Use --replace to replace a demo county, or point "
                        "RENKOU_DATA_DIR / RENKOU_DATABASE_URL at an empty database.")
    if OrgUnit.objects.exists():
        raise DemoError("The database already holds organisation units. Use --replace to replace them with the "
                        "demo county, or use an empty database.")


# ---------------------------------------------------------------------------------------------------------------
# replacing a demo county


def _dependents(roots: set[type[models.Model]], skip: set[type[models.Model]]) -> set[type[models.Model]]:
    """``roots`` and every model that refers to one of them, transitively (except ``skip``)."""
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for model in apps.get_models(include_auto_created=True):
            if model in found or model in skip:
                continue
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model in found:
                    found.add(model)
                    changed = True
                    break
    return found


def _require_replaceable() -> None:
    if Person.objects.exists() and not InstallationFact.objects.filter(key=SYNTHETIC_DATA).exists():
        raise DemoError("This database holds a register that is not marked as synthetic demo data; "
                        "renkou demo --replace only replaces a demo county.")


@transaction.atomic
def demo_wipe(*, out: Any = None) -> None:
    """Remove the register, the unit tree, the demo users and everything that refers to them.

    Only a demo install is wiped: a database holding persons without the synthetic-data mark is refused. Other
    users are kept, without a unit.
    """
    _require_replaceable()
    doomed = _dependents({OrgUnit, Person, Household, Marriage, Event, PersonHistory}, skip={User})
    demo_user_ids = list(User.objects.filter(username__in=DEMO_USERNAMES).values_list("id", flat=True))
    with connection.cursor() as cursor:
        # Rows elsewhere that refer to a demo user, then the demo users; other users lose their unit.
        for model in apps.get_models(include_auto_created=True):
            if model in doomed or model is User:
                continue
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model is User and demo_user_ids:
                    model._base_manager.filter(**{f"{f.name}__in": demo_user_ids})._raw_delete(connection.alias)
        User.objects.exclude(id__in=demo_user_ids).filter(unit__isnull=False).update(unit=None)
        User.objects.filter(id__in=demo_user_ids)._raw_delete(connection.alias)
        for model in doomed:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    InstallationFact.objects.filter(key=SYNTHETIC_DATA).delete()
    forget_cached_facts()
    _say(out, f"Removed the previous county ({', '.join(sorted(m.__name__ for m in doomed))}) and the demo users.")
