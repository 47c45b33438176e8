"""Small exposures (issue 15, finding 11): the kitchen reads no table tokens, table names hold no
invisible characters, and the demo's file of secrets is private."""

import os
import stat

import pytest

from agent.app import create_app
from agent.state import STATE
from contract import pay_link
from tableside import demo
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import csrf, signed_in, with_staff_routes


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))


async def test_the_kitchen_sees_table_names_but_no_tokens(client):
    await signed_in(client, "kitchen")
    tables = (await (await client.get("/api/v1/staff/tables")).json())["tables"]
    assert tables and all("token" not in t and "url" not in t and t["name"] for t in tables)


async def test_table_names_refuse_control_and_bidi_characters(client):
    headers = csrf(await signed_in(client, "manager"))
    for name in ("Table\x00 9", "Table \u202e9", "T\x1b9", "T\u200b9"):
        resp = await client.post("/api/v1/staff/tables", json={"name": name}, headers=headers)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == "name", name
    resp = await client.post("/api/v1/staff/tables", json={"name": "Terrasse 9 – Café"}, headers=headers)
    assert resp.status == 201


def test_the_demo_writes_its_secrets_private(tmp_path):
    path = tmp_path / "demo.json"
    (tmp_path / "demo.tmp").write_text("old")  # an old leftover, readable by all
    os.chmod(tmp_path / "demo.tmp", 0o644)
    demo._write_private(path, '{"manager_pin": "123456"}')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_pay_link_leads_back_to_the_tables_bill(client):
    """"Back to your table" opens the bill straight from the signed link (docs/bills.md, "Back to
    your table": the token is the QR code's own; the table page answers only on the restaurant's
    network). Links signed before still work through /t/back, which the phone's memory leads on."""
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "onion-soup"}])).status == 201
    made = await (await client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"})).json()
    signed = made["pay_url"].rsplit("/pay/", 1)[1]
    share = pay_link.peek(signed)
    assert share.return_url == f"{client.app[STATE].config.public_url}/t/{token}#bill"
    async with client.get("/t/back") as resp:  # the way home of older links: the phone remembers its table
        assert resp.status == 200 and '/static/diner/back.js' in await resp.text()
    async with client.get("/static/diner/back.js") as resp:
        assert resp.status == 200 and "tableside.table" in (text := await resp.text()) and "#bill" in text
