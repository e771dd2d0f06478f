"""Resident ID numbers: normalising, checking, generating and masking (pure functions, no database)."""

from datetime import date, datetime

import numpy as np
import pytest
from django.utils import translation
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import ric

from renkou.registry import idnumbers
from renkou.registry.idnumbers import (
    IdIssue,
    IdNumberCheck,
    IdNumberError,
    address_code_known,
    birth_date_from_number,
    check,
    check_char,
    known_address_codes,
    make,
    make_many,
    mask,
    normalize,
    sex_from_number,
)

TODAY = date(2025, 6, 1)
FEMALE_1949 = "11010519491231002X"  # DOMAIN.md example: Beijing Chaoyang, 1949-12-31, sequence 002
MALE_1880 = "440524188001010014"  # DOMAIN.md example: 1880-01-01, sequence 001


@pytest.fixture(autouse=True)
def _english():
    """Messages are English msgids; the project's default language may be Chinese."""
    with translation.override("en"):
        yield


def codes(result: IdNumberCheck) -> tuple[str, ...]:
    return tuple(i.code for i in result.errors) + tuple(i.code for i in result.warnings)


def messages(result: IdNumberCheck) -> str:
    return " | ".join(str(i.message) for i in result.errors + result.warnings)


# ---------------------------------------------------------------- strategies

KNOWN_CODES = sorted(known_address_codes())
known_codes = st.sampled_from(KNOWN_CODES)
birth_dates = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=1, max_value=999)


@st.composite
def valid_numbers(draw):
    return make(draw(known_codes), draw(birth_dates), draw(sequences))


# ---------------------------------------------------------------- the DOMAIN examples


@pytest.mark.parametrize(
    ("number", "birth", "sex", "address"),
    [
        (FEMALE_1949, date(1949, 12, 31), "2", "110105"),
        (MALE_1880, date(1880, 1, 1), "1", "440524"),
    ],
)
def test_domain_examples_are_valid_without_warnings(number, birth, sex, address):
    result = check(number, today=TODAY)
    assert result == IdNumberCheck(number, birth, sex, address, (), ())
    assert result.ok
    assert ric.calc_check_digit(number) == number[-1]  # python-stdnum agrees on the check character


def test_python_stdnum_rejects_a_domain_example_that_the_register_accepts():
    # stdnum lists 440524 (Chaoyang county) for 1983-1993 only and rejects other birth years;
    # the register does not compare the birth year with the years of the address code.
    assert ric.is_valid(FEMALE_1949)
    assert not ric.is_valid(MALE_1880)
    assert check(MALE_1880, today=TODAY).ok


def test_birth_year_1880_is_allowed_but_1879_is_an_error():
    assert check(make("440524", date(1880, 1, 1), 1), today=TODAY).ok
    too_early = make("440524", date(1879, 12, 31), 1)
    assert too_early == "440524187912310013"
    result = check(too_early, today=TODAY)
    assert codes(result) == ("id_number.birth_date",)
    assert "1879-12-31" in messages(result) and "1880" in messages(result)


# ---------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002X",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２ｘ",  # full-width digits and letter
        "１１０１０５１９４９１２３１００２Ｘ",
        " 110105 19491231 002X ",
        "110105-19491231-002x",
        "110105\t19491231\t002X",
        "110105\u300019491231\u3000002X",  # ideographic space
        "110105—19491231–002X",  # dashes a word processor makes of hyphens
        "\ufeff11010519491231002X\u200b",  # BOM and zero-width space from copy and paste
        "'11010519491231002X",  # a spreadsheet's text marker
        "110105491231002",  # legacy 15-digit number
        "110105 491231 002",
        "110105491231002.0",  # a 15-digit number from a spreadsheet number cell
        110105491231002,
        110105491231002.0,
    ],
)
def test_normalize_accepts_the_forms_seen_in_real_input(raw):
    assert normalize(raw) == FEMALE_1949


