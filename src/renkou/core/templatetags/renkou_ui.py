"""Template filters and tags of the interface: code names, masked ID numbers, one way to render a field."""

from __future__ import annotations

from django import forms, template

from renkou.registry import idnumbers
from renkou.registry.codes import code_name

register = template.Library()


@register.filter
def code(value: str | None, list_name: str) -> str:
    """``{{ person.sex|code:"sex" }}`` → 男"""
    return code_name(list_name, value)


@register.filter
def masked(value: str | None) -> str:
    """``{{ person.id_number|masked }}`` → 5002**********123X"""
    return idnumbers.mask(value)


@register.inclusion_tag("includes/field.html")
def field(bound_field: forms.BoundField, hint: str = ""):
    """A labelled input with its help text and its errors beside it, tied to it by aria-describedby."""
    described = []
    help_text = hint or bound_field.help_text
    if help_text:
        described.append(f"{bound_field.auto_id}_hint")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_errors")
    attrs = {"aria-describedby": " ".join(described)} if described else {}
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    widget = bound_field.field.widget
    kind = "choices" if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple) else (
        "checkbox" if isinstance(widget, forms.CheckboxInput) else "input")
    if isinstance(widget, forms.HiddenInput):
        kind = "hidden"
    return {"f": bound_field, "hint": help_text, "kind": kind, "widget": bound_field.as_widget(attrs=attrs)}
