"""Tables, token rotation, QR downloads and printable table cards."""

import png

from agent.staff import qr
from agent.state import STATE
from agent.visits import tables
from tests.agent.helpers import place, table_tokens
from tests.agent.staff.helpers import csrf, signed_in

BASE = "/api/v1/staff/tables"


async def _error(resp, status: int) -> dict:
    assert resp.status == status, await resp.text()
    return (await resp.json())["error"]


async def _tables(client) -> dict[str, dict]:
    return {t["name"]: t for t in (await (await client.get(BASE)).json())["tables"]}


async def test_create_rename_group_and_delete_a_table(staff_client):
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.post(BASE, json={"name": "  Patio  4 ", "area": "Terrace"}, headers=csrf(token))
    assert resp.status == 201, await resp.text()
    table = (await resp.json())["table"]
    assert table["name"] == "Patio 4" and table["area"] == "Terrace" and len(table["token"]) >= 22
    assert table["url"] == f"http://127.0.0.1:8080/t/{table['token']}"
    assert (await staff_client.get(f"/t/{table['token']}")).status == 200
    resp = await staff_client.patch(f"{BASE}/{table['id']}", json={"name": "Patio 5", "area": "Garden"},
                                    headers=csrf(token))
    assert (await resp.json())["table"] | {"url": ""} == {**table, "name": "Patio 5", "area": "Garden", "url": ""}
    listed = await _tables(staff_client)
    assert listed["Patio 5"]["area"] == "Garden" and {"Table 1", "Table 2"} <= set(listed)
    assert (await staff_client.delete(f"{BASE}/{table['id']}", headers=csrf(token))).status == 200
    assert "Patio 5" not in await _tables(staff_client)
    assert (await staff_client.get(f"/t/{table['token']}")).status == 404