def test_normalize_upgrades_15_digits_by_inserting_19_and_computing_the_check_character():
    # 110105 + 491231 + 002 -> 110105 + 19491231 + 002 + check character X
    assert normalize("110105491231002") == "11010519491231002X"
    assert normalize("440524800101001") == "440524198001010013"  # a 15-digit number is always 19YY
    assert check_char("44052419800101001") == "3"


def test_normalize_strips_a_spreadsheet_dot_zero_only_after_a_complete_number():
    assert normalize("500222199001011237.0") == "500222199001011237"
    assert normalize("500222199001011000.0") == "500222199001011000"  # 18 digits remain: accepted
    with pytest.raises(IdNumberError) as exc:
        normalize("50022219900101123.0")  # 17 digits and a decimal part: a number, not an ID
    assert exc.value.code == "id_number.scientific"


@pytest.mark.parametrize(
    "raw",
    [
        "5.00222E+17",
        "1.10105E+17",
        "1.10105e+17",
        "5.00222199001011E17",
        "5.00222199001011e+17",
        "１.１０１０５Ｅ＋１７",
        "5002221990010112.5",
        "500,222,199,001,011,000",
        5.00222199001011e17,
    ],
)
def test_normalize_rejects_numbers_a_spreadsheet_made_of_the_id(raw):
    with pytest.raises(IdNumberError) as exc:
        normalize(raw)
    assert exc.value.code == "id_number.scientific"
    message = str(exc.value)
    assert "spreadsheet" in message and "last digits" in message
    assert "text (文本)" in message


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("11010519491231002", 17),
        ("11010519491231002X1", 19),
        ("1101051949123100", 16),
        ("110105", 6),
        ("X", 1),
        ("110105XX", 8),
    ],
)
def test_normalize_rejects_a_wrong_length_saying_what_was_expected(raw, count):
    with pytest.raises(IdNumberError) as exc:
        normalize(raw)
    assert exc.value.code == "id_number.length"
    assert f"has {count} characters" in exc.value.message
    assert "expected 18" in str(exc.value)


@pytest.mark.parametrize("raw", ["", "   ", None, " - "])
def test_normalize_rejects_empty_input_as_a_length_error(raw):
    with pytest.raises(IdNumberError) as exc:
        normalize(raw)
    assert exc.value.code == "id_number.length"
    assert "empty" in str(exc.value)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("11010519491231002Y", "“Y”"),
        ("1101051949123X002X", "“X”"),  # X only at the end
        ("11010549123100X", "“X”"),  # a 15-digit number has no check character
        ("X1010519491231002X", "“X”"),
        ("1101051949123100AB", "“A”, “B”"),
        ("11010519491231002?", "“?”"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "“١”"),  # non-ASCII digits are not ID digits
    ],
)
def test_normalize_rejects_characters_other_than_digits_and_a_final_x(raw, shown):
    with pytest.raises(IdNumberError) as exc:
        normalize(raw)
    assert exc.value.code == "id_number.characters"
    assert shown in str(exc.value)


def test_id_number_error_is_a_value_error_with_code_and_message():
    with pytest.raises(ValueError) as exc:
        normalize("abc")
    err = exc.value
    assert isinstance(err, IdNumberError)
    assert err.code == "id_number.characters"
    assert str(err) == str(err.message)


# ---------------------------------------------------------------- check: errors


def test_check_reports_an_impossible_birth_date_as_an_error():
    result = check("110105199002300012", today=TODAY)  # 30 February 1990
    assert "id_number.birth_date" in [i.code for i in result.errors]
    assert not result.ok
    assert result.birth_date is None
    assert result.number == "110105199002300012"
    assert "19900230" in messages(result)


@pytest.mark.parametrize("digits", ["19901301", "19900001", "19900100", "19900431", "21000229"])
def test_check_rejects_dates_that_do_not_exist(digits):
    first17 = "110105" + digits + "001"
    result = check(first17 + check_char(first17), today=date(2200, 1, 1))
    assert codes(result) == ("id_number.birth_date",)


def test_check_accepts_29_february_in_a_leap_year():
    assert check(make("110105", date(2000, 2, 29), 1), today=TODAY).ok


