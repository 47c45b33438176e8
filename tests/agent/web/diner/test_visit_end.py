"""The end of a visit in Chromium (issue 16, point 2). Two phones at a table; one pays the last share
while the dessert is still "Received": both keep the tracker (it goes on updating) and show the
receipt link; a third, fresh phone scanning the table sees a fresh table and the party's phones see
nothing of its order; when staff close the table, or the grace period ends the visit, the party's
phones say thank you with the receipt, not "Welcome"."""

import re
from collections import Counter
from urllib.parse import urlparse

import aiohttp
from playwright.async_api import expect

from agent.app import create_app
from agent.state import STATE
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import signed_in, with_staff_routes
from tests.agent.web.diner.conftest import screenshot, url_of
from tests.agent.web.diner.test_events import _events, _next
from tests.agent.web.diner.test_menu_and_order import add, open_table
from tests.agent.web.diner.test_visit_and_bill import pay
from tests.waiting import eventually

STEAK = {"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-medium"]}  # 28.90
DESSERT = {"item_id": "creme-brulee", "qty": 1}
TABLET = {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 1, "is_mobile": False}


async def _order_ids(client) -> list[str]:
    return await client.app[STATE].database.read(lambda db: [r[0] for r in db.execute(
        "SELECT id FROM orders ORDER BY number")])


async def _status(client, csrf: str, order_id: str, status: str) -> None:
    resp = await client.post(f"/api/v1/staff/orders/{order_id}/status", json={"status": status},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 200, await resp.text()


async def _pay_the_rest(client, token: str) -> str:
    """The last share of the bill, paid (what the hub tells the agent after its pay page); the visit id."""
    resp = await client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"},
                             headers={"Idempotency-Key": "the-last-share"})
    assert resp.status == 201, await resp.text()
    share = (await resp.json())["share"]
    await pay(client, share["id"])
    return await client.app[STATE].database.read(lambda db: db.execute(
        "SELECT session_id FROM bill_shares WHERE id = ?", [share["id"]]).fetchone()[0])


