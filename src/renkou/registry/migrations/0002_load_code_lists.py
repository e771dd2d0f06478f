from django.db import migrations


def load(apps, schema_editor):
    from renkou.registry.codes import codes_sync

    codes_sync(apps.get_model("registry", "Code"))


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
