"""JSON routes of the duplicate queue (mounted at /api/v1/duplicates).

Reading pairs shows two persons each: every answer with pairs writes an audit entry (VIEW_PERSON, the pairs and
persons shown). ID numbers are masked. Writes: run a scan, merge a pair into the chosen survivor, mark a pair as
two people.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.params import Path
from pydantic import model_validator

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, PermissionDenied
from renkou.dedup import selectors, services
from renkou.dedup.models import CandidatePair, PairStatus
from renkou.orgunits.selectors import unit_get_by_code
from renkou.registry.schemas import MAX_ID, Text, answers, example

router = Router(tags=["dedup"])

CHANNEL = "api"
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)


class SideOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: str
    id_number_masked: str
    unit: str
    household: str
    residence_status: str


class FieldOut(Schema):
    field: str
    level: str = Field(description="comparison level reached, e.g. exact, one_character, day_month_swapped")
    agree: str = Field(description="exact, close, differ or missing")
    weight: float | None = Field(description="match weight of this field (log2 Bayes factor)")


class PairOut(Schema):
    id: int
    score: float = Field(description="match probability")
    match_weight: float
    status: str
    a: SideOut
    b: SideOut
    fields: list[FieldOut]


class PairPageOut(Schema):
    items: list[PairOut]
    count: int
    page: int
    page_size: int
    has_next: bool


class PairListIn(Schema):
    status: PairStatus = PairStatus.PENDING
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=200)


class ScanIn(Schema):
    model_config = example({"unit": "500230001000", "threshold": 0.7})

    unit: str | None = Field(None, max_length=12, description="statistical code of the unit to scan "
                                                              "(default: the caller's unit)")
    threshold: float = Field(services.DEFAULT_THRESHOLD, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value):
        # Every field has a default: without this, a body that is not an object (e.g. a list) would pass as {}.
        obj = getattr(value, "_obj", value)  # django-ninja wraps the parsed body in a DjangoGetter
        if not isinstance(obj, dict):
            raise ValueError("The body must be a JSON object.")
        return value


class ScanOut(Schema):
    id: int
    status: str = Field(..., description="running, done or failed")
    message: str = Field("", description="why a scan failed")
    persons: int
    pairs_found: int
    pairs_new: int
    threshold: float
    seconds: float
    started_at: datetime
    finished_at: datetime | None = None


class MergeIn(Schema):
    model_config = example({"survivor": 1, "purpose": "两条记录为同一人"})

    survivor: int = Field(..., ge=1, le=MAX_ID, description="id of the person kept (one of the pair)")
    purpose: Text(200, "why the records are merged; written to the audit log") = ""


class MergeOut(Schema):
    pair: PairOut
    survivor: int
    merged: int


def _caller(request: HttpRequest) -> User:
    return request.auth


def _side(s: selectors.Side) -> dict:
    return {"id": s.id, "name": s.name, "sex": s.sex, "birth_date": s.birth_date, "id_number_masked": s.id_number,
            "unit": s.unit, "household": s.household, "residence_status": s.residence_status}


def _pair_out(pair: CandidatePair) -> dict:
    return {"id": pair.pk, "score": round(pair.score, 6), "match_weight": round(pair.match_weight, 3),
            "status": pair.status, "a": _side(selectors.side_of(pair.person_a)),
            "b": _side(selectors.side_of(pair.person_b)), "fields": selectors.explanation_rows(pair)}


@router.get("/pairs", response=answers(200, PairPageOut, *READ_ERRORS), summary="List candidate duplicate pairs")
def duplicate_pairs(request, query: Query[PairListIn]):
    """Pairs in the caller's area (both persons), best score first; pending by default."""
    qs = selectors.pairs_for_user(user=_caller(request), status=query.status)
    start = (query.page - 1) * query.page_size
    rows = list(qs[start: start + query.page_size + 1])
    items = rows[: query.page_size]
    selectors.audit_pair_read(user=_caller(request), pairs=items, channel=CHANNEL, what="duplicate_pairs")
    return {"items": [_pair_out(p) for p in items], "count": qs.count(), "page": query.page,
            "page_size": query.page_size, "has_next": len(rows) > query.page_size}


@router.get("/pairs/{pair_id}", response=answers(200, PairOut, *READ_ERRORS), summary="One candidate pair")
def duplicate_pair(request, pair_id: int = Path(..., ge=1, le=MAX_ID)):
    pair = selectors.pair_get_for_user(user=_caller(request), pair_id=pair_id)
    selectors.audit_pair_read(user=_caller(request), pairs=[pair], channel=CHANNEL, what="duplicate_pair")
    return _pair_out(pair)


@router.post("/pairs/{pair_id}/merge", response=answers(200, MergeOut, *WRITE_ERRORS),
             summary="Merge a pair into the chosen survivor")
def duplicate_pair_merge(request, payload: MergeIn, pair_id: int = Path(..., ge=1, le=MAX_ID)):
    """Events, marriages, history, children and household membership move to the survivor; the other record is
    retired (kept, marked as merged into the survivor)."""
    survivor = services.pair_merge(by=_caller(request), pair_id=pair_id, survivor_id=payload.survivor,
                                   purpose=payload.purpose, channel=CHANNEL)
    pair = CandidatePair.objects.select_related("person_a", "person_b").get(pk=pair_id)
    merged = pair.person_b_id if survivor.pk == pair.person_a_id else pair.person_a_id
    return {"pair": _pair_out(pair), "survivor": survivor.pk, "merged": merged}


@router.post("/pairs/{pair_id}/distinct", response=answers(200, PairOut, *WRITE_ERRORS),
             summary="Mark a pair as two different people")
def duplicate_pair_distinct(request, pair_id: int = Path(..., ge=1, le=MAX_ID)):
    services.pair_mark_distinct(by=_caller(request), pair_id=pair_id, channel=CHANNEL)
    pair = CandidatePair.objects.select_related("person_a", "person_b").get(pk=pair_id)
    return _pair_out(pair)


def _scan_out(scan) -> dict:
    return {"id": scan.pk, "status": scan.status, "message": scan.message, "persons": scan.persons,
            "pairs_found": scan.pairs_found, "pairs_new": scan.pairs_new, "threshold": scan.threshold,
            "seconds": scan.seconds, "started_at": scan.started_at, "finished_at": scan.finished_at}


@router.post("/scan", response=answers(202, ScanOut, *WRITE_ERRORS), summary="Start a duplicate scan")
def duplicate_scan(request, payload: ScanIn):
    """Start a scan of the caller's area (or the given unit in it) in the background; it stores the pairs at or
    above the threshold. Poll `GET /duplicates/scans/{id}` until its status is `done` or `failed`. One scan runs at
    a time: a second is refused (422, code `scan_running`)."""
    user = _caller(request)
    if not scope_for(user).can_write:
        raise PermissionDenied
    unit = None
    if payload.unit:
        unit = unit_get_by_code(code=payload.unit)
        if unit is None:
            raise NotFound
    scan = services.scan_start(by=user, unit=unit, threshold=payload.threshold, channel=CHANNEL)
    return Status(202, _scan_out(scan))


@router.get("/scans/{scan_id}", response=answers(200, ScanOut, *READ_ERRORS), summary="A duplicate scan's state")
def duplicate_scan_get(request, scan_id: int = Path(..., ge=1, le=MAX_ID)):
    """A scan's status and, once done, its counts."""
    if not scope_for(_caller(request)).can_write:
        raise PermissionDenied
    services.scans_mark_interrupted()
    return _scan_out(selectors.scan_get(scan_id))
