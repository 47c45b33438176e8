"""The hub's OpenAPI description: every route is in it with the success answers its handler
declares; operator routes say they need the token."""

import re

import pytest
from aiohttp import web

from contract.openapi import declared
from hub.app import create_app
from hub.config import HubConfig
from hub.web import openapi
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
    assert "application/json" in paths["/healthz"]["get"]["responses"]["200"]["content"]
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


def _described_jsonish(path: str) -> bool:
    return path.startswith("/api/") or path in openapi.JSON_OUTSIDE_API


async def test_every_route_declares_its_success_answers(client):
    """A new route without @answers fails here: its description would say nothing of its success.
    A JSON success is a component (a struct), never "any JSON"; a page is text/html."""
    async with client.get("/api/v1/openapi.json") as resp:
        doc = await resp.json()
    schemas = doc["components"]["schemas"]
    undeclared = sorted(f"{r.method} {r.resource.canonical}" for r in client.app.router.routes()
                        if r.method != "HEAD" and not declared(r.handler))
    assert undeclared == []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            successes = {s: a for s, a in op["responses"].items() if s[0] in "23"}
            assert successes, (method, path)
            assert "2XX" not in successes, (method, path)  # each status on its own
            for status, answer in successes.items():
                content = answer.get("content", {})
                if status.startswith("3"):
                    assert answer["headers"]["Location"]["required"], (method, path)
                elif _described_jsonish(path) and "application/octet-stream" not in content:
                    ref = content["application/json"]["schema"]["$ref"]
                    assert ref.removeprefix("#/components/schemas/") in schemas, (method, path)
                else:
                    assert content, (method, path)


def test_a_route_that_declares_nothing_has_no_success_answer():
    """What the test above catches: the description no longer makes one up (it said "any JSON")."""
    app = web.Application()

    async def undeclared(request: web.Request) -> web.Response:
        return web.json_response({})
    app.router.add_get("/api/v1/undeclared", undeclared)
    responses = openapi.describe(app)["paths"]["/api/v1/undeclared"]["get"]["responses"]
    assert set(responses) == {"4XX"}


async def test_a_success_is_described_exactly(client):
    """The struct is the schema: every field required, none other allowed; a field sent only
    sometimes (onboarding_error) is not required; a redirect says where it goes."""
    async with client.get("/api/v1/openapi.json") as resp:
        doc = await resp.json()
    health = doc["components"]["schemas"]["Health"]
    assert health["required"] == ["ok", "link"] and health["additionalProperties"] is False
    created = doc["components"]["schemas"]["CreatedRestaurant"]
    assert "onboarding_url" in created["required"] and "onboarding_error" not in created["required"]
    pay = doc["paths"]["/pay/{token}"]["get"]["responses"]
    assert "text/html" in pay["200"]["content"] and "Location" in pay["303"]["headers"]
    report = doc["paths"]["/api/v1/reports/daily"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"application/json", "text/csv"}
