"""The officer's form for answering a received request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkou.migrants.schema import VERIFIABLE_FIELDS

FIELD_LABELS = {
    "name": _("Name"), "sex": _("Sex"), "birth_date": _("Date of birth"), "marital_status": _("Marital status"),
    "children": _("Children"), "residence_status": _("Residence status"),
}


class AnswerForm(forms.Form):
    matched = forms.TypedChoiceField(label=_("Found in our register"), coerce=lambda v: v == "yes",
                                     choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, fields: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked = [f for f in fields if f in VERIFIABLE_FIELDS]
        for name in self.asked:
            self.fields[f"v_{name}"] = forms.CharField(label=FIELD_LABELS[name], max_length=50, required=False)

    def verified(self) -> dict[str, str]:
        return {n: self.cleaned_data[f"v_{n}"] for n in self.asked if self.cleaned_data.get(f"v_{n}")}
