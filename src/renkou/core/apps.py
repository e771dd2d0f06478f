from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "renkou.core"
    label = "core"
    verbose_name = "renkou"

    def ready(self) -> None:
        from renkou.core import checks  # noqa: F401  (registers system checks)
