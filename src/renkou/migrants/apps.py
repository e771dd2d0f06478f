from django.apps import AppConfig


class MigrantsConfig(AppConfig):
    name = "renkou.migrants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from renkou.migrants import stats

        stats.register()  # the exchange's counts become data elements of renkou.stats
