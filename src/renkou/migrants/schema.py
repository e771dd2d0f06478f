"""The exchange message schema (version 1) and its decoder. Pure: no database, no broker.

Every message between two county nodes is one JSON object: an envelope (``schema_version``, ``message_id``,
``kind``, ``from_county``, ``to_county``, ``sent_at``) and a payload whose shape depends on ``kind``. Models
forbid extra fields, so a message carries only the personal data the exchange needs (docs/exchange.md).

``decode`` never raises on input: it returns a ``Decoded`` message or a ``Rejected`` with the reason, which
the receiving node records and sends back to the sender as a ``rejection``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
MAX_BYTES = 16 * 1024  # a case record is about 1 KB; anything bigger is refused unread
# Version 2 adds one envelope: a batch of version-1 messages in one broker message (docs/exchange.md).
BATCH_VERSION = 2
MAX_BATCH_BYTES = 900 * 1024  # under NATS's default max_payload of 1 MB
MAX_BATCH_MESSAGES = 1000
KEEP_BYTES = 2048  # what is kept of a refused message of a batch that is not even a string



def storable(value: str) -> str:
    """No database stores NUL (PostgreSQL) or a lone UTF-16 surrogate: such text is refused at the edge."""
    if "\x00" in value:
        raise ValueError("text with NUL or a lone surrogate cannot be stored")
    try:
        value.encode()  # UTF-8 refuses exactly the lone surrogates (C speed, unlike a loop over the text)
    except UnicodeEncodeError:
        raise ValueError("text with NUL or a lone surrogate cannot be stored") from None
    return value


CountyCode = Annotated[str, Field(pattern=r"^[1-9]\d{5}$")]
IdNumber = Annotated[str, Field(pattern=r"^\d{17}[\dX]$")]
Name = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(storable)]
ShortText = Annotated[str, Field(max_length=200), AfterValidator(storable)]
Sex = Literal["0", "1", "2", "9"]
MaritalStatus = Annotated[str, Field(pattern=r"^\d{2}$")]

KINDS = ("case_record", "verify_request", "feedback", "birth_notice", "rejection")
# The fields a verification request may ask about, and a feedback may answer (nothing else crosses).
VERIFIABLE_FIELDS = ("name", "sex", "birth_date", "marital_status", "children", "residence_status")

# Why a message was refused (the reason code travels in the rejection; the text is for people).
REJECT_REASONS = {
    "malformed": "not a JSON object of the exchange schema",
    "oversized": f"larger than {MAX_BYTES} bytes",
    "unknown_version": "unknown schema_version",
    "wrongly_addressed": "to_county is not the receiving county",
    "sender_mismatch": "from_county is not the county that published the message",
    "unknown_request": "the feedback answers no request this county sent",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subject(_Strict):
    """Who a message is about: just enough to find them in a register."""

    name: Name
    sex: Sex
    birth_date: date
    id_number: IdNumber | None = None


class CaseRecordPayload(_Strict):
    """Sent by the destination (where the migrant lives) to the origin (where they are registered)."""

    subject: Subject
    address: ShortText  # where they live in the sending county
    since: date
    occupation: ShortText = ""
    marital_status: MaritalStatus | None = None
    marriage_change: ShortText = ""
    children: int | None = Field(default=None, ge=0, le=20)
    children_change: ShortText = ""
    contraception: ShortText = ""  # as reported by the person, voluntary
    pregnant: bool = False
    certificate_number: Annotated[str, Field(max_length=40), AfterValidator(storable)] = ""  # marriage-and-birth certificate 婚育证明


class VerifyRequestPayload(_Strict):
    """协查: please confirm these facts about this person. ``sender_role`` says which side asks."""

    subject: Subject
    sender_role: Literal["origin", "destination"]
    pregnant: bool = False  # urgent: due in 15 days instead of 30
    fields: list[Literal["name", "sex", "birth_date", "marital_status", "children", "residence_status"]] = Field(
        default_factory=lambda: ["marital_status", "children"], max_length=len(VERIFIABLE_FIELDS)
    )
    note: ShortText = ""


class BirthNoticePayload(_Strict):
    """A birth in the destination county to a woman registered in the origin county (due 30 days)."""

    mother: Subject
    child_sex: Sex
    child_birth_date: date
    birth_order: int | None = Field(default=None, ge=1, le=20)


class FeedbackPayload(_Strict):
    """协查反馈: the answer to a verification request or a birth notice."""

    in_reply_to: uuid.UUID
    matched: bool
    verified: dict[Literal["name", "sex", "birth_date", "marital_status", "children", "residence_status"],
                   Annotated[str, Field(max_length=50), AfterValidator(storable)]] = Field(default_factory=dict)
    note: ShortText = ""


class RejectionPayload(_Strict):
    in_reply_to: uuid.UUID | None = None
    reason: Literal["malformed", "oversized", "unknown_version", "wrongly_addressed", "sender_mismatch",
                    "unknown_request"]
    detail: Annotated[str, Field(max_length=500), AfterValidator(storable)] = ""


class _Envelope(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    from_county: CountyCode
    to_county: CountyCode
    sent_at: AwareDatetime


class CaseRecord(_Envelope):
    kind: Literal["case_record"] = "case_record"
    payload: CaseRecordPayload


class VerifyRequest(_Envelope):
    kind: Literal["verify_request"] = "verify_request"
    payload: VerifyRequestPayload


class BirthNotice(_Envelope):
    kind: Literal["birth_notice"] = "birth_notice"
    payload: BirthNoticePayload


class Feedback(_Envelope):
    kind: Literal["feedback"] = "feedback"
    payload: FeedbackPayload


class Rejection(_Envelope):
    kind: Literal["rejection"] = "rejection"
    payload: RejectionPayload


Message = Annotated[CaseRecord | VerifyRequest | BirthNotice | Feedback | Rejection, Field(discriminator="kind")]
_adapter: TypeAdapter[Any] = TypeAdapter(Message)


def encode(message: _Envelope) -> bytes:
    return message.model_dump_json().encode()


@dataclass(frozen=True)
class Decoded:
    message: CaseRecord | VerifyRequest | BirthNotice | Feedback | Rejection


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str
    # What could be read of the refused message, to address the rejection and to record it.
    message_id: uuid.UUID | None = None
    from_county: str | None = None
    kind: str | None = None


def _peek(obj: Any) -> tuple[uuid.UUID | None, str | None, str | None]:
    if not isinstance(obj, dict):
        return None, None, None
    mid = obj.get("message_id")
    try:
        message_id = uuid.UUID(mid) if isinstance(mid, str) else None
    except ValueError:
        message_id = None
    frm = obj.get("from_county")
    kind = obj.get("kind")
    return (message_id, frm if isinstance(frm, str) and len(frm) == 6 and frm.isdigit() else None,
            kind if kind in KINDS else None)


def decode(raw: bytes, *, own_county: str, sender: str | None = None) -> Decoded | Rejected:
    """Read one message received by ``own_county``. ``sender`` is the county the broker says published it
    (the last token of the subject, which its NATS user alone may publish to). Never raises on input."""
    if len(raw) > MAX_BYTES:
        return Rejected("oversized", f"{len(raw)} bytes > {MAX_BYTES}", from_county=sender)
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return Rejected("malformed", f"not JSON: {str(exc)[:200]}", from_county=sender)
    return decode_object(obj, own_county=own_county, sender=sender)


def decode_object(obj: Any, *, own_county: str, sender: str | None = None) -> Decoded | Rejected:
    """``decode`` of a message already parsed from JSON (an inner message of a batch)."""
    message_id, from_county, kind = _peek(obj)
    if not isinstance(obj, dict):
        return Rejected("malformed", "not a JSON object", from_county=sender)
    if obj.get("schema_version") not in SUPPORTED_VERSIONS or isinstance(obj.get("schema_version"), bool):
        return Rejected("unknown_version", f"schema_version {str(obj.get('schema_version'))[:40]!r}",
                        message_id, sender or from_county, kind)
    try:
        message = _adapter.validate_python(obj)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        return Rejected("malformed", problems[:500], message_id, sender or from_county, kind)
    except (RecursionError, ValueError, TypeError) as exc:
        return Rejected("malformed", str(exc)[:500], message_id, sender or from_county, kind)
    if sender is not None and message.from_county != sender:
        return Rejected("sender_mismatch", f"from_county {message.from_county} published by {sender}",
                        message.message_id, sender, message.kind)
    if message.to_county != own_county:
        return Rejected("wrongly_addressed", f"to_county {message.to_county}, received by {own_county}",
                        message.message_id, message.from_county, message.kind)
    return Decoded(message)


# --- the batch envelope (version 2) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Inner:
    """One message of a batch: its bytes as the inbox keeps them, and its decoding."""

    raw: bytes
    result: Decoded | Rejected


@dataclass(frozen=True)
class Batch:
    batch_id: uuid.UUID
    from_county: str
    messages: list[Inner]


def _dumps(obj: Any) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate (refused by the decoder; kept escaped in the inbox)
        return json.dumps(obj, separators=(",", ":")).encode()


def encode_batch(bodies: list[bytes], *, batch_id: uuid.UUID, from_county: str, to_county: str,
                 sent_at: datetime) -> bytes:
    """A batch envelope around already encoded version-1 messages: each is carried as a JSON string holding its
    exact text, so that the receiver keeps the very bytes that were sent (and reads each on its own)."""
    return _dumps({"schema_version": BATCH_VERSION, "kind": "batch", "message_id": str(batch_id),
                   "from_county": from_county, "to_county": to_county, "sent_at": sent_at.isoformat(),
                   "messages": [b.decode() for b in bodies]})


def decode_any(raw: bytes, *, own_county: str, sender: str | None = None) -> Batch | Decoded | Rejected:
    """Read what one broker message holds: a single version-1 message (``Decoded`` or ``Rejected``, as
    ``decode``) or a version-2 batch, whose messages are decoded one by one (one bad message is rejected on
    its own; the others stand). A batch whose envelope is bad is a ``Rejected`` as a whole. Never raises."""
    if len(raw) > MAX_BATCH_BYTES:
        return Rejected("oversized", f"{len(raw)} bytes > {MAX_BATCH_BYTES}", from_county=sender)
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if len(raw) > MAX_BYTES:
            return Rejected("oversized", f"{len(raw)} bytes > {MAX_BYTES}", from_county=sender)
        return Rejected("malformed", f"not JSON: {str(exc)[:200]}", from_county=sender)
    if not (isinstance(obj, dict) and obj.get("schema_version") == BATCH_VERSION
            and not isinstance(obj.get("schema_version"), bool)):
        if len(raw) > MAX_BYTES:
            mid, frm, kind = _peek(obj)
            return Rejected("oversized", f"{len(raw)} bytes > {MAX_BYTES}", mid, sender or frm, kind)
        return decode_object(obj, own_county=own_county, sender=sender)
    return _decode_batch(obj, own_county=own_county, sender=sender)


def _decode_batch(obj: dict[str, Any], *, own_county: str, sender: str | None) -> Batch | Rejected:
    batch_id, from_county, _ = _peek(obj)
    frm = sender or from_county
    problems = []
    if obj.get("kind") != "batch":
        problems.append("kind: version 2 defines only the batch envelope")
    if batch_id is None:
        problems.append("message_id: not a UUID")
    if from_county is None:
        problems.append("from_county: not a county code")
    if not isinstance(obj.get("to_county"), str):
        problems.append("to_county: not a county code")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("messages: not a non-empty list")
    elif len(messages) > MAX_BATCH_MESSAGES:
        problems.append(f"messages: more than {MAX_BATCH_MESSAGES}")
    extra = set(obj) - {"schema_version", "kind", "message_id", "from_county", "to_county", "sent_at", "messages"}
    if extra:
        problems.append(f"{sorted(extra)[0]}: extra field")
    if problems:
        return Rejected("malformed", "batch " + "; ".join(problems)[:490], batch_id, frm, "batch")
    if sender is not None and from_county != sender:
        return Rejected("sender_mismatch", f"batch from_county {from_county} published by {sender}", batch_id,
                        sender, "batch")
    if obj["to_county"] != own_county:
        return Rejected("wrongly_addressed", f"batch to_county {str(obj['to_county'])[:10]}, received by "
                        f"{own_county}", batch_id, frm, "batch")
    inner = []
    for item in messages:
        if not isinstance(item, str):
            raw = _dumps(item)[:KEEP_BYTES]
            inner.append(Inner(raw, Rejected("malformed", "a message of a batch must be a JSON string holding it",
                                             *_peek(item)[:1], sender or from_county, None)))
            continue
        try:
            raw = item.encode()
        except UnicodeEncodeError:  # a lone surrogate
            raw = item.encode(errors="surrogatepass")
            inner.append(Inner(raw[:KEEP_BYTES], Rejected("malformed", "text with a lone surrogate",
                                                          from_county=sender or from_county)))
            continue
        inner.append(Inner(raw, decode(raw, own_county=own_county, sender=sender or from_county)))
    return Batch(batch_id, from_county, inner)  # type: ignore[arg-type]


def build(kind: str, *, from_county: str, to_county: str, payload: dict[str, Any] | BaseModel,
          message_id: uuid.UUID | None = None, sent_at: datetime) -> CaseRecord | VerifyRequest | BirthNotice | \
        Feedback | Rejection:
    """A validated message (raises pydantic's ValidationError on our own bad data: a bug, not input)."""
    data = payload.model_dump() if isinstance(payload, BaseModel) else payload
    return _adapter.validate_python({
        "kind": kind, "from_county": from_county, "to_county": to_county, "payload": data,
        "message_id": message_id or uuid.uuid4(), "sent_at": sent_at, "schema_version": SCHEMA_VERSION,
    })


_MODELS = {"case_record": CaseRecord, "verify_request": VerifyRequest, "birth_notice": BirthNotice,
           "feedback": Feedback, "rejection": Rejection}
_LIST_ADAPTERS: dict[str, TypeAdapter[Any]] = {k: TypeAdapter(list[m]) for k, m in _MODELS.items()}


def build_many(kind: str, items: list[dict[str, Any]]) -> tuple[list[Any], list[bytes]]:
    """Many validated messages of one kind (dicts of envelope fields and ``payload``) in one validation call,
    and their encodings. Raises ValidationError (locations start with the item's index) on our own bad data."""
    messages = _LIST_ADAPTERS[kind].validate_python(items)
    return messages, [m.model_dump_json().encode() for m in messages]


def feedbacks_build(items: list[dict[str, Any]]) -> tuple[list[Feedback], list[bytes]]:
    return build_many("feedback", items)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of version 1, for docs/exchange.md and for other implementations."""
    return _adapter.json_schema()
