"""The exchange's JSON routes (mounted at /api/v1/exchange): queues, requests due, answers, migrant records,
a person's exchange history, rates and the two-way table. County-level officers only (the exchange is the
county's work); ID numbers masked; reads of personal data and every write recorded in the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import PermissionDenied, RuleViolation
from renkou.migrants import rules, selectors, services
from renkou.migrants.models import ExchangeRequest, InboxMessage, MigrantRecord, OutboxMessage
from renkou.migrants.schema import storable
from renkou.orgunits.periods import Period, PeriodError
from renkou.registry.idnumbers import mask
from renkou.registry.schemas import answers
from renkou.registry.selectors import person_get_for_user

router = Router(tags=["exchange"])


def _text(max_length: int, min_length: int = 0, **kw):
    return Annotated[str, Field(max_length=max_length, min_length=min_length, **kw), AfterValidator(storable)]


Text50, Text200 = _text(50), _text(200)
Name = _text(50, 1)
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)
LIMIT = 200


def _officer(request: HttpRequest, *, write: bool = False) -> tuple[User, str]:
    user: User = request.auth
    selectors.exchange_officer(user)
    if write and not scope_for(user).can_write:
        raise PermissionDenied
    return user, selectors.own_county_code()


def _audit_read(user: User, what: str, ids: list[int]) -> None:
    if ids:
        audit_record(user=user, action="exchange.view", object_type=what, channel="api",
                     detail={"ids": ids[:LIMIT]})


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except (PeriodError, ValueError) as exc:
        raise RuleViolation("period", str(exc)) from exc


class ErrorLine(Schema):
    at: datetime
    where: str
    message: str


class StatusOut(Schema):
    county_code: str
    outbox_pending: int
    outbox_sent: int
    outbox_rejected: int
    lag_seconds: float | None = Field(description="age of the oldest unsent outbox message")
    inbox: dict[str, int]
    unmatched: int
    requests_open: int
    requests_overdue: int
    dead: int = Field(description="messages dead-lettered after failing on every delivery (retry them)")
    errors: list[ErrorLine]


class MessageOut(Schema):
    id: int
    message_id: str
    kind: str
    other_county: str
    status: str
    reason: str
    at: datetime
    person_id: int | None


def _inbox_out(m: InboxMessage) -> MessageOut:
    return MessageOut(id=m.pk, message_id=str(m.message_id), kind=m.kind, other_county=m.from_county,
                      status=m.status, reason=m.reason, at=m.received_at, person_id=m.person_id)


def _outbox_out(m: OutboxMessage) -> MessageOut:
    return MessageOut(id=m.pk, message_id=str(m.message_id), kind=m.kind, other_county=m.to_county,
                      status="sent" if m.sent_at else "pending", reason=m.rejected_reason, at=m.created_at,
                      person_id=m.person_id)


class RequestOut(Schema):
    id: int
    role: str
    kind: str
    our_role: str
    other_county: str
    name: str
    sex: str
    birth_date: date
    id_number_masked: str
    pregnant: bool
    fields: list[str]
    opened_on: date
    due_on: date
    days_left: int | None = Field(description="days until due (negative: overdue); null once answered")
    answered_at: datetime | None
    matched: bool | None
    verified: dict[str, str]
    note: str
    person_id: int | None


def _request_out(r: ExchangeRequest, today: date) -> RequestOut:
    return RequestOut(
        id=r.pk, role=r.role, kind=r.kind, our_role=r.our_role, other_county=r.other_county_code, name=r.name,
        sex=r.sex, birth_date=r.birth_date, id_number_masked=mask(r.id_number) if r.id_number else "",
        pregnant=r.pregnant, fields=list(r.fields), opened_on=r.opened_on, due_on=r.due_on,
        days_left=None if r.answered_at else rules.days_left(r.due_on, today), answered_at=r.answered_at,
        matched=r.matched, verified={k: str(v) for k, v in (r.verified or {}).items()}, note=r.answer_note,
        person_id=r.person_id)


class MigrantOut(Schema):
    id: int
    direction: str
    other_county: str
    other_address: str
    address_here: str
    name: str
    sex: str
    birth_date: date
    id_number_masked: str
    since: date
    occupation: str
    marital_status: str
    children: int | None
    contraception: str
    due_on: date | None
    submitted_at: datetime | None
    person_id: int | None


def _migrant_out(m: MigrantRecord) -> MigrantOut:
    return MigrantOut(
        id=m.pk, direction=m.direction, other_county=m.other_county_code, other_address=m.other_address,
        address_here=m.address_here, name=m.name, sex=m.sex, birth_date=m.birth_date,
        id_number_masked=mask(m.id_number) if m.id_number else "", since=m.since, occupation=m.occupation,
        marital_status=m.marital_status, children=m.children, contraception=m.contraception, due_on=m.due_on,
        submitted_at=m.submitted_at, person_id=m.person_id)


class MigrantIn(Schema):
    direction: Literal["in", "out"]
    other_county_code: str = Field(pattern=r"^\d{6}$")
    name: Name
    sex: Literal["1", "2"]
    birth_date: date
    since: date
    id_number: _text(30) = ""
    other_address: Text200 = ""
    address_here: Text200 = ""
    occupation: Text200 = ""
    marital_status: _text(2) = ""
    marriage_change: Text200 = ""
    children: int | None = Field(None, ge=0, le=20)
    children_change: Text200 = ""
    contraception: _text(200, description="as the person reported it (voluntary)") = ""
    pregnant: bool = False
    certificate_number: _text(40) = ""
    submit: bool = Field(True, description="send the case record to the origin now (direction in)")


class RequestIn(Schema):
    to_county: str = Field(pattern=r"^\d{6}$")
    name: Name
    sex: Literal["1", "2"]
    birth_date: date
    id_number: _text(30) = ""
    sender_role: Literal["origin", "destination"]
    pregnant: bool = False
    fields: list[_text(30)] = Field(default_factory=lambda: ["marital_status", "children"], max_length=6)
    note: Text200 = ""


class AnswerIn(Schema):
    matched: bool
    verified: dict[_text(30), Text50] = Field(default_factory=dict)
    note: Text200 = ""


class HistoryOut(Schema):
    at: datetime
    what: str
    kind: str
    other_county: str
    detail: str


class RatesOut(Schema):
    county_code: str
    period: str
    figures: dict[str, float | int | None]
    targets: dict[str, float]


class RatesBlock(Schema):
    submission_rate: float | None
    feedback_rate: float | None
    timeliness: float | None
    figures: dict[str, float | int | None]


def _block(r: rules.Rates) -> RatesBlock:
    return RatesBlock(submission_rate=r.submission_rate, feedback_rate=r.feedback_rate, timeliness=r.timeliness,
                      figures=r.figures())


class TwoWayOut(Schema):
    partner: str
    migrants_here: int
    migrants_there: int
    as_destination: RatesBlock
    as_origin: RatesBlock
    partner_answers: RatesBlock


class ResolvedOut(Schema):
    id: int
    status: str


@router.get("/status", response=answers(200, StatusOut, *READ_ERRORS))
def exchange_status(request: HttpRequest):
    """Queues (outbox pending, inbox by status, unmatched), the relay's lag, requests open and overdue, last errors."""
    _user, county = _officer(request)
    s = selectors.status(county)
    return StatusOut(county_code=county, outbox_pending=s.outbox_pending, outbox_sent=s.outbox_sent,
                     outbox_rejected=s.outbox_rejected, lag_seconds=s.lag_seconds, inbox=s.inbox,
                     unmatched=s.unmatched, requests_open=s.requests_open, requests_overdue=s.requests_overdue,
                     dead=s.dead, errors=[ErrorLine(at=e.at, where=e.where, message=e.message) for e in s.errors])


