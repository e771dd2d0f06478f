"""The exchange's working definitions (DOMAIN.md, "Floating population exchange"), each in one place so that a
county can change them: deadlines, the monthly submission cut-off, the three rates and their targets. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# Deadlines (one province's rule).
URGENT_DUE_DAYS = 15  # a verification request about a woman who is pregnant now
REQUEST_DUE_DAYS = 30  # any other verification request
BIRTH_NOTICE_DUE_DAYS = 30  # a notice of a birth must be acknowledged within 30 days
SUBMISSION_CUTOFF_DAY = 20  # monthly: a case record is due by the 20th of the month after it was registered

# Targets of the work plan.
TARGETS = {"submission_rate": 70.0, "feedback_rate": 80.0, "timeliness": 90.0}


def request_due_on(received_on: date, *, kind: str, pregnant: bool) -> date:
    if kind == "birth_notice":
        return received_on + timedelta(days=BIRTH_NOTICE_DUE_DAYS)
    return received_on + timedelta(days=URGENT_DUE_DAYS if pregnant else REQUEST_DUE_DAYS)


def record_due_on(registered_on: date) -> date:
    """When the destination must have sent the case record of a migrant it registered on ``registered_on``."""
    year, month = (registered_on.year + 1, 1) if registered_on.month == 12 else (registered_on.year,
                                                                                  registered_on.month + 1)
    return date(year, month, SUBMISSION_CUTOFF_DAY)


def days_left(due_on: date, today: date) -> int:
    """Days until the due date: 0 on the due day, negative when overdue."""
    return (due_on - today).days


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage with one decimal, capped at 100; None when nothing was due (shown as "—", not 0)."""
    if denominator <= 0:
        return None
    return round(min(numerator * 100.0 / denominator, 100.0), 1)


@dataclass(frozen=True)
class Rates:
    """The three figures of the two-way assessment for one county (in one role or both) and one period.

    - submission rate = case records submitted ÷ case records due (due in the period; submitted by its end)
    - feedback rate = requests answered ÷ requests received (received in the period; answered by the as-of date)
    - timeliness = answers within deadline ÷ answers given (given in the period)
    """

    records_due: int
    records_submitted: int
    requests_received: int
    requests_answered: int
    answers_given: int
    answers_on_time: int

    @property
    def submission_rate(self) -> float | None:
        return rate(self.records_submitted, self.records_due)

    @property
    def feedback_rate(self) -> float | None:
        return rate(self.requests_answered, self.requests_received)

    @property
    def timeliness(self) -> float | None:
        return rate(self.answers_on_time, self.answers_given)

    def figures(self) -> dict[str, float | int | None]:
        """Named figures (the indicator names the statistics module can register)."""
        return {
            "submission_rate": self.submission_rate, "feedback_rate": self.feedback_rate,
            "timeliness": self.timeliness, "records_due": self.records_due,
            "records_submitted": self.records_submitted, "requests_received": self.requests_received,
            "requests_answered": self.requests_answered, "answers_given": self.answers_given,
            "answers_on_time": self.answers_on_time,
        }

    def meets(self, name: str) -> bool | None:
        value = getattr(self, name)
        return None if value is None else value >= TARGETS[name]
