"""The staff dashboard's live screens in Chromium at a tablet's size (1280x800): the board fills
itself as diners order (and after the stream drops), status reaches the diner, requests are
acknowledged, a cash payment settles a bill, devices and the day report; and every refusal is shown
with the agent's own words while nothing changes."""

from pathlib import Path

import pytest
from playwright.async_api import expect

from agent.app import create_app
from agent.state import STATE
from agent.visits import table_sessions
from agent.visits.table_sessions import now_iso
from tests.agent.helpers import count, make_config, place, table_tokens
from tests.agent.staff.helpers import PINS, add_account, with_staff_routes
from tests.browser import chromium
from tests.waiting import eventually

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"
TABLET = {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB", "timezone_id": "Europe/Paris"}
LIVE = 2000  # ms: "appears within a second or two, without a reload"
SOUP, ESCARGOTS = "onion-soup", "escargots"


@pytest.fixture
async def agent(aiohttp_client, tmp_path, emulator):
    """An agent with the staff routes, the sample menu, one printer (the emulator) and the demo POS."""
    config = make_config(tmp_path, printers=[{
        "name": "kitchen", "stations": ["kitchen", "bar", "desserts"],
        "options": {"host": "127.0.0.1", "port": emulator.port}}])
    return await aiohttp_client(with_staff_routes(create_app(config)))


@pytest.fixture
async def browser():
    async with chromium() as b:
        yield b


@pytest.fixture
def staff_page(browser, agent):
    """A tablet signed in as a new account of `role` through the sign-in form; the page."""
    async def open_as(role: str, name: str | None = None):
        name = name or role.capitalize()
        await add_account(agent, name, role, PINS[role])
        context = await browser.new_context(**TABLET)
        page = await context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        await page.goto(str(agent.make_url("/staff")))
        await page.get_by_label("Name").fill(name)
        await page.get_by_label("PIN or password").fill(PINS[role])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#shell")).to_be_visible()
        # every beep the screens ask for, by pitch (880: order, 520: table request)
        await page.evaluate("window.beeps = []; document.addEventListener('tableside:beep', "
                            "(e) => window.beeps.push(e.detail.pitch))")
        return page
    return open_as


async def screen(page, name: str):
    await page.get_by_role("navigation", name="Screens").get_by_role("link", name=name).first.click()
    section = page.locator(f"#screen-{name.lower()}")
    await expect(section).to_be_visible()
    return section


async def order(agent, table: str, *items: str | dict) -> dict:
    """Order from a table as its diner would (an item id, or a whole line with modifiers and a note)."""
    token = (await table_tokens(agent))[table]
    response = await place(agent, token, [i if isinstance(i, dict) else {"item_id": i, "qty": 1} for i in items])
    assert response.status == 201
    return (await response.json())["order"]


async def diner_orders(agent, table: str = "Table 1") -> list[dict]:
    token = (await table_tokens(agent))[table]
    return (await (await agent.get(f"/api/v1/tables/{token}/orders")).json())["orders"]


def card(page, title: str):
    return page.locator(".order").filter(has=page.get_by_role("heading", name=title, exact=True))


async def test_board_fills_live_moves_orders_and_catches_up(agent, staff_page):
    page = await staff_page("manager", "Ana")
    board = await screen(page, "Board")
    await expect(board.get_by_text("No open orders")).to_be_visible()

    first = await order(agent, "Table 1", SOUP, ESCARGOTS)
    soup = card(page, "Table 1 · #1")
    await expect(soup).to_be_visible(timeout=LIVE)  # no reload: the event stream brought it
    await expect(soup).to_have_class(lambda_has("fresh"))
    await expect(soup).to_contain_text("1 × French onion soup")
    assert await page.evaluate("window.beeps") == [880]
    await order(agent, "Table 2", {"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-medium-rare"],
                                   "note": "sauce on the side"})
    steak = card(page, "Table 2 · #2")
    await expect(steak).to_be_visible(timeout=LIVE)
    await expect(steak.locator(".line")).to_contain_text("2 × Steak fritesMedium rareNote: sauce on the side")
    assert await page.evaluate("window.beeps") == [880, 880]
    await page.screenshot(path=str(SCREENSHOTS / "staff-board.png"))

    # a stale or missing CSRF token: refused with the agent's words, nothing moves
    async def strip_csrf(route):
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "x-csrf-token"}
        await route.continue_(headers=headers)
    await page.route("**/status", strip_csrf)
    await soup.get_by_role("button", name="Table 1 · #1: mark all preparing").click()
    await expect(board.get_by_role("alert")).to_contain_text("security token is missing or out of date")
    assert await count(agent, "SELECT COUNT(*) FROM order_lines WHERE status != 'received'") == 0
    await page.unroute("**/status")

    await soup.get_by_role("button", name="Table 1 · #1: mark all preparing").click()
    await expect(soup.locator("header .pill")).to_have_text("Preparing")
    await soup.get_by_role("button", name="Table 1 · #1: mark all ready").click()
    await expect(soup.locator("header .pill")).to_have_text("Ready")
    assert [o["status"] for o in await diner_orders(agent) if o["id"] == first["id"]] == ["ready"]

    await soup.get_by_role("button", name="1 × French onion soup: mark served").click()
    await expect(soup.locator(".line").first).to_contain_text("Served")
    await expect(soup.locator("header .pill")).to_have_text("Ready")  # the escargots are not served yet
    await soup.get_by_role("button", name="Table 1 · #1: mark all served").click()
    await expect(soup).to_have_count(0)  # served orders leave the board
    assert [o["status"] for o in await diner_orders(agent) if o["id"] == first["id"]] == ["served"]

    # the tablet's stream drops (Wi-Fi gone): an order placed meanwhile shows up once it is back
    await page.route("**/api/v1/staff/events", lambda route: route.abort("internetdisconnected"))
    events = agent.app[STATE].events
    events.close()  # ends the open stream, as a dropped connection would
    await eventually(lambda: events.subscribers == 0, what="the tablet's stream ends")
    await order(agent, "Table 2", ESCARGOTS)
    assert events.subscribers == 0  # nothing can reach the tablet now
    await expect(card(page, "Table 2 · #3")).to_have_count(0)
    await page.unroute("**/api/v1/staff/events")
    await expect(card(page, "Table 2 · #3")).to_be_visible(timeout=8000)  # reconnect, hello, reload
    assert page.js_errors == []


