"""Forms of the register's pages. They parse input only; the rules live in the services, whose
RuleViolations come back beside these fields through ``renkou.core.forms.add_violations``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkou.core.forms import ConfirmableForm, DateInput
from renkou.orgunits.models import UnitLevel
from renkou.orgunits.periods import Period, PeriodError
from renkou.orgunits.selectors import UnitNode
from renkou.registry.codes import code_lists
from renkou.registry.models import EventKind, MarriageEnd, RegistrationType

COUNTY_CODE_HINT = _("Six digits (GB/T 2260), e.g. 500101.")


def code_name_choices(list_name: str, *, blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(c, n) for c, n in code_lists().get(list_name, {}).items()]
    return [("", blank), *choices] if blank is not None else choices


def unit_choices(tree: UnitNode | None) -> list[tuple[str, str]]:
    """Every unit of a tree, indented by level, for a filter."""
    out: list[tuple[str, str]] = []

    def walk(node: UnitNode, depth: int) -> None:
        out.append((str(node.unit.pk), "\u3000" * depth + node.unit.name))
        for child in node.children:
            walk(child, depth + 1)

    if tree is not None:
        walk(tree, 0)
    return out


def village_choices(tree: UnitNode | None) -> list:
    """Villages and communities of a tree, grouped by township (a village tree gives itself)."""
    if tree is None:
        return []
    if tree.unit.level >= UnitLevel.VILLAGE:
        return [(str(tree.unit.pk), tree.unit.name)]
    groups = []
    townships = tree.children if tree.unit.level == UnitLevel.COUNTY else [tree]
    for township in townships:
        villages = [(str(v.unit.pk), v.unit.name) for v in township.children]
        if villages:
            groups.append((township.unit.name, villages))
    return groups


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or ID number"), required=False, max_length=50,
                        help_text=_("The beginning of a name, or of an ID number (four characters or more)."),
                        widget=forms.TextInput(attrs={"type": "search", "autofocus": True, "autocomplete": "off"}))
    household = forms.CharField(label=_("Household number"), required=False, max_length=24)
    # Checked against the user's area by the selector (a unit outside it is 404), so the fragment endpoint
    # needs no list of choices; the page fills the widget's options.
    unit = forms.IntegerField(label=_("Unit"), required=False, widget=forms.Select)
    include_dead = forms.BooleanField(label=_("Include deceased persons"), required=False)

    def set_units(self, units: list[tuple[str, str]]) -> None:
        self.fields["unit"].widget.choices = [("", _("Whole area")), *units]


class EventListForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    unit = forms.IntegerField(label=_("Unit"), required=False, widget=forms.Select)
    period = forms.CharField(label=_("Period"), required=False, max_length=12,
                             help_text=_("e.g. 2025, FP2025, 2025Q3 or 202507; empty for all dates."))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *EventKind.choices]

    def set_units(self, units: list[tuple[str, str]]) -> None:
        self.fields["unit"].widget.choices = [("", _("Whole area")), *units]

    def clean_period(self):
        text = (self.cleaned_data.get("period") or "").strip()
        if not text:
            return None
        try:
            return Period.parse(text)
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from exc


class HouseholdListForm(forms.Form):
    unit = forms.IntegerField(label=_("Unit"), required=False, widget=forms.Select)
    q = forms.CharField(label=_("Household number or address"), required=False, max_length=60)

    def set_units(self, units: list[tuple[str, str]]) -> None:
        self.fields["unit"].widget.choices = [("", _("Whole area")), *units]


class RevealForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose"), max_length=200,
                              help_text=_("Why the full number is needed; recorded in the audit log."))


class BirthForm(ConfirmableForm):
    name = forms.CharField(label=_("Child's name"), required=False, max_length=50,
                           help_text=_("Needed for a live birth; a temporary name will do."))
    sex = forms.ChoiceField(label=_("Sex"), widget=forms.RadioSelect)
    born_on = forms.DateField(label=_("Date of birth"), widget=DateInput())
    live_born = forms.TypedChoiceField(label=_("Outcome"), widget=forms.RadioSelect, initial="1",
                                       choices=[("1", _("Live birth")), ("0", _("Stillbirth"))],
                                       coerce=lambda v: v == "1")
    father_choice = forms.ChoiceField(label=_("Father"), widget=forms.RadioSelect)
    father_id_number = forms.CharField(label=_("Father's ID number"), required=False, max_length=30,
                                       help_text=_("Only when the father is found by ID number."))
    place = forms.ChoiceField(label=_("Place of birth"), required=False)
    id_number = forms.CharField(label=_("Child's ID number"), required=False, max_length=30,
                                help_text=_("Leave empty if none has been issued yet."))

    def __init__(self, *args, husband=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = code_name_choices("sex")
        self.fields["place"].choices = code_name_choices("birth_place", blank="—")
        father = [("id_number", _("Find the father by ID number")), ("none", _("Not recorded"))]
        if husband is not None:
            father.insert(0, ("husband", _("%(name)s (her husband)") % {"name": husband.name}))
        self.fields["father_choice"].choices = father
        self.fields["father_choice"].initial = father[0][0]

    def clean(self):
        data = super().clean()
        if data.get("father_choice") == "id_number" and not (data.get("father_id_number") or "").strip():
            self.add_error("father_id_number", _("Give the father's ID number, or choose another option."))
        return data


class DeathForm(forms.Form):
    died_on = forms.DateField(label=_("Date of death"), widget=DateInput())
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class MoveOutForm(forms.Form):
    destination = forms.ChoiceField(label=_("Moving to"), widget=forms.RadioSelect, initial="unit",
                                    choices=[("unit", _("A village or community of this county")),
                                             ("county", _("Another county"))])
    moved_on = forms.DateField(label=_("Date of the move"), widget=DateInput())
    to_unit = forms.TypedChoiceField(label=_("Village or community moved to"), required=False, coerce=int,
                                     empty_value=None)
    to_county = forms.CharField(label=_("County moved to"), required=False, max_length=6, help_text=COUNTY_CODE_HINT)
    registration_moved = forms.BooleanField(label=_("The household registration moves too"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, villages: list = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].choices = [("", "—"), *villages]

    def clean(self):
        data = super().clean()
        if data.get("destination") == "unit" and not data.get("to_unit"):
            self.add_error("to_unit", _("Choose the village or community."))
        if data.get("destination") == "county" and not data.get("to_county"):
            self.add_error("to_county", _("Give the county's code."))
        return data


class MoveInReturnForm(forms.Form):
    moved_on = forms.DateField(label=_("Date of the move"), widget=DateInput())
    to_unit = forms.TypedChoiceField(label=_("Village or community moved to"), coerce=int)
    from_county = forms.CharField(label=_("County moved from"), max_length=6, help_text=COUNTY_CODE_HINT)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, villages: list = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].choices = [("", "—"), *villages]


class NewcomerForm(ConfirmableForm):
    name = forms.CharField(label=_("Name"), max_length=50)
    sex = forms.ChoiceField(label=_("Sex"), widget=forms.RadioSelect)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=30)
    ethnicity = forms.ChoiceField(label=_("Ethnicity"), initial="01")
    marital_status = forms.ChoiceField(label=_("Marital status"), initial="10")
    education = forms.ChoiceField(label=_("Education"), required=False)
    moved_on = forms.DateField(label=_("Date of the move"), widget=DateInput())
    to_unit = forms.TypedChoiceField(label=_("Village or community moved to"), coerce=int)
    from_county = forms.CharField(label=_("County moved from"), max_length=6, help_text=COUNTY_CODE_HINT)
    household_number = forms.CharField(label=_("Household number"), required=False, max_length=24,
                                       help_text=_("An existing household of your area, if the newcomer joins one."))
    relation_to_head = forms.ChoiceField(label=_("Relation to the head of household"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, villages: list = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = code_name_choices("sex")
        self.fields["ethnicity"].choices = code_name_choices("ethnicity")
        self.fields["marital_status"].choices = code_name_choices("marital_status")
        self.fields["education"].choices = code_name_choices("education", blank="—")
        self.fields["relation_to_head"].choices = code_name_choices("relation", blank="—")
        self.fields["to_unit"].choices = [("", "—"), *villages]


class MarriageForm(forms.Form):
    spouse_id_number = forms.CharField(label=_("Spouse's ID number"), max_length=30,
                                       help_text=_("The spouse must be on the register of your area."))
    married_on = forms.DateField(label=_("Date of marriage"), widget=DateInput())


class MarriageEndForm(forms.Form):
    ended_on = forms.DateField(label=_("Date ended"), widget=DateInput())
    reason = forms.ChoiceField(label=_("Reason"), widget=forms.RadioSelect, initial=MarriageEnd.DIVORCE,
                               choices=[(MarriageEnd.DIVORCE, MarriageEnd.DIVORCE.label),
                                        (MarriageEnd.ANNULMENT, MarriageEnd.ANNULMENT.label)])


class PersonEditForm(ConfirmableForm):
    """Corrections of a person's record; moves, marriages and deaths have their own forms."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=50)
    sex = forms.ChoiceField(label=_("Sex"), widget=forms.RadioSelect)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    id_number = forms.CharField(label=_("New ID number"), required=False, max_length=30,
                                help_text=_("Leave empty to keep the current number."))
    ethnicity = forms.ChoiceField(label=_("Ethnicity"))
    education = forms.ChoiceField(label=_("Education"), required=False)
    marital_status = forms.ChoiceField(label=_("Marital status"))
    registration_type = forms.ChoiceField(label=_("Registration type"), required=False,
                                          choices=[("", "—"), *RegistrationType.choices])
    relation_to_head = forms.ChoiceField(label=_("Relation to the head of household"), required=False)

    # The fields compared with the record to build the changes handed to person_update.
    record_fields = ("name", "sex", "birth_date", "ethnicity", "education", "marital_status", "registration_type",
                     "relation_to_head")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = code_name_choices("sex")
        self.fields["ethnicity"].choices = code_name_choices("ethnicity")
        self.fields["education"].choices = code_name_choices("education", blank="—")
        self.fields["marital_status"].choices = code_name_choices("marital_status")
        self.fields["relation_to_head"].choices = code_name_choices("relation", blank="—")

    def changes_from(self, person) -> dict:
        data = self.cleaned_data
        changes = {f: data[f] for f in self.record_fields if data[f] != getattr(person, f)}
        if (data.get("id_number") or "").strip():
            changes["id_number"] = data["id_number"].strip()
        return changes
