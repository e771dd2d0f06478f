"""The register: code lists, households, persons, marriages, dated events and the history of every change.

Writes go through ``registry.services``; reads through ``registry.selectors``. Nothing else touches these
tables directly (the demo loader writes in bulk through the same column names, see demo/load.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeList(models.TextChoices):
    SEX = "sex", _("Sex (GB/T 2261.1)")
    MARITAL_STATUS = "marital_status", _("Marital status (GB/T 2261.2)")
    ETHNICITY = "ethnicity", _("Ethnicity (GB/T 3304)")
    EDUCATION = "education", _("Education (GB/T 4658)")
    RELATION = "relation", _("Relation to the head of household (GB/T 4761)")
    REGISTRATION_TYPE = "registration_type", _("Household registration type")
    RESIDENCE_STATUS = "residence_status", _("Residence status")
    BIRTH_PLACE = "birth_place", _("Place of birth")
    MARRIAGE_END = "marriage_end", _("Reason a marriage ended")


class Code(models.Model):
    """One entry of a national or local code list. Code lists are data: loaded from registry/codes/*.csv."""

    list = models.CharField(max_length=32, choices=CodeList.choices)
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=64)  # Chinese name, as the standard prints it
    name_en = models.CharField(max_length=64, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["list", "sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["list", "code"], name="code_list_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RegistrationType(models.TextChoices):
    RURAL = "rural", _("Rural (agricultural)")
    URBAN = "urban", _("Urban (non-agricultural)")


class ResidenceStatus(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    OUT = "out", _("Living in another county")
    IN = "in", _("Living here from another county")
    LEFT = "left", _("Registration moved to another county")


class Household(models.Model):
    number = models.CharField(_("household number"), max_length=24, unique=True)
    address = models.CharField(_("address"), max_length=200)
    unit = models.ForeignKey("orgunits.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    registration_type = models.CharField(
        _("registration type"), max_length=8, choices=RegistrationType.choices, default=RegistrationType.RURAL
    )
    head = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("head")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True, unique=True)
    # Warnings about the ID number that an officer confirmed when it was written (e.g. "id_number.checksum").
    id_number_warnings = models.JSONField(default=list, blank=True)
    name = models.CharField(_("name"), max_length=50, db_index=True)
    sex = models.CharField(_("sex"), max_length=1)
    birth_date = models.DateField(_("birth date"), db_index=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, default="01")
    education = models.CharField(_("education"), max_length=2, blank=True)
    marital_status = models.CharField(_("marital status"), max_length=2, default="10")
    registration_type = models.CharField(
        _("registration type"), max_length=8, choices=RegistrationType.choices, blank=True
    )
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        verbose_name=_("household"),
    )
    relation_to_head = models.CharField(_("relation to head"), max_length=2, blank=True)
    # No index of their own: person_registration_name and person_residence_name (unit, name) lead with them and
    # serve every lookup by unit (one index fewer to write per person; a bulk import writes hundreds of thousands)
    registration_unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("unit of registration"), db_index=False,
    )
    residence_unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("unit of residence"), db_index=False,
    )
    residence_status = models.CharField(
        _("residence status"), max_length=8, choices=ResidenceStatus.choices, default=ResidenceStatus.RESIDENT
    )
    # GB/T 2260 code of the other county: where an out-migrant lives, or where an in-migrant is registered.
    other_county_code = models.CharField(_("other county"), max_length=6, blank=True)
    # mother, father and merged_into are indexed only where set (person_mother, person_father, person_merged_into):
    # most persons have none, and a lookup by one of them (a mother's children, the records merged into one)
    # never asks for the empty ones
    mother = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("mother"),
        db_index=False,
    )
    father = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("father"),
        db_index=False,
    )
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    # Set when this record was found to be a second registration of another person and merged into it
    # (registry/services/merge.py). The row is kept, without events or links, so that the merge can be traced;
    # lists and counts of the register leave it out.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("merged into"),
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        indexes = [
            models.Index(fields=["residence_unit", "name"], name="person_residence_name"),
            models.Index(fields=["registration_unit", "name"], name="person_registration_name"),
            # the statistics snapshot fetches the persons changed since it was written
            models.Index(fields=["updated_at"], name="person_updated_at"),
            models.Index(fields=["mother"], condition=models.Q(mother__isnull=False), name="person_mother"),
            models.Index(fields=["father"], condition=models.Q(father__isnull=False), name="person_father"),
            models.Index(fields=["merged_into"], condition=models.Q(merged_into__isnull=False),
                         name="person_merged_into"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def alive(self) -> bool:
        return self.death_date is None


class MarriageEnd(models.TextChoices):
    DIVORCE = "divorce", _("Divorce")
    DEATH = "death", _("Death of a spouse")
    ANNULMENT = "annulment", _("Annulment")


class Marriage(models.Model):
    husband = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("husband"))
    wife = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("wife"))
    married_on = models.DateField(_("date of marriage"))
    ended_on = models.DateField(_("date ended"), null=True, blank=True)
    end_reason = models.CharField(_("reason ended"), max_length=12, choices=MarriageEnd.choices, blank=True)
    unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Moves with every write of the row (``auto_now``; bulk writes and queryset updates set it themselves): the
    # statistics snapshot fetches only the rows changed since it was written (stats/snapshot.py).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("marriage")
        verbose_name_plural = _("marriages")
        indexes = [
            models.Index(fields=["husband"], name="marriage_husband"),
            models.Index(fields=["wife"], name="marriage_wife"),
        ]
        constraints = [
            # One current marriage per person, enforced by the database as well as by the services.
            models.UniqueConstraint(
                fields=["husband"], condition=models.Q(ended_on__isnull=True), name="marriage_one_current_husband"
            ),
            models.UniqueConstraint(
                fields=["wife"], condition=models.Q(ended_on__isnull=True), name="marriage_one_current_wife"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.husband_id}+{self.wife_id} {self.married_on}"


class EventKind(models.TextChoices):
    BIRTH = "birth", _("Birth")
    DEATH = "death", _("Death")
    MOVE_OUT = "move_out", _("Moving out")
    MOVE_IN = "move_in", _("Moving in")


class Event(models.Model):
    """A dated vital or migration event, attributed to the village (``unit``) where it is counted."""

    kind = models.CharField(_("kind"), max_length=10, choices=EventKind.choices)
    # The child for a live birth (none for a stillbirth), the deceased, or the person who moved.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="events", verbose_name=_("person")
    )
    date = models.DateField(_("date"))
    unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    # Births
    mother = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="births_given", verbose_name=_("mother")
    )
    father = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("father")
    )
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    live_born = models.BooleanField(_("live born"), null=True, blank=True)
    birth_order = models.PositiveSmallIntegerField(_("birth order"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=2, blank=True)
    # Moves: within the county a unit, outside it a GB/T 2260 county code.
    from_unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from unit")
    )
    to_unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("to unit")
    )
    from_county = models.CharField(_("from county"), max_length=6, blank=True)
    to_county = models.CharField(_("to county"), max_length=6, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("recorded by"),
    )
    source = models.CharField(max_length=8, default="web")
    # Moves with every write of the row, as Marriage.updated_at (the snapshot's change marker).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["kind", "date"], name="event_kind_date"),
            models.Index(fields=["unit", "date"], name="event_unit_date"),
            models.Index(fields=["mother", "date"], name="event_mother_date"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.date}"


class PersonHistory(models.Model):
    """Every change to a person: who, when, what before and after."""

    # no index of its own: history_person_at (person, -at) leads with it
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="history", db_index=False)
    at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    # {"field": [before, after], ...} as JSON-safe strings
    changes = models.JSONField(default=dict)
    # indexed only where set (history_event): most history rows (an import's, a correction's) belong to no event
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              db_index=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["person", "-at"], name="history_person_at"),
            models.Index(fields=["event"], condition=models.Q(event__isnull=False), name="history_event"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.action} {self.at:%Y-%m-%d}"
