from __future__ import annotations

import time

from renkou.core.models import SYNTHETIC_DATA, InstallationFact

_cache: dict[str, tuple[float, object]] = {}
_TTL = 30.0


def installation_fact(key: str) -> object | None:
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < _TTL:
        return hit[1]
    value = InstallationFact.objects.filter(key=key).values_list("value", flat=True).first()
    _cache[key] = (now, value)
    return value


def holds_synthetic_data() -> bool:
    return bool(installation_fact(SYNTHETIC_DATA))


def forget_cached_facts() -> None:
    _cache.clear()
