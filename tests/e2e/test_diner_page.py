"""The diner page in a real Chromium: open the table link, add a dish with modifiers and
a note, send, see the order number; the agent holds exactly that order."""

from agent.state import STATE
from tests.agent.helpers import count, table_tokens
from tests.browser import PHONE, chromium


async def test_diner_orders_from_the_table_page(agent_client, emulator, tmp_path):
    token = (await table_tokens(agent_client))["Table 1"]
    url = str(agent_client.make_url(f"/t/{token}"))
    async with chromium() as browser:
        page = await (await browser.new_context(**PHONE)).new_page()
        await page.goto(url)
        await page.get_by_text("Table 1").first.wait_for()
        await page.get_by_role("button", name="Add French onion soup").click()
        await page.get_by_role("button", name="Add Steak frites").click()
        await page.get_by_label("Medium rare").check()
        await page.get_by_label("Note for the kitchen").fill("sauce on the side")
        await page.get_by_role("button", name="Add to order").click()
        await page.locator("#cart-open").click()  # the cart opens as a sheet with the send button
        send = page.get_by_role("button", name="Send order")
        await send.click()
        status = page.get_by_role("status").filter(has_text="Order #")
        await status.wait_for(timeout=10_000)
        confirmation = await status.inner_text()
        await page.screenshot(path=str(tmp_path / "diner.png"))

    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 1
    order_id = await agent_client.app[STATE].database.read(lambda db: db.execute("SELECT id FROM orders").fetchone()[0])
    order = (await (await agent_client.get(f"/api/v1/tables/{token}/orders/{order_id}")).json())["order"]
    assert f"Order #{order['number']}" in confirmation
    names = sorted(line["name"] for line in order["lines"])
    assert names == ["French onion soup", "Steak frites"]
    steak = next(line for line in order["lines"] if line["name"] == "Steak frites")
    assert [m["id"] for m in steak["modifiers"]] == ["doneness-medium-rare"] and steak["note"] == "sauce on the side"
    [ticket] = await emulator.wait_for_tickets(1, timeout=10)
    assert "Steak frites" in ticket and "sauce on the side" in ticket
