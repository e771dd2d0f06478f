"""The scan engine on a small register with known duplicates (no Django views; the register is read as Arrow)."""

import pyarrow as pa
import pytest
from pypinyin import lazy_pinyin

from renkou.dedup import engine
from renkou.registry.models import Person
from renkou.registry.selectors_linkage import persons_for_linkage

pytestmark = pytest.mark.django_db


def test_the_scan_finds_the_injected_duplicates_and_explains_each_field(register):
    result = engine.find_pairs(persons_for_linkage(), threshold=0.5)
    rows = {(r["id_a"], r["id_b"]): r for r in result.pairs.to_pylist()}
    found = {key for key, r in rows.items() if r["score"] >= 0.8}
    truth = {tuple(sorted(p)) for p in register.truth}
    recall = len(found & truth) / len(truth)
    precision = len(found & truth) / max(len(found), 1)
    assert recall >= 0.9, (recall, truth - found)
    assert precision >= 0.9, (precision, found - truth)
    assert result.persons == len(register.persons) + len(register.truth)
    assert {"name", "birth_date", "id_number", "prior"} <= set(result.model)

    def explained(kind):
        a, b = register.by_kind[kind]
        return engine.explain(rows[(min(a, b), max(a, b))])

    # a 15-digit and an 18-digit form of one number agree exactly
    e = explained("fifteen_digits")
    assert e["id_number"]["level"] in {"exact", "one_missing"} and e["name"]["level"] == "exact"
    e = explained("name_changed")
    a, b = register.by_kind["name_changed"]
    names = dict(Person.objects.filter(pk__in=(a, b)).values_list("pk", "name"))
    same_sound = lazy_pinyin(names[a]) == lazy_pinyin(names[b])
    assert e["name"]["level"] == ("sounds_alike" if same_sound else "one_character") and e["name"]["agree"] == "close"
    assert e["birth_date"]["level"] == "exact" and e["id_number"]["level"] == "one_missing"
    assert e["name"]["weight"] > 0 and e["birth_date"]["weight"] > e["name"]["weight"]
    assert explained("mistyped_id")["id_number"]["level"] == "one_digit"
    assert explained("date_swapped")["birth_date"]["agree"] == "close"
    assert explained("exact_copy_no_id")["unit"]["level"] == "same_village"


def test_check_characters_and_the_15_digit_conversion_in_sql():
    import duckdb

    con = duckdb.connect()
    table = pa.table({"id": [1, 2, 3, 4], "name": ["王伟"] * 4, "sex": ["1"] * 4,
                      "birth_date": ["1949-12-31"] * 4,
                      "id_number": ["11010519491231002X", "11010519491231002Y", "110105491231002", None],
                      "unit_code": ["500230001001"] * 4})
    con.register("persons_input", engine.with_pinyin(table))
    con.execute(engine.PREPARE_SQL)
    rows = con.execute("SELECT id17, id_checks FROM persons_prepared ORDER BY unique_id").fetchall()
    assert rows == [("11010519491231002", True), ("11010519491231002", False), ("11010519491231002", True),
                    (None, None)]


def test_fewer_than_two_persons_give_no_pairs():
    table = pa.table({"id": pa.array([1], pa.int64()), "name": ["王伟"], "sex": ["1"], "birth_date": ["1990-01-01"],
                      "id_number": [None], "unit_code": ["500230001001"]})
    assert engine.find_pairs(table).pairs.num_rows == 0


def test_a_register_too_small_to_train_is_scanned_with_the_starting_values():
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["王伟", "王伟", "李娜"], "sex": ["1", "1", "2"],
                      "birth_date": ["1990-01-01", "1990-01-01", "1985-05-05"],
                      "id_number": [None, "11010519900101001X", None], "unit_code": ["500230001001"] * 3})
    result = engine.find_pairs(table, threshold=0.001)
    assert result.model["trained"] == ["u"]  # no step with too few pairs ran (Splink would fail)
    assert result.model["prior"] == pytest.approx(0.01)
    rows = result.pairs.to_pylist()
    assert [(r["id_a"], r["id_b"]) for r in rows] == [(1, 2)]
    assert engine.explain(rows[0])["id_number"]["level"] == "one_missing"


def test_names_are_written_in_toneless_pinyin_once_per_distinct_name():
    table = pa.table({"id": [1, 2, 3, 4, 5], "name": ["王丽", "王莉", " 欧阳华 ", None, "王丽"]})
    spoken = engine.with_pinyin(table).column("name_pinyin").to_pylist()
    assert spoken == ["wang li", "wang li", "ou yang hua", None, "wang li"]


def test_a_name_that_sounds_the_same_weighs_more_than_another_changed_character():
    # Four hundred persons and twenty second records: ten with a homophone (丽 → 莉), ten with an unrelated
    # character (丽 → 强), each without an ID number, the same birth date and village.
    import datetime

    rows = []
    for i in range(400):
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=37 * i)
        rows.append((i + 1, "王张李赵刘陈杨黄"[i % 8] + "丽明华军"[(i // 8) % 4] + "芳静敏"[i % 3], born))
    extra = []
    for k, (_pk, name, born) in enumerate(rows[:20]):
        changed = name[:1] + ("莉" if k < 10 else "强") + name[2:] if name[1] == "丽" else name[:-1] + (
            {"芳": "方", "静": "靖", "敏": "珉"}[name[-1]] if k < 10 else "强")
        extra.append((1000 + k, changed, born))
    every = rows + extra
    table = pa.table({"id": [r[0] for r in every], "name": [r[1] for r in every], "sex": ["2"] * len(every),
                      "birth_date": [r[2].isoformat() for r in every], "id_number": [None] * len(every),
                      "unit_code": ["500230001001"] * len(every)})
    result = engine.find_pairs(table, threshold=0.01)
    levels = {}
    for r in result.pairs.to_pylist():
        if r["id_b"] >= 1000:
            levels[r["id_b"] - 1000] = engine.explain(r)["name"]
    assert {levels[k]["level"] for k in range(10)} == {"sounds_alike"}
    assert {levels[k]["level"] for k in range(10, 20) if k in levels} <= {"one_character"}
    alike = min(levels[k]["weight"] for k in range(10))
    other = max((levels[k]["weight"] for k in range(10, 20) if k in levels), default=-99)
    assert alike > other
