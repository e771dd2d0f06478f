"""The foreign-key index of ``AuditEntry.user`` is dropped: audit_user_at (user, -at) leads with the user and serves
every lookup by it. A bulk import writes one audit entry per person, each one index entry fewer.

Only the index goes (``DROP INDEX``): Django's AlterField would rebuild the audit table on SQLite."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL('DROP INDEX IF EXISTS "accounts_auditentry_user_id_7b0077aa"',
                                  'CREATE INDEX "accounts_auditentry_user_id_7b0077aa" ON "accounts_auditentry" '
                                  '("user_id")'),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False, null=True, on_delete=models.deletion.PROTECT, related_name="+",
                        to=settings.AUTH_USER_MODEL, verbose_name="user"),
                ),
            ],
        ),
    ]
