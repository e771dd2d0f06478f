"""Input and output schemas of the register's JSON API (/api/v1/).

Inputs and outputs are separate classes, and no output lists a model's fields wholesale: each says what a
caller may see. The ID number never leaves in clear: outputs carry ``id_number_masked`` (``5001**********123X``)
and the full number only comes from ``POST /persons/{id}/reveal-id-number`` with a stated purpose. A code field
is answered as ``{"code": "1", "name": "男"}`` (code and Chinese name from the code list); dates are ISO 8601.

Units are referred to by their statistical division code (12 digits) in request bodies, persons, households
and marriages by their id.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict

from renkou.orgunits.models import UnitLevel, UnitType
from renkou.registry.codes import code_name
from renkou.registry.idnumbers import mask
from renkou.registry.models import EventKind, MarriageEnd

# SQLite and PostgreSQL both store a 64-bit signed integer: larger ids cannot exist, and asking for one must be
# a 422, not an overflow inside the database driver.
MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and no database stores a lone UTF-16 surrogate: answer 422, not 500.
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("The text contains a character that cannot be stored (NUL or a lone surrogate).")
    return value


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> object:
    # pydantic would also take a number of seconds since 1970 or a datetime; the API takes YYYY-MM-DD only.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("Give the date as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
UnitCode = Annotated[str, Field(pattern=r"^[0-9]{6,15}$", description="statistical division code of the unit")]
CountyCode = Annotated[str, Field(max_length=6, description="GB/T 2260 six-digit county code"),
                       AfterValidator(_storable)]
Code = Annotated[str, Field(max_length=8), AfterValidator(_storable)]
# In a query string a unit is given by its code (12 digits or more) or by its id (fewer digits).
UnitQuery = Annotated[str, Field(pattern=r"^[0-9]{1,15}$", description="unit code (12 digits) or unit id")]


def Text(max_length: int, description: str = ""):  # noqa: N802 - reads as a type in the schemas below
    return Annotated[str, Field(max_length=max_length, description=description), AfterValidator(_storable)]


IdNumberText = Annotated[str, Field(max_length=40, description="18 characters (or a legacy 15-digit number); "
                                    "full-width digits, spaces and a lowercase x are accepted"),
                         AfterValidator(_storable)]
Confirm = Annotated[list[Annotated[str, Field(max_length=64), AfterValidator(_storable)]],
                    Field(max_length=10, description="codes of warnings the caller confirms, e.g. "
                          "\"id_number.checksum\" (resend with the code the 422 answer named)")]


# --------------------------------------------------------------------------------------------------------------
# shared pieces


class ErrorItemOut(Schema):
    field: str = Field(description="the input field at fault (dotted for nested input), empty if none")
    message: str
    code: str = Field(description="machine-readable reason, e.g. \"id_number.checksum\", \"conflict\", \"not_found\"")


class ErrorOut(Schema):
    detail: str = Field(description="the first message, for display")
    errors: list[ErrorItemOut]


class CodeOut(Schema):
    code: str
    name: str = Field(description="name from the national code list (Chinese)")


def code_out(list_name: str, code: str | None) -> dict[str, str] | None:
    if not code:
        return None
    return {"code": code, "name": code_name(list_name, code)}


def choice_out(choices, value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        return {"code": value, "name": str(choices(value).label)}
    except ValueError:
        return {"code": value, "name": value}


class UnitRefOut(Schema):
    id: int
    code: str
    name: str
    level: int


class PersonRefOut(Schema):
    id: int
    name: str


class HouseholdRefOut(Schema):
    id: int
    number: str


def example(value: dict) -> ConfigDict:
    """An example body for the OpenAPI document (the docs page shows it; schemathesis sends it first)."""
    return ConfigDict(json_schema_extra={"examples": [value]})


def answers(ok_status: int, schema, *error_statuses: int) -> dict:
    """The ``response=`` of a route: its success schema and every error status it may give, as ErrorOut."""
    return {ok_status: schema, **{status: ErrorOut for status in error_statuses}}


class PageIn(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class PageInfoOut(Schema):
    count: int = Field(description="number of matches, at most count_cap")
    count_capped: bool = Field(description="true when there are more matches than count says")
    page: int
    page_size: int
    num_pages: int
    has_next: bool


# --------------------------------------------------------------------------------------------------------------
# persons


class _PersonCodesOut(Schema):
    """Resolvers shared by the person schemas: code fields with their names, the ID number masked."""

    @staticmethod
    def resolve_sex(obj):
        return code_out("sex", obj.sex)

    @staticmethod
    def resolve_id_number_masked(obj):
        return mask(obj.id_number) or None


class PersonBriefOut(_PersonCodesOut):
    """A person as a line in someone else's record (household members, children)."""

    id: int
    name: str
    sex: CodeOut | None
    birth_date: date
    id_number_masked: str | None
    relation_to_head: CodeOut | None
    alive: bool

    @staticmethod
    def resolve_relation_to_head(obj):
        return code_out("relation", obj.relation_to_head)


