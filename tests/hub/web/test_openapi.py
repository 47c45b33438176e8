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


async def test_pages_machines_and_shaped_parameters_are_described_as_they_answer(client):
    """Found by the fuzz run (tests/fuzz): pages' refusals are pages, /healthz and the webhook answer
    JSON, the webhook's 503 is documented, and /onboarding/{what} matches only done|refresh."""
    async with client.get("/api/v1/openapi.json") as resp:
        paths = (await resp.json())["paths"]
    assert "text/html" in paths["/pay/{token}"]["get"]["responses"]["4XX"]["content"]
    assert "application/json" in paths["/healthz"]["get"]["responses"]["2XX"]["content"]
    webhook = paths["/stripe/webhook"]["post"]["responses"]
    assert "application/json" in webhook["4XX"]["content"] and "503" in webhook
    what = paths["/onboarding/{what}"]["get"]["parameters"][0]["schema"]
    assert what["pattern"] == "^(?:done|refresh)$"
    async with client.get("/onboarding/other") as resp:
        assert resp.status == 404 and resp.content_type == "application/json"  # the router's own answer
    assert "application/json" in paths["/onboarding/{what}"]["get"]["responses"]["404"]["content"]


async def test_the_home_page_cannot_be_framed(client):
    """Found by the fuzz run: the hub's own home page lacked the pay pages' headers."""
    async with client.get("/") as resp:
        assert resp.status == 200
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
