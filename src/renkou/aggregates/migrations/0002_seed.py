from django.db import migrations


def forwards(apps, schema_editor):
    from renkou.aggregates.seed import load

    load(apps)


class Migration(migrations.Migration):
    dependencies = [("aggregates", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
