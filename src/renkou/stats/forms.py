"""Forms of the statistics pages (indicator definitions, publication)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkou.stats.models import Interval


class IndicatorForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40,
                           help_text=_("Latin letters, digits and underscores, e.g. FEMALE_SHARE."))
    name_zh = forms.CharField(label=_("Chinese name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    numerator = forms.CharField(label=_("Numerator"), widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=_("Data elements as #{LIVE_BIRTHS} or #{LIVE_BIRTHS.FEMALE}; "
                                            "+ − × ÷ and brackets; years() is the period's length in years."))
    denominator = forms.CharField(label=_("Denominator"), initial="1", widget=forms.Textarea(attrs={"rows": 2}))
    factor = forms.FloatField(label=_("Factor"), initial=1)
    decimals = forms.IntegerField(label=_("Decimals"), min_value=0, max_value=6, initial=1)
    unit_label = forms.CharField(label=_("Unit"), max_length=16, required=False)
    interval = forms.ChoiceField(label=_("Confidence interval"), choices=Interval.choices, required=False)
    target = forms.FloatField(label=_("Target"), required=False,
                              help_text=_("The work plan's target, e.g. 80 for at least 80 %; empty: none."))
    target_is_minimum = forms.BooleanField(label=_("The value should be at least the target"), required=False,
                                           initial=True,
                                           help_text=_("Untick when the value should stay at or below it."))

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True


class PublishForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=12,
                             help_text=_("e.g. 2025, FP2025, 2025S1, 2025Q3, 202507"))