class PersonListItemOut(_PersonCodesOut):
    id: int
    name: str
    sex: CodeOut | None
    birth_date: date
    id_number_masked: str | None = Field(description="first four and last four characters of the ID number")
    residence_status: CodeOut | None
    residence_unit: UnitRefOut | None
    registration_unit: UnitRefOut | None
    household: HouseholdRefOut | None
    death_date: date | None
    alive: bool

    @staticmethod
    def resolve_residence_status(obj):
        return code_out("residence_status", obj.residence_status)


class PersonOut(PersonListItemOut):
    ethnicity: CodeOut | None
    education: CodeOut | None
    marital_status: CodeOut | None
    registration_type: CodeOut | None
    relation_to_head: CodeOut | None
    other_county_code: str = Field(description="the other county of a migrant (GB/T 2260), else empty")
    mother: PersonRefOut | None
    father: PersonRefOut | None
    id_number_warnings: list[str] = Field(description="warnings about the ID number an officer confirmed")
    version: int = Field(description="send it back with PATCH: a change made meanwhile answers 422 \"conflict\"")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_ethnicity(obj):
        return code_out("ethnicity", obj.ethnicity)

    @staticmethod
    def resolve_education(obj):
        return code_out("education", obj.education)

    @staticmethod
    def resolve_marital_status(obj):
        return code_out("marital_status", obj.marital_status)

    @staticmethod
    def resolve_registration_type(obj):
        return code_out("registration_type", obj.registration_type)

    @staticmethod
    def resolve_relation_to_head(obj):
        return code_out("relation", obj.relation_to_head)

    @staticmethod
    def resolve_id_number_warnings(obj):
        return list(obj.id_number_warnings or [])


class EventBriefOut(Schema):
    id: int
    kind: CodeOut
    date: date
    unit: UnitRefOut | None
    person: PersonRefOut | None

    @staticmethod
    def resolve_kind(obj):
        return choice_out(EventKind, obj.kind)


class MarriageOut(Schema):
    id: int
    husband: PersonRefOut
    wife: PersonRefOut
    married_on: date
    ended_on: date | None
    end_reason: CodeOut | None
    current: bool

    @staticmethod
    def resolve_end_reason(obj):
        return code_out("marriage_end", obj.end_reason)

    @staticmethod
    def resolve_current(obj):
        return obj.ended_on is None


class PersonDetailOut(Schema):
    """A person's record as ``GET /persons/{id}`` answers it (reading it writes a VIEW entry to the audit log)."""

    person: PersonOut
    household_members: list[PersonBriefOut]
    children: list[PersonBriefOut]
    marriages: list[MarriageOut]
    events: list[EventBriefOut]


class PersonPageOut(PageInfoOut):
    items: list[PersonListItemOut]


class PersonSearchIn(PageIn):
    q: Text(100, "a name or its beginning, or an ID number or its beginning") = ""
    unit: UnitQuery | None = Field(None, description="only this unit's subtree (code or id)")
    household: Text(24, "household number") = ""
    include_dead: bool = False


