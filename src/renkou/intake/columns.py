"""The columns of each kind of import: the Chinese header of the template, the variants officers use, an example.

Headers are matched after removing spaces, a trailing * (required) and anything in brackets: 公民身份号码（必填）
matches 公民身份号码.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from renkou.core.errors import RuleViolation


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    code_list: str = ""  # the code list its values come from (the template lists them)
    note: str = ""


@dataclass(frozen=True)
class Layout:
    kind: str
    columns: tuple[Column, ...]
    by_field: dict[str, Column] = field(default_factory=dict)


MESSAGES_HEADER = "错误信息"
ROW_HEADER = "原行号"

PERSON_COLUMNS = (
    Column("name", "姓名", ("名字", "人员姓名"), required=True, example="张三"),
    Column("id_number", "公民身份号码", ("身份证号", "身份证号码", "身份证", "居民身份证号码", "证件号码",
                                       "公民身份证号", "公民身份证号码", "身份证件号码"),
           example="500230199001011237", note="请将此列设置为文本格式"),
    Column("sex", "性别", (), example="男", code_list="sex"),
    Column("birth_date", "出生日期", ("出生年月日", "生日", "出生时间"), example="1990-01-01"),
    Column("ethnicity", "民族", (), example="汉族", code_list="ethnicity"),
    Column("education", "文化程度", ("学历", "文化"), example="", code_list="education"),
    Column("marital_status", "婚姻状况", ("婚姻状态", "婚否"), example="未婚", code_list="marital_status"),
    Column("registration_type", "户口性质", ("户籍性质", "户口类别", "户口类型"), example="农业户口",
           code_list="registration_type"),
    Column("household", "户编号", ("户号", "家庭户号")),
    Column("relation_to_head", "与户主关系", ("与户主的关系", "家庭关系"), code_list="relation"),
    Column("registration_unit", "户籍地", ("户籍所在地", "户籍地代码", "户籍村（居）", "户籍单位"),
           example="500230001001"),
    Column("residence_unit", "现居住地", ("居住地", "现住地", "居住地代码", "现居住村（居）", "居住单位"),
           example="第一社区"),
    Column("residence_status", "居住状态", ("人口状态", "居住类型"), example="常住", code_list="residence_status"),
    Column("other_county_code", "外县代码", ("流入流出地代码", "外县区划代码")),
    Column("mother", "母亲身份证号", ("母亲公民身份号码", "母亲身份证号码", "母亲")),
    Column("father", "父亲身份证号", ("父亲公民身份号码", "父亲身份证号码", "父亲")),
    Column("confirm", "确认", ("已确认", "确认警告"), note="填“是”确认警告（如校验码不符）"),
)

HOUSEHOLD_COLUMNS = (
    Column("number", "户编号", ("户号", "家庭户号", "户编码"), required=True, example="50023000100100001"),
    Column("address", "地址", ("住址", "家庭住址", "户籍地址"), required=True, example="东城路1号"),
    Column("unit", "所在村（居）", ("所在村", "所在社区", "村（居）", "户籍地", "所属村居", "区划代码"),
           required=True, example="500230001001"),
    Column("registration_type", "户口性质", ("户籍性质", "户口类别", "户别"), example="农业户口",
           code_list="registration_type"),
)

LAYOUTS = {
    "persons": Layout("persons", PERSON_COLUMNS, {c.field: c for c in PERSON_COLUMNS}),
    "households": Layout("households", HOUSEHOLD_COLUMNS, {c.field: c for c in HOUSEHOLD_COLUMNS}),
}

_BRACKETS = re.compile(r"[（(\[【].*?[）)\]】]")


def normalize_header(text: object) -> str:
    value = "" if text is None else str(text)
    value = _BRACKETS.sub("", value)
    return re.sub(r"[\s\u3000*＊:：]", "", value)


def map_headers(layout: Layout, headers: list[str]) -> dict[str, int]:
    """{field: column index} for the columns found. A missing required column stops the file (RuleViolation)."""
    index: dict[str, Column] = {}
    for col in layout.columns:
        for name in (col.header, *col.aliases):
            index[normalize_header(name)] = col
    found: dict[str, int] = {}
    for i, header in enumerate(headers):
        col = index.get(normalize_header(header))
        if col is not None and col.field not in found:
            found[col.field] = i
    missing = [c.header for c in layout.columns if c.required and c.field not in found]
    if missing:
        raise RuleViolation("file", _("The file has no column %(columns)s (the first row must hold the column "
                                      "headers; download the template).") % {"columns": "、".join(missing)},
                            code="columns")
    return found