async def test_paid_while_dessert_is_coming_the_party_keeps_its_visit_until_staff_close(agent_client, phone):
    client = agent_client
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [STEAK])).status == 201
    assert (await place(client, token, [DESSERT])).status == 201
    steak, dessert = await _order_ids(client)
    csrf = await signed_in(client, "server")
    await _status(client, csrf, steak, "served")

    a, b = await phone(), await phone()
    tablet = await phone(**TABLET)  # the party's tablet: the same screens at 1024 x 768, for the docs
    for party_phone in (a, b, tablet):
        await open_table(party_phone, (await url_of(client)) + "#orders")
        await expect(party_phone.locator(".order")).to_have_count(2)
    visit_id = await _pay_the_rest(client, token)

    for party_phone in (a, b):  # paid: the tracker stays, with the receipt a tap away
        await expect(party_phone.locator("#orders-paid")).to_contain_text("The bill is paid, thank you!")
        await expect(party_phone.locator(".order")).to_have_count(2)
        await expect(party_phone.locator(f'[data-order="{dessert}"] .status')).to_have_text("Received")
        link = party_phone.get_by_role("link", name="Your receipt (keep or print)")
        await expect(link).to_have_attribute("href", re.compile(r"^/receipt/[\w-]+$"))
    await screenshot(a, "visit-paid-orders")
    await expect(tablet.locator("#orders-paid")).to_be_visible()
    await screenshot(tablet, "visit-paid-orders-tablet")
    await _status(client, csrf, dessert, "ready")
    for party_phone in (a, b):  # the kitchen's news still reaches the party
        await expect(party_phone.locator(f'[data-order="{dessert}"] .status')).to_have_text("Ready")
    await a.locator("#tab-bill").click()
    await expect(a.locator("#bill-box")).to_contain_text("The bill is fully paid. Thank you!")
    await expect(a.locator("#bill-box").get_by_role("link", name="Your receipt (keep or print)")).to_be_visible()
    await screenshot(a, "visit-paid-bill")
    await tablet.locator("#tab-bill").click()
    await expect(tablet.locator("#bill-box").get_by_role("link", name="Your receipt (keep or print)")).to_be_visible()
    await screenshot(tablet, "visit-paid-bill-tablet")

    receipt_href = await b.get_by_role("link", name="Your receipt (keep or print)").get_attribute("href")
    receipt = await phone()
    await receipt.goto(str(client.make_url(receipt_href)))
    await expect(receipt.get_by_role("heading", level=1)).to_have_text("Brasserie Lumière")
    await expect(receipt.locator("table")).to_contain_text("1 × Steak frites")
    await expect(receipt.locator("table")).to_contain_text("Medium")
    await expect(receipt.locator("table")).to_contain_text("1 × Crème brûlée")
    await expect(receipt.locator(".thanks")).to_have_text("Paid in full. Thank you for your visit!")
    await expect(receipt.get_by_role("button", name="Print or save")).to_be_visible()
    await screenshot(receipt, "receipt", full_page=True)
    receipt_on_tablet = await phone(**TABLET)
    await receipt_on_tablet.goto(str(client.make_url(receipt_href)))
    await expect(receipt_on_tablet.locator(".thanks")).to_be_visible()
    await screenshot(receipt_on_tablet, "receipt-tablet")

    newcomer = await phone()  # the next party scans the code: a fresh table, nothing of the last one
    await open_table(newcomer, (await url_of(client)) + "#orders")
    await expect(newcomer.locator("#orders-list")).to_have_text("No orders yet. Orders you send appear here.")
    await newcomer.locator("#tab-bill").click()
    await expect(newcomer.locator("#bill-box")).to_have_text("Nothing on the bill yet.")
    await newcomer.get_by_role("link", name="Menu").click()
    await add(newcomer, "Breton cider")
    await newcomer.locator("#cart-open").click()
    await newcomer.locator("#send").click()
    await expect(newcomer.locator(".order")).to_have_count(1)
    await expect(a.locator("#view-bill")).not_to_contain_text("Breton cider")
    await a.locator("#tab-orders").click()
    await expect(a.locator(".order")).to_have_count(2)  # still only the party's own orders
    await expect(a.locator("#view-orders")).not_to_contain_text("Breton cider")

    closed = await client.post(f"/api/v1/staff/bills/{visit_id}/close", json={}, headers={"X-CSRF-Token": csrf})
    assert closed.status == 200, await closed.text()
    for party_phone in (a, b):
        ended = party_phone.locator("#view-ended")
        await expect(ended).to_contain_text("Thank you for your visit!")
        await expect(ended).to_contain_text("Your visit at Table 1 has ended.")
        await expect(ended.get_by_role("link", name="Your receipt (keep or print)")).to_have_attribute(
            "href", receipt_href)
        await expect(party_phone.locator("#view-orders")).to_be_hidden()
        await expect(party_phone.locator("#notice")).not_to_contain_text("Welcome")
    await screenshot(b, "visit-ended")
    await expect(tablet.locator("#view-ended")).to_contain_text("Thank you for your visit!")
    await screenshot(tablet, "visit-ended-tablet")
    await b.reload()  # still thanked after a reload, never shown the next party's table
    await expect(b.locator("#view-ended")).to_contain_text("Thank you for your visit!")
    await expect(b.locator("#view-orders")).not_to_contain_text("Breton cider")
    await expect(newcomer.locator("#view-ended")).to_be_hidden()  # the next party's visit goes on
    await expect(newcomer.locator(".order")).to_have_count(1)

    await b.get_by_role("button", name="Start a new order").click()  # sitting down again: the table as it is now
    await expect(b.locator("#view-ended")).to_be_hidden()
    await b.locator("#tab-orders").click()
    await expect(b.locator(".order")).to_have_count(1)
    await expect(b.locator(".order")).to_contain_text("Breton cider")
    for page in (a, b, tablet, newcomer, receipt, receipt_on_tablet):
        assert page.js_errors == []


