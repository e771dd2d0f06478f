"""Ship the three rates of the two-way assessment as indicators (built-in; staff may change them)."""

from django.db import migrations

from renkou.migrants.stats import INDICATORS


def install(apps, schema_editor):
    Indicator = apps.get_model("stats", "Indicator")
    for spec in INDICATORS:
        Indicator.objects.update_or_create(code=spec["code"], defaults={**spec, "builtin": True})


def remove(apps, schema_editor):
    apps.get_model("stats", "Indicator").objects.filter(code__in=[s["code"] for s in INDICATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [("migrants", "0001_exchange"), ("stats", "0003_indicator_target")]
    operations = [migrations.RunPython(install, remove)]
