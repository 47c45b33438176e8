"""The diner-facing JSON API of the agent, through a real aiohttp server and client."""

from agent.orders import order_status
from agent.state import STATE
from tests.agent.helpers import count, place, table_tokens
from tests.waiting import eventually

STEAK = {"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-medium-rare", "sauce-pepper"],
         "note": "no salt"}
SOUP = {"item_id": "onion-soup", "qty": 1}


async def test_menu_has_etag_and_is_compressed(agent_client):
    resp = await agent_client.get("/api/v1/menu", headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    menu = await resp.json()
    assert menu["restaurant"]["currency"] == "EUR" and menu["restaurant"]["exponent"] == 2
    items = [i for c in menu["categories"] for i in c["items"]]
    assert len(items) >= 25 and len(menu["categories"]) >= 5
    again = await agent_client.get("/api/v1/menu", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304


async def test_menu_in_another_language(agent_client):
    de = await (await agent_client.get("/api/v1/menu?lang=de")).json()
    en = await (await agent_client.get("/api/v1/menu")).json()
    assert de["restaurant"]["lang"] == "de"
    assert de["categories"][0]["name"] != en["categories"][0]["name"]


async def test_order_is_priced_by_the_agent_not_the_client(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    tampered = {**STEAK, "price_minor": 1, "unit_price_minor": 1, "total_minor": 1}
    resp = await agent_client.post(f"/api/v1/tables/{token}/orders", json={"lines": [tampered, SOUP], "total_minor": 2},
                                   headers={"Idempotency-Key": "order-key-0001"})
    assert resp.status == 201
    order = (await resp.json())["order"]
    # steak 28.90 + pepper sauce (menu price) ; soup 9.50
    menu = await (await agent_client.get("/api/v1/menu")).json()
    prices = {i["id"]: i["price_minor"] for c in menu["categories"] for i in c["items"]}
    mods = {m["id"]: m["price_minor"] for g in menu["modifier_groups"] for m in g["modifiers"]}
    steak_unit = prices["steak-frites"] + mods["doneness-medium-rare"] + mods["sauce-pepper"]
    assert order["lines"][0]["unit_price_minor"] == steak_unit
    assert order["total_minor"] == 2 * steak_unit + prices["onion-soup"]
    assert order["currency"] == "EUR" and order["number"] >= 1 and order["status"] == "received"
    assert order["lines"][0]["note"] == "no salt"
    fetched = await (await agent_client.get(f"/api/v1/tables/{token}/orders/{order['id']}")).json()
    assert fetched["order"] == order
    other = (await table_tokens(agent_client))["Table 2"]
    assert (await agent_client.get(f"/api/v1/tables/{other}/orders/{order['id']}")).status == 404
    assert (await agent_client.get(f"/api/v1/orders/{order['id']}")).status == 404  # no token, no order


async def test_order_writes_order_jobs_and_outbox_in_one_go(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    resp = await place(agent_client, token, [STEAK])
    assert resp.status == 201
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1
    assert await count(agent_client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen'") == 1
    assert await count(agent_client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'pos'") == 1
    assert await count(agent_client, "SELECT COUNT(*) FROM outbox WHERE type = 'order.placed'") == 1


async def test_same_idempotency_key_never_makes_a_second_order(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    first = await place(agent_client, token, [SOUP], key="same-key-123")
    second = await place(agent_client, token, [SOUP], key="same-key-123")
    assert first.status == second.status == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert (await first.json()) == (await second.json())
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1
    assert await count(agent_client, "SELECT COUNT(*) FROM outbox WHERE type = 'order.placed'") == 1


async def test_reused_key_with_another_order_is_refused(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    await place(agent_client, token, [SOUP], key="reused-key-1")
    resp = await place(agent_client, token, [STEAK], key="reused-key-1")
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "idempotency_key_reused"
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1


async def test_concurrent_double_tap_makes_one_order(agent_client):
    import asyncio

    token = (await table_tokens(agent_client))["Table 2"]
    responses = await asyncio.gather(*(place(agent_client, token, [SOUP], key="double-tap-key") for _ in range(5)))
    ids = {(await r.json())["order"]["id"] for r in responses}
    assert len(ids) == 1
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1


JSON = {"Content-Type": "application/json"}


async def _error(resp, status):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return (await resp.json())["error"]


async def test_bad_requests_say_what_is_wrong_and_write_nothing(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    url = f"/api/v1/tables/{token}/orders"
    key = {"Idempotency-Key": "bad-request-1"}

    err = await _error(await agent_client.post(url, json={"lines": [SOUP]}), 400)
    assert err["code"] == "idempotency_key_required"
    err = await _error(await agent_client.post(url, data=b"{not json", headers={**key, **JSON}), 400)
    assert err["code"] == "invalid_json"
    err = await _error(await agent_client.post(url, json={"lines": [{"item_id": "onion-soup", "qty": "two"}]},
                                               headers=key), 422)
    assert err["field"] == "lines[0].qty"
    err = await _error(await agent_client.post(url, json={"lines": [{"item_id": "onion-soup", "qty": 100}]},
                                               headers=key), 422)
    assert err["field"] == "lines[0].qty"
    err = await _error(await agent_client.post(url, json={"lines": []}, headers=key), 422)
    assert err["field"] == "lines"
    err = await _error(await place(agent_client, token, [SOUP, {"item_id": "caviar"}]), 422)
    assert err["code"] == "unknown_item" and err["field"] == "lines[1].item_id"
    err = await _error(await place(agent_client, token, [{"item_id": "steak-frites"}]), 422)
    assert err["code"] == "modifier_choice" and "Doneness" in err["message"]
    err = await _error(await place(agent_client, token, [{"item_id": "onion-soup", "modifiers": ["sauce-pepper"]}]), 422)
    assert err["code"] == "unknown_modifier" and err["field"] == "lines[0].modifiers[0]"
    err = await _error(await place(agent_client, token, [{"item_id": "oysters"}]), 409)
    assert err["code"] == "sold_out"
    err = await _error(await agent_client.post(url, data=b"[1,2]", headers={**key, **JSON}), 422)
    assert err["code"] == "invalid_order"
    err = await _error(await agent_client.post(url, data=b"x" * 70_000, headers={**key, **JSON}), 413)
    for table in ("orders", "order_lines", "device_jobs"):
        assert await count(agent_client, f"SELECT COUNT(*) FROM {table}") == 0
    assert await count(agent_client, "SELECT COUNT(*) FROM outbox WHERE type != 'device.status'") == 0


async def test_forged_table_token_is_refused(agent_client):
    err = await _error(await place(agent_client, "forged-token-AAAAAAAAAA", [SOUP]), 404)
    assert "table link" in err["message"]
    page = await agent_client.get("/t/forged-token-AAAAAAAAAA")
    assert page.status == 404 and "not valid" in await page.text()
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 0


async def test_table_page_and_assets_are_served(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    page = await agent_client.get(f"/t/{token}")
    assert page.status == 200 and "<html" in (await page.text()).lower()
    for asset in ("/static/diner/app.js", "/static/diner/diner.css"):
        assert (await agent_client.get(asset)).status == 200
    table = await (await agent_client.get(f"/api/v1/tables/{token}")).json()
    assert table["table"]["name"] == "Table 1"


async def test_table_tokens_are_random_and_long(agent_client):
    tokens = list((await table_tokens(agent_client)).values())
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 22 for t in tokens)  # 128 bits, base64url


async def test_unknown_api_path_and_order_are_json_errors(agent_client):
    assert (await _error(await agent_client.get("/api/v1/nothing-here"), 404))["code"] == "not_found"
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await _error(await agent_client.get(f"/api/v1/tables/{token}/orders/nope"), 404))["code"] == "not_found"
    assert (await _error(await agent_client.delete("/api/v1/menu"), 405))["code"] == "method_not_allowed"


async def test_staff_url_answers_and_health_reports_devices_and_link(agent_client):
    assert (await agent_client.get("/staff")).status == 200
    health = await (await agent_client.get("/healthz")).json()
    assert set(health["devices"]) == {"kitchen", "pos"}
    assert health["link"]["connected"] is False

    async def waiting() -> int:
        return (await (await agent_client.get("/healthz")).json())["link"]["waiting"]

    # no broker here: each device's first status report waits for the hub, and nothing else
    await eventually(lambda: _equals(waiting(), 2), what="device reports queued")


async def _equals(value, expected) -> bool:
    return await value == expected


async def test_a_new_order_is_answered_and_announced_as_it_reads_back_from_disk(agent_client):
    """The 201 and the order's event are made from what the write stored, not read again: they must be
    exactly what reading the order back gives."""
    state = agent_client.app[STATE]
    token = (await table_tokens(agent_client))["Table 1"]
    with state.events.subscribe(staff=True) as events:
        placed = await place(agent_client, token, [STEAK, SOUP])
        assert placed.status == 201
        answered = (await placed.json())["order"]
        event = await events.queue.get()
    assert event.kind == "order"
    assert event.data == await state.database.read(order_status.order_view, answered["id"])
    again = await agent_client.get(f"/api/v1/tables/{token}/orders/{answered['id']}")
    assert again.status == 200 and (await again.json())["order"] == answered
    assert answered["lines"][0]["note"] == "no salt" and len(answered["lines"][0]["modifiers"]) == 2