async def test_table_names_are_unique_and_checked(staff_client):
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.post(BASE, json={"name": "table 1"}, headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "name_taken"
    resp = await staff_client.post(BASE, json={"name": "   "}, headers=csrf(token))
    assert (await _error(resp, 400))["field"] == "name"
    resp = await staff_client.post(BASE, json={"name": "x" * 41}, headers=csrf(token))
    assert (await _error(resp, 400))["field"] == "name"
    assert len(await _tables(staff_client)) == 2


async def test_rotating_the_token_kills_the_old_qr_code(staff_client):
    token = await signed_in(staff_client, "manager")
    table = (await _tables(staff_client))["Table 1"]
    old = table["token"]
    resp = await staff_client.post(f"{BASE}/{table['id']}/rotate-token", headers=csrf(token))
    new = (await resp.json())["table"]["token"]
    assert new != old and len(new) >= 22
    bad = await staff_client.get(f"/t/{old}")
    assert bad.status == 404 and "This table link is not valid" in await bad.text()
    assert (await staff_client.get(f"/api/v1/tables/{old}")).status == 404
    assert (await staff_client.get(f"/t/{new}")).status == 200


async def test_a_table_with_open_orders_cannot_be_removed(staff_client):
    token = await signed_in(staff_client, "manager")
    table_token = (await table_tokens(staff_client))["Table 1"]
    assert (await place(staff_client, table_token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    table = (await _tables(staff_client))["Table 1"]
    resp = await staff_client.delete(f"{BASE}/{table['id']}", headers=csrf(token))
    err = await _error(resp, 409)
    assert err["code"] == "table_has_open_orders" and "Table 1" in err["message"]
    assert "Table 1" in await _tables(staff_client)
    assert (await staff_client.get(f"/t/{table_token}")).status == 200


async def test_a_table_with_past_orders_is_retired_not_deleted(staff_client):
    token = await signed_in(staff_client, "manager")
    table_token = (await table_tokens(staff_client))["Table 2"]
    await place(staff_client, table_token, [{"item_id": "onion-soup", "qty": 1}])
    table = (await _tables(staff_client))["Table 2"]
    database = staff_client.app[STATE].database
    await database.write(lambda db: (db.execute("UPDATE orders SET status = 'served'"),
                                     db.execute("UPDATE table_sessions SET closed_at = 'now'")))
    assert (await staff_client.delete(f"{BASE}/{table['id']}", headers=csrf(token))).status == 200
    assert "Table 2" not in await _tables(staff_client)
    assert (await staff_client.get(f"/t/{table_token}")).status == 404
    # the orders keep their table; the configured name does not come back on the next start
    assert await database.read(lambda db: db.execute("SELECT COUNT(*) FROM tables WHERE id = ?",
                                                     [table["id"]]).fetchone()[0]) == 1
    await database.write(tables.ensure_tables, ["Table 1", "Table 2"])
    assert "Table 2" not in await _tables(staff_client)
    # but staff may make a new table with that name
    assert (await staff_client.post(BASE, json={"name": "Table 2"}, headers=csrf(token))).status == 201


async def test_servers_and_kitchen_cannot_change_tables(staff_client):
    token = await signed_in(staff_client, "server")
    table = (await _tables(staff_client))["Table 1"]
    resp = await staff_client.post(f"{BASE}/{table['id']}/rotate-token", headers=csrf(token))
    assert (await _error(resp, 403))["code"] == "forbidden"
    resp = await staff_client.post(BASE, json={"name": "Bar 1"}, headers=csrf(token))
    assert (await _error(resp, 403))["code"] == "forbidden"
    assert (await _tables(staff_client))["Table 1"]["token"] == table["token"]


async def test_qr_downloads_encode_the_table_url(staff_client):
    await signed_in(staff_client, "server")
    table = (await _tables(staff_client))["Table 1"]
    resp = await staff_client.get(f"{BASE}/{table['id']}/qr.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert 'filename="qr-table-1.svg"' in resp.headers["Content-Disposition"]
    assert (await resp.text()).startswith("<svg") and await resp.text() == qr.svg(table["url"])
    resp = await staff_client.get(f"{BASE}/{table['id']}/qr.png")
    assert resp.status == 200 and resp.content_type == "image/png"
    width, height, _, _ = png.Reader(bytes=await resp.read()).read()
    assert width == height and width >= 200
    assert (await staff_client.get(f"{BASE}/nope/qr.png")).status == 404


def test_wifi_payload_escapes_the_reserved_characters():
    assert qr.wifi_payload('Café "L"', "p;a,s:s\\") == 'WIFI:T:WPA;S:Café \\"L\\";P:p\\;a\\,s\\:s\\\\;;'
    assert qr.wifi_payload("Open", "") == "WIFI:T:nopass;S:Open;;"


async def test_table_cards_page_has_both_codes_for_every_table_in_each_size(staff_client):
    assert (await staff_client.get("/staff/tables/cards")).status == 401  # signed out: a page saying so
    await signed_in(staff_client, "manager")
    listed = await _tables(staff_client)
    for size, page_size in (("a6", "size:A6"), ("a5", "size:A5"), ("letter", "size:letter")):
        resp = await staff_client.get(f"/staff/tables/cards?size={size}")
        assert resp.status == 200
        page = await resp.text()
        assert page_size in page and page.count('class="card"') == 2
    for table in listed.values():
        assert qr.svg(table["url"]) in page and table["url"] in page
    wifi = qr.svg(qr.wifi_payload('Café "Lumière"', "p;a,s:s\\"))
    assert page.count(wifi) == 2 and "Network: <strong>Café &quot;Lumière&quot;</strong>" in page
    one = await (await staff_client.get(f"/staff/tables/cards?table={listed['Table 2']['id']}")).text()
    assert one.count('class="card"') == 1 and "Table 2" in one


async def test_kitchen_cannot_print_table_cards(staff_client):
    await signed_in(staff_client, "kitchen")
    resp = await staff_client.get("/staff/tables/cards")
    assert resp.status == 403 and "manager or server" in await resp.text()