class PersonIn(Schema):
    model_config = example({"name": "陈静", "sex": "2", "birth_date": "1990-02-03", "id_number": "500230199002030229",
                            "residence_unit": "500230001001", "registration_unit": "500230001001"})

    name: Text(50)
    sex: Code = Field(description="GB/T 2261.1: 1 male, 2 female")
    birth_date: IsoDate
    id_number: IdNumberText | None = None
    ethnicity: Code = Field("01", description="GB/T 3304")
    education: Code = Field("", description="GB/T 4658, may be empty")
    marital_status: Code = Field("10", description="GB/T 2261.2")
    registration_type: Code = Field("", description="rural or urban; empty takes the household's")
    household: Id | None = None
    relation_to_head: Code = Field("", description="GB/T 4761, may be empty")
    registration_unit: UnitCode | None = None
    residence_unit: UnitCode | None = None
    residence_status: Code = Field("resident", description="resident, out, in or left")
    other_county_code: CountyCode = ""
    mother: Id | None = None
    father: Id | None = None
    confirm: Confirm = []


class PersonUpdateIn(Schema):
    """Only the fields sent are changed. ``version`` is the one the caller read."""

    model_config = example({"version": 1, "name": "陈静", "education": "20"})

    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    confirm: Confirm = []
    name: Text(50) = None
    sex: Code = None
    birth_date: IsoDate = None
    id_number: IdNumberText | None = None
    ethnicity: Code = None
    education: Code = None
    marital_status: Code = None
    registration_type: Code = None
    household: Id | None = None
    relation_to_head: Code = None
    registration_unit: UnitCode | None = None
    residence_unit: UnitCode | None = None
    residence_status: Code = None
    other_county_code: CountyCode = None


class RevealIn(Schema):
    model_config = example({"purpose": "核对奖励扶助申请人身份"})

    purpose: Text(200, "why the full number is needed; written to the audit log")


class RevealOut(Schema):
    id_number: str | None


# --------------------------------------------------------------------------------------------------------------
# households


class HouseholdOut(Schema):
    id: int
    number: str
    address: str
    unit: UnitRefOut
    registration_type: CodeOut | None
    head: PersonRefOut | None
    created_at: datetime

    @staticmethod
    def resolve_registration_type(obj):
        return code_out("registration_type", obj.registration_type)


class HouseholdDetailOut(Schema):
    household: HouseholdOut
    members: list[PersonBriefOut]


class HouseholdPageOut(PageInfoOut):
    items: list[HouseholdOut]


class HouseholdSearchIn(PageIn):
    q: Text(100, "a household number or its beginning, or part of the address") = ""
    unit: UnitQuery | None = Field(None, description="only this unit's subtree (code or id)")


class HouseholdIn(Schema):
    model_config = example({"unit": "500230001001", "address": "东城路12号", "registration_type": "urban"})

    unit: UnitCode
    address: Text(200)
    registration_type: Code = Field("rural", description="rural or urban")
    number: Text(24, "household number; empty: the next number of the village") = ""


# --------------------------------------------------------------------------------------------------------------
# events


class EventOut(Schema):
    id: int
    kind: CodeOut
    date: date
    unit: UnitRefOut | None = Field(description="the village where the event is counted")
    person: PersonRefOut | None = Field(description="the child of a live birth, the deceased, the person who moved")
    mother: PersonRefOut | None
    father: PersonRefOut | None
    sex: CodeOut | None
    live_born: bool | None
    birth_order: int | None
    place: CodeOut | None
    from_unit: UnitRefOut | None
    to_unit: UnitRefOut | None
    from_county: str
    to_county: str
    note: str
    recorded_at: datetime
    source: str

    @staticmethod
    def resolve_kind(obj):
        return choice_out(EventKind, obj.kind)

    @staticmethod
    def resolve_sex(obj):
        return code_out("sex", obj.sex)

    @staticmethod
    def resolve_place(obj):
        return code_out("birth_place", obj.place)


class EventPageOut(PageInfoOut):
    items: list[EventOut]


EventKindIn = Literal["birth", "death", "move_out", "move_in"]


class EventSearchIn(PageIn):
    kind: EventKindIn | None = None
    unit: UnitQuery | None = Field(None, description="only this unit's subtree (code or id)")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class ExportFileIn(Schema):
    """How to write an export."""

    format: Literal["xlsx", "csv"] = "xlsx"
    reveal: bool = Field(False, description="full ID numbers (a role that may reveal, with a purpose)")
    purpose: Text(200, "why the full ID numbers are needed; recorded in the audit log") = ""


