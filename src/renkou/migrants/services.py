"""Writes of the exchange. Each public function is one transaction; a message to another county is written to the
outbox inside that transaction, and a received message's effect commits together with its inbox row."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from pydantic import ValidationError

from renkou.accounts.models import User
from renkou.accounts.services import audit_record
from renkou.core.errors import RuleViolation, RuleViolations
from renkou.migrants import rules, schema
from renkou.migrants.models import (
    Direction,
    ExchangeError,
    ExchangeRequest,
    InboxMessage,
    InboxStatus,
    MigrantRecord,
    OutboxMessage,
    RequestKind,
    RequestRole,
)
from renkou.registry import idnumbers
from renkou.registry.selectors import ExchangeFacts, person_match_in_county, persons_match_in_county

# Refused messages are kept only in part: enough for an officer to see what came.
KEEP_REFUSED_BYTES = 2048
_FALLBACK_NS = uuid.UUID("6f1c3b52-8d0a-4c55-9a43-2f3f4c0e7a10")


def _check_county(field: str, code: str) -> str:
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit() or code[0] == "0":
        raise RuleViolation(field, "must be a six-digit GB/T 2260 county code")
    return code


def _normalize_id(field: str, id_number: str | None, *, sex: str | None = None,
                  birth_date: date | None = None) -> str:
    """The 18-character number; its errors (length, date, a sex or birth date it contradicts) are refused, a
    wrong check character is passed on as entered (real cards carry them; DOMAIN.md)."""
    if not id_number:
        return ""
    result = idnumbers.check(id_number, sex=sex, birth_date=birth_date)
    if result.errors:
        raise RuleViolation(field, str(result.errors[0].message))
    return result.number


def _subject(name: str, sex: str, birth_date: date, id_number: str) -> dict[str, Any]:
    return {"name": name, "sex": sex, "birth_date": birth_date, "id_number": id_number or None}


def _build(kind: str, **kwargs: Any) -> Any:
    """A message of our own data; what the schema refuses (a marital status that is not two digits, a date
    the exchange cannot carry …) is a RuleViolation naming the input field, not a crash."""
    try:
        return schema.build(kind, **kwargs)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            names = [str(p) for p in e["loc"] if not isinstance(p, int) and p not in {
                "payload", "subject", "mother", kind}]
            problems.append(RuleViolation(names[-1] if names else "message", e["msg"]))
        raise RuleViolations(problems) from exc


def _outbox_put(message: schema._Envelope, *, person_id: int | None, at: datetime) -> OutboxMessage:
    return OutboxMessage.objects.create(
        message_id=message.message_id, county_code=message.from_county, to_county=message.to_county,
        kind=message.kind, body=schema.encode(message), person_id=person_id, created_at=at,
    )


# --- migrant records -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MigrantIn:
    direction: str
    other_county_code: str
    name: str
    sex: str
    birth_date: date
    since: date
    id_number: str = ""
    other_address: str = ""
    address_here: str = ""
    occupation: str = ""
    marital_status: str = ""
    marriage_change: str = ""
    children: int | None = None
    children_change: str = ""
    contraception: str = ""
    pregnant: bool = False
    certificate_number: str = ""


@transaction.atomic
def migrant_record_create(*, county_code: str, data: MigrantIn, by: User | None, submit: bool = True,
                          at: datetime | None = None) -> MigrantRecord:
    """Record a migrant. For a resident of another county living here (``in``) the case record is due to the
    origin by the monthly cut-off; with ``submit`` it is sent at once (outbox, same transaction)."""
    at = at or timezone.now()
    if data.direction not in Direction.values:
        raise RuleViolation("direction", "must be in or out")
    other = _check_county("other_county_code", data.other_county_code)
    if other == county_code:
        raise RuleViolation("other_county_code", "must be another county")
    if not data.name.strip():
        raise RuleViolation("name", "is required")
    if data.sex not in {"1", "2"}:
        raise RuleViolation("sex", "must be 1 (male) or 2 (female)")
    if data.marital_status and not (len(data.marital_status) == 2 and data.marital_status.isdigit()):
        raise RuleViolation("marital_status", "must be a two-digit GB/T 2261.2 code")
    id_number = _normalize_id("id_number", data.id_number, sex=data.sex, birth_date=data.birth_date)
    facts = person_match_in_county(county_code=county_code, id_number=id_number or None, name=data.name.strip(),
                                   birth_date=data.birth_date)
    if data.direction == Direction.OUT and facts is None:
        raise RuleViolation("id_number", "our resident living elsewhere must be in the register")
    record = MigrantRecord.objects.create(
        county_code=county_code, direction=data.direction, other_county_code=other,
        other_address=data.other_address, address_here=data.address_here,
        person_id=facts.person_id if facts else None, name=data.name.strip(), sex=data.sex,
        birth_date=data.birth_date, id_number=id_number, since=data.since, occupation=data.occupation,
        marital_status=data.marital_status, marriage_change=data.marriage_change, children=data.children,
        children_change=data.children_change, contraception=data.contraception, pregnant=data.pregnant,
        certificate_number=data.certificate_number,
        due_on=rules.record_due_on(timezone.localdate(at)) if data.direction == Direction.IN else None,
        created_at=at, created_by=by,
    )
    if by is not None:
        audit_record(user=by, action="migrant.create", object_type="migrant", object_id=str(record.pk),
                     detail={"direction": record.direction, "other_county": other})
    if submit and data.direction == Direction.IN:
        _case_record_send(record, at=at)
    return record


def _case_record_send(record: MigrantRecord, *, at: datetime) -> OutboxMessage:
    payload = {
        "subject": _subject(record.name, record.sex, record.birth_date, record.id_number),
        "address": record.address_here, "since": record.since, "occupation": record.occupation,
        "marital_status": record.marital_status or None, "marriage_change": record.marriage_change,
        "children": record.children, "children_change": record.children_change,
        "contraception": record.contraception, "pregnant": record.pregnant,
        "certificate_number": record.certificate_number,
    }
    message = _build("case_record", from_county=record.county_code, to_county=record.other_county_code,
                           payload=payload, sent_at=at)
    record.submitted_at = at
    record.save(update_fields=["submitted_at", "updated_at"])
    return _outbox_put(message, person_id=record.person_id, at=at)


@transaction.atomic
def case_record_submit(*, record: MigrantRecord, by: User | None, at: datetime | None = None) -> OutboxMessage:
    """Send (again) the case record of a migrant living here to their origin county."""
    if record.direction != Direction.IN:
        raise RuleViolation("direction", "only the destination sends case records")
    outbox = _case_record_send(record, at=at or timezone.now())
    if by is not None:
        audit_record(user=by, action="migrant.submit", object_type="migrant", object_id=str(record.pk))
    return outbox


# --- requests --------------------------------------------------------------------------------------------------

@transaction.atomic
def verify_request_send(*, county_code: str, to_county: str, name: str, sex: str, birth_date: date,
                        id_number: str = "", sender_role: str, pregnant: bool = False,
                        fields: list[str] | None = None, note: str = "", by: User | None,
                        at: datetime | None = None) -> ExchangeRequest:
    """协查: ask another county to verify facts about a person. Due in 15 days when she is pregnant, else 30."""
    at = at or timezone.now()
    to_county = _check_county("to_county", to_county)
    if sender_role not in {"origin", "destination"}:
        raise RuleViolation("sender_role", "must be origin or destination")
    id_number = _normalize_id("id_number", id_number, sex=sex, birth_date=birth_date)
    fields = list(fields or ["marital_status", "children"])
    bad = [f for f in fields if f not in schema.VERIFIABLE_FIELDS]
    if bad:
        raise RuleViolation("fields", f"cannot be verified: {', '.join(bad)}")
    facts = person_match_in_county(county_code=county_code, id_number=id_number or None, name=name,
                                   birth_date=birth_date)
    message = _build("verify_request", from_county=county_code, to_county=to_county, sent_at=at, payload={
        "subject": _subject(name, sex, birth_date, id_number), "sender_role": sender_role,
        "pregnant": pregnant, "fields": fields, "note": note,
    })
    today = timezone.localdate(at)
    request = ExchangeRequest.objects.create(
        county_code=county_code, role=RequestRole.SENT, kind=RequestKind.VERIFY, our_role=sender_role,
        other_county_code=to_county, message_id=message.message_id, person_id=facts.person_id if facts else None,
        name=name, sex=sex, birth_date=birth_date, id_number=id_number, pregnant=pregnant, fields=fields,
        detail={"note": note} if note else {}, opened_on=today,
        due_on=rules.request_due_on(today, kind="verify_request", pregnant=pregnant),
    )
    _outbox_put(message, person_id=request.person_id, at=at)
    if by is not None:
        audit_record(user=by, action="exchange.request", object_type="exchange_request", object_id=str(request.pk),
                     detail={"to_county": to_county})
    return request


@dataclass(frozen=True)
class RequestIn:
    name: str
    sex: str
    birth_date: date
    id_number: str = ""
    pregnant: bool = False


@transaction.atomic
def verify_requests_send(*, county_code: str, to_county: str, subjects: list[RequestIn], sender_role: str,
                         fields: list[str] | None = None, by: User | None,
                         at: datetime | None = None) -> int:
    """Many verification requests to one county at once (a monthly batch; the demo and the benchmark), with
    the same effects as ``verify_request_send`` for each: requests and outbox rows written in bulk. Returns
    how many were sent."""
    at = at or timezone.now()
    to_county = _check_county("to_county", to_county)
    if sender_role not in {"origin", "destination"}:
        raise RuleViolation("sender_role", "must be origin or destination")
    fields = list(fields or ["marital_status", "children"])
    today = timezone.localdate(at)
    numbers = [_normalize_id(f"subjects[{i}].id_number", s.id_number, sex=s.sex, birth_date=s.birth_date)
               for i, s in enumerate(subjects)]
    facts = persons_match_in_county(county_code=county_code, subjects=[(n or None, s.name, s.birth_date)
                                                                       for n, s in zip(numbers, subjects, strict=True)])
    try:
        messages, bodies = schema.build_many("verify_request", [{
            "from_county": county_code, "to_county": to_county, "sent_at": at, "message_id": uuid.uuid4(),
            "payload": {"subject": _subject(s.name, s.sex, s.birth_date, number), "sender_role": sender_role,
                        "pregnant": s.pregnant, "fields": fields, "note": ""},
        } for s, number in zip(subjects, numbers, strict=True)])
    except ValidationError as exc:
        raise RuleViolations([RuleViolation(
            f"subjects[{e['loc'][0]}].{[p for p in e['loc'] if isinstance(p, str)][-1]}", e["msg"])
            for e in exc.errors(include_url=False)]) from exc
    requests, outbox = [], []
    for s, number, f, message, body in zip(subjects, numbers, facts, messages, bodies, strict=True):
        person_id = f.person_id if f else None
        requests.append({
            "county_code": county_code, "role": RequestRole.SENT, "kind": RequestKind.VERIFY,
            "our_role": sender_role, "other_county_code": to_county, "message_id": message.message_id,
            "person_id": person_id, "name": s.name, "sex": s.sex, "birth_date": s.birth_date, "id_number": number,
            "pregnant": s.pregnant, "fields": fields, "opened_on": today,
            "due_on": rules.request_due_on(today, kind="verify_request", pregnant=s.pregnant)})
        outbox.append({"message_id": message.message_id, "county_code": county_code, "to_county": to_county,
                       "kind": "verify_request", "body": body, "person_id": person_id, "created_at": at})
    _insert_rows(ExchangeRequest, requests)
    _insert_rows(OutboxMessage, outbox)
    if by is not None:
        audit_record(user=by, action="exchange.request", object_type="exchange_request",
                     detail={"to_county": to_county, "count": len(requests)})
    return len(requests)


@transaction.atomic
def birth_notice_send(*, county_code: str, to_county: str, mother_name: str, mother_birth_date: date,
                      mother_id_number: str = "", child_sex: str, child_birth_date: date,
                      birth_order: int | None = None, by: User | None, at: datetime | None = None) -> ExchangeRequest:
    """Tell the origin of a birth here to a woman registered there (to be acknowledged within 30 days)."""
    at = at or timezone.now()
    to_county = _check_county("to_county", to_county)
    mother_id_number = _normalize_id("mother_id_number", mother_id_number, sex="2", birth_date=mother_birth_date)
    message = _build("birth_notice", from_county=county_code, to_county=to_county, sent_at=at, payload={
        "mother": _subject(mother_name, "2", mother_birth_date, mother_id_number), "child_sex": child_sex,
        "child_birth_date": child_birth_date, "birth_order": birth_order,
    })
    today = timezone.localdate(at)
    facts = person_match_in_county(county_code=county_code, id_number=mother_id_number or None, name=mother_name,
                                   birth_date=mother_birth_date)
    request = ExchangeRequest.objects.create(
        county_code=county_code, role=RequestRole.SENT, kind=RequestKind.BIRTH_NOTICE, our_role="destination",
        other_county_code=to_county, message_id=message.message_id, person_id=facts.person_id if facts else None,
        name=mother_name, sex="2", birth_date=mother_birth_date, id_number=mother_id_number,
        detail={"child_sex": child_sex, "child_birth_date": child_birth_date.isoformat(), "birth_order": birth_order},
        opened_on=today, due_on=rules.request_due_on(today, kind="birth_notice", pregnant=False),
    )
    _outbox_put(message, person_id=request.person_id, at=at)
    if by is not None:
        audit_record(user=by, action="exchange.birth_notice", object_type="exchange_request",
                     object_id=str(request.pk), detail={"to_county": to_county})
    return request


def _answer(request: ExchangeRequest, *, matched: bool, verified: dict[str, str], note: str, by: User | None,
            at: datetime) -> OutboxMessage:
    message = _build("feedback", from_county=request.county_code, to_county=request.other_county_code,
                           sent_at=at, payload={"in_reply_to": request.message_id, "matched": matched,
                                                "verified": verified, "note": note})
    request.answered_at, request.answered_by = at, by
    request.matched, request.verified, request.answer_note = matched, verified, note
    request.save(update_fields=["answered_at", "answered_by", "matched", "verified", "answer_note"])
    return _outbox_put(message, person_id=request.person_id, at=at)


def _verified_from(facts: ExchangeFacts, fields: list[str]) -> dict[str, str]:
    values = {
        "name": facts.name, "sex": facts.sex, "birth_date": facts.birth_date.isoformat(),
        "marital_status": facts.marital_status, "children": str(facts.children),
        "residence_status": facts.residence_status,
    }
    return {f: values[f] for f in fields if f in values}


@transaction.atomic
def request_answer(*, request: ExchangeRequest, matched: bool, verified: dict[str, str], note: str = "",
                   by: User, at: datetime | None = None) -> ExchangeRequest:
    """An officer answers a received request (the feedback goes out through the outbox)."""
    request = ExchangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.role != RequestRole.RECEIVED:
        raise RuleViolation("request", "only a received request is answered")
    if request.answered_at is not None:
        raise RuleViolation("request", "already answered")
    bad = [k for k in verified if k not in schema.VERIFIABLE_FIELDS]
    if bad:
        raise RuleViolation("verified", f"cannot be answered: {', '.join(bad)}")
    too_long = [k for k, v in verified.items() if len(str(v)) > 50]
    if too_long:
        raise RuleViolation(f"verified.{too_long[0]}", "at most 50 characters")
    if len(note) > 200:
        raise RuleViolation("note", "at most 200 characters")
    _answer(request, matched=matched, verified={k: str(v) for k, v in verified.items()}, note=note, by=by,
            at=at or timezone.now())
    InboxMessage.objects.filter(county_code=request.county_code, message_id=request.message_id,
                                status=InboxStatus.UNMATCHED).update(
        status=InboxStatus.RESOLVED, resolved_at=request.answered_at, resolved_by=by)
    audit_record(user=by, action="exchange.answer", object_type="exchange_request", object_id=str(request.pk),
                 detail={"matched": matched})
    return request


@transaction.atomic
def unmatched_resolve(*, item: InboxMessage, by: User, at: datetime | None = None) -> InboxMessage:
    """An officer closes an unmatched case record (handled outside the system, or not ours)."""
    item = InboxMessage.objects.select_for_update().get(pk=item.pk)
    if item.status != InboxStatus.UNMATCHED:
        raise RuleViolation("status", "not waiting for an officer")
    item.status, item.resolved_at, item.resolved_by = InboxStatus.RESOLVED, at or timezone.now(), by
    item.save(update_fields=["status", "resolved_at", "resolved_by"])
    audit_record(user=by, action="exchange.resolve", object_type="inbox", object_id=str(item.pk))
    return item


# --- receipt ---------------------------------------------------------------------------------------------------

def fallback_message_id(raw: bytes, sender: str | None, header_id: str | None) -> uuid.UUID:
    """The id under which an unreadable message is recorded: its Nats-Msg-Id if that is a UUID, else a hash of
    its bytes, so that a redelivery of the same bytes is still recognised."""
    if header_id:
        try:
            return uuid.UUID(header_id)
        except ValueError:
            pass
    return uuid.uuid5(_FALLBACK_NS, f"{sender}:{hashlib.sha256(raw).hexdigest()}")


def _reject(*, county_code: str, raw: bytes, rejected: schema.Rejected, message_id: uuid.UUID, at: datetime,
            reply: bool = True) -> str:
    InboxMessage.objects.create(
        county_code=county_code, message_id=message_id, from_county=rejected.from_county or "",
        kind=rejected.kind or "", status=InboxStatus.REJECTED, reason=f"{rejected.reason}: {rejected.detail}"[:600],
        body=raw[:KEEP_REFUSED_BYTES], received_at=at,
    )
    # Never answer a rejection with a rejection (two nodes would bounce one message for ever).
    if reply and rejected.from_county and rejected.from_county != county_code and rejected.kind != "rejection":
        message = _build("rejection", from_county=county_code, to_county=rejected.from_county, sent_at=at,
                               payload={"in_reply_to": rejected.message_id, "reason": rejected.reason,
                                        "detail": rejected.detail[:500]})
        _outbox_put(message, person_id=None, at=at)
    return "rejected"


def message_receive(*, county_code: str, raw: bytes, sender: str | None, header_id: str | None = None,
                    auto_feedback: bool = True, at: datetime | None = None,
                    decoded: schema.Decoded | schema.Rejected | None = None) -> str:
    """Apply one received message and record it in the inbox, in one transaction (a savepoint when called
    inside the consumer's batch transaction). Returns the outcome: applied, unmatched, rejected or duplicate.
    A message already in the inbox changes nothing. Never raises on bad input. ``decoded``: the message as
    the node already read it (one message of a batch)."""
    at = at or timezone.now()
    if decoded is None:
        decoded = schema.decode(raw, own_county=county_code, sender=sender)
    if isinstance(decoded, schema.Rejected):
        message_id = decoded.message_id or fallback_message_id(raw, sender, header_id)
    else:
        message_id = decoded.message.message_id
    if InboxMessage.objects.filter(county_code=county_code, message_id=message_id).exists():
        return "duplicate"
    try:
        with transaction.atomic():
            if isinstance(decoded, schema.Rejected):
                return _reject(county_code=county_code, raw=raw, rejected=decoded, message_id=message_id, at=at)
            return _apply(county_code, decoded.message, raw, auto_feedback=auto_feedback, at=at)
    except IntegrityError:
        # A concurrent consumer recorded the same message first.
        if InboxMessage.objects.filter(county_code=county_code, message_id=message_id).exists():
            return "duplicate"
        raise


def _inbox(county_code: str, message: schema._Envelope, raw: bytes, status: str, *, person_id: int | None,
           at: datetime, reason: str = "") -> InboxMessage:
    return InboxMessage.objects.create(
        county_code=county_code, message_id=message.message_id, from_county=message.from_county,
        kind=message.kind, status=status, reason=reason, body=raw, person_id=person_id, received_at=at,
    )


def _match(county_code: str, subject: schema.Subject) -> ExchangeFacts | None:
    return person_match_in_county(county_code=county_code, id_number=subject.id_number, name=subject.name,
                                  birth_date=subject.birth_date)


def _apply(county_code: str, message: Any, raw: bytes, *, auto_feedback: bool, at: datetime) -> str:
    kind = message.kind
    if kind == "case_record":
        p = message.payload
        facts = _match(county_code, p.subject)
        if facts is None:
            _inbox(county_code, message, raw, InboxStatus.UNMATCHED, person_id=None, at=at)
            return "unmatched"
        fields = {
            "other_address": p.address, "since": p.since, "occupation": p.occupation,
            "marital_status": p.marital_status or "", "marriage_change": p.marriage_change, "children": p.children,
            "children_change": p.children_change, "contraception": p.contraception, "pregnant": p.pregnant,
            "certificate_number": p.certificate_number, "name": p.subject.name, "sex": p.subject.sex,
            "birth_date": p.subject.birth_date, "id_number": p.subject.id_number or "",
        }
        updated = MigrantRecord.objects.filter(county_code=county_code, direction=Direction.OUT,
                                               person_id=facts.person_id,
                                               other_county_code=message.from_county).update(**fields)
        if not updated:
            MigrantRecord.objects.create(county_code=county_code, direction=Direction.OUT,
                                         other_county_code=message.from_county, person_id=facts.person_id,
                                         created_at=at, **fields)
        _inbox(county_code, message, raw, InboxStatus.APPLIED, person_id=facts.person_id, at=at)
        return "applied"
    if kind in ("verify_request", "birth_notice"):
        p = message.payload
        subject = p.subject if kind == "verify_request" else p.mother
        facts = _match(county_code, subject)
        today = timezone.localdate(at)
        pregnant = kind == "verify_request" and p.pregnant
        if kind == "verify_request":
            our_role = "origin" if p.sender_role == "destination" else "destination"
            fields, detail = list(p.fields), ({"note": p.note} if p.note else {})
        else:
            our_role, fields = "origin", ["children"]
            detail = {"child_sex": p.child_sex, "child_birth_date": p.child_birth_date.isoformat(),
                      "birth_order": p.birth_order}
        request = ExchangeRequest.objects.create(
            county_code=county_code, role=RequestRole.RECEIVED, kind=kind, our_role=our_role,
            other_county_code=message.from_county, message_id=message.message_id,
            person_id=facts.person_id if facts else None, name=subject.name, sex=subject.sex,
            birth_date=subject.birth_date, id_number=subject.id_number or "", pregnant=pregnant, fields=fields,
            detail=detail, opened_on=today, due_on=rules.request_due_on(today, kind=kind, pregnant=pregnant),
        )
        if facts is None:
            _inbox(county_code, message, raw, InboxStatus.UNMATCHED, person_id=None, at=at)
            return "unmatched"
        if auto_feedback:
            _answer(request, matched=True, verified=_verified_from(facts, fields), note="", by=None, at=at)
        _inbox(county_code, message, raw, InboxStatus.APPLIED, person_id=facts.person_id, at=at)
        return "applied"
    if kind == "feedback":
        p = message.payload
        request = ExchangeRequest.objects.filter(county_code=county_code, role=RequestRole.SENT,
                                                 message_id=p.in_reply_to).first()
        if request is None:
            rejected = schema.Rejected("unknown_request", f"in_reply_to {p.in_reply_to}", message.message_id,
                                       message.from_county, kind)
            return _reject(county_code=county_code, raw=raw, rejected=rejected, message_id=message.message_id,
                           at=at)
        if request.answered_at is None:
            # answered when the partner answered (its sent_at), not when we received it: its timeliness
            request.answered_at, request.matched = min(message.sent_at, at), p.matched
            request.verified, request.answer_note = {k: v for k, v in p.verified.items()}, p.note
            request.save(update_fields=["answered_at", "matched", "verified", "answer_note"])
        _inbox(county_code, message, raw, InboxStatus.APPLIED, person_id=request.person_id, at=at)
        return "applied"
    # rejection
    p = message.payload
    if p.in_reply_to is not None:
        OutboxMessage.objects.filter(county_code=county_code, message_id=p.in_reply_to).update(
            rejected_reason=f"{p.reason}: {p.detail}"[:600])
        batch = OutboxMessage.objects.filter(county_code=county_code, batch_id=p.in_reply_to)
        if p.reason == "unknown_version":
            # An older node refused the batch envelope: its messages go again, one broker message each.
            batch.update(sent_at=None, single=True, batch_id=None, last_error=f"batch refused: {p.detail}"[:300])
        else:
            batch.update(rejected_reason=f"batch {p.reason}: {p.detail}"[:600])
    _inbox(county_code, message, raw, InboxStatus.APPLIED, person_id=None, at=at,
           reason=f"{p.reason}: {p.detail}"[:600])
    return "applied"


@dataclass(frozen=True)
class Received:
    """One exchange message as the node read it from the broker: a single message, or one of a batch."""

    raw: bytes
    sender: str | None
    header_id: str | None
    decoded: schema.Decoded | schema.Rejected

    @property
    def message_id(self) -> uuid.UUID:
        d = self.decoded
        if isinstance(d, schema.Decoded):
            return d.message.message_id
        return d.message_id or fallback_message_id(self.raw, self.sender, self.header_id)


def unpack(raw: bytes, *, county_code: str, sender: str | None, header_id: str | None = None) -> list[Received]:
    """The messages one broker message holds: itself, or the messages of a batch (each decoded on its own; a
    batch whose envelope is refused is one rejected item under the batch's id). Never raises on input."""
    result = schema.decode_any(raw, own_county=county_code, sender=sender)
    if isinstance(result, schema.Batch):
        return [Received(m.raw, sender, None, m.result) for m in result.messages]
    if isinstance(result, schema.Rejected):
        raw = raw[:KEEP_REFUSED_BYTES]
    return [Received(raw, sender, header_id, result)]


def messages_receive(*, county_code: str, items: list[Received], auto_feedback: bool = True,
                     at: datetime | None = None) -> list[str]:
    """``message_receive`` for many messages (``unpack``), with the same effects, in bulk: requests, birth
    notices and feedback (the bulk of the traffic) take a few queries for the whole batch and no model
    instances; the rest go one by one. Call inside a transaction; on any error the caller falls back to one
    message at a time."""
    at = at or timezone.now()
    ids = [item.message_id for item in items]
    existing: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        existing |= set(InboxMessage.objects.filter(county_code=county_code, message_id__in=ids[i:i + 500])
                        .values_list("message_id", flat=True))
    outcomes: list[str] = [""] * len(items)
    requests: list[int] = []
    feedbacks: list[int] = []
    seen: set[uuid.UUID] = set()
    for i, item in enumerate(items):
        if ids[i] in existing or ids[i] in seen:
            outcomes[i] = "duplicate"
            continue
        seen.add(ids[i])
        d = item.decoded
        kind = d.message.kind if isinstance(d, schema.Decoded) else ""
        if kind in ("verify_request", "birth_notice"):
            requests.append(i)
        elif kind == "feedback":
            feedbacks.append(i)
    inbox: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    today = timezone.localdate(at)
    if requests:
        subjects = []
        for i in requests:
            m = items[i].decoded.message
            subj = m.payload.subject if m.kind == "verify_request" else m.payload.mother
            subjects.append((subj.id_number, subj.name, subj.birth_date))
        facts_list = persons_match_in_county(county_code=county_code, subjects=subjects)
        new_requests = []
        answers = []
        for i, facts in zip(requests, facts_list, strict=True):
            m = items[i].decoded.message
            p = m.payload
            if m.kind == "verify_request":
                subj, pregnant = p.subject, p.pregnant
                our_role = "origin" if p.sender_role == "destination" else "destination"
                fields, detail = list(p.fields), ({"note": p.note} if p.note else {})
            else:
                subj, pregnant, our_role, fields = p.mother, False, "origin", ["children"]
                detail = {"child_sex": p.child_sex, "child_birth_date": p.child_birth_date.isoformat(),
                          "birth_order": p.birth_order}
            person_id = facts.person_id if facts else None
            request = {
                "county_code": county_code, "role": RequestRole.RECEIVED, "kind": m.kind, "our_role": our_role,
                "other_county_code": m.from_county, "message_id": m.message_id, "person_id": person_id,
                "name": subj.name, "sex": subj.sex, "birth_date": subj.birth_date,
                "id_number": subj.id_number or "", "pregnant": pregnant, "fields": fields, "detail": detail,
                "opened_on": today, "due_on": rules.request_due_on(today, kind=m.kind, pregnant=pregnant),
            }
            if facts is not None and auto_feedback:
                verified = _verified_from(facts, fields)
                request.update(answered_at=at, matched=True, verified=verified)
                answers.append((m, verified, person_id))
            new_requests.append(request)
            inbox.append({"county_code": county_code, "message_id": m.message_id, "from_county": m.from_county,
                          "kind": m.kind, "status": InboxStatus.APPLIED if facts else InboxStatus.UNMATCHED,
                          "body": items[i].raw, "person_id": person_id, "received_at": at})
            outcomes[i] = "applied" if facts is not None else "unmatched"
        _insert_rows(ExchangeRequest, new_requests)
        outbox += _feedbacks(county_code, answers, at=at)
    if feedbacks:
        wanted = [items[i].decoded.message.payload.in_reply_to for i in feedbacks]
        sent: dict[uuid.UUID, tuple[int, int | None, datetime | None]] = {}
        for j in range(0, len(wanted), 500):
            sent |= {mid: (pk, person, answered) for pk, mid, person, answered in ExchangeRequest.objects.filter(
                county_code=county_code, role=RequestRole.SENT, message_id__in=wanted[j:j + 500]).values_list(
                "pk", "message_id", "person_id", "answered_at")}
        answered: list[dict[str, Any]] = []
        done: set[int] = set()
        for i in feedbacks:
            m = items[i].decoded.message
            found = sent.get(m.payload.in_reply_to)
            if found is None:
                continue  # unknown request: rejected below, one by one
            pk, person_id, answered_at = found
            if answered_at is None and pk not in done:
                done.add(pk)
                # answered when the partner answered, not when we received it (as in message_receive)
                answered.append({"pk": pk, "answered_at": min(m.sent_at, at), "matched": m.payload.matched,
                                 "verified": dict(m.payload.verified), "answer_note": m.payload.note})
            inbox.append({"county_code": county_code, "message_id": m.message_id, "from_county": m.from_county,
                          "kind": m.kind, "status": InboxStatus.APPLIED, "body": items[i].raw,
                          "person_id": person_id, "received_at": at})
            outcomes[i] = "applied"
        _update_rows(ExchangeRequest, answered, ["answered_at", "matched", "verified", "answer_note"])
    _insert_rows(InboxMessage, inbox)
    _insert_rows(OutboxMessage, outbox)
    for i, outcome in enumerate(outcomes):
        if not outcome:
            item = items[i]
            outcomes[i] = message_receive(county_code=county_code, raw=item.raw, sender=item.sender,
                                          header_id=item.header_id, auto_feedback=auto_feedback, at=at,
                                          decoded=item.decoded)
    return outcomes


def _feedbacks(county_code: str, answers: list[tuple[Any, dict[str, str], int | None]], *,
               at: datetime) -> list[dict[str, Any]]:
    """Outbox rows of automatic feedback (matched, the verified facts from the register), validated by the
    schema in one call for the whole batch."""
    if not answers:
        return []
    messages = schema.feedbacks_build([{
        "message_id": uuid.uuid4(), "from_county": county_code, "to_county": m.from_county, "sent_at": at,
        "payload": {"in_reply_to": m.message_id, "matched": True, "verified": verified, "note": ""},
    } for m, verified, _ in answers])
    return [{"message_id": f.message_id, "county_code": county_code, "to_county": f.to_county, "kind": "feedback",
             "body": body, "person_id": person_id, "created_at": at}
            for f, body, (_, _, person_id) in zip(*messages, answers, strict=True)]


def _last_value_cached(conv: Any) -> Any:
    last: list[Any] = [object(), None]

    def cached(value: Any) -> Any:
        if type(value) is not type(last[0]) or value != last[0]:
            last[0], last[1] = value, conv(value)
        return last[1]
    return cached


def _converters(model: Any, fields: list[Any]) -> list[tuple[str, Any, Any]]:
    """(attname, default, to the database or None) for each field: what each field's get_db_prep_save would
    do, chosen once per field instead of once per value (the receipt's hot path)."""
    conn = connections[router.db_for_write(model)]
    now = timezone.now()
    out = []
    for f in fields:
        internal = f.get_internal_type()
        if f.is_relation or internal in {"CharField", "TextField", "BooleanField", "IntegerField",
                                         "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField",
                                         "BigIntegerField"}:
            conv = None  # passed as they are (the values are of the field's Python type)
        elif internal == "UUIDField":
            conv = None if conn.features.has_native_uuid_field else (lambda v: v.hex)
        elif internal == "DateTimeField":
            conv = _last_value_cached(conn.ops.adapt_datetimefield_value)  # a batch's rows share their time
        elif internal == "DateField":
            conv = _last_value_cached(conn.ops.adapt_datefield_value)
        elif internal == "JSONField":
            # rows of a batch often carry the same value (the fields asked, an empty detail)
            conv = _last_value_cached((lambda field: lambda v: conn.ops.adapt_json_value(v, field.encoder))(f))
        else:
            conv = (lambda field: lambda v: field.get_db_prep_save(v, conn))(f)
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        out.append((f.attname, now if auto else f.get_default(), conv))
    return out


def _insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT many new rows (dicts by attname, e.g. ``person_id``; a missing field takes its default) in one
    executemany, without model instances or Django's per-row compiler work (both cost more than the rest of a
    batch's receipt). The rows get no primary keys back, which no caller needs."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    plan = _converters(model, fields)
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    # only quoted names of our own model's columns are interpolated; the values are parameters
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    defaults = [(key, default) for key, default, _ in plan]
    convert = [(i, conv) for i, (_, _, conv) in enumerate(plan) if conv is not None]
    params = []
    for row in rows:
        values = [row.get(key, default) for key, default in defaults]
        for i, conv in convert:
            if values[i] is not None:
                values[i] = conv(values[i])
        params.append(values)
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


def _update_rows(model: Any, rows: list[dict[str, Any]], names: list[str]) -> None:
    """UPDATE … WHERE id = %s for many rows (dicts with ``pk`` and ``names``) in one executemany (Django's
    bulk_update builds a CASE per field and row, which costs more than the rest of a batch's receipt)."""
    if not rows:
        return
    fields = [model._meta.get_field(n) for n in names]
    plan = _converters(model, fields)
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    # only quoted names of our own model's columns are interpolated; the values are parameters
    sql = (f"UPDATE {qn(model._meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "  # noqa: S608
           f"WHERE {qn(model._meta.pk.column)} = %s")
    params = [[v if (v := row[n]) is None or conv is None else conv(v) for n, (_, _, conv) in zip(names, plan, strict=True)]
              + [row["pk"]] for row in rows]
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


# --- dead letters ----------------------------------------------------------------------------------------------

def dead_letter_record(*, county_code: str, item: Received, error: str, deliveries: int,
                       at: datetime | None = None) -> InboxMessage:
    """A message whose processing failed on every one of ``deliveries`` deliveries (a bug, not bad input, which
    is rejected) is kept in the inbox as dead-lettered, with the error, so that the consumer can acknowledge it
    and go on; an officer retries it once the cause is fixed (``dead_letter_retry``). Its id is recorded, so a
    redelivery changes nothing."""
    d = item.decoded
    frm, kind = ((d.message.from_county, d.message.kind) if isinstance(d, schema.Decoded)
                 else (d.from_county or "", d.kind or ""))
    return InboxMessage.objects.create(
        county_code=county_code, message_id=item.message_id, from_county=frm or "", kind=kind,
        status=InboxStatus.DEAD, reason=f"failed {deliveries} times: {error}"[:600], body=item.raw,
        received_at=at or timezone.now())


def dead_letter_retry(*, item: InboxMessage, by: User | None, auto_feedback: bool = True,
                      at: datetime | None = None) -> InboxMessage:
    """Apply a dead-lettered message again (one transaction: its effect replaces the dead-letter row). If it
    fails again, nothing changes but the recorded error, and RuleViolation says why."""
    county_code, pk = item.county_code, item.pk
    try:
        with transaction.atomic():
            item = InboxMessage.objects.select_for_update().get(pk=pk)
            if item.status != InboxStatus.DEAD:
                raise RuleViolation("status", "not dead-lettered")
            raw, sender, message_id = bytes(item.body), item.from_county or None, item.message_id
            item.delete()
            message_receive(county_code=county_code, raw=raw, sender=sender, header_id=str(message_id),
                            auto_feedback=auto_feedback, at=at)
            if by is not None:
                audit_record(user=by, action="exchange.retry", object_type="inbox", object_id=str(pk),
                             detail={"message_id": str(message_id)})
            return InboxMessage.objects.get(county_code=county_code, message_id=message_id)
    except RuleViolation:
        raise
    except Exception as exc:  # noqa: BLE001 - the cause is still there: say so, keep the dead letter
        error = f"{type(exc).__name__}: {exc}"
        InboxMessage.objects.filter(pk=pk).update(reason=f"retry failed: {error}"[:600])
        error_record(county_code=county_code, where="retry", message=error)
        raise RuleViolation("message", f"failed again: {error}"[:300]) from exc


def error_record(*, county_code: str, where: str, message: str, keep: int = 200) -> None:
    """Keep the worker's last errors (the oldest beyond ``keep`` are dropped)."""
    ExchangeError.objects.create(county_code=county_code, at=timezone.now(), where=where, message=message[:500])
    old = list(ExchangeError.objects.filter(county_code=county_code).order_by("-at", "-id")
               .values_list("pk", flat=True)[keep:keep + 100])
    if old:
        ExchangeError.objects.filter(pk__in=old).delete()
