"""The receipt page, /receipt/{visit_key}: the party's visit only, in the diner's language, printable,
and still there after the visit ended; a key nobody holds is a clear 404."""

from agent.state import STATE
from tests.agent.helpers import place, table_tokens
from tests.agent.visits.test_settlement import _pay, _share

STEAK = {"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-medium"]}  # 28.90


async def _visit_key(client) -> str:
    return await client.app[STATE].database.read(lambda db: db.execute(
        "SELECT visit_key FROM table_sessions ORDER BY opened_at DESC").fetchone()[0])


async def test_the_receipt_shows_the_visit_in_the_diners_language(agent_client):
    tokens = await table_tokens(agent_client)
    assert (await place(agent_client, tokens["Table 1"], [STEAK])).status == 201
    await _pay(agent_client, await _share(agent_client, tokens["Table 1"], {"kind": "remaining", "tip_minor": 210}))
    key = await _visit_key(agent_client)
    agent_client.session.cookie_jar.clear()  # another table's phone, later: it has only the link
    assert (await place(agent_client, tokens["Table 2"], [{"item_id": "escargots", "qty": 1}])).status == 201

    resp = await agent_client.get(f"/receipt/{key}", headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Language"] == "de"
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    assert "Beleg · Table 1" in page and "1 × Steak frites" in page and "Medium" in page
    assert "28,90\u00a0€" in page and "Bezahlt (Karte)" in page and "Trinkgeld" in page and "2,10\u00a0€" in page
    assert "Vollständig bezahlt." in page and "Drucken oder sichern" in page
    assert "Escargots" not in page  # the other table's visit is not on it
    english = await (await agent_client.get(f"/receipt/{key}?lang=en")).text()
    assert "Paid in full. Thank you for your visit!" in english and "€28.90" in english


async def test_an_unpaid_bill_says_so_and_an_unknown_key_is_a_clear_404(agent_client):
    tokens = await table_tokens(agent_client)
    assert (await place(agent_client, tokens["Table 1"], [STEAK])).status == 201
    page = await (await agent_client.get(f"/receipt/{await _visit_key(agent_client)}?lang=en")).text()
    assert "This bill is not paid yet." in page and "Left to pay" in page
    unknown = await agent_client.get("/receipt/not-a-key-anyone-holds", headers={"Accept-Language": "en"})
    assert unknown.status == 404 and "This table link is not valid" in await unknown.text()
