"""Review of the audit log page: it shows what officers typed (a reveal's purpose, a failed login's user name),
and an ID number typed there must be masked like everywhere else."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from renkou.registry import idnumbers
from renkou.registry.services import person_reveal_id_number
from renkou.testing import client_for, make_person

pytestmark = pytest.mark.django_db


def test_an_id_number_typed_into_a_purpose_or_a_user_name_is_masked_on_the_audit_page(county, personas):
    person = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2))
    legacy = "500230950402021"  # a 15-digit number of the old cards
    person_reveal_id_number(user=personas.dongcheng, person_id=person.pk,
                            purpose=f"核对{person.id_number.lower()}与{legacy}的申请")
    Client(headers={"accept-language": "en"}).post(reverse("login"), {"username": person.id_number,
                                                                      "password": "wrong"})
    html = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert person.id_number not in html and person.id_number.lower() not in html and legacy not in html
    assert f"核对{idnumbers.mask(person.id_number.lower())}与{idnumbers.mask(legacy)}的申请" in html
    assert html.count(idnumbers.mask(person.id_number)) >= 1  # the failed login's name


def test_a_household_number_or_a_date_in_a_purpose_is_left_alone(county, personas):
    person = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2))
    person_reveal_id_number(user=personas.dongcheng, person_id=person.pk, purpose="户号50023000100100001 20240101")
    html = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert "户号50023000100100001 20240101" in html