async def _count_is(agent, sql: str, expected: int) -> bool:
    return await count(agent, sql) == expected


def lambda_has(cls: str):
    import re
    return re.compile(rf"(^|\s){cls}(\s|$)")


async def test_table_requests_are_acknowledged_with_a_badge_and_a_sound(agent, staff_page):
    page = await staff_page("server", "Sam")
    token = (await table_tokens(agent))["Table 1"]
    made = await agent.post(f"/api/v1/tables/{token}/requests", json={"kind": "bill"})
    assert made.status in (200, 201)
    link = page.get_by_role("navigation", name="Screens").get_by_role("link", name="Requests")
    await expect(link.locator(".badge")).to_have_text("1", timeout=LIVE)
    assert await page.evaluate("window.beeps") == [520]
    section = await screen(page, "Requests")
    await expect(section.locator(".request")).to_contain_text("Bring the bill")
    await section.get_by_role("button", name="Acknowledge: Table 1, Bring the bill").click()
    await expect(section.locator(".request")).to_have_count(0)
    await expect(link.locator(".badge")).to_be_hidden()
    by = await agent.app[STATE].database.read(
        lambda db: db.execute("SELECT acknowledged_by FROM table_requests").fetchone()[0])
    assert by == "Sam"
    assert page.js_errors == []


