"""Small exposures (issue 15, finding 11): the kitchen reads no table tokens, table names hold no
invisible characters, and the demo's file of secrets is private."""

import os
import stat

import pytest

from agent.app import create_app
from tableside import demo
from tests.agent.helpers import make_config
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
