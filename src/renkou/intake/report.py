"""The files the officer opens: the report of rejected and warned rows (as they were, with a column of messages in
Chinese, ready to be corrected and imported again) and the template of each kind."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from renkou.intake.columns import LAYOUTS, MESSAGES_HEADER, Column, normalize_header
from renkou.intake.persons import Outcome, RowOutcome
from renkou.registry.codes import code_lists

_BOLD = Font(bold=True)
_RED = Font(color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
CONFIRM_HEADER = "确认"


def column_header(kind: str, field: str) -> str:
    col = LAYOUTS[kind].by_field.get(field)
    if col is not None:
        return col.header
    return {"file": "文件", "version": "版本"}.get(field, field)


def messages_text(kind: str, row: RowOutcome) -> str:
    return "；".join(f"{column_header(kind, m.field)}：{m.message}" if m.field else m.message for m in row.messages)


def write_report(*, kind: str, headers: list[str], outcome: Outcome, path: Path) -> int:
    """Rows rejected or warned, their cells as read, plus 错误信息 (and 确认 when the file had none). Returns the
    number of rows written. Messages already in the file (a report imported again) are replaced."""
    keep = [i for i, h in enumerate(headers) if normalize_header(h) != MESSAGES_HEADER]
    has_confirm = any(normalize_header(headers[i]) in {"确认", "已确认", "确认警告"} for i in keep)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误报告")
    head = [headers[i] for i in keep] + ([] if has_confirm else [CONFIRM_HEADER]) + [MESSAGES_HEADER]
    cells = []
    for h in head:
        cell = WriteOnlyCell(sheet, value=h)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for row in outcome.rows:
        if not (row.status == "rejected" or row.warned):
            continue
        values = [_cell_value(sheet, row.values[i] if i < len(row.values) else "") for i in keep]
        if not has_confirm:
            values.append("")
        message = WriteOnlyCell(sheet, value=messages_text(kind, row))
        message.font = _RED
        sheet.append([*values, message])
        count += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return count


def _cell_value(sheet, value: Any) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "@"  # text stays text (an ID number must not become a number on the way back)
        return cell
    if isinstance(value, datetime | date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def _allowed(col: Column) -> str:
    if col.code_list:
        return "、".join(f"{c} {n}" for c, n in list(code_lists().get(col.code_list, {}).items())[:8]) + " …"
    return col.note


NOTES = {"persons": [
    ("公民身份号码", "请先把该列设为“文本”格式再录入，否则 18 位号码会被 Excel 变成 5.00222E+17 并丢失末几位；"
                   "15 位旧号码会自动升为 18 位。"),
    ("出生日期", "可写 2008-03-05、2008/3/5、2008.3.5、20080305 或 2008年3月5日；有身份证号时可不填。"),
    ("性别、民族、婚姻状况等", "填代码或名称（见“代码表”），如 男、汉族、已婚。"),
    ("户籍地、现居住地", "填 12 位统计用区划代码，或您辖区内的村（居）名称，重名时写“街道/社区”。"),
    ("母亲身份证号、父亲身份证号", "已登记的人的身份证号，或本文件中另一行的身份证号，或“第5行”。"),
    ("确认", "某行有警告（如校验码不符）且已核对证件时填“是”。"),
]}


def write_template(kind: str, path: Path) -> None:
    """Chinese column headers (required ones marked *), an example row, and a sheet of the allowed codes."""
    layout = LAYOUTS[kind]
    book = Workbook()
    sheet = book.active
    sheet.title = "导入模板"
    for j, col in enumerate(layout.columns, 1):
        cell = sheet.cell(row=1, column=j, value=col.header + ("*" if col.required else ""))
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        example = sheet.cell(row=2, column=j, value=col.example)
        example.number_format = "@"
        # whole column as text: the ID numbers typed later keep all 18 digits
        sheet.column_dimensions[example.column_letter].width = 20 if col.field == "id_number" else 14
        for r in range(3, 200):
            sheet.cell(row=r, column=j).number_format = "@"
    codes = book.create_sheet("代码表")
    codes.append(["列", "代码", "名称"])
    for cell in codes[1]:
        cell.font = _BOLD
    lists = code_lists()
    if kind == "events":
        for code, name in (("birth", "出生"), ("death", "死亡"), ("move_in", "迁入"), ("move_out", "迁出")):
            codes.append(["事件类型", code, name])
    for col in layout.columns:
        if col.code_list:
            for code, name in lists.get(col.code_list, {}).items():
                codes.append([col.header, code, name])
    notes = book.create_sheet("说明")
    notes.append(["列", "说明"])
    for header, text in NOTES.get(kind) or [(c.header, c.note) for c in layout.columns if c.note]:
        notes.append([header, text])
    if kind not in NOTES:
        notes.append(["日期", "可写 2008-03-05、2008/3/5、2008.3.5、20080305 或 2008年3月5日。"])
        notes.append(["身份证号", "请先把该列设为“文本”格式再录入，否则 18 位号码会被 Excel 变成 5.00222E+17 并丢失末几位。"])
    notes.append(["错误信息", "导入报告中的说明列；改正后可直接把报告再次导入，此列会被忽略。"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def header_examples(kind: str) -> list[tuple[str, str]]:
    return [(c.header, _allowed(c)) for c in LAYOUTS[kind].columns]
