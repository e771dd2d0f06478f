"""Exports of the register's lists, from the pages and from ``renkou export``: the files the user opens, the scope,
the masking and the reveal with a purpose, the audit log."""

import csv
import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry.idnumbers import mask
from renkou.registry.models import Event, Household, Person
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(county):
    hh = make_household(county.dc_village1, "50023000100100007")
    wang = make_person(county.dc_village1, name="王芳", sex="2", birth_date=date(1990, 3, 3), household=hh,
                       relation="02", marital_status="20")
    gang = make_person(county.dc_village2, name="王刚", sex="1", birth_date=date(1985, 7, 7))
    xc = make_person(county.xc_village1, name="王五", sex="1", birth_date=date(1988, 8, 8))
    return wang, gang, xc, hh


def _sheet(response):
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(wb.active.iter_rows(values_only=True)), wb.active


def _csv(response):
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_search_page_offers_export_buttons_with_the_same_filters(personas, people, county):
    html = client_for(personas.dongcheng).get(reverse("person_search"), {"q": "王", "unit": county.dc_village1.pk}
                                              ).content.decode()
    assert f'href="/exports/persons/?q=%E7%8E%8B&amp;unit={county.dc_village1.pk}&amp;format=xlsx"' in html
    assert 'id="export-csv"' in html
    assert 'id="export-reveal-form"' in html  # a township officer may reveal with a purpose


def test_village_reporter_gets_no_reveal_form(personas, people):
    html = client_for(personas.reporter).get(reverse("person_search"), {"q": "王"}).content.decode()
    assert 'id="export-xlsx"' in html and 'id="export-reveal-form"' not in html


