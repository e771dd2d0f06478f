"""Finding persons registered twice: a Splink (Fellegi–Sunter) model on DuckDB, trained on the register itself.

Pure data in, pairs out: ``find_pairs`` takes an Arrow table of persons (one row each: id, name, sex, birth_date,
id_number, unit_code) and returns the scored pairs with, for each field, the comparison level reached and its
match weight. No Django here; dedup/services.py reads the register and stores the pairs.

Choices (see docs/dedup.md):

* ID numbers are compared on their first 17 characters in the 18-digit form: a legacy 15-digit number is
  converted (address + "19" + YYMMDD + sequence), so both forms of one number agree exactly; the check character
  is left out because real cards carry wrong ones.
* Names are compared on Unicode code points (a changed character is a Levenshtein distance of 1) and on their
  sound: two names whose pinyin (without tones, pypinyin's first reading of each character) is the same — 王丽 and
  王莉, a clerk writing down a spoken name — reach a level of their own above any other changed character. The
  surname is the first character (compound surnames are rare and only make the blocking a little coarser).
* Birth dates: exact, one typing slip (two adjacent digits swapped or one digit wrong: Damerau–Levenshtein 1),
  day and month transposed, the same digits in another order, the same year.
* Candidate pairs come from several blocking rules (the same ID number; the same surname and birth date; the same
  name and birth year; the same surname, sex and digits of the birth date in any order) so that one error in one
  field never hides a pair.
* Training: u probabilities from random pairs of the register; the prior from the pairs with the same ID number;
  m probabilities by expectation maximisation on two blockings that each leave the other fields free.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# Comparison output columns, in the order they are shown.
FIELDS = ("name", "birth_date", "id_number", "sex", "unit")

# Level labels (English msgids are in dedup/labels.py for the interface; these keys are stable).
LEVELS: dict[str, list[str]] = {
    "name": ["missing", "exact", "sounds_alike", "one_character", "different"],
    "birth_date": ["missing", "exact", "one_slip", "day_month_swapped", "same_digits", "same_year", "different"],
    "id_number": ["missing", "exact", "one_digit", "one_missing", "different"],
    "sex": ["missing", "exact", "different"],
    "unit": ["missing", "same_village", "same_township", "different"],
}
# Agreement shown to the officer for each level (exact / close / differ / missing).
AGREEMENT = {
    "missing": "missing", "exact": "exact", "same_village": "exact", "sounds_alike": "close", "one_character": "close",
    "one_slip": "close", "day_month_swapped": "close", "same_digits": "close",
    "same_year": "differ", "one_digit": "close", "one_missing": "missing", "same_township": "close", "different": "differ",
}

PREPARE_SQL = """
CREATE OR REPLACE TABLE persons_prepared AS
SELECT
    id AS unique_id,
    nullif(trim(name), '') AS name,
    nullif(name_pinyin, '') AS name_py,
    nullif(substr(trim(name), 1, 1), '') AS surname,
    sex,
    strftime(CAST(birth_date AS DATE), '%Y%m%d') AS dob,
    year(CAST(birth_date AS DATE)) AS byear,
    month(CAST(birth_date AS DATE)) AS bmonth,
    day(CAST(birth_date AS DATE)) AS bday,
    array_to_string(list_sort(string_split(strftime(CAST(birth_date AS DATE), '%Y%m%d'), '')), '') AS dob_digits,
    CASE
        WHEN length(id_number) = 18 THEN upper(substr(id_number, 1, 17))
        WHEN length(id_number) = 15 THEN substr(id_number, 1, 6) || '19' || substr(id_number, 7, 9)
    END AS id17,
    -- GB 11643 check character (ISO 7064 MOD 11-2); a 15-digit number has none and counts as well-formed.
    CASE
        WHEN length(id_number) = 18 AND regexp_full_match(substr(id_number, 1, 17), '[0-9]{17}') THEN
            substr('10X98765432', CAST(1 + list_sum(list_transform(range(17), lambda i:
                CAST(substr(id_number, i + 1, 1) AS INTEGER) * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i + 1]
            )) % 11 AS BIGINT), 1) = upper(substr(id_number, 18, 1))
        ELSE length(id_number) = 15
    END AS id_checks,
    nullif(unit_code, '') AS unit_code,
    substr(nullif(unit_code, ''), 1, 9) AS township
