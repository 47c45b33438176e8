"""A diner in Chromium at a phone's size: browse, filter, search, choose modifiers, order once
(however often the button is tapped or the connection drops), switch language, meet a sold-out dish."""

import json

from playwright.async_api import expect

from agent.state import STATE
from tests.agent.helpers import count
from tests.agent.web.diner.conftest import screenshot


async def open_table(page, url):
    await page.goto(url)
    await page.locator(".item").first.wait_for(state="attached")  # the menu is in (maybe on another tab)


def item(page, name):
    return page.locator(".item").filter(has=page.get_by_role("heading", name=name, exact=True))


async def add(page, name, *choices, note=""):
    """Tap Add; an item with choices opens its sheet, a plain one goes straight into the cart."""
    await page.get_by_role("button", name=f"Add {name}", exact=True).click()
    if not await page.locator("#sheet").is_visible():
        await expect(page.get_by_role("status").filter(has_text=f"{name} added to your order.")).to_be_visible()
        return
    for choice in choices:
        await page.get_by_role("dialog").get_by_label(choice, exact=True).check()
    if note:
        await page.get_by_label("Note for the kitchen").fill(note)
    await page.locator("#sheet-add").click()
    await expect(page.locator("#sheet")).to_be_hidden()


async def orders_in(agent_client) -> list[dict]:
    rows = await agent_client.app[STATE].database.read(lambda db: [dict(r) for r in db.query(
        "SELECT o.id, l.item_id, l.qty, l.modifiers, l.note FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "ORDER BY o.number, l.position")])
    return [{**r, "modifiers": [m["id"] for m in json.loads(r["modifiers"])]} for r in rows]


async def test_browse_filter_search_and_order_with_modifiers(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    nav = page.get_by_role("navigation", name="Categories")
    await expect(nav.get_by_role("link")).to_have_count(7)
    await expect(item(page, "French onion soup").locator("img")).to_have_attribute("loading", "lazy")
    await expect(item(page, "Fine de Claire oysters")).to_contain_text("Sold out")
    await expect(item(page, "Fine de Claire oysters").get_by_role("button")).to_have_count(0)
    await screenshot(page, "menu")

    await page.get_by_text("Filters", exact=True).click()
    await page.locator("#filter-box").get_by_text("Leave out gluten", exact=True).click()
    await expect(page.get_by_role("checkbox", name="Leave out gluten")).to_be_checked()
    await expect(item(page, "French onion soup")).to_be_hidden()
    await expect(item(page, "Leeks vinaigrette")).to_be_visible()
    await page.locator("#filter-box").get_by_text("Vegan", exact=True).click()
    await expect(item(page, "Steak frites")).to_be_hidden()
    await expect(item(page, "Ratatouille provençale")).to_be_visible()
    count = page.locator("#filter-count")  # inside the open panel: a tap shows even with results below the fold
    await expect(count).to_have_text(f"{await page.locator('.item:visible').count()} dishes match.")
    await expect(count).to_be_in_viewport()
    await page.get_by_role("button", name="Clear filters").click()
    await expect(count).to_be_empty()
    await page.get_by_label("Search the menu").fill("mousse")
    await expect(page.locator(".item:visible")).to_have_count(1)
    await expect(item(page, "Chocolate mousse")).to_be_visible()
    await page.get_by_label("Search the menu").fill("zzzz")
    await expect(page.locator("#no-match")).to_have_text("No dish matches “zzzz”. Try another word.")
    await page.get_by_label("Search the menu").fill("")

    await page.get_by_role("button", name="Add Steak frites").click()
    sheet = page.get_by_role("dialog")
    await expect(sheet.get_by_role("group", name="Doneness")).to_contain_text("required")
    await page.locator("#sheet-add").click()  # no doneness chosen yet
    await expect(sheet.get_by_role("alert")).to_contain_text("Please choose 1 for Doneness")
    await sheet.get_by_label("Medium rare", exact=True).check()
    await sheet.get_by_label("Green peppercorn sauce").check()
    await page.get_by_role("button", name="One more: Steak frites").click()
    await page.get_by_label("Note for the kitchen").fill("sauce on the side")
    await expect(page.locator("#sheet-add")).to_have_text("Add to order · €62.80")  # 2 × (28.90 + 2.50)
    await page.locator("#sheet .sheet-body").evaluate("body => body.scrollTo(0, 0)")
    await screenshot(page, "modifiers")
    await page.locator("#sheet-add").click()
    await add(page, "French onion soup")

    await expect(page.locator("#cart-open")).to_contain_text("3 items · €72.30")
    await page.locator("#cart-open").click()
    await expect(page.locator("#cart-total")).to_contain_text("€72.30")
    name_box = await page.locator("#cart-body .line-name").first.bounding_box()
    note_box = await page.locator("#cart-body .note").first.bounding_box()
    assert abs(note_box["x"] - name_box["x"]) < 1  # the kitchen note under the dish, not the price
    await screenshot(page, "cart")
    await page.get_by_role("button", name="Send order").click()
    await expect(page.get_by_role("status").filter(has_text="Order #1 is with the kitchen")).to_be_visible()
    await expect(page.locator(".order")).to_contain_text("Received")
    assert await orders_in(agent_client) == [
        {"id": await _only_order(agent_client), "item_id": "steak-frites", "qty": 2,
         "modifiers": ["doneness-medium-rare", "sauce-pepper"], "note": "sauce on the side"},
        {"id": await _only_order(agent_client), "item_id": "onion-soup", "qty": 1, "modifiers": [], "note": ""}]
    await expect(page.locator("#cartbar")).to_be_hidden()
    assert page.js_errors == []


async def _only_order(agent_client) -> str:
    return await agent_client.app[STATE].database.read(lambda db: db.execute("SELECT id FROM orders").fetchone()[0])


async def test_a_double_tap_and_a_retry_after_a_dropped_connection_make_one_order(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await add(page, "French onion soup")
    keys = []

    async def drop_the_first_answer(route):
        if route.request.method != "POST":
            return await route.continue_()
        keys.append(route.request.headers["idempotency-key"])
        response = await route.fetch()  # the agent takes the order...
        if len(keys) == 1:
            assert response.status == 201
            await route.abort("connectionreset")  # ...but the phone never hears back
        else:
            await route.fulfill(response=response)

    await page.route("**/orders", drop_the_first_answer)
    await page.locator("#cart-open").click()
    await page.locator("#send").dblclick()
    await expect(page.locator("#cart-alert")).to_contain_text("it will not be ordered twice")
    await expect(page.get_by_role("button", name="Remove: French onion soup")).to_have_count(0)  # locked
    await page.reload()  # even after a reload the same key is used
    await page.locator("#cart-open").click()
    await page.locator("#send").click()
    await expect(page.get_by_role("status").filter(has_text="Order #1 is with the kitchen")).to_be_visible()
    assert len(keys) == 2 and keys[0] == keys[1]
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1

    await page.unroute("**/orders")
    await page.goto(page.url.split("#")[0])
    await page.locator(".item").first.wait_for()
    await add(page, "Crème brûlée")
    await page.locator("#cart-open").click()
    await page.locator("#send").dblclick()
    await expect(page.get_by_role("status").filter(has_text="Order #2")).to_be_visible()
    await page.wait_for_timeout(300)
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 2


async def test_language_from_the_phone_and_the_switcher(agent_client, phone, table_url):
    page = await phone(locale="fr-FR")
    await open_table(page, await table_url())
    await expect(page.get_by_role("link", name="Carte", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Ajouter Steak frites")).to_be_visible()
    await expect(item(page, "Steak frites").locator(".price")).to_have_text("28,90\u00a0€")
    await page.get_by_label("Langue").select_option("de")
    await expect(page.get_by_role("link", name="Speisekarte")).to_be_visible()
    await expect(page.get_by_role("heading", name="Vorspeisen")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await page.reload()  # the choice is remembered
    await expect(page.get_by_role("link", name="Speisekarte")).to_be_visible()


async def test_an_item_sold_out_while_in_the_cart_is_marked_at_once(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await add(page, "Crème brûlée")
    await add(page, "French onion soup")
    await page.locator("#cart-open").click()
    state = agent_client.app[STATE]
    await state.database.write(lambda db: db.execute("UPDATE menu_items SET available = 0 WHERE id = 'onion-soup'"))
    await state.reload_menu()  # the live stream tells the page: the open cart marks the line at once
    await expect(page.locator(".line.bad")).to_contain_text("French onion soup is sold out.")
    await expect(page.locator("#send")).to_be_disabled()
    await page.get_by_role("button", name="Remove: French onion soup").click()
    await expect(page.locator("#send")).to_be_enabled()
    await page.locator("#send").click()
    await expect(page.get_by_role("status").filter(has_text="Order #1")).to_be_visible()
    await page.get_by_role("link", name="Menu", exact=True).click()
    await expect(item(page, "French onion soup")).to_contain_text("Sold out")


async def test_an_item_sold_out_unbeknown_to_the_page_is_named_and_nothing_is_ordered(agent_client, phone, table_url):
    page = await phone()
    await page.route("**/events", lambda route: route.abort())  # no live news reaches this phone
    await open_table(page, await table_url())
    await add(page, "Crème brûlée")
    await add(page, "French onion soup")
    state = agent_client.app[STATE]
    await state.database.write(lambda db: db.execute("UPDATE menu_items SET available = 0 WHERE id = 'onion-soup'"))
    await state.reload_menu()
    await page.locator("#cart-open").click()
    await page.locator("#send").click()
    alert = page.locator("#cart-alert")
    await expect(alert).to_contain_text("French onion soup is sold out. Nothing was ordered.")
    await expect(page.locator(".line.bad")).to_contain_text("French onion soup")
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 0
    await expect(page.locator("#send")).to_be_disabled()  # the page reloaded the menu and knows now


async def test_a_first_visit_reloads_offline_and_the_banner_leaves_when_back(agent_client, phone, table_url):
    page = await phone()
    url = await table_url()
    await open_table(page, url)  # the first visit: no worker yet when this page loaded
    await page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=10_000)
    # the worker keeps the page it found open (waited for: it does so as it starts)
    await page.wait_for_function("caches.match(location.pathname).then((hit) => !!hit)", timeout=10_000)
    await page.context.set_offline(True)
    await page.reload()  # no second online load needed
    await expect(item(page, "Steak frites")).to_be_visible()
    offline = page.get_by_role("status").filter(has_text="You are offline")
    await expect(offline).to_be_visible()
    await page.context.set_offline(False)
    await expect(offline).to_be_hidden(timeout=8000)  # the stream is back within seconds, not at the next order


async def test_a_forged_table_link_gets_a_clear_page(agent_client, phone):
    page = await phone(locale="de-DE")
    resp = await page.goto(str(agent_client.make_url("/t/forged-token-xxxxxxxxxx")))
    assert resp.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dieser Tisch-Link ist nicht gültig")


async def test_a_required_choice_not_made_is_said_where_the_diner_is_looking(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await page.get_by_role("button", name="Add Steak frites", exact=True).click()
    await page.locator("#sheet-add").click()
    group = page.locator("#sheet fieldset.needs-choice")
    await expect(group.locator(".group-error")).to_have_text("Please choose 1 for Doneness.")
    await expect(group.locator(".group-error")).to_be_in_viewport()
    assert await page.evaluate("document.activeElement.closest('fieldset')?.classList.contains('needs-choice')")
    await page.get_by_role("dialog").get_by_label("Medium rare", exact=True).check()
    await expect(page.locator("#sheet fieldset.needs-choice")).to_have_count(0)  # answered


async def test_news_of_a_moment_does_not_linger(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await add(page, "Moules frites")
    notice = page.locator("#notice")
    await expect(notice).to_have_text("Moules frites added to your order.")
    await expect(notice).to_be_empty(timeout=15000)  # gone by itself, not left for the next visit to the page
    await page.locator("#cart-open").click()
    await page.locator("#send").click()
    await expect(notice).to_have_text("Order #1 is with the kitchen.")
    await expect(notice).to_be_empty(timeout=15000)  # the order card below tells its status from here on
