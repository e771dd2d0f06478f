"""Resident ID numbers (公民身份号码, GB 11643-1999): normalise, check, generate, mask.

Pure functions: no database, no models. Built on python-stdnum (``stdnum.cn.ric`` and its
address-code list ``stdnum/cn/loc.dat``), with the register's own rules on top (see DOMAIN.md,
"Resident ID numbers"):

* errors (the number cannot be accepted): wrong length, characters other than digits and a final X,
  a spreadsheet number that lost digits, an impossible or future birth date, a first-two-digit
  province code that does not exist, a birth date or sex that contradicts what was entered;
* warnings (an officer confirms): a wrong check character (real cards carry them; the national
  platform stopped rejecting them in 2009) and an address code missing from python-stdnum's list
  (codes abolished or created since the list was made are still valid).

python-stdnum's own ``validate()`` is stricter than the register: it rejects checksum failures and
address codes outside the years the list gives for them (a card issued in a county created after
the birth year is legitimate), so it is used for its data and check-digit function, not as the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

__all__ = [
    "MIN_BIRTH_YEAR",
    "PROVINCE_CODES",
    "IdIssue",
    "IdNumberCheck",
    "IdNumberError",
    "address_code_known",
    "birth_date_from_number",
    "check",
    "check_char",
    "known_address_codes",
    "make",
    "make_many",
    "mask",
    "normalize",
    "sex_from_number",
]

#: Working definition: earliest birth year accepted in a number (440524188001010014 is a real
#: example with an 1880 birth date).
MIN_BIRTH_YEAR = 1880

#: GB/T 2260 first-level codes (provinces, autonomous regions, municipalities, SARs, Taiwan).
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82"]
)

# ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
# check character for (weighted sum mod 11)
_CHECK_CHARS = "10X98765432"

# Full-width ASCII block (U+FF01..U+FF5E) to ASCII, ideographic space to space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# Removed anywhere: hyphens and dashes, zero-width characters and the byte-order mark.
_REMOVE = {ord(c): None for c in "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\u200b\u200c\u200d\u2060\ufeff"}

_SCIENTIFIC_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)E[+-]?\d+$", re.IGNORECASE | re.ASCII)
_FLOAT_SUFFIX_RE = re.compile(r"^(\d{15}|\d{18})\.0+$", re.ASCII)
_DECIMAL_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)$", re.ASCII)
_THOUSANDS_RE = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$", re.ASCII)


def _format(message: Any, params: dict[str, Any]) -> str:
    return str(message) % params


#: Lazy "msgid % params": the translation happens when the message is shown, in the reader's language.
_lazy_format = lazy(_format, str)


class IdNumberError(ValueError):
    """The input cannot be an ID number at all (wrong length, wrong characters, spreadsheet number)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class IdIssue:
    """One error or warning about an ID number; ``message`` is a lazily translated string."""

    code: str
    message: str

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class IdNumberCheck:
    """Result of :func:`check`. ``number`` is the normalised 18-character form, or the cleaned input
    when it could not be normalised (then the other derived fields are ``None``)."""

    number: str
    birth_date: date | None
    sex: str | None
    address_code: str | None
    errors: tuple[IdIssue, ...] = ()
    warnings: tuple[IdIssue, ...] = ()

    @classmethod
    def _of(cls, number: str, birth_date: date | None, sex: str | None, address_code: str | None,
            errors: tuple[IdIssue, ...], warnings: tuple[IdIssue, ...]) -> IdNumberCheck:
        """The same instance as the constructor makes, for :func:`check` (a bulk import checks hundreds of
        thousands of numbers): the frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
        a quarter of the cost of a check."""
        obj = object.__new__(cls)
        obj.__dict__.update(number=number, birth_date=birth_date, sex=sex, address_code=address_code, errors=errors,
                            warnings=warnings)
        return obj

    @property
    def ok(self) -> bool:
        """No errors (warnings may still need an officer's confirmation)."""
        return not self.errors

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of all errors then all warnings, handy in logs and tests."""
        return tuple(i.code for i in self.errors) + tuple(i.code for i in self.warnings)


# --------------------------------------------------------------------------------------------
# normalising


def _clean(raw: object) -> str:
    """Map full-width characters to ASCII and drop whitespace, dashes and zero-width characters."""
    if raw is None:
        return ""
    if (raw.__class__ is str and len(raw) == 18 and raw.isascii() and raw[:17].isdigit()
            and raw[17] in "0123456789Xx"):
        return raw if raw[17] != "x" else raw[:17] + "X"  # already clean: the usual case, kept fast for imports
    if isinstance(raw, bool):  # bool is an int: not an ID number
        return str(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        # Spreadsheet readers (openpyxl) hand over numeric cells as float: an integral float below
        # 2**53 is exact (covers all 15-digit legacy numbers); anything longer has lost digits.
        if raw.is_integer() and abs(raw) < 2**53:
            return str(int(raw))
        return repr(raw)
    text = str(raw).translate(_FULLWIDTH)
    text = "".join(ch for ch in text if not ch.isspace()).translate(_REMOVE)
    if text.startswith("'"):  # a spreadsheet's "this cell is text" marker
        text = text[1:]
    return text.replace("x", "X")


def _scientific_error(value: str) -> IdNumberError:
    return IdNumberError(
        "id_number.scientific",
        _lazy_format(
            _(
                "The ID number “%(value)s” was turned into a number by a spreadsheet, which loses the "
                "last digits of an 18-digit number. Format the column as text (文本) before typing the "
                "numbers, then type this number again from the card."
            ),
            {"value": value},
        ),
    )


def _normalize(raw: object) -> tuple[str, bool]:
    """Return (normalised 18-character number, whether a spreadsheet ".0" was removed)."""
    text = _clean(raw)
    if len(text) == 18 and text.isascii() and text[:17].isdigit() and (text[17] == "X" or text[17].isdigit()):
        return text, False  # already the 18-character form: the usual case, kept fast for bulk imports
    from_float = False
    if _SCIENTIFIC_RE.match(text) or _THOUSANDS_RE.match(text):
        raise _scientific_error(text)
    m = _FLOAT_SUFFIX_RE.match(text)
    if m:
        text, from_float = m.group(1), True
    elif _DECIMAL_RE.match(text):
        raise _scientific_error(text)

    if not text:
        raise IdNumberError(
            "id_number.length",
            _("The ID number is empty; enter the 18-character number printed on the card."),
        )
    bad = [ch for ch in text if not (ch.isascii() and ch.isdigit()) and ch != "X"]
    if not bad and len(text) in (15, 18):
        # X is only the check character (the last of 18); a legacy 15-digit number has none
        bad = [ch for ch in text[: len(text) - 1 if len(text) == 18 else None] if ch == "X"]
    if bad:
        shown = ", ".join(f"“{ch}”" for ch in dict.fromkeys(bad))
        raise IdNumberError(
            "id_number.characters",
            _lazy_format(
                _(
                    "The ID number contains %(chars)s. Only digits are allowed, and an X only as the "
                    "last of 18 characters (a legacy 15-digit number has digits only)."
                ),
                {"chars": shown},
            ),
        )
    if len(text) == 15:
        first17 = text[:6] + "19" + text[6:]
        return first17 + check_char(first17), from_float
    if len(text) != 18:
        raise IdNumberError(
            "id_number.length",
            _lazy_format(
                _(
                    "The ID number has %(count)s characters; expected 18 (or 15 for a legacy "
                    "first-generation card)."
                ),
                {"count": len(text)},
            ),
        )
    return text, from_float


def normalize(raw: str) -> str:
    """The 18-character form of an ID number as typed or pasted.

    Full-width digits and letters become ASCII; spaces, tabs, hyphens/dashes and zero-width
    characters are removed; a lowercase x becomes X; a leading apostrophe (a spreadsheet's text
    marker) and a trailing ".0" after a complete 15- or 18-digit number (a spreadsheet's number
    format) are dropped; a legacy 15-digit number is upgraded to 18 ("19" inserted before the
    two-digit year, check character computed).

    Raises :class:`IdNumberError` with code ``id_number.scientific`` (spreadsheet number that lost
    digits, e.g. ``1.10105E+17``), ``id_number.characters`` or ``id_number.length``. The result is not
    otherwise checked: use :func:`check` for dates, checksum and address code.
    """
    return _normalize(raw)[0]


# --------------------------------------------------------------------------------------------
# parts of a number


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits (a remainder of 10 is written X)."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"check_char needs exactly 17 digits, got {first17!r}")
    # The weighted sum is Σ d·2^(17-i) mod 11; since 13 ≡ 2 (mod 11) it equals 2·int(first17, 13) mod 11, which
    # the interpreter computes in C (a bulk import checks hundreds of thousands of numbers)
    return _CHECK_CHARS[2 * int(first17, 13) % 11]


def _birth_date_of(number18: str) -> date | None:
    digits = number18[6:14]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return date.fromisoformat(digits)  # eight digits: YYYYMMDD, read in C
    except ValueError:
        return None


def _sex_of(number18: str) -> str:
    return "1" if int(number18[16]) % 2 else "2"


def sex_from_number(raw: str) -> str:
    """GB/T 2261.1 sex code from the sequence digit (17th): "1" male if odd, "2" female if even.

    Raises :class:`IdNumberError` if the input cannot be normalised."""
    return _sex_of(normalize(raw))


def birth_date_from_number(raw: str) -> date | None:
    """Birth date in the number (digits 7–14), or ``None`` if those digits are not a real date.

    Raises :class:`IdNumberError` if the input cannot be normalised."""
    return _birth_date_of(normalize(raw))


@lru_cache(maxsize=1)
def known_address_codes() -> frozenset[str]:
    """All six-digit address codes in python-stdnum's list (current and abolished ones)."""
    from stdnum import numdb

    db = numdb.get("cn/loc")
    codes: set[str] = set()

    def expand(low: str, high: str) -> Iterable[str]:
        width = len(low)
        return (str(n).zfill(width) for n in range(int(low), int(high) + 1))

    for length, low, high, _props, children in db.prefixes:
        if length != 2:
            continue
        for province in expand(low, high):
            for clength, clow, chigh, _cprops, _cchildren in children:
                if clength == 4:
                    codes.update(province + county for county in expand(clow, chigh))
    return frozenset(codes)


