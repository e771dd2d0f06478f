from django.apps import AppConfig


class DedupConfig(AppConfig):
    name = "renkou.dedup"
    default_auto_field = "django.db.models.BigAutoField"
