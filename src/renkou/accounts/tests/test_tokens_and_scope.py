import pytest

from renkou.accounts.models import ApiToken
from renkou.accounts.scope import scope_for
from renkou.accounts.services import token_authenticate, token_create, user_create
from renkou.core.errors import RuleViolation

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_as_a_digest(personas):
    token = token_create(user=personas.dongcheng)
    row = ApiToken.objects.get(user=personas.dongcheng)
    assert token not in (row.digest, row.prefix) and len(row.digest) == 64
    assert token_authenticate(token) == personas.dongcheng
    assert token_authenticate(token + "x") is None
    assert token_authenticate("nonsense") is None


def test_inactive_users_tokens_stop_working(personas):
    token = token_create(user=personas.xicheng)
    personas.xicheng.is_active = False
    personas.xicheng.save(update_fields=["is_active"])
    assert token_authenticate(token) is None


def test_scopes(personas, county):
    assert scope_for(personas.dongcheng).unit_ids == {county.dongcheng.pk, county.dc_village1.pk,
                                                      county.dc_village2.pk}
    assert scope_for(personas.viewer).personal_data is False
    assert scope_for(personas.statistician).can_write is False
    assert scope_for(personas.reporter).can_write is True


def test_roles_sit_at_units_of_their_level(county):
    with pytest.raises(RuleViolation) as info:
        user_create(username="x", password=None, role="township_officer", unit=county.dc_village1)
    assert info.value.field == "unit"


def test_passwords_are_hashed(personas):
    assert personas.admin.password.count("$") >= 1
    assert "correct-horse" not in personas.admin.password