def address_code_known(code: str) -> bool:
    """Whether the six-digit address code is in python-stdnum's list (which may lag behind GB/T 2260)."""
    return code in known_address_codes()


# --------------------------------------------------------------------------------------------
# checking


def _today() -> date:
    from django.conf import settings

    if settings.configured:
        from django.utils import timezone

        return timezone.localdate() if settings.USE_TZ else date.today()  # noqa: DTZ011
    return date.today()  # noqa: DTZ011


def check(
    raw: str,
    *,
    sex: str | None = None,
    birth_date: date | None = None,
    today: date | None = None,
) -> IdNumberCheck:
    """Check an ID number as typed; never raises for bad input.

    ``sex`` ("1"/"2"; "0"/"9" unknown is not compared) and ``birth_date`` are what was entered in the
    other fields of the form: a contradiction with the number is an error. ``today`` defaults to the
    local date (Django's time zone when configured).
    """
    try:
        number, from_float = _normalize(raw)
    except IdNumberError as exc:
        return IdNumberCheck(
            number=_clean(raw),
            birth_date=None,
            sex=None,
            address_code=None,
            errors=(IdIssue(exc.code, exc.message),),
        )

    errors: list[IdIssue] = []
    warnings: list[IdIssue] = []
    address = number[:6]
    number_sex = _sex_of(number)

    # address code
    if address[:2] not in PROVINCE_CODES:
        errors.append(
            IdIssue(
                "id_number.address",
                _lazy_format(
                    _(
                        "The first two digits of the ID number (%(province)s) are not a province code; "
                        "the first six digits must be the address code of the place of registration "
                        "(for example 500222)."
                    ),
                    {"province": address[:2]},
                ),
            )
        )
    elif not address_code_known(address):
        warnings.append(
            IdIssue(
                "id_number.address_unknown",
                _lazy_format(
                    _(
                        "The address code %(code)s (first six digits) is not in the list of known codes; "
                        "codes created or abolished in recent years are still valid. Confirm that it "
                        "matches the card."
                    ),
                    {"code": address},
                ),
            )
        )

    # birth date
    number_date = _birth_date_of(number)
    if number_date is None:
        errors.append(
            IdIssue(
                "id_number.birth_date",
                _lazy_format(
                    _(
                        "The birth date in the ID number (digits 7–14) is %(digits)s, which is not a real "
                        "date; expected YYYYMMDD."
                    ),
                    {"digits": number[6:14]},
                ),
            )
        )
    elif number_date.year < MIN_BIRTH_YEAR:
        errors.append(
            IdIssue(
                "id_number.birth_date",
                _lazy_format(
                    _(
                        "The birth date in the ID number (digits 7–14) is %(date)s, before %(min_year)s; "
                        "expected a birth date in YYYYMMDD form."
                    ),
                    {"date": number_date.isoformat(), "min_year": MIN_BIRTH_YEAR},
                ),
            )
        )
    else:
        today = today or _today()
        if number_date > today:
            errors.append(
                IdIssue(
                    "id_number.future",
                    _lazy_format(
                        _("The birth date in the ID number (%(date)s) is after today (%(today)s)."),
                        {"date": number_date.isoformat(), "today": today.isoformat()},
                    ),
                )
            )
        if birth_date is not None:
            given = birth_date.date() if isinstance(birth_date, datetime) else birth_date
            if given != number_date:
                errors.append(
                    IdIssue(
                        "id_number.birth_date_mismatch",
                        _lazy_format(
                            _(
                                "The birth date in the ID number is %(number_date)s but the birth date "
                                "entered is %(given)s."
                            ),
                            {"number_date": number_date.isoformat(), "given": given.isoformat()},
                        ),
                    )
                )

    # sex
    given_sex = str(sex).strip() if sex is not None else ""
    if given_sex in ("1", "2") and given_sex != number_sex:
        if number_sex == "1":
            message = _(
                "The 17th digit of the ID number (%(digit)s) is odd, which means male, but the sex "
                "entered is female."
            )
        else:
            message = _(
                "The 17th digit of the ID number (%(digit)s) is even, which means female, but the sex "
                "entered is male."
            )
        errors.append(IdIssue("id_number.sex_mismatch", _lazy_format(message, {"digit": number[16]})))

    # check character
    expected = check_char(number[:17])
    if number[17] != expected:
        params = {"expected": expected, "found": number[17]}
        if from_float:
            message = _(
                "The check character is wrong (expected %(expected)s, found %(found)s). The number came "
                "from a spreadsheet number cell (it ended in “.0”), which may have lost the last digits: "
                "format the column as text (文本) and type the number again, or confirm it against the card."
            )
        else:
            message = _(
                "The check character (last character) is wrong: expected %(expected)s, found %(found)s. "
                "Confirm that the number is copied correctly from the card."
            )
        warnings.append(IdIssue("id_number.checksum", _lazy_format(message, params)))

    return IdNumberCheck._of(number, number_date, number_sex, address, tuple(errors), tuple(warnings))


