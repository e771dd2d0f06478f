"""A synthetic persons file for the benchmark and the tests of large imports: valid rows, typed the ways officers
type them (date forms, code names, a lowercase x, full-width digits now and then), unique ID numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from renkou.registry import idnumbers

HEADERS = ["姓名", "公民身份号码", "性别", "出生日期", "民族", "婚姻状况", "户口性质", "现居住地", "户籍地"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强文辉海燕晓东丹")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def persons_rows(n: int, villages: list[str], *, seed: int = 1, address: str = "500230") -> list[list[str]]:
    """``n`` rows of valid persons living in ``villages`` (12-digit codes); each ID number unique."""
    rng = np.random.default_rng(seed)
    # unique (birth date, sequence) pairs: days spread over 1930–2020, 999 sequences a day
    keys = rng.choice(33_000 * 999, size=n, replace=False)
    days = keys // 999
    seq = keys % 999 + 1
    start = date(1930, 1, 1)
    births = np.datetime64(start) + days.astype("timedelta64[D]")
    numbers = idnumbers.make_many(address, births, seq)
    village = rng.integers(0, len(villages), size=n)
    marital = rng.choice(["未婚", "已婚", "20", "10", "离婚"], size=n)
    rtype = rng.choice(["农业户口", "非农业户口", "农业", "城镇"], size=n)
    sur = rng.integers(0, len(_SURNAMES), size=n)
    g1 = rng.integers(0, len(_GIVEN), size=n)
    g2 = rng.integers(-len(_GIVEN), len(_GIVEN), size=n)
    form = rng.integers(0, 10, size=n)
    rows = []
    for i in range(n):
        b = start + timedelta(days=int(days[i]))
        f = form[i]
        if f < 5:
            born = b.isoformat()
        elif f == 5:
            born = f"{b.year}/{b.month}/{b.day}"
        elif f == 6:
            born = f"{b.year}年{b.month}月{b.day}日"
        elif f == 7:
            born = b.strftime("%Y%m%d")
        else:
            born = f"{b.year}.{b.month}.{b.day}"
        number = str(numbers[i])
        if f == 9:
            number = number.lower().translate(_FULLWIDTH)
        name = _SURNAMES[sur[i]] + _GIVEN[g1[i]] + (_GIVEN[g2[i]] if g2[i] >= 0 else "")
        sex = "男" if seq[i] % 2 else "女"
        v = villages[village[i]]
        rows.append([name, number, sex, born, "汉族", str(marital[i]), str(rtype[i]), v, v])
    return rows


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig") -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADERS)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("人员")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)
