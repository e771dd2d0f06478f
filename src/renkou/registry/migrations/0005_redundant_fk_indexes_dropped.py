"""Three indexes that a composite index already covers are dropped: the foreign-key indexes of
``Person.registration_unit`` and ``Person.residence_unit`` (person_registration_name and person_residence_name lead
with the unit) and of ``PersonHistory.person`` (history_person_at leads with the person). Every lookup by those
columns uses the composite index (checked with EXPLAIN on SQLite and PostgreSQL); a bulk import writes three index
entries fewer per person.

Only the indexes go (``DROP INDEX``, instant): Django's AlterField would rebuild the whole persons table on SQLite.
"""

from django.db import migrations, models

_INDEXES = [
    ("registry_person_registration_unit_id_d0a18185", "registry_person", "registration_unit_id"),
    ("registry_person_residence_unit_id_5424be5b", "registry_person", "residence_unit_id"),
    ("registry_personhistory_person_id_d3f0ec57", "registry_personhistory", "person_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("orgunits", "0001_initial"),
        ("registry", "0004_change_markers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
                for name, table, column in _INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="registration_unit",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT, related_name="+",
                        to="orgunits.orgunit", verbose_name="unit of registration"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="residence_unit",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT, related_name="+",
                        to="orgunits.orgunit", verbose_name="unit of residence"),
                ),
                migrations.AlterField(
                    model_name="personhistory",
                    name="person",
                    field=models.ForeignKey(
                        db_index=False, on_delete=models.deletion.CASCADE, related_name="history",
                        to="registry.person"),
                ),
            ],
        ),
    ]