FROM persons_input
"""


def _settings() -> dict[str, Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            # A rare name agreeing says more than 王伟 agreeing: weighted by the name's frequency in the register.
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.CustomLevel("name_py_l = name_py_r", "sounds_alike"),
            cll.CustomLevel("levenshtein(name_l, name_r) <= 1", "one_character"),
            cll.ElseLevel(),
        ],
    )
    birth_date = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel("damerau_levenshtein(dob_l, dob_r) <= 1", "one_slip"),
            cll.CustomLevel("byear_l = byear_r AND bmonth_l = bday_r AND bday_l = bmonth_r", "day_month_swapped"),
            cll.CustomLevel("dob_digits_l = dob_digits_r", "same_digits"),
            cll.CustomLevel("byear_l = byear_r", "same_year"),
            cll.ElseLevel(),
        ],
    )
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.CustomLevel("id17_l IS NULL AND id17_r IS NULL", "missing").configure(is_null_level=True),
            cll.ExactMatchLevel("id17"),
            # A mistyped number: one digit off and its check character wrong. Two well-formed numbers that differ
            # belong to two people (two born on one day at one place differ only in the sequence digits). The
            # birth date inside the number is left out (it is compared as the birth date).
            cll.CustomLevel("(NOT id_checks_l OR NOT id_checks_r) AND "
                            "levenshtein(substr(id17_l, 1, 6) || substr(id17_l, 15, 3), "
                            "substr(id17_r, 1, 6) || substr(id17_r, 15, 3)) <= 1", "one_digit"),
            # ID numbers are unique in the register, so a second registration exists only without the number (or
            # in another form): one record without a number is evidence in itself, not a gap.
            cll.CustomLevel("id17_l IS NULL OR id17_r IS NULL", "one_missing"),
            # Two well-formed numbers that differ: fixed rather than trained, because expectation maximisation
            # over same-surname same-day pairs (twins, namesakes) gives it weight it does not have.
            cll.ElseLevel().configure(m_probability=0.002, fix_m_probability=True),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            cll.CustomLevel("sex_l IS NULL OR sex_r IS NULL OR sex_l NOT IN ('1', '2') OR sex_r NOT IN ('1', '2')",
                            "missing").configure(is_null_level=True),
            cll.ExactMatchLevel("sex"),
            cll.ElseLevel(),
        ],
    )
    unit = cl.CustomComparison(
        output_column_name="unit",
        comparison_levels=[
            cll.NullLevel("unit_code"),
            cll.ExactMatchLevel("unit_code"),
            cll.CustomLevel("township_l = township_r", "same_township"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[name, birth_date, id_number, sex, unit],
        blocking_rules_to_generate_predictions=[
            block_on("id17"),
            block_on("surname", "dob"),
            block_on("name", "byear"),
            block_on("surname", "sex", "dob_digits"),
        ],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )


@dataclass
class Result:
    pairs: pa.Table  # id_a < id_b, score, match_weight, gamma_<field>, mw_<field>
    model: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    persons: int = 0


def _model_summary(linker) -> dict[str, Any]:
    out: dict[str, Any] = {"prior": linker._settings_obj._probability_two_random_records_match}
    for comparison in linker._settings_obj.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            levels.append({"level": level.label_for_charts, "m": level.m_probability, "u": level.u_probability})
        out[comparison.output_column_name] = levels
    return out


# Fewest candidate pairs for a training step to run (a village or a test register may have none).
MIN_TRAINING_PAIRS = 5


def _pairs_sharing(con, columns: tuple[str, ...]) -> int:
    keys = ", ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    sql = f"SELECT coalesce(sum(k * (k - 1) // 2), 0) FROM (SELECT count(*) AS k FROM persons_prepared WHERE {not_null} GROUP BY {keys})"  # noqa: S608, E501 - column names of this module
    return int(con.execute(sql).fetchall()[0][0])


def _train(linker, con, *, n: int, seed: int, u_pairs: float) -> list[str]:
    """Train the model on the register; returns the steps that ran.

    A small register (a village, a test) may have too few pairs for a training step: the step is skipped (Splink
    would fail, and leave its settings half changed) and the levels keep their starting values; the prior then
    falls back to one duplicate per fifty persons."""
    from splink import block_on

    done = []
    settings = linker._settings_obj
    same_id = _pairs_sharing(con, ("id17",))
    if same_id >= MIN_TRAINING_PAIRS:
        # The prior: pairs with the same ID number are duplicates, and about half of the duplicates share one.
        linker.training.estimate_probability_two_random_records_match([block_on("id17")], recall=0.5)
        done.append("prior")
    if "prior" not in done or not 0 < settings._probability_two_random_records_match < 1:
        settings._probability_two_random_records_match = min(0.5, 0.02 / max(n - 1, 1))
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    done.append("u")
    if _pairs_sharing(con, ("surname", "dob")) >= MIN_TRAINING_PAIRS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname", "dob"))
        done.append("em_surname_birth_date")
    if same_id >= MIN_TRAINING_PAIRS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("id17"))
        done.append("em_id_number")
    return done


def with_pinyin(persons: pa.Table) -> pa.Table:
    """``persons`` with a column ``name_pinyin``: each name's characters in toneless pinyin, space-separated.

    Computed once per distinct name through a per-character table (a county has a few hundred thousand distinct
    names and a few thousand distinct characters), then spread back over the rows with Arrow."""
    from pypinyin import lazy_pinyin

    names = persons.column("name").combine_chunks()
    distinct = pc.unique(names)
    values = [v for v in distinct.to_pylist() if v]
    sound = {ord(c): lazy_pinyin(c)[0] + " " for c in set("".join(values))}
    spoken = pa.array([None if not v else v.strip().translate(sound).strip() for v in distinct.to_pylist()],
                      pa.string())
    return persons.append_column("name_pinyin", pc.take(spoken, pc.index_in(names, distinct)))


def find_pairs(persons: pa.Table, *, threshold: float = 0.5, seed: int = 1, u_pairs: float = 2e6,
               threads: int | None = None) -> Result:
    """Score the likely duplicate pairs among ``persons`` (match probability ≥ ``threshold``)."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    from splink import DuckDBAPI, Linker

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.register("persons_input", with_pinyin(persons))
    con.execute(PREPARE_SQL)
    con.unregister("persons_input")
    n = con.execute("SELECT count(*) FROM persons_prepared").fetchall()[0][0]
    seconds["prepare"] = time.perf_counter() - t
    empty = pa.table({"id_a": pa.array([], pa.int64()), "id_b": pa.array([], pa.int64()),
                      "score": pa.array([], pa.float64()), "match_weight": pa.array([], pa.float64())})
    if n < 2:
        return Result(pairs=empty, model={}, seconds=seconds, persons=n)

    t = time.perf_counter()
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("persons_prepared"), _settings(), log_level=None)
    trained = _train(linker, con, n=n, seed=seed, u_pairs=u_pairs)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    gammas = ", ".join(f"gamma_{f}, mw_{f}" for f in FIELDS)
    sql = f"""
        SELECT least(unique_id_l, unique_id_r) AS id_a, greatest(unique_id_l, unique_id_r) AS id_b,
               match_probability AS score, match_weight, {gammas}
        FROM {predictions.physical_name}
        ORDER BY id_a, id_b
    """  # noqa: S608 - names from Splink and this module
    pairs = con.sql(sql).to_arrow_table()
    seconds["predict"] = time.perf_counter() - t
    model = {**_model_summary(linker), "trained": trained}
    con.close()
    return Result(pairs=pairs, model=model, seconds=seconds, persons=n)


def explain(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The explanation stored with a pair: for each field the level reached, whether it agrees, its weight."""
    out = {}
    for f in FIELDS:
        labels = LEVELS[f]
        gamma = row.get(f"gamma_{f}")
        # Splink numbers the levels from the most specific down: the highest gamma is the first non-null level;
        # -1 is the null level.
        if gamma is None or gamma < 0:
            level = "missing"
        else:
            non_null = labels[1:]
            level = non_null[len(non_null) - 1 - int(gamma)]
        weight = row.get(f"mw_{f}")
        out[f] = {"level": level, "agree": AGREEMENT[level],
                  "weight": None if weight is None else round(float(weight), 2)}
    return out
