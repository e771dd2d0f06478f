"""The django-import-export baseline of ``renkou bench import``: a ModelResource for the same Person model, doing
the same checks row by row the way a django-import-export user would wire them in.

- the same cell parsing (``before_import_row``: codes by name, every date form, ID numbers normalised);
- the register's rules (``before_save_instance``: ``person_check_new`` of registry.services, the single-row path
  ``person_create`` takes, including its duplicate ID-number query);
- the same side effects per row (``after_save_instance``: history and audit entry, as ``person_create``);
- matching by ID number (``import_id_fields``) and ``skip_unchanged``, so a second run changes nothing either.
Units are looked up by code through a widget that caches the (small) unit table, to be fair to the baseline.
Used only by the benchmark (and its smoke test); django-import-export is not otherwise part of renkou.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from renkou.accounts.models import User
from renkou.core.errors import RuleViolation, violations_of
from renkou.intake import fields as f
from renkou.intake.persons import CODE_ALIASES
from renkou.orgunits.models import OrgUnit
from renkou.registry import idnumbers, services
from renkou.registry.codes import code_lists
from renkou.registry.models import Person
from renkou.registry.services._common import audit_write, history_record


class CachedUnitWidget(widgets.ForeignKeyWidget):
    def __init__(self) -> None:
        super().__init__(OrgUnit, "code")
        self._units: dict[str, OrgUnit] | None = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> OrgUnit | None:
        if self._units is None:
            self._units = {u.code: u for u in OrgUnit.objects.all()}
        return self._units.get(f.text(value)) if value else None


class PersonResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="姓名")
    id_number = fields.Field(attribute="id_number", column_name="公民身份号码")
    sex = fields.Field(attribute="sex", column_name="性别")
    birth_date = fields.Field(attribute="birth_date", column_name="出生日期", widget=widgets.DateWidget("%Y-%m-%d"))
    ethnicity = fields.Field(attribute="ethnicity", column_name="民族")
    marital_status = fields.Field(attribute="marital_status", column_name="婚姻状况")
    registration_type = fields.Field(attribute="registration_type", column_name="户口性质")
    residence_unit = fields.Field(attribute="residence_unit", column_name="现居住地", widget=CachedUnitWidget())
    registration_unit = fields.Field(attribute="registration_unit", column_name="户籍地", widget=CachedUnitWidget())

    class Meta:
        model = Person
        import_id_fields = ("id_number",)
        fields = ("name", "id_number", "sex", "birth_date", "ethnicity", "marital_status", "registration_type",
                  "residence_unit", "registration_unit")
        skip_unchanged = True
        use_transactions = True
        clean_model_instances = False  # the register's own rules run instead (before_save_instance)

    def __init__(self, *, by: User) -> None:
        super().__init__()
        self.by = by
        self.codes = code_lists()

    def before_import_row(self, row, **kwargs) -> None:
        try:
            for header, list_name, name in (("性别", "sex", "sex"), ("民族", "ethnicity", "ethnicity"),
                                            ("婚姻状况", "marital_status", "marital_status"),
                                            ("户口性质", "registration_type", "registration_type")):
                row[header] = f.parse_code(list_name, row[header], self.codes, CODE_ALIASES.get(name))
            row["出生日期"] = f.parse_date(row["出生日期"]).isoformat()
            row["公民身份号码"] = idnumbers.normalize(f.clean_id_cell(row["公民身份号码"]))
        except RuleViolation as exc:
            raise ValidationError(str(exc.message)) from exc
        except idnumbers.IdNumberError as exc:
            raise ValidationError(str(exc.message)) from exc

    def before_save_instance(self, instance, row, **kwargs) -> None:
        if instance.pk is not None:
            return
        try:
            services.person_check_new(instance, by=self.by, id_number=instance.id_number)
        except RuleViolation as exc:
            raise ValidationError({v.field: str(v.message) for v in violations_of(exc)}) from exc

    def after_save_instance(self, instance, row, **kwargs) -> None:
        if kwargs.get("dry_run"):
            return
        history_record(person=instance, by=self.by, action="import",
                       changes={k: (None, getattr(instance, k)) for k in ("name", "sex", "birth_date", "id_number",
                                                                          "residence_unit", "registration_unit")})
        audit_write(by=self.by, object_type="person", object_id=instance.pk,
                    unit_id=instance.residence_unit_id or instance.registration_unit_id, what="create",
                    channel="cli")