async def test_the_grace_period_ends_a_paid_visit_once_all_is_served(aiohttp_client, tmp_path, phone):
    config = make_config(tmp_path, restaurant={"visit_grace_minutes": 0.01})  # 0.6 s
    client = await aiohttp_client(with_staff_routes(create_app(config)))
    token = (await table_tokens(client))["Table 1"]
    page = await phone()  # opened at a fresh table, before anyone ordered: it holds no visit key yet
    loaded = Counter()
    page.on("requestfinished", lambda req: loaded.update([urlparse(req.url).path]))
    await open_table(page, (await url_of(client)) + "#orders")
    # its loads for the #orders tab and for the stream's hello are over: nothing in flight would give
    # it the visit's key by chance, only its answer to the news of an unknown visit can
    api = f"/api/v1/tables/{token}"
    await eventually(lambda: all(loaded[api + p] >= 2 for p in ("", "/orders", "/bill")), what="the page's first loads")
    assert (await place(client, token, [DESSERT])).status == 201  # another phone at the table orders
    [dessert] = await _order_ids(client)
    await expect(page.locator(".order")).to_have_count(1)
    await _pay_the_rest(client, token)
    await expect(page.locator("#orders-paid")).to_be_visible()  # it joined the party's visit: still shown
    await expect(page.locator(".order")).to_have_count(1)
    await expect(page.locator("#view-ended")).to_be_hidden()  # paid, but the dessert is still coming
    csrf = await signed_in(client, "kitchen")
    await _status(client, csrf, dessert, "served")
    await expect(page.locator(f'[data-order="{dessert}"] .status')).to_have_text("Served")
    await expect(page.locator("#view-ended")).to_contain_text("Thank you for your visit!")
    await expect(page.locator("#view-ended").get_by_role("link", name="Your receipt (keep or print)")).to_be_visible()
    assert page.js_errors == []


async def test_each_stream_follows_only_its_phones_visit(agent_client):
    """Once paid, the party's stream still hears its dessert; a new scan's stream hears nothing of
    it, only the next party's visit (which it takes up at its first event)."""
    client = agent_client
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [DESSERT])).status == 201  # this client is the party's phone
    [dessert] = await _order_ids(client)
    await _pay_the_rest(client, token)
    party = await client.get(f"/api/v1/tables/{token}/events")  # with the party's key
    party_events = _events(party)
    party_visit = (await _next(party_events, "hello"))["session_id"]
    assert party_visit is not None

    async with aiohttp.ClientSession() as new_scan:  # no key: the next party's phone
        api = str(client.make_url(f"/api/v1/tables/{token}"))
        async with new_scan.get(f"{api}/events") as fresh:
            fresh_events = _events(fresh)
            assert await _next(fresh_events, "hello") == {"session_id": None}
            csrf = await signed_in(client, "kitchen")
            await _status(client, csrf, dessert, "ready")
            assert (await _next(party_events, "order"))["status"] == "ready"
            async with new_scan.post(f"{api}/orders", json={"lines": [{"item_id": "cremant", "qty": 1}]},
                                     headers={"Idempotency-Key": "the-next-party-1"}) as r:
                assert r.status == 201
                theirs = (await r.json())["order"]
            # the first thing the new phone hears is its own party's order, not the dessert
            heard = await _next(fresh_events, "order")
            assert heard["id"] == theirs["id"] and heard["session_id"] != party_visit
            await _status(client, csrf, dessert, "served")
            await _status(client, csrf, theirs["id"], "preparing")
            assert (await _next(fresh_events, "order"))["id"] == theirs["id"]  # the dessert's news skipped
            served = await _next(party_events, "order")
            assert served["id"] == dessert and served["status"] == "served"  # the party's, not the next one's
            fresh.close()  # an open stream would hold the session's closing up
    party.close()
