"""Submission rate, feedback rate and timeliness (DOMAIN.md's working definitions), the two-way table."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from renkou.migrants import rules, selectors, services
from renkou.migrants.models import OutboxMessage
from renkou.migrants.tests.conftest import A, B, person_in

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def test_rules_deadlines_and_rates():
    assert rules.request_due_on(date(2025, 1, 31), kind="verify_request", pregnant=True) == date(2025, 2, 15)
    assert rules.request_due_on(date(2025, 1, 31), kind="verify_request", pregnant=False) == date(2025, 3, 2)
    assert rules.request_due_on(date(2025, 1, 31), kind="birth_notice", pregnant=True) == date(2025, 3, 2)
    assert rules.record_due_on(date(2025, 12, 21)) == date(2026, 1, 20)
    assert rules.days_left(date(2025, 3, 1), date(2025, 3, 4)) == -3
    assert rules.rate(2, 3) == 66.7
    assert rules.rate(5, 4) == 100.0
    assert rules.rate(0, 0) is None
    r = rules.Rates(10, 7, 5, 4, 4, 3)
    assert (r.submission_rate, r.feedback_rate, r.timeliness) == (70.0, 80.0, 75.0)
    assert (r.meets("submission_rate"), r.meets("feedback_rate"), r.meets("timeliness")) == (True, True, False)


def _deliver(county_code: str, sender: str, at: datetime) -> list[str]:
    """Receive what ``sender`` has pending for ``county_code`` (the transport's work, done by hand)."""
    rows = list(OutboxMessage.objects.filter(county_code=sender, to_county=county_code, sent_at__isnull=True))
    OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(sent_at=at)
    return [services.message_receive(county_code=county_code, raw=bytes(r.body), sender=sender, at=at)
            for r in rows]


def test_rates_and_two_way_table(county, second_county, personas):
    mei = person_in(county.dc_village1, name="李梅")
    # B registers two of A's residents living in B in April 2025: due 20 May. One is sent, one is not.
    for name, submit in (("李梅", True), ("外来甲", False)):
        services.migrant_record_create(county_code=B, by=None, submit=submit, at=datetime(2025, 4, 2, 9, tzinfo=TZ),
                                       data=services.MigrantIn(direction="in", other_county_code=A, name=name,
                                                               sex="2", birth_date=mei.birth_date,
                                                               since=date(2025, 3, 1)))
    assert selectors.rates(B, "202505")["submission_rate"] == 50.0
    assert selectors.rates(B, "202505")["records_due"] == 2
    assert selectors.rates(B, "202504")["records_due"] == 0
    assert selectors.rates(B, "202504")["submission_rate"] is None
    # B asks A about two women in June: A matches 李梅 at once (on time), an officer answers the other late.
    for name in ("李梅", "查无此人"):
        services.verify_request_send(county_code=B, to_county=A, name=name, sex="2", birth_date=mei.birth_date,
                                     sender_role="destination", by=None, at=datetime(2025, 6, 2, 9, tzinfo=TZ))
    # the case record of 李梅 (matched), then the two requests
    assert _deliver(A, B, datetime(2025, 6, 3, 9, tzinfo=TZ)) == ["applied", "applied", "unmatched"]
    late = selectors.requests_due(A, today=date(2025, 7, 10))
    assert [(d.request.name, d.days_left, d.overdue) for d in late] == [("查无此人", -7, True)]
    services.request_answer(request=late[0].request, matched=False, verified={}, by=personas.admin,
                            at=datetime(2025, 7, 10, 9, tzinfo=TZ))
    june = selectors.rates(A, "202506")
    assert (june["requests_received"], june["requests_answered"], june["feedback_rate"]) == (2, 2, 100.0)
    assert (june["answers_given"], june["answers_on_time"], june["timeliness"]) == (1, 1, 100.0)
    year = selectors.rates(A, "2025")
    assert (year["answers_given"], year["answers_on_time"], year["timeliness"]) == (2, 1, 50.0)
    # The feedback reaches B: B sees A's answers in its two-way table; A is scored as origin.
    _deliver(B, A, datetime(2025, 7, 10, 10, tzinfo=TZ))
    (row_b,) = selectors.two_way_table(B, "2025")
    assert row_b.partner == A and row_b.migrants_here == 2
    assert row_b.as_destination.submission_rate == 50.0
    assert (row_b.partner_answers.feedback_rate, row_b.partner_answers.timeliness) == (100.0, 50.0)
    (row_a,) = selectors.two_way_table(A, "2025")
    assert (row_a.partner, row_a.migrants_there) == (B, 1)  # the case record of 李梅 was matched
    assert (row_a.as_origin.feedback_rate, row_a.as_origin.timeliness) == (100.0, 50.0)
    assert row_a.as_destination.requests_received == 0
