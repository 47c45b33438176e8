"""The hub's "Back to your table" (the pay link's return_url, /t/back) leads to the bill the diner
was paying, not to the menu (issue 16, point 2)."""

from playwright.async_api import expect

from agent.state import STATE
from tests.agent.helpers import place, table_tokens
from tests.agent.web.diner.conftest import url_of
from tests.agent.web.diner.test_menu_and_order import open_table


async def test_back_from_the_pay_page_opens_the_bill(agent_client, phone):
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    page = await phone()
    await open_table(page, await url_of(agent_client))  # the phone remembers its table
    await expect(page.locator("#view-menu")).to_be_visible()
    back = agent_client.app[STATE].config.public_url  # where the pay link's return_url points
    assert back  # (the agent signs f"{public_url}/t/back" into every pay link)
    await page.goto(str(agent_client.make_url("/t/back")))
    await page.wait_for_url(f"**/t/{token}#bill")
    await expect(page.locator("#view-bill")).to_be_visible()
    await expect(page.locator("#view-menu")).to_be_hidden()
    await expect(page.locator(".bill-lines li")).to_have_count(1)
    assert page.js_errors == []
