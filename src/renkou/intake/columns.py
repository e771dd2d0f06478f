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

_ID_ALIASES = ("身份证号", "身份证号码", "公民身份号码")

MARRIAGE_COLUMNS = (
    Column("husband", "男方公民身份号码", tuple(f"{w}{a}" for w in ("男方", "丈夫", "夫") for a in _ID_ALIASES)
           + ("男方", "丈夫"), required=True, example="500230199001011237", note="请将此列设置为文本格式"),
    Column("wife", "女方公民身份号码", tuple(f"{w}{a}" for w in ("女方", "妻子", "妻") for a in _ID_ALIASES)
           + ("女方", "妻子"), required=True, example="500230199203041228", note="请将此列设置为文本格式"),
    Column("married_on", "结婚登记日期", ("结婚日期", "登记日期", "婚姻登记日期", "结婚时间"), required=True,
           example="2020-05-20"),
    Column("unit", "登记地", ("登记村（居）", "所在村（居）", "村（居）", "婚姻登记地"), example="第一社区",
           note="不填时为女方现居住村（居）"),
    Column("ended_on", "婚姻终止日期", ("离婚日期", "终止日期", "解除日期", "离婚登记日期")),
    Column("end_reason", "终止原因", ("解除原因", "离婚原因", "婚姻终止原因"), example="", code_list="marriage_end",
           note="离婚 或 撤销（婚姻被宣告无效、撤销）；丧偶请导入死亡事件"),
)

EVENT_COLUMNS = (
    Column("kind", "事件类型", ("事件", "变动类型", "类型", "业务类型"), required=True, example="出生",
           note="出生、死亡、迁入、迁出（或 birth、death、move_in、move_out）"),
    Column("date", "事件日期", ("日期", "发生日期", "变动日期", "出生日期", "死亡日期", "迁入日期", "迁出日期"),
           required=True, example="2024-03-05"),
    Column("id_number", "公民身份号码", ("身份证号", "身份证号码", "居民身份证号码", "证件号码", "本人身份证号"),
           example="", note="死亡、迁出、迁回本县者：本人身份证号；出生：婴儿的（可不填）；迁入新来者：本人的"),
    Column("name", "姓名", ("名字", "婴儿姓名", "人员姓名"), example="张小明", note="出生（活产）与新迁入者必填"),
    Column("sex", "性别", (), example="男", code_list="sex", note="出生与新迁入者必填"),
    Column("mother", "母亲身份证号", ("母亲公民身份号码", "母亲身份证号码", "母亲"), example="500230199203041228",
           note="出生必填：已登记的人，或本文件中迁入者的身份证号或“第N行”"),
    Column("father", "父亲身份证号", ("父亲公民身份号码", "父亲身份证号码", "父亲")),
    Column("live_born", "活产", ("是否活产", "出生结果", "活产死产"), example="是", note="是（活产）或 否（死产）；不填为活产"),
    Column("place", "出生地点", ("分娩地点", "出生地点类别"), code_list="birth_place"),
    Column("ethnicity", "民族", (), code_list="ethnicity", note="出生不填时随母亲"),
    Column("birth_date", "出生年月日", ("本人出生日期",), note="新迁入者有身份证号时可不填"),
    Column("household", "户编号", ("户号", "家庭户号")),
    Column("unit", "村（居）", ("所在村（居）", "发生地", "迁入村（居）", "登记地", "所在村"), example="第一社区",
           note="出生、死亡：不填为母亲（本人）居住地；迁入：迁入的村（居），必填"),
    Column("to_unit", "迁往村（居）", ("迁往村", "迁往社区", "迁至村（居）"), note="县内迁出：迁往的村（居）"),
    Column("from_county", "迁出地县级代码", ("迁出地代码", "迁出地", "来自县代码", "原住地代码"),
           note="迁入：来自何县（GB/T 2260 六位代码）"),
    Column("to_county", "迁往县级代码", ("迁往地代码", "迁往地", "迁入地代码", "去往县代码"),
           note="迁出县外：去往何县（GB/T 2260 六位代码）"),
    Column("registration_moved", "户口迁移", ("户口随迁", "户口已迁出", "户籍迁移"), note="迁出时户口也迁走填“是”"),
    Column("note", "备注", ("说明", "死亡原因")),
    Column("confirm", "确认", ("已确认", "确认警告"), note="填“是”确认警告（如校验码不符）"),
)


def _layout(kind: str, columns: tuple[Column, ...]) -> Layout:
    return Layout(kind, columns, {c.field: c for c in columns})


LAYOUTS = {
    "persons": _layout("persons", PERSON_COLUMNS),
    "households": _layout("households", HOUSEHOLD_COLUMNS),
    "marriages": _layout("marriages", MARRIAGE_COLUMNS),
    "events": _layout("events", EVENT_COLUMNS),
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
