"""The one tabular writer of renkou: every list the officers take away leaves as XLSX or CSV through here.

- XLSX with openpyxl's write-only mode (rows go to disk as they come, memory stays flat for any length): a title
  row, a row of (Chinese) headers, frozen under the headers, column widths, dates as real dates with a date format,
  and ID-number columns written as text cells with the text format ``@``, so that Excel never turns
  ``500230199001011234`` into ``5.00230E+17`` (and never drops its last digits).
- CSV as UTF-8 with a byte-order mark (Excel opens Chinese correctly only with it), ``\\r\\n`` line ends, dates as
  ``YYYY-MM-DD``. A CSV carries no types: the XLSX is the file to open in Excel when full ID numbers matter.

No database here: the caller passes the columns and an iterator of row tuples (values in column order) and gets
the number of data rows written. Pure and fast to test; knows nothing about who may export what.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

TEXT, ID_NUMBER, DATE, INTEGER = "text", "id_number", "date", "integer"
KINDS = frozenset({TEXT, ID_NUMBER, DATE, INTEGER})
FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
BOM = "\ufeff"
# Excel's limit for a sheet name; its forbidden characters are replaced.
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: float = 12

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


def write(fmt: str, out: BinaryIO, *, title: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> int:
    if fmt == "xlsx":
        return write_xlsx(out, title=title, columns=columns, rows=rows)
    if fmt == "csv":
        return write_csv(out, columns=columns, rows=rows)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def write_xlsx(out: BinaryIO, *, title: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> int:
    """Write one sheet: title in A1, headers in row 2, data from row 3. Returns the number of data rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=(title.translate(_SHEET_NAME_BAD)[:_SHEET_NAME_MAX] or "Sheet1"))
    for i, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    ws.freeze_panes = "A3"

    title_cell = WriteOnlyCell(ws, value=title)
    title_cell.font = Font(bold=True, size=13)
    ws.append([title_cell])
    header_fill = PatternFill("solid", fgColor="E8EEF4")
    header_font = Font(bold=True)
    header_align = Alignment(vertical="center", wrap_text=True)
    headers = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill, cell.alignment = header_font, header_fill, header_align
        headers.append(cell)
    ws.append(headers)

    # Styled cells only where a type must be pinned (ID numbers as text, dates formatted); plain values elsewhere
    # keep the write-only writer fast.
    styled = [(i, c.kind) for i, c in enumerate(columns) if c.kind in (ID_NUMBER, DATE)]
    texts = [i for i, c in enumerate(columns) if c.kind == TEXT]
    illegal = ILLEGAL_CHARACTERS_RE.search
    count = 0
    for row in rows:
        values = list(row)
        for i in texts:
            # control characters (pasted in from other systems) are illegal in XLSX: dropped, not fatal
            value = values[i]
            if isinstance(value, str) and illegal(value):
                values[i] = ILLEGAL_CHARACTERS_RE.sub("", value)
        for i, kind in styled:
            value = values[i]
            if value is None or value == "":
                values[i] = None
                continue
            if kind == ID_NUMBER:
                cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
                cell.number_format = TEXT_FORMAT
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = DATE_FORMAT
            values[i] = cell
        ws.append(values)
        count += 1
    wb.save(out)
    return count


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(out: BinaryIO, *, columns: Sequence[Column], rows: Iterable[Sequence]) -> int:
    """UTF-8 with BOM; headers in the first line (a CSV has no title row, so that it re-imports as it is)."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        text.write(BOM)
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([c.header for c in columns])
        kinds = [c.kind for c in columns]
        count = 0
        for row in rows:
            writer.writerow([_csv_value(v, k) for v, k in zip(row, kinds, strict=True)])
            count += 1
        text.flush()
    finally:
        text.detach()  # leave the caller's stream open
    return count


def content_type(fmt: str) -> str:
    return CONTENT_TYPES[fmt]
