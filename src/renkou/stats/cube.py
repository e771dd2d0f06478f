"""A cube of values: one row per (org_unit, period), one column per (data_element, coc), as a NumPy matrix.

Built once from an engine result (or from frozen values) so that indicators evaluate for every unit and period
in a few vectorised operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """A string column as integer codes and the strings they stand for."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _dense(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes (sorted) and each code's position among them, for codes below ``size`` (no sort)."""
    present = np.zeros(size, dtype=bool)
    present[codes] = True
    distinct = np.flatnonzero(present)
    position = np.zeros(size, dtype=np.int64)
    position[distinct] = np.arange(len(distinct))
    return distinct, position[codes]


@dataclass
class Cube:
    keys: list[tuple[str, str]]
    rows: list[tuple[str, str]]
    matrix: np.ndarray  # shape (len(keys), len(rows)); a missing value is 0

    def __post_init__(self) -> None:
        self.key_index = {k: i for i, k in enumerate(self.keys)}
        self.row_index = {r: i for i, r in enumerate(self.rows)}
        self._zero = np.zeros(len(self.rows))

    @classmethod
    def empty(cls) -> Cube:
        return cls([], [], np.zeros((0, 0)))

    @classmethod
    def from_arrow(cls, table: pa.Table, rows: Sequence[tuple[str, str]] | None = None) -> Cube:
        """The cube of an engine result (data_element, coc, org_unit, period, value). ``rows``: exactly these
        (unit, period) rows in this order (zeros where the table has none, its other rows left out), as ``aligned``
        would give, without building the cube twice. Each column is dictionary-encoded on its own and the codes are
        combined as integers (no string is built per value)."""
        if table.num_rows == 0:
            return cls.empty() if rows is None else cls([], list(rows), np.zeros((0, len(rows))))
        de, de_names = _codes(table["data_element"])
        coc, coc_names = _codes(table["coc"])
        unit, unit_names = _codes(table["org_unit"])
        period, period_names = _codes(table["period"])
        key_codes, key = _dense(de * len(coc_names) + coc, len(de_names) * len(coc_names))
        keys = [(de_names[c // len(coc_names)], coc_names[c % len(coc_names)]) for c in key_codes.tolist()]
        row_code = unit * len(period_names) + period
        values = table["value"].to_numpy()
        if rows is None:
            row_codes, row = _dense(row_code, len(unit_names) * len(period_names))
            row_list = [(unit_names[c // len(period_names)], period_names[c % len(period_names)])
                        for c in row_codes.tolist()]
        else:
            row_list = list(rows)
            unit_at = {u: i for i, u in enumerate(unit_names)}
            period_at = {p: i for i, p in enumerate(period_names)}
            # Position of each (unit, period) code among the rows asked; -1 for a row not asked.
            where = np.full(len(unit_names) * len(period_names), -1, dtype=np.int64)
            for j, (u, p) in enumerate(row_list):
                iu, ip = unit_at.get(u), period_at.get(p)
                if iu is not None and ip is not None:
                    where[iu * len(period_names) + ip] = j
            row = where[row_code]
            asked = row >= 0
            key, row, values = key[asked], row[asked], values[asked]
        matrix = np.zeros((len(keys), len(row_list)))
        matrix[key, row] = values
        return cls(keys, row_list, matrix)

    @classmethod
    def from_rows(cls, items: Iterable[tuple[str, str, str, str, float]]) -> Cube:
        items = list(items)
        return cls.from_arrow(pa.table({
            "data_element": pa.array([i[0] for i in items], pa.string()),
            "coc": pa.array([i[1] for i in items], pa.string()),
            "org_unit": pa.array([i[2] for i in items], pa.string()),
            "period": pa.array([i[3] for i in items], pa.string()),
            "value": pa.array([i[4] for i in items], pa.float64()),
        }))

    def get(self, key: tuple[str, str], default: np.ndarray | None = None) -> np.ndarray:
        i = self.key_index.get(key)
        return self.matrix[i] if i is not None else (self._zero if default is None else default)

    def value(self, key: tuple[str, str], unit: str, period: str) -> float:
        i, j = self.key_index.get(key), self.row_index.get((unit, period))
        return 0.0 if i is None or j is None else float(self.matrix[i, j])

    def select(self, units: Sequence[str] | None = None, periods: Sequence[str] | None = None) -> Cube:
        us, ps = (set(units) if units is not None else None), (set(periods) if periods is not None else None)
        picked = [j for j, (u, p) in enumerate(self.rows) if (us is None or u in us) and (ps is None or p in ps)]
        return Cube(self.keys, [self.rows[j] for j in picked], self.matrix[:, picked])

    def aligned(self, rows: Sequence[tuple[str, str]]) -> Cube:
        """The same keys for exactly these (unit, period) rows, zeros where this cube has no row."""
        m = np.zeros((len(self.keys), len(rows)))
        src = [self.row_index.get(r) for r in rows]
        have = [j for j, i in enumerate(src) if i is not None]
        if have:
            m[:, have] = self.matrix[:, [src[j] for j in have]]
        return Cube(self.keys, list(rows), m)

    @staticmethod
    def concat(a: Cube, b: Cube) -> Cube:
        if not a.rows:
            return b
        if not b.rows:
            return a
        keys = list(dict.fromkeys([*a.keys, *b.keys]))
        index = {k: i for i, k in enumerate(keys)}
        matrix = np.zeros((len(keys), len(a.rows) + len(b.rows)))
        matrix[[index[k] for k in a.keys], : len(a.rows)] = a.matrix
        matrix[[index[k] for k in b.keys], len(a.rows):] = b.matrix
        return Cube(keys, [*a.rows, *b.rows], matrix)
