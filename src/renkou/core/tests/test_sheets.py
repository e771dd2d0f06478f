"""The shared tabular writer: the XLSX and CSV files as the user opens them."""

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from renkou.core import sheets

COLUMNS = [sheets.Column("姓名", width=10), sheets.Column("公民身份号码", sheets.ID_NUMBER, 21),
           sheets.Column("出生日期", sheets.DATE, 12), sheets.Column("孩次", sheets.INTEGER, 6)]
ROWS = [("王芳", "500230199003030022", date(1990, 3, 3), 1), ("李四", None, date(2001, 12, 31), None)]


def _xlsx(rows, title="人员名单"):
    out = io.BytesIO()
    n = sheets.write_xlsx(out, title=title, columns=COLUMNS, rows=iter(rows))
    out.seek(0)
    return n, load_workbook(out)


def test_xlsx_has_a_title_chinese_headers_and_typed_values():
    n, wb = _xlsx(ROWS)
    ws = wb.active
    assert n == 2
    assert ws.title == "人员名单"
    assert ws["A1"].value == "人员名单" and ws["A1"].font.bold
    assert [c.value for c in ws[2]] == ["姓名", "公民身份号码", "出生日期", "孩次"]
    assert ws["A3"].value == "王芳"
    # the ID number is a text cell with the text format: Excel keeps all 18 digits
    assert ws["B3"].value == "500230199003030022" and ws["B3"].data_type == "s" and ws["B3"].number_format == "@"
    # dates are real dates, shown as dates
    assert ws["C3"].value.date() == date(1990, 3, 3) and ws["C3"].is_date and ws["C3"].number_format == "yyyy-mm-dd"
    assert ws["D3"].value == 1
    assert ws["B4"].value is None and ws["D4"].value is None
    assert ws.freeze_panes == "A3"
    assert ws.column_dimensions["B"].width == 21


def test_csv_is_utf8_with_bom_and_reads_back():
    out = io.BytesIO()
    n = sheets.write_csv(out, columns=COLUMNS, rows=ROWS)
    raw = out.getvalue()
    assert n == 2
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["姓名", "公民身份号码", "出生日期", "孩次"], ["王芳", "500230199003030022", "1990-03-03", "1"],
                    ["李四", "", "2001-12-31", ""]]


def test_the_callers_stream_stays_open_after_csv():
    out = io.BytesIO()
    sheets.write_csv(out, columns=COLUMNS, rows=[])
    out.write(b"x")  # not closed by the writer
    assert out.getvalue().endswith(b"x")


def test_unknown_format_and_kind_are_refused():
    with pytest.raises(ValueError):
        sheets.write("pdf", io.BytesIO(), title="t", columns=COLUMNS, rows=[])
    with pytest.raises(ValueError):
        sheets.Column("x", "money")


def test_sheet_title_is_made_legal_for_excel():
    _, wb = _xlsx([], title="出生/死亡[2025]:明细*名单?很长很长很长很长很长很长很长很长很长")
    assert wb.active.title == "出生_死亡_2025__明细_名单_很长很长很长很长很长很长很长很长很"[:31]


def test_control_characters_are_dropped_from_xlsx_text():
    _, wb = _xlsx([("王\x1f芳", "500230199003030022", date(1990, 3, 3), 1)])
    assert wb.active["A3"].value == "王芳"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=8),
                          st.from_regex(r"\A[0-9]{17}[0-9X]\Z"), st.dates(min_value=date(1900, 1, 1)),
                          st.integers(0, 20)), max_size=6))
def test_any_rows_round_trip_through_both_formats(rows):
    out = io.BytesIO()
    sheets.write_csv(out, columns=COLUMNS, rows=rows)
    back = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))[1:]
    assert back == [[a, b, c.isoformat(), str(d)] for a, b, c, d in rows]
    _, wb = _xlsx(rows)
    cells = list(wb.active.iter_rows(min_row=3, values_only=True))
    assert [r[0] or "" for r in cells] == [r[0] for r in rows]
    assert [r[1] for r in cells] == [r[1] for r in rows]
    assert [r[2].date() for r in cells] == [r[2] for r in rows]
