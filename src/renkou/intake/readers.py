"""Reading the spreadsheets officers send: XLSX (python-calamine, fast) and CSV in the encodings Chinese offices
produce (UTF-8, UTF-8 with BOM, GBK/GB18030), detected, never asked. Pure functions, no database."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from renkou.core.errors import RuleViolation

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the legacy .xls format (calamine reads it as well)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]  # cell values as read: str, float, int, bool, date, datetime
    encoding: str = ""  # for CSV: the encoding found
    first_row: int = 2  # spreadsheet row number of rows[0] (the header is row 1)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK and GB2312).

    Most GBK text is not valid UTF-8, so a strict UTF-8 attempt decides almost always; short GBK text can be valid
    UTF-8 by chance (一 = D2 BB reads as Cyrillic һ), so a UTF-8 reading with characters no Chinese table holds loses
    to a GB18030 reading without them. UTF-16 with a BOM (Excel's "Unicode text") is read too.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _ODD.search(text):
        return text, "utf-8"
    try:
        gb = data.decode("gb18030", errors="strict")
    except UnicodeDecodeError as exc:
        if text is not None:
            return text, "utf-8"
        raise RuleViolation("file", _("The file is neither UTF-8 nor GBK/GB18030 text; save it again as CSV "
                                      "(UTF-8) or as an Excel workbook."), code="encoding") from exc
    # Short GBK text can also be valid UTF-8 (一 = D2 BB = Cyrillic һ): prefer the reading without odd characters.
    if text is not None and _odd_characters(gb) >= _odd_characters(text):
        return text, "utf-8"
    return gb, "gb18030"


_ODD = re.compile("[\x80-\x9f\u0100-\u1fff\ue000-\uf8ff]")


def _odd_characters(text: str) -> int:
    """Characters a Chinese office's table hardly holds but a wrong decoding produces (C1 controls, Latin
    extended, Greek, Cyrillic, Arabic …, private use)."""
    return len(_ODD.findall(text))


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    # (a row without an empty cell read as None is kept as it is: the usual case, no copy)
    out = [row if None not in row else ["" if v is None else v for v in row] for row in rows]
    while out and all(v == "" for v in out[-1]):
        out.pop()
    return out


def read_csv(data: bytes) -> Table:
    text, encoding = decode_text(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = _trim(list(csv.reader(io.StringIO(text, newline=""), dialect)))
    if not rows:
        raise RuleViolation("file", _("The file is empty."), code="empty")
    return Table(headers=[str(h) for h in rows[0]], rows=rows[1:], encoding=encoding)


def read_xlsx(data: bytes) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise RuleViolation("file", _("The workbook cannot be read; save it again in Excel as .xlsx."),
                            code="unreadable") from exc
    rows = _trim(rows)
    if not rows:
        raise RuleViolation("file", _("The file is empty."), code="empty")
    return Table(headers=["" if h is None else str(h) for h in rows[0]], rows=rows[1:])


def read_table(data: bytes, filename: str = "") -> Table:
    """An XLSX/XLS workbook (first sheet) or a CSV file, told apart by content, not by the name."""
    if data.startswith((XLSX_MAGIC, OLE_MAGIC)):
        return read_xlsx(data)
    suffix = Path(filename).suffix.lower()
    if suffix in {".xlsx", ".xls", ".xlsm"} and data:
        raise RuleViolation("file", _("The workbook cannot be read; save it again in Excel as .xlsx."),
                            code="unreadable")
    return read_csv(data)
