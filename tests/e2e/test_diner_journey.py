"""The diner's visit in Chromium against the whole running system (`tableside demo`: broker, hub with
its demo pay provider, agent, printers, POS): open the table link, filter by an allergen, order a
dish with options, see it turn ready when the kitchen says so through the staff API, pay a share
with a tip on the hub's demo card page, and see the bill update. A second phone at the table sees
the same bill; a phone at another table sees nothing of it."""

import aiohttp
import pytest
from playwright.async_api import expect

from tests.agent.web.diner.test_menu_and_order import add, item, open_table
from tests.browser import PHONE, chromium
from tests.e2e.test_demo import demo


@pytest.fixture
async def browser():
    async with chromium() as b:
        yield b


async def _staff(http: aiohttp.ClientSession, info: dict) -> dict:
    sign_in = info["staff_sign_in"]
    async with http.post(f"{info['agent_url']}/api/v1/staff/session",
                         json={"name": sign_in["name"], "secret": sign_in["pin"]}) as r:
        assert r.status == 200
        return {"X-CSRF-Token": (await r.json())["csrf_token"]}


async def test_order_see_it_ready_pay_a_share_with_a_tip(tmp_path, browser):
    async with demo(tmp_path) as info, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        table1, table2 = info["tables"][0], info["tables"][1]
        phone = await (await browser.new_context(**PHONE)).new_page()
        await open_table(phone, table1["url"])

        await phone.get_by_text("Filters", exact=True).click()
        await phone.locator("#filter-box").get_by_text("Leave out gluten", exact=True).click()
        await expect(item(phone, "French onion soup")).to_be_hidden()
        await phone.get_by_role("button", name="Clear filters").click()
        await phone.get_by_role("button", name="Add Steak frites").click()  # 28.90
        await phone.get_by_role("dialog").get_by_label("Medium rare", exact=True).check()
        await phone.locator("#sheet-add").click()
        await expect(phone.locator("#sheet")).to_be_hidden()
        await add(phone, "French onion soup")  # 9.50
        await phone.locator("#cart-open").click()
        await phone.get_by_role("button", name="Send order").click()
        await expect(phone.get_by_role("status").filter(has_text="Order #1 is with the kitchen")).to_be_visible()

        # the kitchen marks it ready on the staff side; the phone hears it without a reload
        csrf = await _staff(http, info)
        async with http.get(f"{info['agent_url']}/api/v1/staff/orders") as r:
            [order] = (await r.json())["orders"]
        async with http.post(f"{info['agent_url']}/api/v1/staff/orders/{order['id']}/status",
                             json={"status": "ready"}, headers=csrf) as r:
            assert r.status == 200
        await expect(phone.locator(".order .status")).to_have_text("Ready")

        friend = await (await browser.new_context(**PHONE)).new_page()
        stranger = await (await browser.new_context(**PHONE)).new_page()
        await open_table(friend, table1["url"] + "#bill")
        await open_table(stranger, table2["url"] + "#bill")
        await expect(friend.locator(".totals .left")).to_contain_text("€38.40")
        await expect(stranger.locator("#bill-box")).to_have_text("Nothing on the bill yet.")

        # pay an equal half with a 10% tip, on the hub's real demo card page
        await phone.goto(table1["url"] + "#bill")
        await expect(phone.locator(".totals .left")).to_contain_text("€38.40")
        await phone.get_by_label("An equal share").check()
        await phone.get_by_label("10%").check()
        await expect(phone.locator("#pay-sum")).to_have_text("You pay €19.20 + €1.92 tip")
        await phone.get_by_role("button", name="Pay €21.12").click()
        await phone.wait_for_url(f"{info['hub_url']}/pay/**")
        await expect(phone.get_by_text("DEMO", exact=False).first).to_be_visible()
        await phone.get_by_role("button", name="Pay €21.12").click()  # the hub's demo page, in the diner's language
        await expect(phone.get_by_text("Payment received")).to_be_visible()
        await phone.get_by_role("link", name="Back to your table").click()
        await phone.wait_for_url(f"{table1['url']}**")

        # the payment came back over the link: both phones at the table see it; the other table nothing
        await friend.goto(table1["url"] + "#bill")
        await expect(friend.locator(".totals .left")).to_contain_text("€19.20", timeout=15000)
        await expect(friend.locator(".totals")).to_contain_text("€19.20")
        await stranger.reload()
        await expect(stranger.locator("#bill-box")).to_have_text("Nothing on the bill yet.")
