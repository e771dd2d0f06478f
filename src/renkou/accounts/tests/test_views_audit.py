"""The audit log page: county administrators only; who looked at whom, when, and why."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from renkou.accounts.models import AuditEntry
from renkou.registry.services import birth_register, person_reveal_id_number, person_view
from renkou.testing import client_for, make_person

pytestmark = pytest.mark.django_db




@pytest.fixture
def trail(county, personas):
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2))
    other = make_person(county.xc_village1, name="赵六", sex="1", birth_date=date(1980, 2, 2))
    person_view(user=personas.dongcheng, person_id=mother.pk)
    person_reveal_id_number(user=personas.dongcheng, person_id=mother.pk, purpose="核对出生登记")
    birth_register(by=personas.dongcheng, mother=mother, born_on=date(2024, 3, 5), sex="2", name="王小花")
    person_view(user=personas.xicheng, person_id=other.pk)
    return mother, other


def test_administrator_sees_views_reveals_and_births_newest_first(personas, trail):
    mother, other = trail
    html = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert "Viewed a person" in html and "Revealed an ID number" in html and "Birth registered" in html
    assert "核对出生登记" in html and "dongcheng" in html and "xicheng" in html
    assert reverse("person_detail", args=[mother.pk]) in html
    assert "第一社区" in html
    assert html.index("xicheng") < html.index("核对出生登记")  # newest first


def test_filters_by_user_action_object_and_dates(personas, trail):
    mother, other = trail
    client = client_for(personas.admin)
    html = client.get(reverse("audit_log"), {"username": "xicheng"}).content.decode()
    assert "xicheng" in html and "核对出生登记" not in html
    html = client.get(reverse("audit_log"), {"action": "reveal_id"}).content.decode()
    assert "核对出生登记" in html and "Birth registered" not in html
    html = client.get(reverse("audit_log"), {"object_id": str(other.pk), "action": "view_person"}).content.decode()
    assert "xicheng" in html and "dongcheng</td>" not in html
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    html = client.get(reverse("audit_log"), {"date_from": tomorrow}).content.decode()
    assert "No entries match these filters." in html
    html = client.get(reverse("audit_log"), {"date_from": tomorrow, "date_to": "2000-01-01"}).content.decode()
    assert "The end of the range is before its start." in html


def test_audit_log_pages_by_fifty(personas, trail):
    mother, _ = trail
    for _ in range(60):
        person_view(user=personas.dongcheng, person_id=mother.pk)
    client = client_for(personas.admin)
    html = client.get(reverse("audit_log")).content.decode()
    assert html.count("<time ") == 50 and 'rel="next"' in html
    html = client.get(reverse("audit_log"), {"page": 2}).content.decode()
    assert html.count("<time ") == AuditEntry.objects.count() - 50 and 'rel="prev"' in html


@pytest.mark.parametrize("persona", ["statistician", "dongcheng", "xicheng", "reporter", "viewer"])
def test_audit_log_refuses_everyone_but_administrators(personas, persona):
    assert client_for(getattr(personas, persona)).get(reverse("audit_log")).status_code == 403


def test_audit_log_sends_anonymous_to_login(db):
    response = client_for().get(reverse("audit_log"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_administrator_opening_a_person_from_the_log_is_logged_too(personas, trail):
    mother, _ = trail
    client = client_for(personas.admin)
    assert client.get(reverse("person_detail", args=[mother.pk])).status_code == 200
    assert AuditEntry.objects.filter(username="admin", action="view_person", object_id=str(mother.pk)).exists()


def test_failed_logins_show_the_name_that_was_tried(personas):
    Client(headers={"accept-language": "en"}).post(reverse("login"), {"username": "nobody", "password": "x"})
    html = client_for(personas.admin).get(reverse("audit_log"), {"action": "login_failed"}).content.decode()
    assert "Failed login" in html and "nobody" in html
