"""Forms of the aggregate data set pages (code mappings)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkou.aggregates.models import MappingKind


class CodeMappingForm(forms.Form):
    system = forms.CharField(label=_("System"), max_length=50, help_text=_("e.g. dhis2-national"))
    kind = forms.ChoiceField(label=_("Mapping kind"), choices=MappingKind.choices)
    renkou_code = forms.CharField(label=_("renkou code"), max_length=50, required=False,
                                  help_text=_("A data element, option combo (empty: the total), 12-digit unit or "
                                              "data set code of renkou."))
    external_id = forms.CharField(label=_("External id"), max_length=100,
                                  help_text=_("The receiving system's id or code, e.g. a DHIS2 uid."))


class MappingImportForm(forms.Form):
    file = forms.FileField(label=_("XLSX file"),
                           help_text=_("Columns system, kind, renkou_code, external_id (as the download)."))
    dry_run = forms.BooleanField(label=_("Dry run: check and count, write nothing"), required=False, initial=True)
