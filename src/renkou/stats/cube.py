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

_SEP = "\x1f"


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
    def from_arrow(cls, table: pa.Table) -> Cube:
        if table.num_rows == 0:
            return cls.empty()
        key = pc.binary_join_element_wise(table["data_element"], table["coc"], _SEP).dictionary_encode()
        row = pc.binary_join_element_wise(table["org_unit"], table["period"], _SEP).dictionary_encode()
        key = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
        row = row.combine_chunks() if isinstance(row, pa.ChunkedArray) else row
        keys = [tuple(k.split(_SEP, 1)) for k in key.dictionary.to_pylist()]
        rows = [tuple(r.split(_SEP, 1)) for r in row.dictionary.to_pylist()]
        matrix = np.zeros((len(keys), len(rows)))
        matrix[key.indices.to_numpy(), row.indices.to_numpy()] = table["value"].to_numpy()
        return cls(keys, rows, matrix)

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
