"""Logging in and out: Django's hashed passwords and CSRF, django-axes throttling, expiring sessions."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from renkou.accounts.models import AuditEntry
from renkou.testing import PASSWORD

pytestmark = pytest.mark.django_db


def browser() -> Client:
    return Client(headers={"accept-language": "en"})


def test_login_page_has_labelled_fields_and_a_csrf_token(db):
    html = browser().get(reverse("login")).content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "autofocus" in html


def test_login_with_the_right_password_goes_home_and_is_audited(personas):
    client = browser()
    response = client.post(reverse("login"), {"username": "dongcheng", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "东城专干" in client.get(reverse("home")).content.decode()
    assert AuditEntry.objects.filter(username="dongcheng", action="login").exists()
    assert PASSWORD not in personas.dongcheng.password  # hashed (tests use a fast hasher; production Django's default)


def test_login_returns_to_the_page_asked_for(personas):
    client = browser()
    target = reverse("person_search")
    assert client.get(target)["Location"] == f"{reverse('login')}?next={target}"
    response = client.post(reverse("login") + f"?next={target}",
                           {"username": "dongcheng", "password": PASSWORD, "next": target})
    assert response["Location"] == target


def test_wrong_password_shows_an_error_and_is_audited(personas):
    html = browser().post(reverse("login"), {"username": "dongcheng", "password": "wrong"}).content.decode()
    assert "Please enter a correct username and password" in html
    entry = AuditEntry.objects.get(action="login_failed")
    assert entry.detail == {"username": "dongcheng"} and entry.ip_address == "127.0.0.1"


def test_login_is_locked_after_five_failures(personas):
    client = browser()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("login"), {"username": "xicheng", "password": "nope"}).status_code == 200
    locked = client.post(reverse("login"), {"username": "xicheng", "password": "nope"})
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.content.decode()
    # Even the right password is refused while locked.
    again = client.post(reverse("login"), {"username": "xicheng", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked (username + address).
    assert browser().post(reverse("login"), {"username": "dongcheng", "password": PASSWORD}).status_code == 302


def test_login_form_needs_the_csrf_token(personas):
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    response = client.post(reverse("login"), {"username": "dongcheng", "password": PASSWORD})
    assert response.status_code == 403
    page = client.get(reverse("login")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(reverse("login"), {"username": "dongcheng", "password": PASSWORD,
                                              "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_logout_is_a_post(personas):
    client = browser()
    client.post(reverse("login"), {"username": "dongcheng", "password": PASSWORD})
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_sessions_expire(personas):
    client = browser()
    client.post(reverse("login"), {"username": "dongcheng", "password": PASSWORD})
    assert client.session.get_expire_at_browser_close()
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