async def test_a_cash_payment_settles_the_bill_and_frees_the_table(agent, staff_page):
    await order(agent, "Table 1", SOUP)
    await order(agent, "Table 1", ESCARGOTS)
    token = (await table_tokens(agent))["Table 1"]
    page = await staff_page("manager", "Ana")
    bills = await screen(page, "Bills")
    bill = bills.locator(".bill").filter(has=page.get_by_role("heading", name="Table 1"))
    await expect(bill.locator(".totals .total")).to_contain_text("€23.00")

    # bad input is caught before sending; too much is refused by the agent; nothing is recorded
    await bill.get_by_label("Amount paid").fill("abc")
    await bill.get_by_role("button", name="Record payment").click()
    await expect(bill.get_by_role("alert")).to_have_text("Type the amount paid (for example 12.50).")
    await bill.get_by_label("Amount paid").fill("99")
    await bill.get_by_role("button", name="Record payment").click()
    await expect(bill.get_by_role("alert")).to_contain_text("more than is left to pay")
    assert await count(agent, "SELECT COUNT(*) FROM bill_shares") == 0

    # a manager voids a line (two taps); it leaves the bill
    await bill.get_by_role("button", name="Void 1 × Burgundy snails").click()
    await bill.get_by_role("button", name="Void 1 × Burgundy snails").click()
    await expect(bill.locator(".totals .total")).to_contain_text("€9.50")
    assert await count(agent, "SELECT COUNT(*) FROM order_lines WHERE voided_by = 'Ana'") == 1

    await bill.get_by_label("Equal split: one part of").check()
    await bill.get_by_label("Number of parts").fill("2")
    await bill.get_by_role("button", name="Record payment").click()
    await expect(bill.get_by_role("status")).to_contain_text("Cash payment of €4.75 recorded.")
    await expect(bill.locator(".payments")).to_contain_text("Ana")
    await expect(bill.locator(".totals .left")).to_contain_text("€4.75")
    await page.screenshot(path=str(SCREENSHOTS / "staff-bills.png"), full_page=True)

    await bill.get_by_label("Whole remainder").check()
    await bill.get_by_label("Tip").fill("1")
    await bill.get_by_role("button", name="Record payment").click()
    # paid: the table is free for new guests, the party's visit goes on until it ends (issue 16)
    await expect(bills.get_by_role("status").first).to_contain_text(
        "Table 1: the bill is paid and the table is free for new guests.")
    await expect(bill.locator(".totals .left")).to_contain_text("€0.00")
    await expect(bill.locator(".paid-note")).to_contain_text("Paid. The table is free for new guests")
    await expect(bill.get_by_role("button", name="Record payment")).to_be_hidden()  # nothing left to take
    await page.set_viewport_size({"width": 1024, "height": 768})  # the tablet
    await bill.locator(".paid-note").scroll_into_view_if_needed()
    await page.screenshot(path=str(SCREENSHOTS / "staff-bills-paid.png"))
    table_id = agent.app[STATE].tables[token].id
    assert await agent.app[STATE].database.read(table_sessions.current, table_id) is None  # a new scan: fresh
    await bill.get_by_role("button", name="Close table").click()  # the party left
    await expect(bill).to_have_count(0)
    await expect(bills.get_by_role("status").first).to_contain_text("Table 1: the table is closed.")
    paid = await agent.app[STATE].database.read(lambda db: [tuple(r) for r in db.execute(
        "SELECT method, amount_minor, tip_minor, taken_by FROM bill_shares ORDER BY paid_at")])
    assert paid == [("cash", 475, 0, "Ana"), ("cash", 475, 100, "Ana")]
    assert page.js_errors == []