def test_xlsx_export_of_a_search_is_in_scope_masked_and_audited(personas, people):
    wang, gang, xc, hh = people
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(personas.dongcheng)
    response = client.get("/exports/persons/", {"q": "王", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    rows, ws = _sheet(response)
    assert rows[0][0] == "人员"
    assert rows[1][:4] == ("姓名", "性别", "出生日期", "公民身份号码")
    data = rows[2:]
    assert sorted(r[0] for r in data) == ["王刚", "王芳"]  # not 王五 of 西城
    fang = next(r for r in data if r[0] == "王芳")
    assert fang[1] == "女" and fang[2].date() == date(1990, 3, 3)
    assert fang[3] == mask(wang.id_number) and "*" in fang[3]
    assert fang[5] == "已婚" and fang[6] == "50023000100100007" and fang[9] == "第一社区"
    assert ws["D3"].data_type == "s" and ws["D3"].number_format == "@"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == personas.dongcheng and entry.object_type == "persons" and entry.purpose == ""
    assert entry.detail == {"filters": {"q": "王"}, "format": "xlsx", "rows": 2, "id_numbers": "masked"}


def test_csv_export_has_a_bom_and_the_same_rows(personas, people, county):
    wang, *_ = people
    response = client_for(personas.dongcheng).get("/exports/persons/", {"unit": county.dc_village1.pk,
                                                                        "format": "csv"})
    rows = _csv(response)
    assert rows[0][:4] == ["Name", "Sex", "Date of birth", "ID number"]
    assert [r[0] for r in rows[1:]] == ["王芳"]
    assert rows[1][2] == "1990-03-03" and rows[1][3] == mask(wang.id_number)


def test_export_is_not_capped_like_the_page(personas, county, monkeypatch):
    from renkou.registry import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for i in range(5):
        make_person(county.dc_village1, name=f"赵{i}", birth_date=date(1990, 1, i + 1))
    rows = _csv(client_for(personas.dongcheng).get("/exports/persons/", {"q": "赵", "format": "csv"}))
    assert [r[0] for r in rows[1:]] == [f"赵{i}" for i in range(5)]


def test_reveal_needs_a_purpose_and_records_it(personas, people):
    wang, *_ = people
    client = client_for(personas.dongcheng)
    refused = client.post("/exports/persons/?q=%E7%8E%8B%E8%8A%B3", {"reveal": "1", "purpose": "", "format": "csv",
                                                                    "next": "/persons/?q=x"})
    assert refused.status_code == 302 and refused["Location"] == "/persons/?q=x"
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
    response = client.post("/exports/persons/?q=%E7%8E%8B%E8%8A%B3",
                           {"reveal": "1", "purpose": "核对奖励扶助名单", "format": "xlsx"})
    rows, ws = _sheet(response)
    assert rows[2][3] == wang.id_number and ws["D3"].data_type == "s"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.purpose == "核对奖励扶助名单" and entry.detail["id_numbers"] == "revealed"
    assert entry.detail["rows"] == 1


def test_a_village_reporter_cannot_reveal_in_bulk(personas, people):
    response = client_for(personas.reporter).post("/exports/persons/?q=%E7%8E%8B",
                                                  {"reveal": "1", "purpose": "核对", "format": "xlsx"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_aggregate_viewer_exports_nothing(personas, people):
    client = client_for(personas.viewer)
    assert client.get("/exports/persons/", {"q": "王"}).status_code == 403
    assert client.get("/exports/events/").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_unit_outside_the_area_is_404(personas, people, county):
    response = client_for(personas.dongcheng).get("/exports/persons/", {"unit": county.xc_village1.pk})
    assert response.status_code == 404
    assert client_for(personas.dongcheng).get("/exports/nothing/").status_code == 404


def _birth(county, personas, mother, day):
    from renkou.registry import services

    return services.birth_register(by=personas.admin, mother=mother, born_on=day, sex="1", name="王小明",
                                   live_born=True)


def test_events_page_lists_a_periods_events_and_exports_them(personas, people, county):
    wang, *_ = people
    _birth(county, personas, wang, date(2024, 11, 5))
    _birth(county, personas, wang, date(2022, 5, 5))
    client = client_for(personas.dongcheng)
    html = client.get(reverse("event_list"), {"period": "FP2025"}).content.decode()
    assert "2024-11-05" in html and "2022-05-05" not in html
    assert 'href="/exports/events/?period=FP2025&amp;format=xlsx"' in html
    rows, _ = _sheet(client.get("/exports/events/", {"period": "FP2025", "format": "xlsx"}))
    assert rows[1][:4] == ("Date", "Kind", "Name", "ID number")
    assert len(rows) == 3 and rows[2][0].date() == date(2024, 11, 5) and rows[2][1] == "Birth"
    assert rows[2][2] == "王小明" and rows[2][5] == "王芳"
    everything = client.get(reverse("event_list")).content.decode()  # no filter: every event of the area
    assert "2024-11-05" in everything and "2022-05-05" in everything
    bad = client.get(reverse("event_list"), {"period": "FP20x"}).content.decode()
    assert "Please correct the filter." in bad and 'id="event-results"' not in bad
    assert client_for(personas.xicheng).get("/exports/events/", {"format": "csv"}).status_code == 200
    assert len(_csv(client_for(personas.xicheng).get("/exports/events/", {"format": "csv"}))) == 1  # headers only


def test_export_reads_the_list_in_a_constant_number_of_queries(personas, county, django_assert_max_num_queries):
    hh = make_household(county.dc_village1, "H1")
    for i in range(30):
        make_person(county.dc_village1, name=f"钱{i}", household=hh, birth_date=date(1980, 1, 1 + i % 28))
    client = client_for(personas.dongcheng)
    client.get("/exports/persons/", {"q": "钱", "format": "csv"})  # warm the session and code caches
    with django_assert_max_num_queries(12):
        response = client.get("/exports/persons/", {"q": "钱", "format": "csv"})
    assert len(_csv(response)) == 31


# ------------------------------------------------------------------------------------------------ the command line


def test_cli_export_writes_the_file_and_audits(personas, people, tmp_path, county):
    wang, *_ = people
    target = tmp_path / "out" / "persons.xlsx"
    call_command("export", "persons", "--user", "dongcheng", "-o", str(target), "--unit", county.dc_village1.code)
    wb = load_workbook(target)
    rows = list(wb.active.iter_rows(values_only=True))
    assert [r[0] for r in rows[2:]] == ["王芳"] and rows[2][3] == mask(wang.id_number)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.channel == "cli" and entry.unit == county.dc_village1 and entry.detail["rows"] == 1


def test_cli_reveal_with_purpose_and_csv(personas, people, tmp_path):
    wang, *_ = people
    target = tmp_path / "p.csv"
    call_command("export", "persons", "--user", "admin", "-o", str(target), "--q", "王芳", "--reveal",
                 "--purpose", "县级核查")
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[1][3] == wang.id_number
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).purpose == "县级核查"


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "viewer"], "may not export personal data"),
    (["--user", "reporter", "--reveal", "--purpose", "核对"], "may not reveal"),
    (["--user", "admin", "--reveal"], "purpose"),
    (["--user", "nobody"], "No active user"),
    (["--user", "dongcheng", "--unit", "500230002001"], "No unit"),
    (["--user", "admin", "--purpose", "x"], "--reveal"),
])
def test_cli_refusals_write_nothing(personas, people, tmp_path, args, message):
    target = tmp_path / "x.xlsx"
    with pytest.raises(CommandError, match=message):
        call_command("export", "persons", "-o", str(target), *args)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_cli_households_and_events(personas, people, tmp_path, county):
    wang, *_ = people
    _birth(county, personas, wang, date(2025, 2, 1))
    call_command("export", "households", "--user", "dongcheng", "-o", str(tmp_path / "h.csv"))
    rows = list(csv.reader(io.StringIO((tmp_path / "h.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][0] == "50023000100100007" and rows[1][2] == "第一社区"
    call_command("export", "events", "--user", "dongcheng", "-o", str(tmp_path / "e.csv"), "--event-kind", "birth",
                 "--period", "2025")
    rows = list(csv.reader(io.StringIO((tmp_path / "e.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "2025-02-01"
    assert Event.objects.count() == 1


def test_household_page_exports_its_members(personas, people, county):
    wang, gang, xc, hh = people
    husband = make_person(county.dc_village1, name="王强", household=hh, relation="01")
    Person.objects.filter(pk=husband.pk).update(death_date=date(2020, 1, 1))
    client = client_for(personas.dongcheng)
    html = client.get(reverse("household_detail", args=[hh.pk])).content.decode()
    assert 'href="/exports/persons/?household=50023000100100007&amp;include_dead=on&amp;format=csv"' in html
    rows = _csv(client.get("/exports/persons/", {"household": hh.number, "include_dead": "on", "format": "csv"}))
    assert sorted(r[0] for r in rows[1:]) == ["王强", "王芳"]
    assert next(r for r in rows[1:] if r[0] == "王强")[11] == "2020-01-01"


def test_events_page_is_for_personal_data_roles_and_out_of_area_units_are_404(personas, county):
    assert client_for(personas.viewer).get(reverse("event_list")).status_code == 403
    assert 'href="/events/"' not in client_for(personas.viewer).get("/").content.decode()
    assert 'href="/events/"' in client_for(personas.reporter).get("/").content.decode()
    response = client_for(personas.dongcheng).get(reverse("event_list"), {"unit": county.xc_village1.pk})
    assert response.status_code == 404


def test_the_export_shows_in_the_administrators_audit_log(personas, people):
    client_for(personas.dongcheng).post("/exports/persons/?q=%E7%8E%8B", {"reveal": "1", "purpose": "核对名单",
                                                                         "format": "csv"})
    html = client_for(personas.admin).get("/audit/").content.decode()
    assert "Exported personal data" in html and "核对名单" in html and "dongcheng" in html


def test_households_page_lists_the_area_with_members_and_exports_the_same(personas, people, county,
                                                                         django_assert_max_num_queries):
    wang, gang, xc, hh = people
    Household.objects.filter(pk=hh.pk).update(head=wang)
    husband = make_person(county.dc_village1, name="王强", household=hh, relation="01")
    make_person(county.dc_village1, name="王老", household=hh, relation="03")
    Person.objects.filter(pk=husband.pk).update(death_date=date(2020, 1, 1))  # the dead are not counted
    other = make_household(county.dc_village2, "50023000100200001", address="河边路2号")
    make_household(county.xc_village1, "50023000200100001")  # another township: not shown to 东城
    client = client_for(personas.dongcheng)
    html = client.get(reverse("household_list")).content.decode()
    assert 'href="/households/"' in html and "50023000200100001" not in html
    assert html.index("50023000100100007") < html.index("50023000100200001")
    row = html[html.index("50023000100100007"):].split("</tr>")[0]
    assert "王芳" in row and '<td class="num">2</td>' in row
    by_address = client.get(reverse("household_list"), {"q": "河边"}).content.decode()
    assert other.number in by_address and hh.number not in by_address
    assert client.get(reverse("household_list"), {"unit": county.xc_village1.pk}).status_code == 404
    assert client_for(personas.viewer).get(reverse("household_list")).status_code == 403
    assert AuditEntry.objects.filter(object_type="household", action=AuditAction.SEARCH,
                                     username="dongcheng").count() == 2  # the 404 read nothing
    assert 'href="/exports/households/?q=%E6%B2%B3%E8%BE%B9&amp;format=csv"' in by_address
    rows = _csv(client.get("/exports/households/", {"q": "河边", "format": "csv"}))
    assert [r[0] for r in rows[1:]] == [other.number]
    for _i in range(60):
        make_household(county.dc_village1, f"500230001001{_i + 100:05d}")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("household_list"), {"page": 2})
    assert page.status_code == 200 and 'rel="prev"' in page.content.decode()
