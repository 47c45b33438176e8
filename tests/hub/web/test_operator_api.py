import pytest
from aiohttp import web

from hub.app import create_app
from hub.appkeys import STORE
from hub.config import HubConfig
from tests.hub.factories import TOKEN, decoded, order_placed
from tests.services import free_port

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    # A port where no broker listens: the link keeps retrying in the background, harmlessly.
    app = create_app(HubConfig(data_dir=tmp_path / "data", operator_token=TOKEN, broker_port=free_port()))
    app.router.add_get("/boom", boom)
    return await aiohttp_client(app)


async def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


async def test_healthz(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "link": {"connected": False}}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}, {"Authorization": TOKEN},
    {"Authorization": "Basic " + TOKEN}, {"Authorization": "Bearer ünïcode"},
])
async def test_operator_routes_need_the_token(client, headers):
    for path in ("/api/v1/orders/x", "/api/v1/agents"):
        resp = await client.get(path, headers=headers)
        await assert_error(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_order_is_404(client):
    await assert_error(await client.get("/api/v1/orders/nope", headers=AUTH), 404, "not_found")


async def test_stored_order_and_agents(client):
    store = client.app[STORE]
    data = order_placed(number=12)
    await store.touch_agent("agent-1", True)
    assert await store.apply_order_placed(decoded("agent-1", data), data)

    resp = await client.get(f"/api/v1/orders/{data.order_id}", headers=AUTH)
    assert resp.status == 200
    order = await resp.json()
    assert (order["id"], order["number"], order["agent_id"]) == (data.order_id, 12, "agent-1")
    assert order["total_minor"] == data.total_minor
    assert [line["item_id"] for line in order["lines"]] == ["item-0", "item-1"]
    assert order["received_at"].endswith("Z")

    resp = await client.get("/api/v1/agents", headers=AUTH)
    assert resp.status == 200
    (agent,) = (await resp.json())["agents"]
    assert (agent["id"], agent["online"], agent["order_count"]) == ("agent-1", True, 1)
    assert agent["last_seen_at"]


async def test_framework_errors_and_crashes_are_json(client):
    await assert_error(await client.get("/no/such/route"), 404, "not_found")
    resp = await client.post("/healthz")
    await assert_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]
    body = await assert_error(await client.get("/boom"), 500, "internal")
    assert "secret internals" not in str(body) and "Traceback" not in str(body)


async def test_home_page_is_for_people_and_shows_nothing_private(client):
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    text = await resp.text()
    assert "Tableside hub" in text and TOKEN not in text
