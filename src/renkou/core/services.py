from __future__ import annotations

from renkou.core.models import InstallationFact
from renkou.core.selectors import forget_cached_facts


def installation_fact_set(*, key: str, value: object) -> None:
    InstallationFact.objects.update_or_create(key=key, defaults={"value": value})
    forget_cached_facts()
