"""Reading files: each encoding Chinese offices produce, detected; XLSX by content; empty and broken files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.core.errors import RuleViolation
from renkou.intake.readers import decode_text, read_table
from renkou.intake.tests.helpers import csv_bytes, xlsx_bytes

ROWS = [["张三", "500230199001011232", "男", "1990-01-01"], ["欧阳娜娜", "500230199202020020", "女", "1992年2月2日"]]
HEADERS = ["姓名", "公民身份号码", "性别", "出生日期"]


@pytest.mark.parametrize(("encoding", "found"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                                 ("gb18030", "gb18030"), ("utf-16", "utf-16")])
def test_each_encoding_is_detected(encoding, found):
    table = read_table(csv_bytes(ROWS, HEADERS, encoding=encoding), "a.csv")
    assert table.encoding == found
    assert table.headers == HEADERS  # the BOM does not stick to the first header
    assert table.rows == ROWS


def test_gb18030_only_characters():
    rows = [["𠀀明", "x", "男", "1990-01-01"]]  # outside GBK, inside GB18030
    assert read_table(csv_bytes(rows, HEADERS, encoding="gb18030")).rows == rows


@settings(max_examples=60)
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=8),
                min_size=1, max_size=5))
def test_chinese_text_round_trips_in_utf8_and_gbk(names):
    for encoding in ("utf-8", "gbk"):
        text, _ = decode_text(",".join(names).encode(encoding))
        assert text == ",".join(names)


def test_semicolon_and_tab_separated_files():
    for sep in (";", "\t"):
        data = "\r\n".join(sep.join(r) for r in [HEADERS, *ROWS]).encode("gbk")
        assert read_table(data, "a.csv").rows == ROWS


def test_xlsx_is_recognised_by_content_whatever_its_name():
    table = read_table(xlsx_bytes(ROWS, HEADERS), "upload.csv")
    assert table.headers == HEADERS and table.rows == ROWS and table.encoding == ""


def test_trailing_empty_rows_are_dropped():
    table = read_table(xlsx_bytes([*ROWS, [None, None], ["", ""]], HEADERS))
    assert len(table.rows) == 2


@pytest.mark.parametrize(("data", "name", "code"), [(b"", "a.csv", "empty"), (b"not a zip", "a.xlsx", "unreadable"),
                                                    (b"PK\x03\x04garbage", "a.xlsx", "unreadable")])
def test_broken_files_get_a_clear_error(data, name, code):
    with pytest.raises(RuleViolation) as exc:
        read_table(data, name)
    assert exc.value.code == code and exc.value.field == "file"
