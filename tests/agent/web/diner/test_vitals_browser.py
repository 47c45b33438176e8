"""Real-user monitoring in Chromium: the diner's page measures its own visit and, when it is hidden,
sends one beacon; the agent's /metrics then has the phone's LCP, first menu paint and the order's
send-to-confirmed time."""

import asyncio

from playwright.async_api import expect

from tests.agent.web.diner.test_menu_and_order import add, open_table
from tests.agent.web.test_metrics import _scrape, _sum


async def test_the_page_reports_its_vitals_when_hidden(agent_client, phone, table_url):
    page = await phone()
    await open_table(page, await table_url())
    await add(page, "Crème brûlée")
    await page.locator("#cart-open").click()
    await page.locator("#send").click()
    await expect(page.locator(".order")).to_contain_text("Received")
    # the diner switches apps: the page is hidden, which is when it sends what it measured
    await page.evaluate("""Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
                           document.dispatchEvent(new Event("visibilitychange"))""")
    samples = {}
    for _ in range(100):  # the beacon is sent by the browser in the background: wait for its arrival
        samples = await _scrape(agent_client)
        if _sum(samples, "tableside_agent_diner_beacons_total"):
            break
        await asyncio.sleep(0.1)
    assert _sum(samples, "tableside_agent_diner_beacons_total", outcome="accepted") == 1
    for vital in ("lcp", "menu_paint", "order_confirmed"):
        assert _sum(samples, "tableside_agent_diner_vital_seconds_count", vital=vital) == 1, vital
    assert 0 < _sum(samples, "tableside_agent_diner_vital_seconds_sum", vital="order_confirmed") < 30
    assert page.js_errors == []
