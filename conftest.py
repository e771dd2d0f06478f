"""Shared fixtures: the test county and its personas (see renkou/testing.py)."""

from __future__ import annotations

import pytest

from renkou import testing


@pytest.fixture
def county(db) -> testing.County:
    return testing.make_county()


@pytest.fixture
def personas(county) -> testing.Personas:
    return testing.make_personas(county)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The personas are created for every test; the production hasher would cost ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_caches():
    from renkou.core.selectors import forget_cached_facts
    from renkou.registry.codes import code_lists

    code_lists.cache_clear()
    forget_cached_facts()
    yield
