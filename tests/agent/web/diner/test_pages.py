"""What the agent serves the diner's browser: the table page, a clear bad-link page, the service
worker and manifest, and the app's static files (compressed, with cache headers)."""

import gzip
import json

import pytest

from agent.visits.tables import Table
from agent.web.diner.notices import pick_language
from agent.web.diner.pages import _table_page
from tests.agent.helpers import table_tokens


async def test_table_page_is_in_the_phones_language_with_table_and_restaurant(agent_client):
    token = (await table_tokens(agent_client))["Table 2"]
    resp = await agent_client.get(f"/t/{token}", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert resp.status == 200 and resp.headers["Content-Language"] == "fr"
    page = await resp.text()
    assert '<html lang="fr">' in page and "Table 2" in page and "Brasserie Lumière" in page
    assert '<script id="menu-data" type="application/json" data-lang="fr">' in page  # no extra round trip
    assert "Entrées" in page  # the French menu
    assert f"/t/{token}/manifest.webmanifest" in page and "{{" not in page


async def test_unknown_language_falls_back_to_the_menus_own(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    page = await (await agent_client.get(f"/t/{token}", headers={"Accept-Language": "ja, ko;q=0.5"})).text()
    assert '<html lang="en">' in page


@pytest.mark.parametrize(("header", "lang", "title"), [
    ("de-DE,de;q=0.9", "de", "Dieser Tisch-Link ist nicht gültig"),
    ("fr", "fr", "Ce lien de table n'est pas valide"),
    ("", "en", "This table link is not valid")])
async def test_a_forged_or_rotated_token_gets_a_clear_page_in_the_diners_language(agent_client, header, lang, title):
    resp = await agent_client.get("/t/not-a-real-token-000000", headers={"Accept-Language": header})
    assert resp.status == 404 and resp.content_type == "text/html"
    page = await resp.text()
    assert f'<html lang="{lang}">' in page and title.replace("'", "&#x27;") in page
    assert "Traceback" not in page and "404" not in page


def test_pick_language_honours_q_values_and_regions():
    assert pick_language("de;q=0.3, fr-BE;q=0.8", ["en", "de", "fr"]) == "fr"
    assert pick_language("es, *;q=0.1", ["en", "de"], "de") == "de"
    assert pick_language("DE-at", ["en", "de"]) == "de"
    assert pick_language("fr;q=0, de", ["fr", "de"]) == "de"


async def test_static_files_are_compressed_cached_and_revalidated(agent_client):
    resp = await agent_client.get("/static/diner/app.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Cache-Control"] == "no-cache" and "Accept-Encoding" in resp.headers["Vary"]
    body = gzip.decompress(await resp.read())
    assert b"import" in body
    again = await agent_client.get("/static/diner/app.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    plain = await agent_client.get("/static/diner/app.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and await plain.read() == body


async def test_photos_are_cached_for_a_day(agent_client):
    resp = await agent_client.get("/static/photos/steak-frites.svg")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("image/svg+xml")
    assert "max-age=86400" in resp.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/static/diner/nope.js", "/static/diner/..%2Fapp.py", "/static/photos/.hidden"])
async def test_missing_or_sneaky_static_paths_are_not_found(agent_client, path):
    assert (await agent_client.get(path)).status == 404


async def test_service_worker_is_served_where_it_can_control_the_table_pages(agent_client):
    resp = await agent_client.get("/t/sw.js")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Service-Worker-Allowed"] == "/t/" and resp.headers["Cache-Control"] == "no-cache"
    assert "caches.open" in await resp.text()


async def test_manifest_starts_at_this_table(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    resp = await agent_client.get(f"/t/{token}/manifest.webmanifest")
    assert resp.status == 200 and resp.content_type == "application/manifest+json"
    manifest = await resp.json(content_type=None)
    assert manifest["start_url"] == f"/t/{token}" and manifest["scope"] == "/t/"
    assert manifest["name"] == "Brasserie Lumière · Table 1" and manifest["icons"]
    assert (await agent_client.get("/t/forged-token-0000000000/manifest.webmanifest")).status == 404


def test_a_dish_name_cannot_break_out_of_the_menu_in_the_page():
    template = '<title>{{restaurant}}</title><script type="application/json">{{menu}}</script>'
    menu = json.dumps({"name": "</script><script>alert(1)</script><!--"}).encode()
    page = _table_page(template, "en", "<b>Chez Nous</b>", Table("t1", "Table 1", "tok"), menu)
    assert page.count("</script>") == 1 and "<!--" not in page and "<b>" not in page
    inner = page.split('json">')[1].removesuffix("</script>")
    assert json.loads(inner)["name"] == "</script><script>alert(1)</script><!--"


async def test_the_boxs_own_address_says_what_it_is_and_where_to_go(agent_client):
    for path in ("/", "/t/", "/t"):
        resp = await agent_client.get(path, headers={"Accept-Language": "de"})
        assert resp.status == 200, path
        page = await resp.text()
        assert "Brasserie Lumière" in page and "QR-Code" in page and 'href="/staff"' in page
    icon = await agent_client.get("/favicon.ico", allow_redirects=False)
    assert icon.status == 301 and icon.headers["Location"] == "/static/diner/icon.svg"
    assert (await agent_client.get("/favicon.ico")).status == 200