def test_check_rejects_a_birth_date_after_today():
    number = make("110105", date(2025, 6, 2), 1)
    result = check(number, today=TODAY)
    assert codes(result) == ("id_number.future",)
    assert "2025-06-02" in messages(result) and "2025-06-01" in messages(result)
    assert check(make("110105", TODAY, 1), today=TODAY).ok  # born today is fine


def test_check_uses_the_local_date_when_today_is_not_given():
    assert check(make("110105", date(2100, 1, 1), 1)).errors[0].code == "id_number.future"
    assert check(FEMALE_1949).ok


def test_check_reports_a_birth_date_that_differs_from_the_one_entered():
    result = check(FEMALE_1949, birth_date=date(1949, 12, 30), today=TODAY)
    assert codes(result) == ("id_number.birth_date_mismatch",)
    assert "1949-12-31" in messages(result) and "1949-12-30" in messages(result)
    assert check(FEMALE_1949, birth_date=date(1949, 12, 31), today=TODAY).ok
    assert check(FEMALE_1949, birth_date=datetime(1949, 12, 31, 8, 0), today=TODAY).ok


def test_check_reports_a_sex_that_contradicts_the_sequence_digit():
    result = check(FEMALE_1949, sex="1", today=TODAY)  # sequence 002 is even: female
    assert codes(result) == ("id_number.sex_mismatch",)
    assert "even" in messages(result) and "female" in messages(result)
    result = check(MALE_1880, sex="2", today=TODAY)  # sequence 001 is odd: male
    assert codes(result) == ("id_number.sex_mismatch",)
    assert "odd" in messages(result)


@pytest.mark.parametrize("sex", ["0", "9", None, ""])
def test_check_does_not_compare_an_unknown_or_unstated_sex(sex):
    assert check(FEMALE_1949, sex=sex, today=TODAY).ok


def test_check_accepts_the_matching_sex():
    assert check(FEMALE_1949, sex="2", today=TODAY).ok
    assert check(MALE_1880, sex="1", today=TODAY).ok


@pytest.mark.parametrize("prefix", ["00", "10", "16", "20", "24", "30", "38", "47", "55", "60", "66", "72", "83", "91", "99"])
def test_check_rejects_a_first_two_digits_that_are_not_a_province(prefix):
    number = make(prefix + "0105", date(1990, 1, 1), 1)
    result = check(number, today=TODAY)
    assert codes(result) == ("id_number.address",)
    assert f"({prefix})" in messages(result)


@pytest.mark.parametrize(
    "prefix",
    ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82"],
)
def test_check_accepts_every_province_code(prefix):
    result = check(make(prefix + "9999", date(1990, 1, 1), 1), today=TODAY)
    assert result.ok


def test_check_collects_several_errors_at_once():
    number = "990105199002300012"  # no province 99, 30 February, wrong check character
    result = check(number, sex="2", today=TODAY)
    assert [i.code for i in result.errors] == ["id_number.address", "id_number.birth_date", "id_number.sex_mismatch"]
    assert [i.code for i in result.warnings] == ["id_number.checksum"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1.10105E+17", "id_number.scientific"),
        ("11010519491231002", "id_number.length"),
        ("1101051949123100AB", "id_number.characters"),
        ("", "id_number.length"),
        (None, "id_number.length"),
    ],
)
def test_check_returns_errors_for_input_that_is_not_an_id_number(raw, code):
    result = check(raw, today=TODAY)
    assert [i.code for i in result.errors] == [code]
    assert result.warnings == ()
    assert (result.birth_date, result.sex, result.address_code) == (None, None, None)
    assert result.number == ("" if raw is None else raw)


def test_check_keeps_the_cleaned_text_when_it_cannot_normalise():
    assert check(" １.１０１０５ｅ＋１７ ", today=TODAY).number == "1.10105e+17"


# ---------------------------------------------------------------- check: warnings