class ExportIn(ExportFileIn):
    """The filters of an export (those of the list's page) and how to write it."""

    q: Text(100, "persons: a name or ID number (or its beginning); households: number prefix or address") = ""
    unit: UnitQuery | None = Field(None, description="only this unit's subtree (code or id)")
    household: Text(24, "persons: one household's number") = ""
    include_dead: bool = False
    event_kind: EventKindIn | None = None
    period: Text(12, "events: a period such as 2025, FP2025, 2025Q3 or 202507") = ""
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class BirthIn(Schema):
    model_config = example({"mother": 2, "father": 1, "born_on": "2025-03-01", "sex": "1", "name": "张小军",
                            "id_number": "500230202503010132", "place": "1"})

    mother: Id
    born_on: IsoDate
    sex: Code
    live_born: bool = True
    name: Text(50, "the child's name (a temporary one will do); required for a live birth") = ""
    father: Id | None = None
    id_number: IdNumberText | None = None
    place: Code = Field("", description="place of birth code")
    unit: UnitCode | None = Field(None, description="village where the birth is counted; default the mother's")
    ethnicity: Code | None = None
    household: Id | None = None
    confirm: Confirm = []


class DeathIn(Schema):
    model_config = example({"person": 1, "died_on": "2025-05-05"})

    person: Id
    died_on: IsoDate
    unit: UnitCode | None = None
    note: Text(200) = ""


class MoveOutIn(Schema):
    model_config = example({"person": 1, "moved_on": "2025-04-01", "to_county": "110105"})

    person: Id
    moved_on: IsoDate
    to_unit: UnitCode | None = Field(None, description="village of the county moved to")
    to_county: CountyCode = Field("", description="or the other county moved to")
    registration_moved: bool = False
    note: Text(200) = ""


class NewcomerIn(Schema):
    """Someone arriving from another county who is not on the register yet."""

    name: Text(50)
    sex: Code
    birth_date: IsoDate
    id_number: IdNumberText | None = None
    ethnicity: Code = "01"
    education: Code = ""
    marital_status: Code = "10"
    registration_type: Code = ""
    relation_to_head: Code = ""


class MoveInIn(Schema):
    model_config = example({"moved_on": "2025-06-01", "to_unit": "500230001002", "from_county": "110105",
                            "new_person": {"name": "刘洋", "sex": "1", "birth_date": "1992-07-07"}})

    moved_on: IsoDate
    to_unit: UnitCode
    from_county: CountyCode
    person: Id | None = Field(None, description="a returning person already on the register")
    new_person: NewcomerIn | None = Field(None, description="or a newcomer's details")
    household: Id | None = None
    note: Text(200) = ""
    confirm: Confirm = []


# --------------------------------------------------------------------------------------------------------------
# marriages


class MarriageDetailOut(MarriageOut):
    unit: UnitRefOut | None


class MarriageIn(Schema):
    model_config = example({"husband": 1, "wife": 2, "married_on": "2025-01-01"})

    husband: Id
    wife: Id
    married_on: IsoDate
    unit: UnitCode | None = None


class MarriageEndIn(Schema):
    model_config = example({"ended_on": "2025-06-30", "reason": "divorce"})

    ended_on: IsoDate
    reason: Literal["divorce", "annulment"] = MarriageEnd.DIVORCE.value


# --------------------------------------------------------------------------------------------------------------
# units


class UnitListIn(Schema):
    parent: UnitQuery | None = Field(None, description="only the direct children of this unit (code or id)")
    level: int | None = Field(None, ge=1, le=4, description="only units of this level")


class UnitOut(Schema):
    id: int
    code: str
    name: str
    level: int = Field(description="1 county, 2 township, 3 village, 4 group")
    level_name: str
    unit_type: CodeOut
    parent_id: int | None
    opened_on: date | None
    closed_on: date | None

    @staticmethod
    def resolve_level_name(obj):
        return str(UnitLevel(obj.level).label)

    @staticmethod
    def resolve_unit_type(obj):
        return choice_out(UnitType, obj.unit_type)


class UnitCountsOut(Schema):
    persons: int
    residents: int
    households: int
    births_this_year: int
    deaths_this_year: int
    migrants_out: int
    migrants_in: int


class UnitDetailOut(Schema):
    unit: UnitOut
    parent: UnitRefOut | None
    children: list[UnitOut]
    counts: UnitCountsOut | None = Field(description="aggregate counts of the unit's subtree; null outside the "
                                         "caller's area")

