"""Forms of the accounts pages: the audit log's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction
from renkou.core.forms import DateInput


class AuditFilterForm(forms.Form):
    username = forms.CharField(label=_("Username"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("Any action")), *AuditAction.choices])
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data
