"""Fixtures for the agent's tests: the staff side is tested both in tests/agent/staff and tests/agent/web/staff."""

import pytest

from agent.app import create_app
from tests.agent.helpers import make_config
from tests.agent.staff.helpers import with_staff_routes


@pytest.fixture
async def staff_client(aiohttp_client, tmp_path):
    """An agent with the sample menu, two tables, the demo POS, and the staff routes."""
    config = make_config(tmp_path, restaurant={"wifi_ssid": 'Café "Lumière"', "wifi_password": "p;a,s:s\\"})
    return await aiohttp_client(with_staff_routes(create_app(config)))


@pytest.fixture
async def other_client(aiohttp_client, staff_client):
    """A second browser on the same agent (its own cookie jar)."""
    from aiohttp.test_utils import TestClient

    client = TestClient(staff_client.server)
    await client.start_server()
    yield client
    await client.close()
