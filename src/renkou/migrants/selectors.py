"""Reads of the exchange: this node's county, queues and lag, lists for the officer, and the rates of the two-way
assessment (``rates(county_code, period)``: the figures the statistics module can register as indicators).

The rates' definitions live in ``rules.Rates``; this module only counts their numerators and denominators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, PermissionDenied
from renkou.migrants import rules
from renkou.migrants.models import (
    Direction,
    ExchangeError,
    ExchangeRequest,
    InboxMessage,
    InboxStatus,
    MigrantRecord,
    OutboxMessage,
    RequestRole,
)
from renkou.migrants.transports import NatsConfig
from renkou.orgunits.models import UnitLevel
from renkou.orgunits.periods import Period
from renkou.orgunits.selectors import unit_county

PAGE_SIZE = 50


def own_county_code() -> str:
    """This node's county: RENKOU_COUNTY_CODE, else the register's county unit."""
    code = settings.EXCHANGE["COUNTY_CODE"]
    if code:
        return code
    county = unit_county()
    if county is None:
        raise NotFound("no county in the register: set RENKOU_COUNTY_CODE")
    return county.county_code


def nats_config(**overrides) -> NatsConfig:
    e = settings.EXCHANGE
    values = {
        "url": e["NATS_URL"], "stream": e["NATS_STREAM"], "prefix": e["NATS_SUBJECT_PREFIX"],
        "user": e["NATS_USER"], "password": e["NATS_PASSWORD"], "nkey_seed_file": e["NATS_NKEY_SEED"],
        "creds_file": e["NATS_CREDS"], "provision": e["NATS_PROVISION"],
    }
    values.update(overrides)
    return NatsConfig(**values)


def exchange_officer(user: User) -> None:
    """The exchange is county work: a county-level user who sees personal data (else PermissionDenied)."""
    scope = scope_for(user)
    if not scope.personal_data or scope.unit is None or scope.unit.level != UnitLevel.COUNTY:
        raise PermissionDenied


# --- status ----------------------------------------------------------------------------------------------------

@dataclass
class Status:
    county_code: str
    outbox_pending: int
    outbox_sent: int
    outbox_rejected: int
    oldest_pending_at: datetime | None
    inbox: dict[str, int]
    unmatched: int
    requests_open: int
    requests_overdue: int
    errors: list[ExchangeError] = field(default_factory=list)

    @property
    def dead(self) -> int:
        """Messages dead-lettered: their processing failed on every delivery (an officer retries them)."""
        return self.inbox.get(InboxStatus.DEAD, 0)

    @property
    def lag_seconds(self) -> float | None:
        """How long the oldest unsent message has waited (the relay's lag)."""
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())


def status(county_code: str, *, today: date | None = None) -> Status:
    today = today or timezone.localdate()
    out = OutboxMessage.objects.filter(county_code=county_code).aggregate(
        pending=Count("pk", filter=Q(sent_at__isnull=True)), sent=Count("pk", filter=Q(sent_at__isnull=False)),
        rejected=Count("pk", filter=~Q(rejected_reason="")),
        oldest=Min("created_at", filter=Q(sent_at__isnull=True)))
    inbox = dict(InboxMessage.objects.filter(county_code=county_code).values_list("status")
                 .annotate(n=Count("pk")).order_by())
    req = ExchangeRequest.objects.filter(county_code=county_code, role=RequestRole.RECEIVED,
                                         answered_at__isnull=True).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
    errors = list(ExchangeError.objects.filter(county_code=county_code).order_by("-at", "-id")[:10])
    return Status(county_code, out["pending"], out["sent"], out["rejected"], out["oldest"],
                  {s: inbox.get(s, 0) for s in InboxStatus.values}, inbox.get(InboxStatus.UNMATCHED, 0),
                  req["open"], req["overdue"], errors)


# --- lists -----------------------------------------------------------------------------------------------------

def inbox_list(county_code: str, *, status: str = "") -> QuerySet[InboxMessage]:
    qs = InboxMessage.objects.filter(county_code=county_code).defer("body")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-received_at", "-id")


