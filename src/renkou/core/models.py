"""Facts about this installation, kept in the database (e.g. that it holds synthetic demo data)."""

from django.db import models


class InstallationFact(models.Model):
    key = models.CharField(max_length=64, unique=True)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


SYNTHETIC_DATA = "synthetic_data"
