"""After ordering, in Chromium: the order's status pushed live, calls to staff acknowledged, the
bill shared between phones at the table (and no one else's), a share paid with a tip, and a fresh
table for the next party once the bill is settled (the party's phones keep theirs: test_visit_end.py)."""

import re
import uuid

from playwright.async_api import expect

from agent.link.payments_inbox import make_handlers
from agent.orders import order_status
from agent.state import STATE
from agent.visits import table_requests
from agent.web import live
from contract import messages
from tests.agent.helpers import count, place, table_tokens
from tests.agent.web.diner.conftest import screenshot, url_of
from tests.agent.web.diner.test_menu_and_order import add, open_table

STEAK = {"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-medium"]}  # 28.90
WINE = {"item_id": "cremant", "qty": 2}  # 2 × 7.90


async def test_status_is_pushed_live_and_staff_calls_are_acknowledged(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await add(page, "Crème brûlée")
    await page.locator("#cart-open").click()
    await page.locator("#send").click()
    card = page.locator(".order")
    await expect(card).to_contain_text("Received")
    state = agent_client.app[STATE]
    order_id = await state.database.read(lambda db: db.execute("SELECT id FROM orders").fetchone()[0])
    await state.database.write(order_status.set_order_status, order_id, "ready")
    await live.publish_order(state, order_id)  # what the staff API does after a change
    await expect(card.locator(".status")).to_have_text("Ready")  # no reload
    await expect(page.locator("#order-live")).to_have_text("Order #1: Ready")

    await page.get_by_role("button", name="Call a waiter").click()
    await expect(page.locator("#req-waiter-state")).to_have_text("Sent. Waiting for staff to see it…")
    request_id = await state.database.read(lambda db: db.execute("SELECT id FROM table_requests").fetchone()[0])
    acknowledged = await state.database.write(table_requests.acknowledge, request_id, "anna")
    live.publish(state, ("request", acknowledged, acknowledged["table"]["id"]))
    await expect(page.locator("#req-waiter-state")).to_have_text("A waiter is on the way.")
    await screenshot(page, "ordered")


async def test_status_change_missed_while_asleep_shows_on_wake(agent_client, phone, table_url):
    page = await phone()
    tokens = await table_tokens(agent_client)
    await place(agent_client, tokens["Table 1"], [STEAK])
    await open_table(page, (await table_url()) + "#orders")
    await expect(page.locator(".order .status")).to_have_text("Received")
    await page.context.set_offline(True)  # the stream drops; the change is published to no one
    state = agent_client.app[STATE]
    order_id = await state.database.read(lambda db: db.execute("SELECT id FROM orders").fetchone()[0])
    await state.database.write(order_status.set_order_status, order_id, "preparing")
    await page.context.set_offline(False)
    await page.evaluate("dispatchEvent(new Event('online'))")
    await expect(page.locator(".order .status")).to_have_text("Preparing")


async def pay(agent_client, share_id: str) -> None:
    """What the hub tells the agent once the diner paid on its pay page (the demo provider)."""
    state = agent_client.app[STATE]
    share = await state.database.read(lambda db: next(db.query(
        "SELECT id, session_id, currency, amount_minor, tip_minor FROM bill_shares WHERE id = ?", [share_id])))
    paid = messages.PaymentRecorded(payment_id=f"pay-{uuid.uuid4()}", share_id=share["id"], bill_id=share["session_id"],
                                    currency=share["currency"], amount_minor=share["amount_minor"],
                                    tip_minor=share["tip_minor"], fee_minor=0, provider="demo",
                                    paid_at="2026-11-24T20:00:00+00:00")
    handler = make_handlers(lambda: state.config)[messages.PaymentRecorded.TYPE]
    live.publish(state, *await state.database.write(handler, None, paid))


async def test_pay_part_of_an_item_with_a_tip_then_the_rest_and_the_table_starts_fresh(online_client, phone):
    tokens = await table_tokens(online_client)
    assert (await place(online_client, tokens["Table 1"], [STEAK, WINE])).status == 201
    assert (await place(online_client, tokens["Table 2"], [{"item_id": "espresso"}])).status == 201
    page = await phone()
    await page.context.route("http://127.0.0.1:8090/pay/**", lambda route: route.fulfill(
        content_type="text/html", body="<h1>Demo card page</h1>"))
    await open_table(page, (await url_of(online_client)) + "#bill")
    await expect(page.locator(".bill-lines li")).to_have_count(2)
    await expect(page.locator(".bill-lines li").first.locator(".options")).to_have_text("Medium")  # what was chosen
    await expect(page.locator(".totals .left")).to_contain_text("€44.70")
    await screenshot(page, "bill")

    await page.get_by_label("Chosen items").check()
    await page.get_by_role("checkbox", name="1 × Steak frites").check()
    await page.get_by_label("Steak frites: 1/n").select_option("2")  # half the steak: 14.45
    await page.get_by_label("10%").check()
    await expect(page.locator("#pay-sum")).to_have_text("You pay €14.45 + €1.45 tip")
    await screenshot(page, "pay", full_page=True)
    await page.get_by_role("button", name="Pay €15.90").click()
    await page.wait_for_url("**/pay/**")
    await expect(page.get_by_role("heading")).to_have_text("Demo card page")
    share = await online_client.app[STATE].database.read(lambda db: next(db.query(
        "SELECT id, kind, amount_minor, tip_minor, status FROM bill_shares")))
    assert (share["kind"], share["amount_minor"], share["tip_minor"], share["status"]) == ("items", 1445, 145, "held")

    friend = await phone()  # a second phone at the same table sees the same bill, live
    await open_table(friend, (await url_of(online_client)) + "#bill")
    await pay(online_client, share["id"])
    await expect(friend.locator(".totals")).to_contain_text("Paid€14.45")
    await expect(friend.locator(".totals .left")).to_contain_text("€30.25")
    stranger = await phone()  # another table sees nothing of it
    await open_table(stranger, (await url_of(online_client, "Table 2")) + "#bill")
    await expect(stranger.locator(".bill-lines li")).to_have_count(1)
    await expect(stranger.locator("#view-bill")).not_to_contain_text("Steak")

    await page.go_back()
    await expect(page.locator(".totals .left")).to_contain_text("€30.25")
    await page.get_by_label("Everything left").check()
    await page.get_by_role("button", name="Pay €30.25").click()
    await page.wait_for_url("**/pay/**")
    rest = await online_client.app[STATE].database.read(lambda db: db.execute(
        "SELECT id FROM bill_shares WHERE kind = 'remaining'").fetchone()[0])
    await pay(online_client, rest)
    # the bill is settled: the party's phones keep their visit with the receipt (issue 16), while
    # the next party at this table starts fresh
    await expect(friend.locator("#bill-box")).to_contain_text("The bill is fully paid. Thank you!")
    await expect(friend.get_by_role("link", name="Your receipt (keep or print)")).to_be_visible()
    await friend.get_by_role("link", name="Your orders").click()
    await expect(friend.locator(".order")).to_have_count(1)
    await expect(friend.locator("#notice")).not_to_contain_text("Welcome")
    next_party = await phone()
    await open_table(next_party, (await url_of(online_client)) + "#bill")
    await expect(next_party.locator("#bill-box")).to_have_text("Nothing on the bill yet.")
    assert await count(online_client, "SELECT COUNT(*) FROM bill_shares WHERE status = 'paid'") == 2


async def test_equal_share_and_custom_amount_are_sent_as_asked(online_client, phone):
    tokens = await table_tokens(online_client)
    await place(online_client, tokens["Table 1"], [STEAK, WINE])
    page = await phone()
    await page.context.route("http://127.0.0.1:8090/pay/**", lambda route: route.fulfill(body="pay page"))
    await open_table(page, (await url_of(online_client)) + "#bill")
    await page.get_by_label("An equal share").check()
    await page.get_by_role("button", name="One more: Split between").click()  # 3 people: ceil(44.70 / 3)
    await page.get_by_label("Custom", exact=True).check()
    await page.get_by_label("Tip amount").fill("2,50")
    await expect(page.locator("#pay-sum")).to_have_text("You pay €14.90 + €2.50 tip")
    await page.get_by_role("button", name="Pay €17.40").click()
    await page.wait_for_url("**/pay/**")
    row = await online_client.app[STATE].database.read(lambda db: db.execute(
        "SELECT kind, parts, amount_minor, tip_minor FROM bill_shares").fetchone())
    assert tuple(row) == ("equal", 3, 1490, 250)

    await page.go_back()  # changed their mind: the held share can be let go
    await expect(page.locator("#pending")).to_contain_text("A payment you started was not finished.")
    assert not (await page.locator("#pending").inner_text()).startswith("null")  # a left-out child, not text
    await page.get_by_role("button", name="Cancel that payment").click()
    await expect(page.locator("#pending")).to_be_empty()
    assert await count(online_client, "SELECT COUNT(*) FROM bill_shares WHERE status = 'held'") == 0
    await page.get_by_label("A custom amount").check()
    await page.get_by_label("Amount", exact=True).fill("99")
    await expect(page.locator("#pay-sum")).to_contain_text("Enter an amount up to")
    await expect(page.locator("#pay-button")).to_be_disabled()
    await page.get_by_label("Amount", exact=True).fill("10")
    await page.get_by_role("button", name="Pay €10.00").click()
    await page.wait_for_url("**/pay/**")
    assert await count(online_client, "SELECT COUNT(*) FROM bill_shares WHERE kind = 'amount' AND amount_minor = 1000") == 1


async def test_with_the_restaurant_offline_the_page_offers_mobile_data_or_the_counter(agent_client, phone, table_url):
    tokens = await table_tokens(agent_client)
    await place(agent_client, tokens["Table 1"], [STEAK])
    page = await phone()
    await open_table(page, (await table_url()) + "#bill")
    notice = page.locator(".notice.warn")
    await expect(notice).to_contain_text("The restaurant's internet connection is down.")
    await expect(notice).to_contain_text("mobile data")
    await expect(notice).to_contain_text("counter")
    await page.get_by_role("button", name="Pay €28.90").click()
    link = page.get_by_role("link", name="Open the pay page (mobile data).")
    await expect(link).to_have_attribute(
        "href", re.compile(r"^http://127\.0\.0\.1:8090/pay/[\w.-]+\?lang=en$"))  # the pay page in the chosen language
    await expect(page.locator("#pending")).to_contain_text("1. Switch off Wi-Fi on your phone.")
    await expect(page.get_by_role("button", name="Cancel that payment")).to_be_visible()
    assert await count(agent_client, "SELECT COUNT(*) FROM bill_shares WHERE status = 'held'") == 1


async def test_the_bill_shown_follows_each_order_and_a_hidden_one_waits_for_its_tab(agent_client, phone, table_url):
    """Bill events carry totals and a version only: the page showing the bill fetches it when it
    changed, a page on another tab fetches nothing until the bill tab opens."""
    tokens = await table_tokens(agent_client)
    await place(agent_client, tokens["Table 1"], [STEAK])  # another phone at the table
    page = await phone()
    bill_fetches: list[str] = []
    page.on("request", lambda r: bill_fetches.append(r.url) if r.url.endswith("/bill") else None)
    await open_table(page, (await table_url()) + "#bill")
    await expect(page.locator(".totals .left")).to_contain_text("28.90")
    await place(agent_client, tokens["Table 1"], [WINE])
    await expect(page.locator(".totals .left")).to_contain_text("44.70")  # no reload
    await expect(page.locator(".bill-lines li")).to_have_count(2)

    await page.locator("#tab-menu").click()
    fetched = len(bill_fetches)
    await place(agent_client, tokens["Table 1"], [STEAK])
    state = agent_client.app[STATE]
    first, session = await state.database.read(lambda db: db.execute(
        "SELECT id, session_id FROM orders WHERE number = 1").fetchone())
    await live.publish_bill(state, session)  # the bill's news now, then a marker after it on the stream
    await state.database.write(order_status.set_order_status, first, "ready")
    await live.publish_order(state, first)
    await expect(page.locator("#order-live")).to_have_text("Order #1: Ready")  # the page heard both
    assert len(bill_fetches) == fetched  # and left the bill it does not show alone
    await page.locator("#tab-bill").click()
    await expect(page.locator(".totals .left")).to_contain_text("73.60")
    await expect(page.locator(".bill-lines li")).to_have_count(3)
