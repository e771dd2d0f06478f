from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "renkou.stats"
    default_auto_field = "django.db.models.BigAutoField"
