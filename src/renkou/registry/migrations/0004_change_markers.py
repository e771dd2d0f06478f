"""Change markers for the statistics snapshot: ``updated_at`` on events and marriages (existing rows get the time
of the migration), and an index on it for events, marriages and persons, so that the snapshot can fetch only the
rows changed since it was written."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0003_person_merged_into"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_index=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="marriage",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_index=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["updated_at"], name="person_updated_at"),
        ),
    ]