def outbox_list(county_code: str, *, pending: bool | None = None) -> QuerySet[OutboxMessage]:
    qs = OutboxMessage.objects.filter(county_code=county_code).defer("body")
    if pending is not None:
        qs = qs.filter(sent_at__isnull=pending)
    return qs.order_by("-created_at", "-id")


def dead_list(county_code: str) -> QuerySet[InboxMessage]:
    """Dead-lettered messages, oldest first (the body stays: a retry applies it)."""
    return InboxMessage.objects.filter(county_code=county_code, status=InboxStatus.DEAD).order_by(
        "received_at", "id")


def dead_get(county_code: str, item_id: int) -> InboxMessage:
    item = InboxMessage.objects.filter(county_code=county_code, pk=item_id, status=InboxStatus.DEAD).first()
    if item is None:
        raise NotFound
    return item


def unmatched_list(county_code: str) -> QuerySet[InboxMessage]:
    return InboxMessage.objects.filter(county_code=county_code, status=InboxStatus.UNMATCHED).order_by(
        "received_at", "id")


def unmatched_get(county_code: str, item_id: int) -> InboxMessage:
    item = InboxMessage.objects.filter(county_code=county_code, pk=item_id).first()
    if item is None:
        raise NotFound
    return item


@dataclass(frozen=True)
class DueRequest:
    request: ExchangeRequest
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def requests_due(county_code: str, *, today: date | None = None, overdue_only: bool = False) -> list[DueRequest]:
    """Received requests not yet answered, most urgent first, with the days left (negative: overdue)."""
    today = today or timezone.localdate()
    qs = ExchangeRequest.objects.filter(county_code=county_code, role=RequestRole.RECEIVED, answered_at__isnull=True)
    if overdue_only:
        qs = qs.filter(due_on__lt=today)
    return [DueRequest(r, rules.days_left(r.due_on, today)) for r in qs.order_by("due_on", "id")]


def requests_list(county_code: str, *, role: str = "") -> QuerySet[ExchangeRequest]:
    qs = ExchangeRequest.objects.filter(county_code=county_code)
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("-opened_on", "-id")


def request_get(county_code: str, request_id: int) -> ExchangeRequest:
    r = ExchangeRequest.objects.filter(county_code=county_code, pk=request_id).first()
    if r is None:
        raise NotFound
    return r


def migrants_list(county_code: str, *, direction: str = "") -> QuerySet[MigrantRecord]:
    qs = MigrantRecord.objects.filter(county_code=county_code)
    if direction:
        qs = qs.filter(direction=direction)
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    what: str  # sent | received | request | record
    kind: str
    other_county: str
    detail: str


def person_history(county_code: str, person_id: int) -> list[HistoryEntry]:
    """Everything exchanged about one person of the register, newest first."""
    rows: list[HistoryEntry] = []
    for m in OutboxMessage.objects.filter(county_code=county_code, person_id=person_id).defer("body"):
        rows.append(HistoryEntry(m.created_at, "sent", m.kind, m.to_county, m.rejected_reason))
    for m in InboxMessage.objects.filter(county_code=county_code, person_id=person_id).defer("body"):
        rows.append(HistoryEntry(m.received_at, "received", m.kind, m.from_county, m.status))
    for r in MigrantRecord.objects.filter(county_code=county_code, person_id=person_id):
        rows.append(HistoryEntry(r.created_at, "record", r.direction, r.other_county_code, r.other_address))
    return sorted(rows, key=lambda e: e.at, reverse=True)


# --- rates -----------------------------------------------------------------------------------------------------

def _bounds(period: Period) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(period.start, time.min, tzinfo=tz),
            datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=tz))


