from django.apps import AppConfig


class AggregatesConfig(AppConfig):
    name = "renkou.aggregates"
    default_auto_field = "django.db.models.BigAutoField"
