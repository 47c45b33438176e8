"""The hub's OpenAPI description: every route is in it; operator routes say they need the token."""

import re

import pytest

from hub.app import create_app
from hub.config import HubConfig
from tests.hub.factories import TOKEN
from tests.services import free_port


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(HubConfig(data_dir=tmp_path / "data", operator_token=TOKEN,
                                                     broker_port=free_port())))


async def test_every_route_is_described(client):
    async with client.get("/api/v1/openapi.json") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    plain = re.compile(r"\{(\w+)(?::[^}]*)?\}")
    routes = {(r.method, plain.sub(r"{\1}", r.resource.canonical)) for r in client.app.router.routes()
              if r.method != "HEAD"}
    assert routes <= described and len(routes) >= 20
    restaurants = doc["paths"]["/api/v1/restaurants"]["post"]
    assert restaurants["security"] == [{"operator": []}] and "requestBody" in restaurants
    assert "security" not in doc["paths"]["/api/v1/openapi.json"]["get"]
