from django.contrib import admin

from renkou.aggregates.models import (
    CategoryCombo,
    CategoryOptionCombo,
    CodeMapping,
    CompleteRegistration,
    DataElement,
    DataSet,
    DataSetElement,
    DataValue,
    ValidationRule,
)


class OptionComboInline(admin.TabularInline):
    model = CategoryOptionCombo
    extra = 1


@admin.register(CategoryCombo)
class CategoryComboAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    inlines = [OptionComboInline]


@admin.register(DataElement)
class DataElementAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "value_type", "combo"]
    search_fields = ["code", "name_zh", "name_en"]


class DataSetElementInline(admin.TabularInline):
    model = DataSetElement
    extra = 1


@admin.register(DataSet)
class DataSetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "period_type", "due_days", "unit_level"]
    inlines = [DataSetElementInline]
    filter_horizontal = ["units"]


@admin.register(DataValue)
class DataValueAdmin(admin.ModelAdmin):
    list_display = ["element", "category_option_combo", "unit", "period", "value", "stored_by", "updated_at"]
    list_filter = ["period"]
    raw_id_fields = ["unit", "stored_by"]


@admin.register(CompleteRegistration)
class CompleteRegistrationAdmin(admin.ModelAdmin):
    list_display = ["data_set", "unit", "period", "completed_at", "completed_by"]
    raw_id_fields = ["unit", "completed_by"]


@admin.register(ValidationRule)
class ValidationRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "left", "operator", "right", "importance", "active"]


@admin.register(CodeMapping)
class CodeMappingAdmin(admin.ModelAdmin):
    list_display = ["system", "kind", "renkou_code", "external_id"]
    list_filter = ["system", "kind"]
    search_fields = ["renkou_code", "external_id"]
