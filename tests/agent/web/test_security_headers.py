"""What every answer tells the browser (issue 15, finding 10), and what /healthz tells strangers."""

from aiohttp.test_utils import make_mocked_request

from agent.state import STATE
from agent.visits import table_sessions
from agent.web.diner import orders_api
from tests.agent.helpers import place, table_tokens
from tests.agent.staff.helpers import signed_in


async def test_pages_have_a_full_csp_and_cannot_be_framed(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    for path in (f"/t/{token}", "/t/not-a-table"):
        async with agent_client.get(path) as resp:
            csp = resp.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_private_json_is_never_stored(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup"}])).status == 201
    for path in (f"/api/v1/tables/{token}/bill", f"/api/v1/tables/{token}/orders", f"/api/v1/tables/{token}"):
        async with agent_client.get(path) as resp:
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store", path
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
    async with agent_client.get("/api/v1/menu") as resp:  # public, and revalidated by its ETag
        assert resp.headers["Cache-Control"] == "no-cache"


async def test_staff_reads_are_never_stored(aiohttp_client, tmp_path):
    from agent.app import create_app
    from tests.agent.helpers import make_config
    from tests.agent.staff.helpers import with_staff_routes

    client = await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))
    await signed_in(client, "manager")
    for path in ("/api/v1/staff/bills", "/api/v1/staff/tables", "/api/v1/staff/accounts", "/api/v1/staff/menu"):
        async with client.get(path) as resp:
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store", path
    async with client.get("/staff") as resp:
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_healthz_tells_a_stranger_only_that_the_agent_is_up(agent_client):
    class Transport:
        def get_extra_info(self, name, default=None):
            return ("10.0.0.23", 51000) if name == "peername" else default

        def is_closing(self):
            return False

    request = make_mocked_request("GET", "/healthz", app=agent_client.app, transport=Transport())
    response = await orders_api.health(request)
    assert response.text == '{"ok": true}'
    local = await (await agent_client.get("/healthz")).json()  # the box's own monitoring
    assert "link" in local and "devices" in local


async def test_an_order_is_read_only_with_its_table_token_and_only_during_the_visit(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    order = (await (await place(agent_client, token, [{"item_id": "onion-soup"}])).json())["order"]
    assert (await agent_client.get(f"/api/v1/tables/{token}/orders/{order['id']}")).status == 200
    assert (await agent_client.get(f"/api/v1/orders/{order['id']}")).status == 404
    await agent_client.app[STATE].database.write(lambda db: table_sessions.close(
        db, db.execute("SELECT session_id FROM orders").fetchone()[0], "staff"))
    assert (await agent_client.get(f"/api/v1/tables/{token}/orders/{order['id']}")).status == 404