def test_check_warns_about_a_wrong_check_character_and_says_what_was_expected():
    result = check("110105194912310021", today=TODAY)
    assert result.ok  # an officer confirms: real cards carry wrong check characters
    assert codes(result) == ("id_number.checksum",)
    assert result.warnings[0].code == "id_number.checksum"
    text = messages(result)
    assert "expected X, found 1" in text
    assert "copied correctly from the card" in text
    assert ric.is_valid("110105194912310021") is False  # python-stdnum would reject it


def test_check_checksum_warning_mentions_the_spreadsheet_when_the_number_ended_in_dot_zero():
    result = check("500222199001011000.0", today=TODAY)
    assert result.ok
    assert result.number == "500222199001011000"
    assert codes(result) == ("id_number.checksum",)
    assert "spreadsheet" in messages(result) and "文本" in messages(result)


def test_check_warns_about_an_address_code_missing_from_the_list():
    assert not address_code_known("119999")
    result = check(make("119999", date(1990, 1, 1), 1), today=TODAY)
    assert result.ok
    assert codes(result) == ("id_number.address_unknown",)
    assert "119999" in messages(result)


def test_abolished_address_codes_are_known_and_valid():
    # 110103 Chongwen district was merged into Dongcheng in 2010; cards with it remain valid
    assert address_code_known("110103")
    assert check(make("110103", date(2015, 3, 1), 7), today=TODAY).codes == ()


def test_a_code_valid_only_after_the_birth_year_is_accepted():
    # 500222 (Qijiang) is listed for 1997-2011; python-stdnum rejects a 1970 birth with it,
    # but a card issued after 1997 to someone born in 1970 carries it legitimately.
    number = make("500222", date(1970, 1, 1), 1)
    assert not ric.is_valid(number)
    assert check(number, today=TODAY).codes == ()


def test_issues_have_code_and_lazily_translated_message():
    issue = check("110105194912310021", today=TODAY).warnings[0]
    assert isinstance(issue, IdIssue)
    assert str(issue) == str(issue.message)
    with translation.override("zh-hans"):
        assert str(issue.message)  # renders in any language without error


def test_check_result_lists_all_codes():
    result = check("990105199002300012", today=TODAY)
    assert result.codes == ("id_number.address", "id_number.birth_date", "id_number.checksum")


# ---------------------------------------------------------------- parts of a number


def test_check_char_is_iso_7064_mod_11_2_with_x_for_ten():
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"
    assert check_char("50022219900101123") == "7"


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100X", "", "abcdefghijklmnopq"])
def test_check_char_needs_exactly_17_digits(bad):
    with pytest.raises(ValueError):
        check_char(bad)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_agrees_with_python_stdnum(first17):
    assert check_char(first17) == ric.calc_check_digit(first17 + "0")


def test_sex_and_birth_date_helpers_read_the_number():
    assert sex_from_number(FEMALE_1949) == "2"
    assert sex_from_number(MALE_1880) == "1"
    assert sex_from_number("110105491231002") == "2"
    assert birth_date_from_number("11010519491231002x") == date(1949, 12, 31)
    assert birth_date_from_number("110105199002300012") is None
    with pytest.raises(IdNumberError):
        sex_from_number("1.10105E+17")


def test_known_address_codes_come_from_python_stdnum_and_are_cached():
    known = known_address_codes()
    assert known is known_address_codes()
    assert len(known) > 6000
    assert {"110105", "440524", "500222", "810000", "820000", "710000"} <= known
    assert all(len(c) == 6 and c.isdigit() and c[:2] in idnumbers.PROVINCE_CODES for c in known)
    assert not address_code_known("999999")
    assert not address_code_known("11010")


# ---------------------------------------------------------------- make and make_many


def test_make_builds_number_from_its_parts():
    assert make("110105", date(1949, 12, 31), 2) == FEMALE_1949
    assert make("440524", date(1880, 1, 1), 1) == MALE_1880
    assert make("500222", date(1990, 1, 1), 123) == "500222199001011237"
    assert make("500222", date(1990, 1, 1), 999)[14:17] == "999"


