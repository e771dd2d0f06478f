"""The demo county's unit tree and migration counties (pure data)."""

from __future__ import annotations

from renkou.demo import county
from renkou.registry import idnumbers


def test_the_tree_has_24_townships_and_300_villages_with_valid_codes():
    spec = county.county_spec()
    townships = [u for u in spec.units if u.level == 2]
    villages = [u for u in spec.units if u.level == 3]
    assert len(townships) == 24
    assert len(villages) == 300 == spec.n_villages
    assert len({u.code for u in spec.units}) == len(spec.units)
    for u in spec.units:
        assert len(u.code) == 12 and u.code.isdigit() and u.code.startswith(county.COUNTY_CODE)
        if u.parent >= 0:
            parent = spec.units[u.parent]
            assert parent.level == u.level - 1
            assert u.code[: 3 * u.level] == parent.code[: 3 * u.level]
    for t in townships:
        digits = int(t.code[6:9])
        assert {"subdistrict": 1 <= digits <= 99, "town": 100 <= digits <= 199,
                "township": 200 <= digits <= 399}[t.unit_type]
        assert t.code.endswith("000")
    for v in villages:
        assert (v.unit_type == "community") == (int(v.code[9:]) < 200)
        assert spec.units[v.parent].unit_type != "subdistrict" or v.unit_type == "community"


def test_dongcheng_and_xicheng_are_001_and_002():
    names = {u.code[6:9]: u.name for u in county.county_spec().units if u.level == 2}
    assert names["001"] == "东城街道"
    assert names["002"] == "西城街道"


def test_village_weights_are_shares():
    spec = county.county_spec()
    assert abs(spec.village_weight.sum() - 1) < 1e-9
    assert (spec.village_weight > 0).all()


def test_every_address_code_is_known_to_python_stdnum():
    for code in county.ADDRESS_CODES:
        assert idnumbers.address_code_known(code), code
    assert county.ADDRESS_CODES[0] == county.COUNTY_CODE
    assert county.COUNTY_CODE not in {c for c, _n, _w in county.ORIGINS}
