"""Shared fixtures: the test county and its personas (see renkou/testing.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from renkou import testing

# Property tests and schemathesis draw random inputs; under CI=true they draw the same ones on every run (a seed
# derived from each test), so that a submission's result does not depend on luck. Locally they stay random, which
# is where new counter-examples are found (hypothesis prints the one to reproduce).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


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


@pytest.fixture(autouse=True)
def _reference_data(request):
    """A transactional test (browser, worker processes) starts with the migrations' reference data even when the
    test before it on this worker flushed every table (Django's serialized rollback proved unreliable here)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (len(marker.args) > 0 and marker.args[0])))
    if transactional:
        request.getfixturevalue("_django_db_helper")
        testing.reference_data_restore()
    yield
