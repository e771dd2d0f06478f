"""A small county and named personas for tests (one base for every module's tests).

County 青山县 (code 500230) with townships 东城街道 (001), 西城街道 (002) and 龙河镇 (101), two villages each.
Personas: ``admin`` (county administrator), ``statistician``, ``dongcheng`` (township officer of 东城街道),
``xicheng`` (township officer of 西城街道, who must not see 东城's people), ``reporter`` (village reporter
of 东城 第一社区) and ``viewer`` (aggregate viewer: no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from renkou.accounts.models import Role, User
from renkou.accounts.services import user_create
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.services import unit_create
from renkou.registry import idnumbers
from renkou.registry.models import Household, Person

PASSWORD = "correct-horse-42"  # noqa: S105 - test personas only
COUNTY_CODE = "500230"


@dataclass
class County:
    county: OrgUnit
    dongcheng: OrgUnit
    xicheng: OrgUnit
    longhe: OrgUnit
    dc_village1: OrgUnit
    dc_village2: OrgUnit
    xc_village1: OrgUnit
    xc_village2: OrgUnit
    lh_village1: OrgUnit


@dataclass
class Personas:
    admin: User
    statistician: User
    dongcheng: User
    xicheng: User
    reporter: User
    viewer: User


def make_county() -> County:
    c = unit_create(code=f"{COUNTY_CODE}000000", name="青山县", unit_type="county", parent=None)
    dc = unit_create(code=f"{COUNTY_CODE}001000", name="东城街道", unit_type="subdistrict", parent=c)
    xc = unit_create(code=f"{COUNTY_CODE}002000", name="西城街道", unit_type="subdistrict", parent=c)
    lh = unit_create(code=f"{COUNTY_CODE}101000", name="龙河镇", unit_type="town", parent=c)
    return County(
        county=c, dongcheng=dc, xicheng=xc, longhe=lh,
        dc_village1=unit_create(code=f"{COUNTY_CODE}001001", name="第一社区", unit_type="community", parent=dc),
        dc_village2=unit_create(code=f"{COUNTY_CODE}001002", name="第二社区", unit_type="community", parent=dc),
        xc_village1=unit_create(code=f"{COUNTY_CODE}002001", name="西街社区", unit_type="community", parent=xc),
        xc_village2=unit_create(code=f"{COUNTY_CODE}002002", name="北街社区", unit_type="community", parent=xc),
        lh_village1=unit_create(code=f"{COUNTY_CODE}101201", name="龙河村", unit_type="village", parent=lh),
    )


def make_personas(county: County) -> Personas:
    def mk(username: str, role: str, unit: OrgUnit, name: str) -> User:
        return user_create(username=username, password=PASSWORD, role=role, unit=unit, full_name=name)

    return Personas(
        admin=mk("admin", Role.COUNTY_ADMIN, county.county, "县管理员"),
        statistician=mk("statistician", Role.STATISTICIAN, county.county, "县统计员"),
        dongcheng=mk("dongcheng", Role.TOWNSHIP_OFFICER, county.dongcheng, "东城专干"),
        xicheng=mk("xicheng", Role.TOWNSHIP_OFFICER, county.xicheng, "西城专干"),
        reporter=mk("reporter", Role.VILLAGE_REPORTER, county.dc_village1, "第一社区信息员"),
        viewer=mk("viewer", Role.AGGREGATE_VIEWER, county.county, "县领导"),
    )


_sequence = iter(range(1, 10**6))


def id_number_for(birth_date: date, sex: str, address: str = "500230") -> str:
    """A valid ID number for tests; each call gives a new sequence (odd for men, even for women)."""
    while True:
        seq = next(_sequence) % 999 + 1
        if (seq % 2 == 1) == (sex == "1"):
            return idnumbers.make(address, birth_date, seq)


def make_household(unit: OrgUnit, number: str, address: str = "测试路1号") -> Household:
    return Household.objects.create(number=number, address=address, unit=unit, registration_type="rural")


def make_person(
    unit: OrgUnit, *, name: str = "张三", sex: str = "1", birth_date: date = date(1990, 1, 1),
    household: Household | None = None, relation: str = "", marital_status: str = "10", id_number: str | None = "auto",
    mother: Person | None = None,
) -> Person:
    """A person written directly (tests that exercise the services call them instead)."""
    return Person.objects.create(
        name=name, sex=sex, birth_date=birth_date, registration_unit=unit, residence_unit=unit,
        household=household, relation_to_head=relation, marital_status=marital_status, mother=mother,
        id_number=id_number_for(birth_date, sex) if id_number == "auto" else id_number,
    )


def client_for(user: User | None = None, **kwargs):
    """A Django test client in English (assertions read English msgids), logged in as ``user`` if given."""
    from django.test import Client

    client = Client(headers={"accept-language": "en"}, **kwargs)
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def reference_data_restore() -> None:
    """Load again what the data migrations loaded (code lists, shipped data sets and rules, built-in indicators)
    where a transactional test's flush emptied it. Called at the start of every transactional test."""
    from django.apps import apps

    from renkou.aggregates.models import DataSet
    from renkou.registry.codes import codes_sync
    from renkou.registry.models import Code
    from renkou.stats.models import Indicator

    if not Code.objects.exists():
        codes_sync(Code)
    if not DataSet.objects.exists():
        from renkou.aggregates.seed import load

        load(apps)
    if not Indicator.objects.exists():
        from renkou.migrants.stats import INDICATORS as EXCHANGE_INDICATORS
        from renkou.stats.indicators import DEFAULT_INDICATORS

        for spec in (*DEFAULT_INDICATORS, *EXCHANGE_INDICATORS):
            Indicator.objects.update_or_create(code=spec["code"], defaults={**spec, "builtin": True})