# --------------------------------------------------------------------------------------------
# generating and masking


def make(address_code: str, birth_date: date, sequence: int) -> str:
    """A valid 18-character ID number: address code + YYYYMMDD + 3-digit sequence + check character.

    ``sequence`` runs 1..999; odd means male, even female. Raises ``ValueError`` for bad arguments.
    """
    if not (isinstance(address_code, str) and len(address_code) == 6 and address_code.isascii()
            and address_code.isdigit()):
        raise ValueError(f"address_code must be six digits, got {address_code!r}")
    if isinstance(birth_date, datetime):
        birth_date = birth_date.date()
    if not isinstance(birth_date, date):
        raise ValueError(f"birth_date must be a date, got {birth_date!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int | np.integer) or not 1 <= sequence <= 999:
        raise ValueError(f"sequence must be an integer from 1 to 999, got {sequence!r}")
    first17 = f"{address_code}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{int(sequence):03d}"
    return first17 + check_char(first17)


def make_many(address_codes: Any, birth_dates: Any, sequences: Any) -> np.ndarray:
    """Vectorised :func:`make`: an array of ``<U18`` numbers, equal element by element to ``make``.

    ``address_codes`` (six-digit strings or integers), ``birth_dates`` (``datetime64[D]`` or anything
    numpy turns into it) and ``sequences`` (1..999) are broadcast against each other, so a scalar
    can be given for any of them. A million numbers take a fraction of a second. Raises
    ``ValueError`` for bad arguments.
    """
    # address code digits, as an (..., 6) int64 array
    addr_in = np.asarray(address_codes)
    if addr_in.size == 0 and addr_in.dtype.kind == "f":  # an empty list
        addr_in = addr_in.astype(np.int64)
    if addr_in.dtype.kind in "US":
        as_str = addr_in.astype("U")
        if as_str.size and not np.all(np.char.str_len(as_str) == 6):
            raise ValueError("address codes must be six digits")
        addr_digits = np.ascontiguousarray(as_str.astype("U6")).view(np.uint32)
        addr_digits = addr_digits.reshape(as_str.shape + (6,)).astype(np.int64) - ord("0")
        if np.any((addr_digits < 0) | (addr_digits > 9)):
            raise ValueError("address codes must be six digits")
    elif addr_in.dtype.kind in "iu":
        addr = addr_in.astype(np.int64)
        if np.any((addr < 100_000) | (addr > 999_999)):
            raise ValueError("address codes must be six digits")
        addr_digits = (addr[..., None] // 10 ** np.arange(5, -1, -1, dtype=np.int64)) % 10
    else:
        raise ValueError(f"address codes must be strings or integers, got dtype {addr_in.dtype}")

    dates = np.asarray(birth_dates).astype("datetime64[D]")
    if np.any(np.isnat(dates)):
        raise ValueError("birth dates must not be NaT")
    month_start = dates.astype("datetime64[M]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = month_start.astype(np.int64) % 12 + 1
    days = (dates - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    if np.any((years < 1) | (years > 9999)):
        raise ValueError("birth years must be from 1 to 9999")

    seq = np.asarray(sequences)
    if seq.size == 0 and seq.dtype.kind == "f":
        seq = seq.astype(np.int64)
    if seq.dtype.kind not in "iu":
        raise ValueError(f"sequences must be integers, got dtype {seq.dtype}")
    seq = seq.astype(np.int64)
    if np.any((seq < 1) | (seq > 999)):
        raise ValueError("sequences must be from 1 to 999")

    shape = np.broadcast_shapes(addr_digits.shape[:-1], years.shape, seq.shape)
    # YYYYMMDD and the sequence as one 11-digit integer
    tail = np.broadcast_to(((years * 100 + months) * 100 + days) * 1000 + seq, shape)
    out = np.empty(shape + (18,), dtype=np.uint32)
    total = np.zeros(shape, dtype=np.int64)
    for pos in range(6):
        digit = np.broadcast_to(addr_digits[..., pos], shape)
        total += digit * _WEIGHTS[pos]
        out[..., pos] = digit
    for pos in range(16, 5, -1):
        digit = tail % 10
        tail = tail // 10
        total += digit * _WEIGHTS[pos]
        out[..., pos] = digit
    out[..., :17] += ord("0")
    table = np.array([ord(c) for c in _CHECK_CHARS], dtype=np.uint32)
    out[..., 17] = table[total % 11]
    return out.view("U18")[..., 0]


def mask(number: str | None) -> str:
    """Hide the middle of an ID number for display: ``5001**********123X``.

    The first four and last four characters stay; an empty value gives ""; a value of eight
    characters or fewer is masked completely (nothing of a short fragment is shown)."""
    if not number:
        return ""
    text = str(number).strip()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


# An ID number (18 characters, or 15 digits on the old cards) standing alone in free text someone typed.
_ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


def mask_in_text(text: str) -> str:
    """Free text (a reveal's purpose, a name typed at login) with every ID number in it masked."""
    return _ID_NUMBER_IN_TEXT.sub(lambda m: mask(m.group(0)), text or "")


def mask_search_text(text: str) -> str:
    """A search as the audit log keeps it: a long run of ID-number characters (a full number or a prefix
    that goes past the address code) is masked as a whole; other text has any ID number in it masked."""
    compact = (text or "").replace(" ", "")
    if len(compact) > 8 and all(c.isdigit() or c in "xX" for c in compact):
        return mask(compact)
    return mask_in_text(text)
