"""The data-quality pages: figures per unit, drill-down to the villages, the records behind a figure, export."""

import io
import re
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.quality.checks import CHECKS
from renkou.registry.idnumbers import mask
from renkou.registry.models import Person
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def findings(county):
    hh = make_household(county.dc_village1, "H1")
    make_person(county.dc_village1, name="有户", household=hh)
    a = make_person(county.dc_village1, name="无户甲")
    b = make_person(county.dc_village2, name="无户乙")
    c = make_person(county.xc_village1, name="无户丙", id_number=None)
    return a, b, c


def test_county_page_shows_the_figures_and_the_townships(personas, findings, county):
    html = client_for(personas.admin).get(reverse("quality_unit")).content.decode()
    assert 'id="quality-unit"' in html and "青山县" in html
    assert f'href="/quality/checks/no_household/?unit={county.county.pk}" data-figure="no_household">3</a>' in html
    # one row per township, each linking down
    for township in (county.dongcheng, county.xicheng, county.longhe):
        assert f'data-unit="{township.code}"' in html
        assert f'href="/quality/?unit={township.pk}">{township.name}</a>' in html
    assert f'href="/quality/checks/no_household/?unit={county.dongcheng.pk}">2</a>' in html


def test_drill_down_to_a_township_and_a_village(personas, findings, county):
    client = client_for(personas.admin)
    html = client.get(reverse("quality_unit"), {"unit": county.dongcheng.pk}).content.decode()
    assert f'href="/quality/checks/no_household/?unit={county.dc_village1.pk}">1</a>' in html
    assert f'href="/quality/checks/no_household/?unit={county.dc_village2.pk}">1</a>' in html
    assert f'href="/quality/?unit={county.county.pk}">青山县</a>' in html  # breadcrumbs back up
    village = client.get(reverse("quality_unit"), {"unit": county.dc_village1.pk}).content.decode()
    assert "This unit has no subunits." in village
    assert f'href="/quality/checks/no_household/?unit={county.dc_village1.pk}" data-figure="no_household">1</a>' in village


def test_a_township_officer_sees_only_the_township(personas, findings, county):
    client = client_for(personas.dongcheng)
    html = client.get(reverse("quality_unit")).content.decode()
    assert "东城街道" in html and 'data-figure="no_household">2</a>' in html
    assert client.get(reverse("quality_unit"), {"unit": county.xicheng.pk}).status_code == 404
    assert client.get(reverse("quality_records", args=["no_household"]), {"unit": county.xc_village1.pk}
                      ).status_code == 404


def test_aggregate_viewer_sees_counts_without_links_and_no_records(personas, findings, county):
    client = client_for(personas.viewer)
    html = client.get(reverse("quality_unit")).content.decode()
    assert '<span class="" data-figure="no_household">3</span>' in html
    assert "/quality/checks/" not in html
    assert client.get(reverse("quality_records", args=["no_household"])).status_code == 403
    assert client.get(reverse("quality_export", args=["no_household"])).status_code == 403


def test_the_figure_opens_its_records_masked_and_audited(personas, findings, county):
    a, b, c = findings
    html = client_for(personas.dongcheng).get(reverse("quality_records", args=["no_household"]),
                                              {"unit": county.dongcheng.pk}).content.decode()
    assert "无户甲" in html and "无户乙" in html and "无户丙" not in html and "有户" not in html
    assert mask(a.id_number) in html and a.id_number not in html
    assert 'id="export-xlsx"' in html
    entry = AuditEntry.objects.get(action=AuditAction.SEARCH)
    assert entry.detail["query"]["quality_check"] == "no_household" and sorted(entry.detail["shown"]) == [a.pk, b.pk]


def test_records_are_paged(personas, county):
    for i in range(55):
        make_person(county.dc_village1, name=f"无户{i:02d}")
    client = client_for(personas.dongcheng)
    first = client.get(reverse("quality_records", args=["no_household"])).content.decode()
    assert "55 persons" in first and "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get(reverse("quality_records", args=["no_household"]), {"page": 2}).content.decode()
    assert len(re.findall(r'href="/persons/\d+/"', second)) == 5


def test_unknown_check_is_404(personas):
    assert client_for(personas.admin).get("/quality/checks/nothing/").status_code == 404
    assert client_for(personas.admin).get("/quality/checks/nothing/export/").status_code == 404


def test_export_of_a_figures_records(personas, findings, county):
    a, b, c = findings
    response = client_for(personas.admin).get(reverse("quality_export", args=["no_household"]),
                                              {"unit": county.dongcheng.pk, "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert rows[0][0] == "Persons without a household"
    assert [r[0] for r in rows[2:]] == ["无户甲", "无户乙"] and rows[2][3] == mask(a.id_number)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.object_type == "quality" and entry.detail["filters"] == {"check": "no_household",
                                                                         "unit": str(county.dongcheng.pk)}
    assert entry.detail["rows"] == 2 and entry.unit == county.dongcheng


def test_the_report_takes_one_query_per_check_whatever_the_number_of_units(personas, county,
                                                                            django_assert_max_num_queries):
    for unit in (county.dc_village1, county.dc_village2, county.xc_village1, county.xc_village2, county.lh_village1):
        for i in range(3):
            p = make_person(unit, name=f"人{i}", id_number=None if i == 0 else "auto")
            Person.objects.filter(pk=p.pk).update(ethnicity="")
    client = client_for(personas.admin)
    client.get(reverse("quality_unit"))
    # session (read, save), user, scope (unit, subtree), the subtree, ancestors: 9; then one per check
    with django_assert_max_num_queries(len(CHECKS) + 9):
        html = client.get(reverse("quality_unit")).content.decode()
    assert 'data-figure="no_id_number">5</a>' in html and 'data-figure="no_ethnicity">15</a>' in html


def test_cli_exports_a_checks_records(personas, findings, tmp_path, county):
    from django.core.management import call_command

    call_command("export", "quality", "--check", "no_id_number", "--user", "statistician",
                 "-o", str(tmp_path / "q.xlsx"))
    rows = list(load_workbook(tmp_path / "q.xlsx").active.iter_rows(values_only=True))
    assert [r[0] for r in rows[2:]] == ["无户丙"]


def test_nav_has_the_data_quality_entry(personas):
    html = client_for(personas.viewer).get("/").content.decode()
    assert 'href="/quality/"' in html
    assert date.today().year > 2000


def test_the_records_page_reads_a_constant_number_of_queries(personas, county, django_assert_max_num_queries):
    mother = make_person(county.dc_village1, name="母", sex="2", birth_date=date(1980, 1, 1))
    for i in range(20):
        make_person(county.dc_village1, name=f"无户{i:02d}", mother=mother, birth_date=date(2005, 1, 1 + i))
    client = client_for(personas.dongcheng)
    client.get(reverse("quality_records", args=["no_household"]))
    with django_assert_max_num_queries(12):  # session, user, scope, subtree, count, page, audit, session save
        html = client.get(reverse("quality_records", args=["no_household"])).content.decode()
    assert "21 persons" in html and html.count("母 (1980-01-01)") == 20
