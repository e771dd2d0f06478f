"""A small register with known duplicates, written in bulk (a scan needs a few hundred persons to train on).
Used by the module's tests (conftest.py) and by the browser test."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from renkou.registry import idnumbers
from renkou.registry.models import Person

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅兰玉珍"


@dataclass
class Register:
    persons: list[Person]
    # (original, duplicate) pairs injected, in the ids of the database
    truth: list[tuple[int, int]]
    # the duplicates by kind, for the tests that look at one
    by_kind: dict[str, tuple[int, int]]


def _person(rng: random.Random, unit, seq: int) -> Person:
    sex = rng.choice("12")
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000))
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    number = idnumbers.make("500230", born, 2 * (seq % 490) + (1 if sex == "1" else 2))
    return Person(name=name, sex=sex, birth_date=born, id_number=number, registration_unit=unit,
                  residence_unit=unit)


def build_register(county, n: int = 400, seed: int = 3) -> Register:
    rng = random.Random(seed)
    units = [county.dc_village1, county.dc_village2, county.xc_village1, county.lh_village1]
    people = [_person(rng, units[i % len(units)], i) for i in range(n)]
    Person.objects.bulk_create(people)
    originals = Person.objects.order_by("pk")
    ids = list(originals.values_list("pk", flat=True))
    by_kind: dict[str, tuple[int, int]] = {}
    dups: list[tuple[int, Person]] = []
    # Every sixth of the first persons living in 东城 is registered twice, with one or two realistic errors.
    kinds = ["fifteen_digits", "missing_id", "name_changed", "date_swapped", "mistyped_id", "exact_copy_no_id"]
    dongcheng = [p for p in originals if p.residence_unit_id in (county.dc_village1.pk, county.dc_village2.pk)]
    for i, orig in enumerate(dongcheng[:36]):
        kind = kinds[i % len(kinds)]
        name, born, number = orig.name, orig.birth_date, orig.id_number
        if kind == "fifteen_digits" and born.year < 2000:
            number = number[:6] + number[8:17]
        elif kind == "fifteen_digits":
            number = None
        elif kind in {"missing_id", "exact_copy_no_id"}:
            number = None
        elif kind == "name_changed":
            name = name[:-1] + ("玮" if name[-1] != "玮" else "炜")
            number = None
        elif kind == "date_swapped":
            y = f"{born.year}"
            if y[2] != y[3]:  # 1978 written 1987
                born = born.replace(year=int(y[:2] + y[3] + y[2]))
            elif born.day <= 12 and born.day != born.month:
                born = born.replace(month=born.day, day=born.month)
            else:
                born = born + timedelta(days=1 if born.day < 28 else -1)
            number = number[:6] + number[8:17] if born.year < 2000 else None
        elif kind == "mistyped_id":
            d = str((int(number[15]) + 3) % 10)
            number = number[:15] + d + number[16:]
        dups.append((orig.pk, Person(name=name, sex=orig.sex, birth_date=born, id_number=number,
                                     registration_unit=orig.registration_unit, residence_unit=orig.residence_unit)))
        by_kind.setdefault(kind, (orig.pk, -1))
    created = Person.objects.bulk_create([p for _, p in dups])
    if created and created[0].pk is None:  # backends that do not return ids
        created = list(Person.objects.filter(pk__gt=ids[-1]).order_by("pk"))
    truth = [(o, p.pk) for (o, _), p in zip(dups, created, strict=True)]
    for kind in list(by_kind):
        o = by_kind[kind][0]
        by_kind[kind] = next((a, b) for a, b in truth if a == o)
    return Register(persons=people, truth=truth, by_kind=by_kind)
