"""The index of ``PersonHistory.event`` holds only the rows that belong to an event (a partial index, as for a
person's mother in 0006): most history rows — an import's, a correction's — belong to none, and the only lookup by
it, the foreign key's ``ON DELETE SET NULL``, names an event. A bulk import writes one index entry fewer per person."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0006_partial_indexes_mother_father_merged"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL('DROP INDEX IF EXISTS "registry_personhistory_event_id_2e490e74"',
                                  'CREATE INDEX "registry_personhistory_event_id_2e490e74" ON '
                                  '"registry_personhistory" ("event_id")'),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="personhistory",
                    name="event",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=models.deletion.SET_NULL, related_name="+",
                        to="registry.event"),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="personhistory",
            index=models.Index(condition=models.Q(event__isnull=False), fields=["event"], name="history_event"),
        ),
    ]
