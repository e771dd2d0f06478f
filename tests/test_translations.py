"""The Simplified Chinese catalogue: complete, consistent with its placeholders, compiled, and in use.

The .po is read with a small parser of its own (no polib dependency); the compiled .mo is read with the
standard library's ``gettext``, so a .mo that was not recompiled after the .po changed fails here.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

import renkou
from renkou.core.models import SYNTHETIC_DATA
from renkou.core.services import installation_fact_set

LC_MESSAGES = Path(renkou.__file__).resolve().parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

# %(name)s, %(age)d, %(part)02d, %(value)r, %s, %d … and {0}, {name}; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\w*\}")
KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def _unquote(literal: str) -> str:
    # A .po string uses C escapes (\" \\ \n \t), which a Python string literal reads the same way.
    return ast.literal_eval(literal)


@cache
def _entries() -> tuple[Entry, ...]:
    """Every entry of the .po, the header included, obsolete (#~) entries left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(PO.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith("#"):
            continue
        match = KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            value = _unquote(literal)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = value
            else:
                target = (keyword, 0)
                setattr(entry, keyword, value)
            continue
        assert line.startswith('"') and target is not None, f"{PO.name}:{number}: cannot read {raw!r}"
        value = _unquote(line)
        if target[0] == "msgstr":
            entry.msgstr[target[1]] += value
        else:
            setattr(entry, target[0], getattr(entry, target[0]) + value)
    return tuple(entries)


def _header() -> Entry:
    header = _entries()[0]
    assert header.msgid == "" and header.msgctxt is None, "the .po does not start with its header"
    return header


def _messages() -> tuple[Entry, ...]:
    return tuple(e for e in _entries() if e.msgid != "")


def _placeholders(text: str) -> set[str]:
    return {p for p in PLACEHOLDER.findall(text) if p != "%%"}


def test_the_catalogue_is_read():
    assert len(_messages()) > 400, "the parser found far fewer entries than the catalogue holds"
    assert len({(e.msgctxt, e.msgid) for e in _messages()}) == len(_messages()), "duplicate msgids"


def test_header_declares_chinese_utf8_and_one_plural_form():
    header = _header()
    assert "fuzzy" not in header.flags, "a fuzzy header is skipped by msgfmt"
    fields = dict(line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)
    assert fields["Language"].strip() == "zh_Hans"
    assert "charset=UTF-8" in fields["Content-Type"]
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated = [str(e) for e in _messages() if not e.msgstr.get(0, "").strip()]
    fuzzy = [str(e) for e in _messages() if "fuzzy" in e.flags]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"


def test_plural_entries_have_the_one_chinese_form():
    plurals = [e for e in _messages() if e.msgid_plural is not None]
    assert plurals, "the catalogue is expected to hold plural entries"
    for entry in plurals:
        assert set(entry.msgstr) == {0}, f"{entry}: Chinese has one plural form, msgstr[0] only"


def test_placeholders_match():
    mismatched = []
    for entry in _messages():
        wanted = _placeholders(entry.msgid)
        if entry.msgid_plural is not None and _placeholders(entry.msgid_plural) != wanted:
            mismatched.append(f"{entry}: msgid_plural has {sorted(_placeholders(entry.msgid_plural))}")
        for index, text in entry.msgstr.items():
            found = _placeholders(text)
            if found != wanted:
                mismatched.append(f"{entry}: msgstr[{index}] has {sorted(found)}, msgid {sorted(wanted)}")
    assert not mismatched, "\n".join(mismatched)


def test_compiled_catalogue_matches_the_po():
    assert MO.is_file(), f"{MO} is missing; run `renkou manage compilemessages -l zh_Hans`"
    with MO.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    assert compiled.info().get("language") == "zh_Hans"
    stale = []
    for entry in _messages():
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            got = compiled.gettext(msgid)
        else:
            got = compiled.ngettext(msgid, entry.msgid_plural, 1)
        if got != entry.msgstr[0]:
            stale.append(f"{entry}: .mo gives {got!r}, .po {entry.msgstr[0]!r}")
    assert not stale, f"django.mo is older than django.po; recompile. {len(stale)} differ:\n" + "\n".join(
        stale[:20]
    )


@pytest.mark.django_db
def test_login_page_is_chinese_without_accept_language(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    for text in (
        "<h1>登录</h1>",  # "Log in": the heading (and the title and the button)
        "县人口与家庭服务信息登记系统。",  # the subtitle
        "用户名",  # the username field's label (the user model's verbose name)
        "密码",  # the password field's label (Django's own catalogue)
        "连续登录失败五次后，账户将被暂时锁定。",  # the lock-out hint
        "登录 · 人口信息登记系统",  # the <title>
    ):
        assert text in html, f"{text!r} is not on the login page"
    for english in ("Log in", "Password", "After five failed attempts", "Population register"):
        assert english not in html, f"{english!r} is left in English"


@pytest.mark.django_db
def test_demo_banner_is_chinese(client):
    installation_fact_set(key=SYNTHETIC_DATA, value={"generator": "test"})
    html = client.get("/login/").content.decode()
    assert 'id="synthetic-banner"' in html
    assert "<strong>演示数据：</strong> 本系统中的人员均为虚构（合成数据）。" in html
    assert "fictitious" not in html
