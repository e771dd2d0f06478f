"""The cube built from an engine result (pure): every value lands in its (element, COC) × (unit, period) cell."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.stats.cube import Cube

_cell = st.tuples(st.sampled_from(["POP_END", "BIRTHS", "LIVE_BIRTHS_MAGE1"]), st.sampled_from(["", "MALE", "A15"]),
                  st.sampled_from(["500230000000", "500230001000", "500230001001"]),
                  st.sampled_from(["2025", "FP2025", "202501"]))
_results = st.dictionaries(_cell, st.integers(min_value=1, max_value=10_000).map(lambda n: n / 2), max_size=40)


def _table(values: dict) -> pa.Table:
    cells = list(values)
    return pa.table({"data_element": [c[0] for c in cells], "coc": [c[1] for c in cells],
                     "org_unit": [c[2] for c in cells], "period": [c[3] for c in cells],
                     "value": pa.array(list(values.values()), pa.float64())})


@settings(max_examples=100, deadline=None)
@given(_results, st.lists(st.tuples(st.sampled_from(["500230000000", "500230001001", "500230009999"]),
                                    st.sampled_from(["2025", "202501", "2024"])), unique=True, max_size=6))
def test_every_value_lands_in_its_cell(values, asked):
    cube = Cube.from_arrow(_table(values))
    assert sorted(cube.rows) == sorted({(u, p) for _e, _c, u, p in values})
    assert sorted(cube.keys) == sorted({(e, c) for e, c, _u, _p in values})
    for (e, c, u, p), v in values.items():
        assert cube.value((e, c), u, p) == v

    # Straight onto the rows asked: in their order, zeros where the result has nothing, other rows left out.
    onto = Cube.from_arrow(_table(values), rows=asked)
    assert onto.rows == asked
    for key in onto.keys:
        assert list(onto.get(key)) == [values.get((*key, u, p), 0.0) for u, p in asked]
    assert sorted(onto.keys) == sorted(cube.keys)


def test_a_value_in_a_chunked_result_is_not_lost():
    a = _table({("POP_END", "", "500230000000", "2025"): 3.0})
    b = _table({("POP_END", "MALE", "500230001001", "2025"): 1.5, ("POP_END", "", "500230000000", "202501"): 2.0})
    cube = Cube.from_arrow(pa.concat_tables([a, b]), rows=[("500230000000", "2025"), ("500230000000", "202501")])
    assert cube.value(("POP_END", ""), "500230000000", "2025") == 3.0
    assert cube.value(("POP_END", ""), "500230000000", "202501") == 2.0
    assert list(cube.get(("POP_END", "MALE"))) == [0.0, 0.0]