@pytest.mark.parametrize(
    ("address", "birth", "sequence"),
    [
        ("50022", date(1990, 1, 1), 1),
        ("5002220", date(1990, 1, 1), 1),
        ("50022A", date(1990, 1, 1), 1),
        (500222, date(1990, 1, 1), 1),
        ("500222", "1990-01-01", 1),
        ("500222", date(1990, 1, 1), 0),
        ("500222", date(1990, 1, 1), 1000),
        ("500222", date(1990, 1, 1), True),
        ("500222", date(1990, 1, 1), 1.0),
    ],
)
def test_make_rejects_bad_arguments(address, birth, sequence):
    with pytest.raises(ValueError):
        make(address, birth, sequence)


def test_make_many_returns_an_array_of_18_character_strings():
    result = make_many(
        np.array(["110105", "440524"]),
        np.array(["1949-12-31", "1880-01-01"], dtype="datetime64[D]"),
        np.array([2, 1]),
    )
    assert result.dtype == np.dtype("<U18")
    assert result.tolist() == [FEMALE_1949, MALE_1880]


def test_make_many_broadcasts_scalars_and_accepts_integer_codes():
    dates = np.array(["1990-01-01", "1990-01-02", "1990-01-03"], dtype="datetime64[D]")
    by_str = make_many("500222", dates, 7)
    by_int = make_many(np.array([500222, 500222, 500222]), dates, np.array([7, 7, 7]))
    assert by_str.tolist() == by_int.tolist() == [make("500222", d.item(), 7) for d in dates]
    assert make_many(110105, np.datetime64("1949-12-31"), 2).item() == FEMALE_1949


def test_make_many_of_nothing_is_empty():
    result = make_many([], np.array([], dtype="datetime64[D]"), [])
    assert result.shape == (0,) and result.dtype == np.dtype("<U18")


@pytest.mark.parametrize(
    ("address", "birth", "sequence"),
    [
        (["50022"], ["1990-01-01"], [1]),
        (["50022A"], ["1990-01-01"], [1]),
        ([12345], ["1990-01-01"], [1]),
        ([5.0], ["1990-01-01"], [1]),
        (["500222"], ["1990-01-01"], [0]),
        (["500222"], ["1990-01-01"], [1000]),
        (["500222"], ["1990-01-01"], [1.5]),
        (["500222"], ["NaT"], [1]),
        (["500222", "500222"], ["1990-01-01"] * 3, [1]),  # shapes that do not broadcast
    ],
)
def test_make_many_rejects_bad_arguments(address, birth, sequence):
    with pytest.raises(ValueError):
        make_many(address, np.array(birth, dtype="datetime64[D]"), sequence)


def test_make_many_generates_a_million_valid_numbers():
    n = 1_000_000
    rng = np.random.default_rng(2025)
    codes_ = rng.choice(np.array(KNOWN_CODES), size=n)
    days = rng.integers(np.datetime64("1900-01-01").astype(int), np.datetime64("2025-01-01").astype(int), size=n)
    dates = days.astype("datetime64[D]")
    seqs = rng.integers(1, 1000, size=n)
    result = make_many(codes_, dates, seqs)
    assert result.shape == (n,)
    for i in rng.integers(0, n, size=200):
        assert result[i] == make(str(codes_[i]), dates[i].item(), int(seqs[i]))
        assert check(result[i], today=TODAY).codes == ()


@given(
    st.lists(
        st.tuples(known_codes, st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)), sequences),
        min_size=1,
        max_size=30,
    )
)
def test_make_many_agrees_with_make(rows):
    addresses, dates, seqs = zip(*rows, strict=True)
    result = make_many(np.array(addresses), np.array(dates, dtype="datetime64[D]"), np.array(seqs))
    assert result.tolist() == [make(a, d, s) for a, d, s in rows]
    as_ints = make_many(np.array([int(a) for a in addresses]), np.array(dates, dtype="datetime64[D]"), list(seqs))
    assert as_ints.tolist() == result.tolist()


