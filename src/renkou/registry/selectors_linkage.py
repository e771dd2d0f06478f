"""The register's persons as one Arrow table, for record linkage (the duplicate scan) — one query, no ORM rows.

Retired records (merged into another) are left out. The unit is the village of residence, or of registration
for a person living elsewhere, given by its statistical code (the township is its first nine digits).
"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa
from django.db import connection

from renkou.orgunits.models import OrgUnit
from renkou.registry.models import Person

COLUMNS = ("id", "name", "sex", "birth_date", "id_number", "unit_code")


def persons_for_linkage(unit_ids: Collection[int] | None = None) -> pa.Table:
    """id, name, sex, birth_date (text YYYY-MM-DD), id_number, unit_code of the persons living or registered in
    ``unit_ids`` (every person of the register when None)."""
    person, unit = Person._meta.db_table, OrgUnit._meta.db_table
    sql = (
        f"SELECT p.id, p.name, p.sex, CAST(p.birth_date AS TEXT), p.id_number, COALESCE(r.code, g.code) "  # noqa: S608
        f"FROM {person} p LEFT JOIN {unit} r ON r.id = p.residence_unit_id "
        f"LEFT JOIN {unit} g ON g.id = p.registration_unit_id WHERE p.merged_into_id IS NULL"
    )
    params: list = []
    if unit_ids is not None:
        ids = sorted(unit_ids)
        if not ids:
            return _table([[] for _ in COLUMNS])
        marks = ", ".join(["%s"] * len(ids))
        sql += f" AND (p.residence_unit_id IN ({marks}) OR p.registration_unit_id IN ({marks}))"
        params = ids + ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _table([list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in COLUMNS])


def _table(columns: list[list]) -> pa.Table:
    types = (pa.int64(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string())
    return pa.table({name: pa.array(col, type=t) for name, col, t in zip(COLUMNS, columns, types, strict=True)})
