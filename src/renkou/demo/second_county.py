"""A second synthetic county for the two-county exchange demo (docs/exchange.md, "Two-county demo").

Each node keeps its own database. On the first county's node, ``partner_export`` lists whom the two counties
share (the first county's residents living in the partner county, and the partner's residents living in the
first) and ``first_county_seed`` records the first county's side (case records of the partner's people living
here, verification requests); on the second node (a fresh data folder), ``second_county_build`` writes the
partner county's units and register (its own residents, those of them who live in the first county, and the
first county's people who live here are *not* in it) and records its side. Both nodes then exchange for real
through NATS with ``renkou exchange run``. Every person is fictitious.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from renkou.migrants import services
from renkou.orgunits.services import unit_create
from renkou.registry import idnumbers
from renkou.registry.models import Person
from renkou.registry.selectors import MigrantFacts, persons_migrating

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
OCCUPATIONS = ("建筑工人", "制衣工", "快递员", "餐饮服务员", "个体经营", "电子厂工人", "保洁员", "司机")


def _row(f: MigrantFacts) -> dict[str, Any]:
    return {"name": f.name, "sex": f.sex, "birth_date": f.birth_date.isoformat(), "id_number": f.id_number,
            "marital_status": f.marital_status}


def partner_export(*, county_code: str, partner: str, limit: int = 300) -> dict[str, Any]:
    """Whom the two counties share. When the register has nobody with the partner's code, other migrants stand
    in (they "moved on" to the partner county: it is a demo)."""
    ours = (persons_migrating(county_code=county_code, status="out", other_county_code=partner, limit=limit)
            or persons_migrating(county_code=county_code, status="out", limit=limit))
    theirs = (persons_migrating(county_code=county_code, status="in", other_county_code=partner, limit=limit)
              or persons_migrating(county_code=county_code, status="in", limit=limit))
    return {"county": county_code, "partner": partner, "ours_living_there": [_row(f) for f in ours],
            "theirs_living_here": [_row(f) for f in theirs]}


def _seed_side(*, own: str, other: str, living_here: list[dict], registered_there: list[dict],
               rng: random.Random, role: str) -> dict[str, int]:
    """Record the migrants from ``other`` living here (case records out) and ask ``other`` about some of its
    residents; a few requests are about persons nobody registered (they wait in the partner's unmatched queue)."""
    today = timezone.localdate()
    counts = {"records": 0, "requests": 0, "birth_notices": 0}
    for p in living_here:
        services.migrant_record_create(county_code=own, by=None, submit=True, data=services.MigrantIn(
            direction="in", other_county_code=other, name=p["name"], sex=p["sex"],
            birth_date=date.fromisoformat(p["birth_date"]), id_number=p["id_number"],
            since=today - timedelta(days=rng.randint(30, 2000)), address_here=f"{rng.randint(1, 300)}号",
            occupation=rng.choice(OCCUPATIONS), marital_status=p["marital_status"] or "",
            contraception=rng.choice(["", "", "避孕套", "宫内节育器"]) if p["sex"] == "2" else ""))
        counts["records"] += 1
    asked = [p for p in living_here if rng.random() < 0.3]
    subjects = [services.RequestIn(p["name"], p["sex"], date.fromisoformat(p["birth_date"]), p["id_number"],
                                   pregnant=p["sex"] == "2" and rng.random() < 0.2) for p in asked]
    subjects += [services.RequestIn(f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}某", "2", date(1990, 1, 1) +
                                    timedelta(days=rng.randint(0, 3000))) for _ in range(3)]
    services.verify_requests_send(county_code=own, to_county=other, subjects=subjects,
                                  sender_role="destination", by=None)
    counts["requests"] = len(subjects)
    if role == "second":
        # births here to women registered in the first county
        for p in [p for p in living_here if p["sex"] == "2"][:5]:
            services.birth_notice_send(county_code=own, to_county=other, mother_name=p["name"],
                                       mother_birth_date=date.fromisoformat(p["birth_date"]),
                                       mother_id_number=p["id_number"], child_sex=rng.choice("12"),
                                       child_birth_date=today - timedelta(days=rng.randint(1, 25)), by=None)
            counts["birth_notices"] += 1
    return counts


def first_county_seed(*, export: dict[str, Any], seed: int = 1) -> dict[str, int]:
    return _seed_side(own=export["county"], other=export["partner"], living_here=export["theirs_living_here"],
                      registered_there=export["ours_living_there"], rng=random.Random(seed), role="first")


@transaction.atomic
def second_county_build(*, code: str, name: str, export: dict[str, Any], residents: int = 500,
                        seed: int = 1) -> dict[str, int]:
    """The partner county's units and register, then its side of the exchange (see the module docstring)."""
    if export["partner"] != code:
        raise ValueError(f"the export is for partner {export['partner']}, not {code}")
    rng = random.Random(seed)
    county = unit_create(code=f"{code}000000", name=name, unit_type="county", parent=None)
    villages = []
    for t in range(2):
        town = unit_create(code=f"{code}{101 + t:03d}000", name=f"{name[:2]}第{t + 1}镇", unit_type="town",
                           parent=county)
        villages += [unit_create(code=f"{code}{101 + t:03d}{201 + v:03d}", name=f"{name[:2]}{t + 1}-{v + 1}村",
                                 unit_type="village", parent=town) for v in range(3)]
    people = []
    taken = set()
    # Its residents living in the first county are on its register (registered here, living there).
    for p in export["theirs_living_here"]:
        number = p["id_number"] or None
        taken.add(number)
        people.append(Person(name=p["name"], sex=p["sex"], birth_date=date.fromisoformat(p["birth_date"]),
                             id_number=number, marital_status=p["marital_status"] or "10",
                             registration_unit=rng.choice(villages), residence_unit=None,
                             residence_status="out", other_county_code=export["county"]))
    for i in range(residents):
        sex = "1" if i % 2 else "2"
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 25000))
        number = idnumbers.make(code, born, 2 * rng.randint(1, 499) - (sex == "1"))
        if number in taken:
            continue
        taken.add(number)
        village = rng.choice(villages)
        people.append(Person(name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(GIVEN)}", sex=sex,
                             birth_date=born, id_number=number, marital_status=rng.choice(["10", "20", "20"]),
                             registration_unit=village, residence_unit=village))
    Person.objects.bulk_create(people, batch_size=1000)
    counts = _seed_side(own=code, other=export["county"], living_here=export["ours_living_there"],
                        registered_there=export["theirs_living_here"], rng=rng, role="second")
    counts["persons"] = len(people)
    return counts
