import pytest

from renkou.dedup.tests.factories import Register, build_register


@pytest.fixture
def register(county) -> Register:
    return build_register(county)
