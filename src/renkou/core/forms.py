"""Form helpers shared by every page: one place where the register's RuleViolations land beside their fields."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from renkou.core.errors import NeedsConfirmation, RuleViolation, violations_of

# Map a service field here to show its violations at the top of the form instead.
NON_FIELD = "__all__"


class DateInput(forms.DateInput):
    """The browser's date picker; ISO values whatever the language (zh-hans would format 2024/03/05)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ConfirmableForm(forms.Form):
    """A form whose service may answer NeedsConfirmation: the warning is shown beside its field with a
    checkbox; the codes the officer confirmed travel back as ``confirm`` values."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.confirmations: list[dict[str, str]] = []

    @property
    def confirmed(self) -> list[str]:
        if not self.is_bound:
            return []
        return [c for c in self.data.getlist("confirm") if c] if hasattr(self.data, "getlist") else []


def add_violations(form: forms.Form, exc: RuleViolation, field_map: Mapping[str, str] | None = None) -> None:
    """Put each violation beside its field (a service field name, mapped to the form's where they differ);
    violations of fields the form does not show go to the top of the form. A NeedsConfirmation also asks the
    form for a confirmation checkbox."""
    field_map = field_map or {}
    for violation in violations_of(exc):
        name = field_map.get(violation.field, violation.field)
        form.add_error(name if name in form.fields else None, str(violation.message))
        if isinstance(violation, NeedsConfirmation) and hasattr(form, "confirmations"):
            form.confirmations.append({"code": violation.code, "message": str(violation.message)})