async def test_kitchen_and_server_accounts_see_what_they_may_do_and_are_told_why_not(agent, staff_page):
    await order(agent, "Table 1", SOUP)
    kitchen = await staff_page("kitchen", "Kim")
    await expect(card(kitchen, "Table 1 · #1")).to_be_visible()  # the board is the kitchen's
    bills = await screen(kitchen, "Bills")
    await expect(bills.get_by_role("alert")).to_contain_text("needs the manager or server role; you are signed in as kitchen")
    await expect(bills.get_by_role("button", name="Void", exact=False)).to_have_count(0)
    report = await screen(kitchen, "Report")
    await expect(report.get_by_role("alert")).to_contain_text("needs the manager role")

    server = await staff_page("server", "Sam")
    bills = await screen(server, "Bills")
    bill = bills.locator(".bill")
    await expect(bill).to_contain_text("French onion soup")
    await expect(bill.get_by_role("button", name="Void 1 × French onion soup")).to_have_count(0)
    await bill.get_by_role("button", name="Close table").click()
    await expect(bill.get_by_role("alert")).to_contain_text("this bill is not settled yet")
    await expect(bill.get_by_role("button", name="Close anyway")).to_have_count(0)  # managers only
    token = (await table_tokens(agent))["Table 1"]
    assert (await (await agent.get(f"/api/v1/tables/{token}")).json())["session"] is not None
    assert kitchen.js_errors == [] and server.js_errors == []


async def test_devices_held_tickets_test_print_and_the_day_report(agent, staff_page, emulator):
    placed = await order(agent, "Table 1", SOUP)
    await emulator.wait_for_tickets(1)
    # the printer has the ticket before the driver has its answer: until the job is done, the
    # dispatcher would write 'done' over the 'held' below
    kitchen_done = ("SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status = 'done' "
                    f"AND order_id = '{placed['id']}'")
    await eventually(lambda: _count_is(agent, kitchen_done, 1), what="the ticket's job is done")
    # the ticket might be on paper already (the agent crashed while sending): staff must decide
    await agent.app[STATE].database.write(lambda db: db.execute(
        "UPDATE device_jobs SET status = 'held', last_error = 'may have printed' WHERE order_id = ? "
        "AND device = 'kitchen'", [placed["id"]]))
    page = await staff_page("manager", "Ana")
    await expect(page.locator("#alerts")).to_contain_text("1 ticket(s) held on kitchen", timeout=7000)
    devices = await screen(page, "Devices")
    printer = devices.locator(".device").filter(has=page.get_by_role("heading", name="Printer: kitchen"))
    await expect(printer).to_contain_text("Held tickets (1)")
    await expect(devices.locator(".device").filter(has=page.get_by_role("heading", name="POS"))).to_be_visible()
    await expect(devices.locator(".link")).to_contain_text("Not connected")
    await page.screenshot(path=str(SCREENSHOTS / "staff-devices.png"), full_page=True)

    await printer.get_by_role("button", name="Drop: ticket Table 1 #1").click()
    await expect(printer).not_to_contain_text("Held tickets")
    assert await count(agent, "SELECT COUNT(*) FROM device_jobs WHERE status = 'dropped'") == 1
    await expect(page.locator("#alerts")).not_to_contain_text("held on kitchen", timeout=7000)
    await printer.get_by_role("button", name="Test print on kitchen").click()
    await expect(devices.get_by_role("status").first).to_contain_text("Test page sent to kitchen.")
    tickets = await emulator.wait_for_tickets(2)
    assert "TEST PAGE" in tickets[-1] and "Ana" in tickets[-1]

    session = (await (await agent.get(f"/api/v1/tables/{(await table_tokens(agent))['Table 1']}")).json())["session"]
    csrf = (await (await agent.post("/api/v1/staff/session", json={"name": "Ana", "secret": PINS["manager"]})).json())
    paid = await agent.post(f"/api/v1/staff/bills/{session['id']}/payments", headers={"X-CSRF-Token": csrf["csrf_token"]},
                            json={"method": "cash", "share": {"kind": "remaining", "tip_minor": 50}})
    assert paid.status == 201
    report = await screen(page, "Report")
    chart = report.locator("svg.chart")
    await expect(chart).to_be_visible()
    await expect(chart).to_have_attribute("role", "img")
    await expect(chart.locator("rect[data-hour]")).to_have_count(24)
    assert await chart.locator("rect[data-hour]").evaluate_all(
        "rects => rects.filter(r => Number(r.getAttribute('height')) > 0).length") == 1
    await expect(report.locator(".kpis")).to_contain_text("Orders1")
    # what was ordered and what was paid, each named for what it counts, and what tells them apart
    await expect(report.locator(".kpis")).to_contain_text("Ordered€9.50Paid€9.50Not paid (open bills)€0.00")
    await expect(report).to_contain_text("the platform's gross for this restaurant")
    await expect(report.get_by_role("table", name="Top items")).to_contain_text("French onion soup")
    await expect(report.get_by_role("table", name="Payments by method")).to_contain_text("Cash")
    hours = report.locator("details table")  # the chart's text alternative, one row an hour
    await expect(hours.locator("caption")).to_have_text("Sales by hour")
    await expect(hours.locator("tbody tr")).to_have_count(24)
    href = await report.get_by_role("link", name="Export CSV").get_attribute("href")
    assert "format=csv" in href
    csv = await agent.get(href)
    assert "summary,orders,1" in await csv.text()
    await page.screenshot(path=str(SCREENSHOTS / "staff-report.png"), full_page=True)

    await report.get_by_label("Day").fill("2001-01-01")
    await report.get_by_role("button", name="Show").click()
    await expect(report.locator(".kpis")).to_contain_text("Orders0")
    assert page.js_errors == []


