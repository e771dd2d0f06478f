"""renkou demo --duplicates: second registrations of living persons, with the errors villages make (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from renkou.demo import duplicates, register
from renkou.demo import simulate as sim
from renkou.registry import idnumbers


@pytest.fixture(scope="module")
def built():
    world = sim.simulate(sim.Params(persons=3000, seed=5, first_year=2020, last_year=2024))
    return world


def _fresh(world):
    return register.build(world, seed=5)


def test_rate_zero_changes_nothing(built):
    reg = _fresh(built)
    before = {k: v.copy() for k, v in reg.persons.items()}
    facts = duplicates.inject(reg, rate=0.0, seed=5)
    assert facts["persons"] == 0 and facts["pairs"] == []
    assert all(np.array_equal(before[k], reg.persons[k]) for k in before)


def test_second_records_are_appended_with_realistic_errors(built):
    reg = _fresh(built)
    n = len(reg.persons["name"])
    before = {k: v.copy() for k, v in reg.persons.items()}
    facts = duplicates.inject(reg, rate=0.05, seed=5)
    p = reg.persons
    k = facts["persons"]
    assert k == round(0.05 * n) and len(p["name"]) == n + k
    # the original rows are untouched; every table column grew by the same rows
    assert all(np.array_equal(before[c], p[c][:n]) for c in before)
    register.validate(reg)
    numbers = [x for x in p["id_number"].tolist() if x]
    assert len(numbers) == len(set(numbers))  # the register's ID numbers stay unique
    kinds = facts["kinds"]
    assert kinds["id_number_15_digits"] > 0 and kinds["id_number_missing"] > 0 and kinds["id_number_mistyped"] > 0
    assert kinds.get("name_homophone", 0) + kinds.get("name_character", 0) > 0
    for original, dup in facts["pairs"]:
        assert dup >= n and original < n
        assert p["death_date"][original] >= sim.NO_DATE  # living persons only
        assert p["sex"][dup] == p["sex"][original] and p["household"][dup] == -1 and p["mother"][dup] == -1
        o_name, d_name = str(p["name"][original]), str(p["name"][dup])
        assert o_name[0] == d_name[0] and sum(a != b for a, b in zip(o_name, d_name, strict=False)) <= 1
        number = str(p["id_number"][dup])
        if len(number) == 15:  # the legacy form of the same number
            assert idnumbers.normalize(number)[:17] == str(p["id_number"][original])[:17]
        elif number:
            assert number != str(p["id_number"][original])
        birth = np.datetime64(int(p["birth_date"][dup]), "D").astype(str)
        original_birth = np.datetime64(int(p["birth_date"][original]), "D").astype(str)
        assert sorted(birth.replace("-", "")) == sorted(original_birth.replace("-", ""))
