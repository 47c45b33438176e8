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


async def test_hot_answers_carry_what_the_security_hook_would_add(agent_client):
    """The menu and the table page build their security headers in once and skip the hook: every
    variant (gzipped, plain, 304) must still carry exactly what the hook gives any other answer."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from agent.web.security_headers import add_security_headers

    token = (await table_tokens(agent_client))["Table 1"]
    security = ("X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
                "Cache-Control")
    for path, content_type in (("/api/v1/menu", "application/json"), (f"/t/{token}", "text/html")):
        hooked = web.Response(body=b"x", content_type=content_type, headers={"Cache-Control": "no-cache"})
        await add_security_headers(make_mocked_request("GET", path), hooked)
        expected = {name: hooked.headers.get(name) for name in security}
        first = await agent_client.get(path, headers={"Accept-Encoding": "gzip"})
        plain = await agent_client.get(path, headers={"Accept-Encoding": "identity"})
        again = await agent_client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert (first.status, plain.status, again.status) == (200, 200, 304)
        for resp in (first, plain, again):
            assert {name: resp.headers.get(name) for name in security} == expected, (path, resp.status)
        assert expected["X-Content-Type-Options"] == "nosniff"
        assert (expected["Content-Security-Policy"] is not None) == (content_type == "text/html")
        assert first.headers["Content-Type"] == plain.headers["Content-Type"] == f"{content_type}; charset=utf-8"


async def test_a_due_recheck_of_the_page_template_is_one_look_for_all_waiting_requests(monkeypatch):
    """A hundred requests finding the template due for its once-a-second look share one thread hop."""
    import asyncio

    from agent.web import static_files
    from agent.web.diner.pages import DINER

    path = DINER / "index.html"
    looks = []
    real = static_files.load_asset

    def counted(p):
        looks.append(p)
        return real(p)

    monkeypatch.setattr(static_files, "load_asset", counted)
    monkeypatch.setitem(static_files._checked_at, path, 0.0)  # long due
    assets = await asyncio.gather(*(static_files.get_asset(path) for _ in range(100)))
    assert looks == [path]
    assert all(a is assets[0] for a in assets) and b"<html" in assets[0].body.lower()
    assert static_files.fresh_asset(path) is assets[0]  # and fresh again for the next second