async def test_a_manager_refunds_a_card_payment_and_closes_a_table_anyway(agent, staff_page):
    await order(agent, "Table 1", SOUP)
    token = (await table_tokens(agent))["Table 1"]
    session = (await (await agent.get(f"/api/v1/tables/{token}")).json())["session"]["id"]
    # a diner paid 5.00 by card on their phone (through the hub)
    await agent.app[STATE].database.write(lambda db: db.execute(
        """INSERT INTO bill_shares (id, session_id, kind, parts, currency, amount_minor, tip_minor, status, method,
                                    payment_id, provider, paid_at, created_at, expires_at, refunded_minor)
           VALUES ('share-1', ?, 'amount', 1, 'EUR', 500, 0, 'paid', 'card', 'pay-1', 'stripe', ?, ?, ?, 0)""",
        [session, now_iso(), now_iso(), now_iso()]))
    page = await staff_page("manager", "Ana")
    bill = (await screen(page, "Bills")).locator(".bill")
    await expect(bill.locator(".payments")).to_contain_text("Card (diner's phone)")
    await bill.get_by_role("button", name="Refund the card payment of €5.00").click()
    form = bill.get_by_role("form", name="Refund a card payment of €5.00")
    await expect(form.get_by_label("Refund amount")).to_have_value("5.00")
    await form.get_by_label("Refund amount").fill("3")
    await form.get_by_label("Reason").fill("cold soup")
    await form.get_by_role("button", name="Ask the hub to refund").click()
    await expect(bill.get_by_role("status")).to_have_text("Refund of €3.00 asked for; the hub refunds the card.")
    await bill.get_by_role("button", name="Refund the card payment of €5.00").click()
    await form.get_by_label("Refund amount").fill("2.01")
    await form.get_by_role("button", name="Ask the hub to refund").click()
    await expect(bill.get_by_role("alert")).to_contain_text("at most 2.00 EUR can be refunded")
    asked = await agent.app[STATE].database.read(lambda db: [tuple(r) for r in db.execute(
        "SELECT amount_minor, reason, requested_by FROM refunds")])
    assert asked == [(300, "cold soup", "Ana")]
    assert await count(agent, "SELECT COUNT(*) FROM outbox WHERE type = 'refund.requested'") == 1

    await bill.get_by_role("button", name="Print receipt").click()
    await expect(bill.get_by_role("status")).to_have_text("Receipt sent to the kitchen printer.")
    await bill.get_by_role("button", name="Close table").click()
    await expect(bill.get_by_role("alert")).to_contain_text("this bill is not settled yet")
    await bill.get_by_role("button", name="Close anyway").click()
    await bill.get_by_role("button", name="Tap again: close with the bill unpaid").click()
    await expect(bill).to_have_count(0)
    assert (await (await agent.get(f"/api/v1/tables/{token}")).json())["session"] is None
    assert page.js_errors == []