@router.get("/inbox", response=answers(200, list[MessageOut], *READ_ERRORS))
def exchange_inbox(request: HttpRequest,
                   status: Literal["", "applied", "unmatched", "resolved", "rejected", "dead"] = ""):
    """Messages received (newest first, at most 200), by status: applied, unmatched, resolved, rejected, dead."""
    _officer(request)
    return [_inbox_out(m) for m in selectors.inbox_list(selectors.own_county_code(), status=status)[:LIMIT]]


@router.get("/outbox", response=answers(200, list[MessageOut], *READ_ERRORS))
def exchange_outbox(request: HttpRequest, pending: bool | None = None):
    """Messages sent or waiting to be sent (newest first, at most 200)."""
    _officer(request)
    return [_outbox_out(m) for m in selectors.outbox_list(selectors.own_county_code(), pending=pending)[:LIMIT]]


@router.get("/unmatched", response=answers(200, list[MessageOut], *READ_ERRORS))
def exchange_unmatched(request: HttpRequest):
    """Received messages the register could not match, waiting for an officer (oldest first)."""
    _officer(request)
    return [_inbox_out(m) for m in selectors.unmatched_list(selectors.own_county_code())[:LIMIT]]


@router.post("/unmatched/{item_id}/resolve", response=answers(200, ResolvedOut, *WRITE_ERRORS))
def exchange_unmatched_resolve(request: HttpRequest, item_id: int):
    """Close an unmatched case record (handled outside the system, or not a person of this county)."""
    user, county = _officer(request, write=True)
    item = services.unmatched_resolve(item=selectors.unmatched_get(county, item_id), by=user)
    return ResolvedOut(id=item.pk, status=item.status)


@router.get("/dead", response=answers(200, list[MessageOut], *READ_ERRORS))
def exchange_dead(request: HttpRequest):
    """Dead letters: received messages whose processing failed on every delivery (oldest first), with the error."""
    _officer(request)
    return [_inbox_out(m) for m in selectors.dead_list(selectors.own_county_code())[:LIMIT]]


