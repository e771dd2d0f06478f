"""The import pages: upload form, detail with counts and messages, the status fragment, downloads, roles."""

from __future__ import annotations

from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile

from renkou.intake.models import ImportRun
from renkou.intake.tests.helpers import csv_bytes
from renkou.registry.models import Person
from renkou.testing import client_for, id_number_for


def _file(rows):
    return SimpleUploadedFile("people.csv", csv_bytes(rows, encoding="utf-8-sig"), content_type="text/csv")


def _row(name, born=date(1990, 5, 6), village="500230001001"):
    return [name, id_number_for(born, "1"), "男", born.isoformat(), "汉族", "未婚", village, village, "", ""]


def test_the_page_shows_the_form_the_template_link_and_past_imports(personas):
    client = client_for(personas.dongcheng)
    response = client.get("/intake/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="import-form"' in html and "/intake/template/persons/" in html and "No imports yet." in html


def test_upload_redirects_to_the_outcome(personas):
    client = client_for(personas.dongcheng)
    bad = _row("坏")
    bad[3] = "2008-13-01"
    response = client.post("/intake/", {"kind": "persons", "file": _file([_row("李四"), bad]), "partial": "on"})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/intake/{run.pk}/"
    page = client.get(f"/intake/{run.pk}/").content.decode()
    assert 'data-status="done"' in page and 'data-count="created">1<' in page and 'data-count="rejected">1<' in page
    assert "2008-13-01" in page and f"/intake/{run.pk}/report/" in page
    assert "hx-trigger" not in page  # finished: no more polling
    assert Person.objects.count() == 1
    report = client.get(f"/intake/{run.pk}/report/")
    assert report.status_code == 200 and report["Content-Disposition"].startswith("attachment")
    listing = client.get("/intake/").content.decode()
    assert "people.csv" in listing


def test_a_running_import_polls_its_status(personas):
    from renkou.intake.services import import_run_create

    run = import_run_create(by=personas.dongcheng, kind="persons", data=b"x", file_name="a.csv")
    client = client_for(personas.dongcheng)
    fragment = client.get(f"/intake/{run.pk}/status/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "<progress" in fragment


def test_roles_and_scope(personas):
    client_for(personas.dongcheng).post("/intake/", {"kind": "persons", "file": _file([_row("李四")])})
    run = ImportRun.objects.get()
    assert client_for(personas.viewer).get("/intake/").status_code == 403
    assert client_for(personas.statistician).get("/intake/template/persons/").status_code == 403
    assert client_for(personas.xicheng).get(f"/intake/{run.pk}/").status_code == 404
    assert client_for().get("/intake/").status_code == 302  # to the login page
    template = client_for(personas.reporter).get("/intake/template/persons/")
    assert template.status_code == 200 and "attachment" in template["Content-Disposition"]
    assert client_for(personas.reporter).get("/intake/template/nope/").status_code == 404


def test_the_menu_links_to_the_import_for_writers_only(personas):
    assert 'href="/intake/"' in client_for(personas.dongcheng).get("/").content.decode()
    assert 'href="/intake/"' not in client_for(personas.viewer).get("/").content.decode()