def _rates(county_code: str, period: Period, *, partner: str | None = None, our_role: str | None = None,
           as_of: datetime | None = None) -> rules.Rates:
    start, end = _bounds(period)
    as_of = as_of or timezone.now()
    records = MigrantRecord.objects.filter(county_code=county_code, direction=Direction.IN,
                                           due_on__gte=period.start, due_on__lte=period.end)
    received = ExchangeRequest.objects.filter(county_code=county_code, role=RequestRole.RECEIVED)
    if partner:
        records = records.filter(other_county_code=partner)
        received = received.filter(other_county_code=partner)
    if our_role:
        received = received.filter(our_role=our_role)
        if our_role == "origin":
            records = records.none()  # only the destination submits case records
    r = records.aggregate(due=Count("pk"), submitted=Count("pk", filter=Q(submitted_at__lt=end)))
    q = received.aggregate(
        received=Count("pk", filter=Q(opened_on__gte=period.start, opened_on__lte=period.end)),
        answered=Count("pk", filter=Q(opened_on__gte=period.start, opened_on__lte=period.end,
                                      answered_at__lte=as_of)),
        given=Count("pk", filter=Q(answered_at__gte=start, answered_at__lt=end)),
    )
    on_time = _on_time(received, start, end)
    return rules.Rates(r["due"], r["submitted"], q["received"], q["answered"], q["given"], on_time)


def _on_time(requests: QuerySet[ExchangeRequest], start: datetime, end: datetime) -> int:
    """Answers given in [start, end) on or before their due day (in the county's time zone)."""
    return (requests.filter(answered_at__gte=start, answered_at__lt=end)
            .annotate(answered_day=TruncDate("answered_at"))
            .aggregate(n=Count("pk", filter=Q(answered_day__lte=F("due_on"))))["n"])


def rates(county_code: str, period: Period | str) -> dict[str, float | int | None]:
    """The county's figures for the period (both roles): submission_rate, feedback_rate, timeliness and their
    numerators and denominators, by name (rules.Rates.figures)."""
    if isinstance(period, str):
        period = Period.parse(period)
    return _rates(county_code, period).figures()


@dataclass(frozen=True)
class TwoWayRow:
    partner: str
    migrants_here: int  # residents of the partner county living here (we are destination)
    migrants_there: int  # our residents living in the partner county (we are origin)
    as_destination: rules.Rates
    as_origin: rules.Rates
    partner_answers: rules.Rates  # the partner's feedback to our requests (its rates as we see them)


def two_way_table(county_code: str, period: Period | str) -> list[TwoWayRow]:
    """双向考核: for each partner county, this county as destination and as origin, and the partner's answers."""
    if isinstance(period, str):
        period = Period.parse(period)
    counts = {(d, o): n for d, o, n in MigrantRecord.objects.filter(county_code=county_code).values_list(
        "direction", "other_county_code").annotate(n=Count("pk")).order_by()}
    partners = {o for _, o in counts} | set(ExchangeRequest.objects.filter(county_code=county_code).values_list(
        "other_county_code", flat=True).distinct())
    start, end = _bounds(period)
    rows = []
    for partner in sorted(partners):
        sent = ExchangeRequest.objects.filter(county_code=county_code, role=RequestRole.SENT,
                                              other_county_code=partner)
        s = sent.aggregate(
            received=Count("pk", filter=Q(opened_on__gte=period.start, opened_on__lte=period.end)),
            answered=Count("pk", filter=Q(opened_on__gte=period.start, opened_on__lte=period.end,
                                          answered_at__isnull=False)),
            given=Count("pk", filter=Q(answered_at__gte=start, answered_at__lt=end)))
        on_time = _on_time(sent, start, end)
        rows.append(TwoWayRow(
            partner, counts.get((Direction.IN, partner), 0), counts.get((Direction.OUT, partner), 0),
            _rates(county_code, period, partner=partner, our_role="destination"),
            _rates(county_code, period, partner=partner, our_role="origin"),
            rules.Rates(0, 0, s["received"], s["answered"], s["given"], on_time),
        ))
    return rows


def county_rates(county_code: str, period: Period | str) -> rules.Rates:
    if isinstance(period, str):
        period = Period.parse(period)
    return _rates(county_code, period)