@router.post("/dead/{item_id}/retry", response=answers(200, ResolvedOut, *WRITE_ERRORS))
def exchange_dead_retry(request: HttpRequest, item_id: int):
    """Apply a dead-lettered message again once its cause is fixed; the answer is the message's new inbox row
    (applied, unmatched or rejected). If it fails again, 422 with the error and the dead letter stays."""
    user, county = _officer(request, write=True)
    item = services.dead_letter_retry(item=selectors.dead_get(county, item_id), by=user)
    return ResolvedOut(id=item.pk, status=item.status)


@router.get("/requests", response=answers(200, list[RequestOut], *READ_ERRORS))
def exchange_requests(request: HttpRequest, role: Literal["", "sent", "received"] = ""):
    """Verification requests and birth notices, sent and received (newest first, at most 200)."""
    user, county = _officer(request)
    rows = list(selectors.requests_list(county, role=role)[:LIMIT])
    _audit_read(user, "exchange_request", [r.pk for r in rows])
    today = timezone.localdate()
    return [_request_out(r, today) for r in rows]


@router.get("/requests/due", response=answers(200, list[RequestOut], *READ_ERRORS))
def exchange_requests_due(request: HttpRequest, overdue: bool = False):
    """Received requests still to answer, most urgent first, with the days left (negative when overdue)."""
    user, county = _officer(request)
    rows = selectors.requests_due(county, overdue_only=overdue)[:LIMIT]
    _audit_read(user, "exchange_request", [d.request.pk for d in rows])
    today = timezone.localdate()
    return [_request_out(d.request, today) for d in rows]


@router.post("/requests", response=answers(201, RequestOut, *WRITE_ERRORS))
def exchange_request_send(request: HttpRequest, body: RequestIn):
    """Send a verification request (协查) to another county: due in 15 days when she is pregnant, else 30."""
    user, county = _officer(request, write=True)
    r = services.verify_request_send(county_code=county, by=user, **body.dict())
    return Status(201, _request_out(r, r.opened_on))


@router.post("/requests/{request_id}/answer", response=answers(200, RequestOut, *WRITE_ERRORS))
def exchange_request_answer(request: HttpRequest, request_id: int, body: AnswerIn):
    """Answer a received request (matched or not, the verified fields); the feedback goes out at once."""
    user, county = _officer(request, write=True)
    r = services.request_answer(request=selectors.request_get(county, request_id), by=user, **body.dict())
    return _request_out(r, r.opened_on)


@router.get("/migrants", response=answers(200, list[MigrantOut], *READ_ERRORS))
def exchange_migrants(request: HttpRequest, direction: Literal["", "in", "out"] = ""):
    """Migrant records: ``out`` our residents living elsewhere, ``in`` residents of other counties living here."""
    user, county = _officer(request)
    rows = list(selectors.migrants_list(county, direction=direction)[:LIMIT])
    _audit_read(user, "migrant", [m.pk for m in rows])
    return [_migrant_out(m) for m in rows]


@router.post("/migrants", response=answers(201, MigrantOut, *WRITE_ERRORS))
def exchange_migrant_create(request: HttpRequest, body: MigrantIn):
    """Record a migrant; for one living here the case record is due to the origin by the 20th of next month."""
    user, county = _officer(request, write=True)
    data = body.dict()
    submit = data.pop("submit")
    record = services.migrant_record_create(county_code=county, data=services.MigrantIn(**data), by=user,
                                            submit=submit)
    return Status(201, _migrant_out(record))


@router.get("/persons/{person_id}/history", response=answers(200, list[HistoryOut], *READ_ERRORS))
def exchange_person_history(request: HttpRequest, person_id: int):
    """Everything exchanged with other counties about one person of the register."""
    user, county = _officer(request)
    person = person_get_for_user(user=user, person_id=person_id)
    audit_record(user=user, action="exchange.history", object_type="person", object_id=str(person.pk),
                 channel="api")
    return [HistoryOut(at=e.at, what=e.what, kind=e.kind, other_county=e.other_county, detail=e.detail)
            for e in selectors.person_history(county, person.pk)]


@router.get("/rates", response=answers(200, RatesOut, *READ_ERRORS))
def exchange_rates(request: HttpRequest, period: str = Query(..., max_length=12)):
    """Submission rate, feedback rate and timeliness of this county for a period (e.g. 2025, FP2025, 202506)."""
    _officer(request)
    county = selectors.own_county_code()
    return RatesOut(county_code=county, period=period, figures=selectors.rates(county, _period(period)),
                    targets=rules.TARGETS)


@router.get("/two-way", response=answers(200, list[TwoWayOut], *READ_ERRORS))
def exchange_two_way(request: HttpRequest, period: str = Query(..., max_length=12)):
    """双向考核: for each partner county, this county as destination and as origin, and the partner's answers."""
    _officer(request)
    rows = selectors.two_way_table(selectors.own_county_code(), _period(period))
    return [TwoWayOut(partner=r.partner, migrants_here=r.migrants_here, migrants_there=r.migrants_there,
                      as_destination=_block(r.as_destination), as_origin=_block(r.as_origin),
                      partner_answers=_block(r.partner_answers)) for r in rows]
