"""Install the indicators DOMAIN.md defines that the register supports (built-in; staff may change them)."""

from django.db import migrations

from renkou.stats.indicators import DEFAULT_INDICATORS


def install(apps, schema_editor):
    Indicator = apps.get_model("stats", "Indicator")
    for spec in DEFAULT_INDICATORS:
        Indicator.objects.update_or_create(code=spec["code"], defaults={**spec, "builtin": True})


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_indicators_and_published_periods")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