# ---------------------------------------------------------------- mask


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("50010119900101123X", "5001**********123X"),
        (FEMALE_1949, "1101**********002X"),
        ("110105491231002", "1101*******1002"),
        ("123456789", "1234*6789"),
        ("12345678", "********"),
        ("123", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_keeps_the_first_four_and_last_four_characters(number, masked):
    assert mask(number) == masked


# ---------------------------------------------------------------- properties


@given(known_codes, birth_dates, sequences)
def test_made_numbers_pass_check_without_errors_or_warnings(address, birth, sequence):
    number = make(address, birth, sequence)
    sex = "1" if sequence % 2 else "2"
    result = check(number, sex=sex, birth_date=birth, today=TODAY)
    assert result == IdNumberCheck(number, birth, sex, address, (), ())


@given(valid_numbers())
def test_made_numbers_pass_python_stdnum_checksum(number):
    assert ric.calc_check_digit(number) == number[-1]


_NOISY_ALPHABET = "0123456789Xx ０１２３４５６７８９ｘＸ-\t\u3000"


@given(st.text(alphabet=_NOISY_ALPHABET, max_size=30))
def test_normalize_is_idempotent(raw):
    try:
        once = normalize(raw)
    except IdNumberError:
        return
    assert normalize(once) == once
    assert len(once) == 18


@given(valid_numbers(), st.data())
def test_normalize_undoes_noise_added_to_a_valid_number(number, data):
    fullwidth = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    noisy = ""
    for ch in number:
        if data.draw(st.booleans(), label="full-width"):
            ch = ch.translate(fullwidth)
        if ch == "X" and data.draw(st.booleans(), label="lower"):
            ch = "x"
        noisy += ch + data.draw(st.sampled_from(["", "", " ", "-", "\t", "\u3000"]), label="separator")
    assert normalize(noisy) == number


@given(st.text(max_size=40))
def test_check_never_raises(raw):
    result = check(raw, today=TODAY)
    assert isinstance(result, IdNumberCheck)
    if not result.ok:
        assert all(i.code.startswith("id_number.") for i in result.errors)


@given(known_codes, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), sequences)
def test_upgrading_15_digits_keeps_birth_date_and_sex(address, birth, sequence):
    legacy = f"{address}{birth:%y%m%d}{sequence:03d}"
    upgraded = normalize(legacy)
    assert upgraded == make(address, birth, sequence)
    result = check(legacy, today=TODAY)
    assert result.codes == ()
    assert result.birth_date == birth
    assert result.sex == ("1" if sequence % 2 else "2")


@given(valid_numbers(), st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_a_single_changed_digit_gives_a_checksum_warning(number, position, shift):
    changed_digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    assert "id_number.checksum" in [i.code for i in check(changed, today=TODAY).warnings]


@given(valid_numbers(), st.sampled_from("0123456789X"))
def test_a_changed_check_character_gives_a_checksum_warning(number, new_last):
    assume(new_last != number[-1])
    result = check(number[:-1] + new_last, today=TODAY)
    assert [i.code for i in result.warnings] == ["id_number.checksum"]
    assert result.ok


@given(valid_numbers(), st.integers(min_value=0, max_value=15))
def test_swapping_two_adjacent_digits_gives_a_checksum_warning(number, position):
    a, b = number[position], number[position + 1]
    assume(a != b)
    swapped = number[:position] + b + a + number[position + 2 :]
    assert "id_number.checksum" in [i.code for i in check(swapped, today=TODAY).warnings]


@given(valid_numbers())
def test_mask_hides_the_birth_date_and_sequence(number):
    masked = mask(number)
    assert len(masked) == 18
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10


def test_id_numbers_in_free_text_are_masked():
    from renkou.registry.idnumbers import mask_in_text, mask_search_text

    assert mask_in_text("核查 11010519491231002X 的低保") == "核查 1101**********002X 的低保"
    assert mask_in_text("户号 50023000100100001 不是身份证号") == "户号 50023000100100001 不是身份证号"
    assert mask_search_text("5002301990") == "5002**1990"
    assert mask_search_text("王") == "王"
