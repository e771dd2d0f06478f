from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from renkou.testing import client_for

pytestmark = pytest.mark.django_db


def test_a_session_lasts_a_working_day_and_ends_with_the_browser(personas):
    client = client_for(personas.dongcheng)
    assert client.get("/").status_code == 200
    session = Session.objects.get()
    remaining = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < remaining <= timedelta(hours=8)
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and not cookie["expires"] and not cookie["max-age"]


def test_an_expired_session_sends_the_officer_back_to_the_login_page(personas):
    client = client_for(personas.dongcheng)
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/persons/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_activity_extends_the_session(personas):
    client = client_for(personas.dongcheng)
    client.get("/")
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    client.get("/")
    assert Session.objects.get().expire_date - timezone.now() > timedelta(hours=7)
