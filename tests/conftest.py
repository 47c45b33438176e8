import pytest

from tests.services import mosquitto


@pytest.fixture
def broker():
    """A private Mosquitto on a free loopback port (tests may stop and start it)."""
    with mosquitto() as b:
        yield b
