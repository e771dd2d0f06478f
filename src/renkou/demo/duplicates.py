"""Persons registered twice, injected into the synthetic county (``renkou demo --duplicates RATE``).

A second record of a living person, as villages produce them: written by another hand from another document,
so the name may have one character changed (a slip, or a character that sounds alike), the birth date two digits
swapped or day and month transposed, and the ID number in the legacy 15-digit form, mistyped, or missing (the
register's ID numbers are unique, so a second record never carries exactly the same number). The record is bare:
no household, no parents, no events — those stayed on the first record. Pure numpy and Python, no database; the
true pairs go into truth.json so that the duplicate scan's precision and recall can be measured.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from renkou.demo import county as cty
from renkou.demo import simulate as sim
from renkou.demo.register import Register

# Characters that sound alike (同音/近音字), as a clerk writing down a spoken name confuses them.
HOMOPHONES = [
    "明铭鸣", "丽莉利俐", "华化花", "伟玮炜", "军君钧", "建健剑", "芳方", "红宏洪鸿", "英鹰莺", "静靖婧",
    "敏珉", "燕艳雁", "玲琳菱", "婷亭", "杰洁捷", "涛滔", "斌彬", "峰锋枫", "强蔷", "亮靓", "平萍苹", "云芸",
    "林琳霖", "国帼", "文雯", "春椿", "清青晴", "海凯", "志智", "梅玫枚", "兰岚", "秀绣", "珍真", "玉钰",
    "凤峰", "琴勤芹", "霞侠", "萍平", "娟鹃", "欣鑫馨", "怡宜仪", "涵晗含", "宇雨语羽", "轩萱", "浩昊皓",
    "子紫梓", "思斯", "佳嘉家", "瑶遥", "雪学", "晨辰", "睿瑞锐", "博波", "俊骏峻", "鹏朋", "辉晖", "超潮",
    "东冬", "兴星", "福富", "荣容蓉", "德得", "成诚程", "永勇", "才财", "昌常", "顺舜", "贵桂", "山珊",
]
_SOUNDS_LIKE = {ch: group.replace(ch, "") for group in HOMOPHONES for ch in group}
# Characters a slip may turn a given-name character into (any common one).
_ANY_GIVEN = "".join(sorted(set("".join(HOMOPHONES))))


def _day_to_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day))


def _date_to_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _changed_name(rng: np.random.Generator, name: str) -> tuple[str, str]:
    given = name[1:]
    if not given:
        return name, "same"
    pos = 1 + int(rng.integers(0, len(given)))
    ch = name[pos]
    alike = _SOUNDS_LIKE.get(ch, "")
    if alike and rng.random() < 0.6:
        new = alike[int(rng.integers(0, len(alike)))]
        kind = "homophone"
    else:
        new = ch
        while new == ch:
            new = _ANY_GIVEN[int(rng.integers(0, len(_ANY_GIVEN)))]
        kind = "character"
    return name[:pos] + new + name[pos + 1:], kind


def _changed_date(rng: np.random.Generator, day: int) -> tuple[int, str]:
    d = _day_to_date(day)
    if d.day <= 12 and d.day != d.month and rng.random() < 0.5:
        return _date_to_day(d.replace(month=d.day, day=d.month)), "day_month_swapped"
    digits = list(d.strftime("%Y%m%d"))
    for _ in range(10):
        i = int(rng.integers(2, 7))  # swap two adjacent digits of YY MM DD
        swapped = digits.copy()
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        text = "".join(swapped)
        if text == "".join(digits):
            continue
        try:
            new = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            continue
        if new < date(1900, 1, 1) or new > date.today():  # noqa: DTZ011 - a date typed by a clerk
            continue
        return _date_to_day(new), "digits_swapped"
    return day, "same"


def inject(reg: Register, *, rate: float, seed: int) -> dict:
    """Append ``rate`` × persons second records to ``reg.persons``; returns the truth about them.

    ``pairs`` are (original, duplicate) indexes into the person table (turned into database ids after writing).
    """
    persons = reg.persons
    n = len(persons["name"])
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7])))
    alive = persons["death_date"] >= sim.NO_DATE
    with_unit = (persons["residence_unit"] >= 0) | (persons["registration_unit"] >= 0)
    candidates = np.flatnonzero(alive & with_unit)
    k = min(int(round(rate * n)), len(candidates))
    if k <= 0:
        return {"rate": rate, "persons": 0, "pairs": [], "kinds": {}}
    originals = np.sort(rng.choice(candidates, size=k, replace=False))
    units = reg.units
    villages_of_township: dict[int, list[int]] = {}
    for i, u in enumerate(units):
        if u.level == 3:
            villages_of_township.setdefault(u.parent, []).append(i)
    taken = set(persons["id_number"].tolist())
    rows: dict[str, list] = {key: [] for key in persons}
    kinds: dict[str, int] = {}

    def count(kind: str) -> None:
        kinds[kind] = kinds.get(kind, 0) + 1

    for o in originals.tolist():
        name, bday, number = str(persons["name"][o]), int(persons["birth_date"][o]), str(persons["id_number"][o])
        r = rng.random()
        if r < 0.30:
            name, kind = _changed_name(rng, name)
            count(f"name_{kind}")
        if rng.random() < 0.25:
            bday, kind = _changed_date(rng, bday)
            count(f"birth_date_{kind}")
        new_number = ""
        if number:
            r = rng.random()
            if r < 0.35 and number[6:8] == "19":
                new_number = number[:6] + number[8:17]  # the legacy 15-digit form of the same number
                count("id_number_15_digits")
            elif r < 0.55:
                pos = int(rng.integers(6, 17))
                digit = str((int(number[pos]) + int(rng.integers(1, 10))) % 10)
                new_number = number[:pos] + digit + number[pos + 1:]
                count("id_number_mistyped")
            else:
                count("id_number_missing")
            if new_number in taken:
                new_number = ""
        taken.add(new_number)
        unit = persons["residence_unit"][o] if persons["residence_unit"][o] >= 0 else persons["registration_unit"][o]
        if rng.random() < 0.25:
            siblings = villages_of_township.get(units[int(unit)].parent, [int(unit)])
            unit = siblings[int(rng.integers(0, len(siblings)))]
            count("other_village")
        values = {
            "id_number": new_number, "name": name, "sex": persons["sex"][o], "birth_date": bday,
            "ethnicity": persons["ethnicity"][o],
            "education": persons["education"][o] if rng.random() < 0.5 else "",
            "marital_status": persons["marital_status"][o], "registration_type": persons["registration_type"][o],
            "household": -1, "relation_to_head": "", "registration_unit": unit, "residence_unit": unit,
            "residence_status": "resident", "other_county_code": "", "mother": -1, "father": -1,
            "death_date": persons["death_date"][o],
        }
        for key in rows:
            rows[key].append(values[key])
    for key, values in rows.items():
        persons[key] = np.concatenate([persons[key], np.array(values, dtype=persons[key].dtype)])
    pairs = [[int(o), n + i] for i, o in enumerate(originals.tolist())]
    return {"rate": rate, "persons": k, "pairs": pairs, "kinds": dict(sorted(kinds.items())),
            "county_code": cty.COUNTY_CODE}
