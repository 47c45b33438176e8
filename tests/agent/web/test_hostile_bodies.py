"""Bodies built to break the agent (issue 15, finding 8): every JSON endpoint answers deep nesting
with a clear 400, and no number larger than a currency can hold gets into the menu or an order."""

import pytest

from agent.app import create_app
from agent.state import STATE
from contract.money import MAX_MINOR
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import csrf, signed_in, with_staff_routes

DEEP = b"[" * 20000 + b"]" * 20000
DEEP_OBJECT = b'{"name": ' * 5000 + b"1" + b"}" * 5000


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))


async def _changes(client):
    """Every route that takes a body, with its placeholders filled in."""
    token = (await table_tokens(client))["Table 1"]
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method not in ("POST", "PUT", "PATCH") or not path or not path.startswith("/api/"):
            continue
        yield route.method, path.replace("{table_token}", token).replace("{position}", "1").replace(
            "{action}", "retry").format_map(_AnyId())


class _AnyId(dict):
    def __missing__(self, key):
        return "x-1"


async def test_deep_nesting_is_a_clear_400_everywhere(client):
    headers = {**csrf(await signed_in(client, "manager")), "Content-Type": "application/json",
               "Idempotency-Key": "deep-body-key-1"}
    assert (await place(client, (await table_tokens(client))["Table 1"], [{"item_id": "onion-soup"}])).status == 201
    seen = 0
    async for method, path in _changes(client):
        for body in (DEEP, DEEP_OBJECT):
            async with client.request(method, path, data=body, headers=headers) as resp:
                assert resp.status < 500, (method, path, resp.status, await resp.text())
                if resp.status >= 400:
                    assert (await resp.json())["error"]["code"]
        seen += 1
    assert seen >= 30
    async with client.post("/api/v1/staff/session", data=DEEP, headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "too_deep"


async def test_prices_are_bounded(client):
    headers = csrf(await signed_in(client, "manager"))
    category = (await (await client.get("/api/v1/staff/menu")).json())
    category_id = (category.get("categories") or category["menu"]["categories"])[0]["id"]
    for price in (2**64 - 1, 2**62, MAX_MINOR + 1):
        resp = await client.post("/api/v1/staff/menu/items", headers=headers,
                                 json={"name": "Gold", "category_id": category_id, "price_minor": price})
        assert resp.status == 400 and "price_minor" in await resp.text()
    resp = await client.post("/api/v1/staff/menu/items", headers=headers,
                             json={"name": "Gold", "category_id": category_id, "price_minor": MAX_MINOR})
    assert resp.status == 201, await resp.text()


async def test_an_item_priced_beyond_the_bound_cannot_be_ordered(client):
    state = client.app[STATE]
    await state.database.write(lambda db: db.execute("UPDATE menu_items SET price_minor = ? WHERE id = 'onion-soup'",
                                                     [2**62]))
    await state.reload_menu()
    resp = await place(client, (await table_tokens(client))["Table 1"], [{"item_id": "onion-soup", "qty": 2}])
    assert resp.status == 422, await resp.text()


async def test_a_share_or_tip_beyond_the_bound_is_refused(client):
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "onion-soup"}])).status == 201
    for body in ({"kind": "remaining", "tip_minor": 2**64 - 1}, {"kind": "amount", "amount_minor": 2**63}):
        resp = await client.post(f"/api/v1/tables/{token}/bill/shares", json=body)
        assert resp.status == 422, await resp.text()
