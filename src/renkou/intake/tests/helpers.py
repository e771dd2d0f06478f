"""Building import files in tests: CSV bytes in a chosen encoding, or an XLSX written with openpyxl."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook

HEADERS = ["姓名", "公民身份号码", "性别", "出生日期", "民族", "婚姻状况", "现居住地", "户籍地", "母亲身份证号", "确认"]


def csv_bytes(rows: list[list[Any]], headers: list[str] = HEADERS, encoding: str = "utf-8") -> bytes:
    def cell(v: Any) -> str:
        return "" if v is None else str(v)

    text = "\r\n".join(",".join(cell(v) for v in row) for row in [headers, *rows]) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def read_xlsx(path_or_bytes) -> list[list[Any]]:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    sheet = load_workbook(src).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]
