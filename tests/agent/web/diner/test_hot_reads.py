"""The menu and the table page come from memory: made and gzipped once per version, never read from
SQLite per request, and never stale after the menu or a table changes."""

import gzip

from agent.state import STATE
from tests.agent.helpers import table_tokens
from tests.agent.staff.helpers import signed_in


def _no_reads(client):
    """Make every database read fail: a request that still answers read nothing."""
    database = client.app[STATE].database

    async def refuse(fn, *args):
        raise AssertionError(f"read from SQLite: {getattr(fn, '__name__', fn)}")

    database.read = refuse


async def test_the_menu_and_the_table_page_need_no_database_read(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    _no_reads(agent_client)
    menu = await agent_client.get("/api/v1/menu")
    page = await agent_client.get(f"/t/{token}")
    assert menu.status == 200 and page.status == 200
    assert "Table 1" in await page.text()
    assert (await agent_client.get("/t/not-a-token")).status == 404  # an unknown token too


async def test_the_table_page_is_gzipped_once_and_revalidates_with_its_etag(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    first = await agent_client.get(f"/t/{token}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    raw = await first.read()
    assert first.headers["Content-Encoding"] == "gzip" and "Table 1" in gzip.decompress(raw).decode()
    second = await agent_client.get(f"/t/{token}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert await second.read() == raw and second.headers["ETag"] == first.headers["ETag"]
    again = await agent_client.get(f"/t/{token}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""
    plain = await agent_client.get(f"/t/{token}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and "Table 1" in await plain.text()


async def test_the_page_follows_a_menu_change_and_a_renamed_table(staff_client):
    token = (await table_tokens(staff_client))["Table 1"]
    before = await staff_client.get(f"/t/{token}")
    assert "Moules frites" in await before.text()
    csrf = await signed_in(staff_client, "manager")
    headers = {"X-CSRF-Token": csrf}
    menu = await staff_client.get("/api/v1/menu")
    etag = menu.headers["ETag"]
    resp = await staff_client.post("/api/v1/staff/menu/items/moules-frites/availability",
                                   json={"available": False}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await staff_client.get("/api/v1/menu", headers={"If-None-Match": etag})).status == 200  # new version
    after = await staff_client.get(f"/t/{token}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status == 200 and after.headers["ETag"] != before.headers["ETag"]

    tables = (await (await staff_client.get("/api/v1/staff/tables")).json())["tables"]
    table_id = next(t["id"] for t in tables if t["name"] == "Table 1")
    resp = await staff_client.patch(f"/api/v1/staff/tables/{table_id}", json={"name": "Terrace 1"}, headers=headers)
    assert resp.status == 200, await resp.text()
    renamed = await staff_client.get(f"/t/{token}")
    assert "Terrace 1" in await renamed.text()
