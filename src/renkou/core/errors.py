"""The one error type for domain rule violations, translated once at each edge (API, forms, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field


class RuleViolation(Exception):
    """A write broke a rule of the register. ``field`` names the input field at fault."""

    def __init__(self, field: str, message: str, *, code: str = "invalid") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": str(self.message), "code": self.code}


class RuleViolations(RuleViolation):
    """Several violations found at once (each names its field)."""

    def __init__(self, violations: list[RuleViolation]) -> None:
        first = violations[0]
        super().__init__(first.field, first.message, code=first.code)
        self.violations = violations


class NeedsConfirmation(RuleViolation):
    """A warning the user must confirm explicitly (e.g. an ID number whose check character is wrong)."""

    def __init__(self, field: str, message: str, *, code: str) -> None:
        super().__init__(field, message, code=code)


class NotFound(Exception):
    """Missing, or outside the user's scope: both are answered the same way (404)."""


class PermissionDenied(Exception):
    """The user's role may not do this at all (403)."""


@dataclass
class Problems:
    """Collects violations so that a form can show every one beside its field."""

    items: list[RuleViolation] = field(default_factory=list)

    def add(self, violation: RuleViolation) -> None:
        self.items.append(violation)

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise self.items[0]
        if self.items:
            raise RuleViolations(self.items)


def violations_of(exc: RuleViolation) -> list[RuleViolation]:
    return list(exc.violations) if isinstance(exc, RuleViolations) else [exc]
