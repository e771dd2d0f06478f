"""Code lists (sex, marital status, ethnicity, …) as data: shipped as CSV, held in the Code table, cached."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

CODES_DIR = Path(__file__).resolve().parent / "codes"


def code_rows_from_files() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted(CODES_DIR.glob("*.csv")):
        with path.open(encoding="utf-8") as f:
            for order, row in enumerate(csv.DictReader(f)):
                rows.append({"list": path.stem, "code": row["code"], "name": row["name"],
                             "name_en": row.get("name_en", ""), "sort_order": order})
    return rows


def codes_sync(code_model) -> int:
    """Insert or update the shipped code lists (used by a data migration and by ``renkou migrate``)."""
    existing = {(c.list, c.code): c for c in code_model.objects.all()}
    new, changed = [], []
    for row in code_rows_from_files():
        current = existing.get((row["list"], row["code"]))
        if current is None:
            new.append(code_model(**row))
        elif (current.name, current.name_en, current.sort_order) != (row["name"], row["name_en"], row["sort_order"]):
            current.name, current.name_en, current.sort_order = row["name"], row["name_en"], row["sort_order"]
            changed.append(current)
    code_model.objects.bulk_create(new)
    code_model.objects.bulk_update(changed, ["name", "name_en", "sort_order"])
    code_lists.cache_clear()
    return len(new) + len(changed)


@lru_cache(maxsize=1)
def code_lists() -> dict[str, dict[str, str]]:
    """{list: {code: Chinese name}} for the active codes."""
    from renkou.registry.models import Code

    out: dict[str, dict[str, str]] = {}
    for list_name, code, name in Code.objects.filter(active=True).values_list("list", "code", "name"):
        out.setdefault(list_name, {})[code] = name
    return out


def code_name(list_name: str, code: str | None) -> str:
    if not code:
        return ""
    return code_lists().get(list_name, {}).get(code, code)


def code_choices(list_name: str) -> list[tuple[str, str]]:
    return [(c, f"{c} {n}") for c, n in code_lists().get(list_name, {}).items()]


def code_is_valid(list_name: str, code: str) -> bool:
    return code in code_lists().get(list_name, {})


def code_lookup(list_name: str, text: str) -> str | None:
    """A code given either as itself or by its Chinese name (男 → 1, 汉族 → 01, 已婚 → 20)."""
    text = (text or "").strip()
    entries = code_lists().get(list_name, {})
    if text in entries:
        return text
    for code, name in entries.items():
        if name == text:
            return code
    return None
