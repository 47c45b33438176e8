"""The hub's "Back to your table" lands on the bill the diner was paying, not on the menu (issue 16):
a real hub with its demo card page, a real agent, Chromium. The link is the table's page with #bill
straight from the signed share, so no hop through the phone's memory can lose it, and the bill tab
opens on a cold load too, also offline from the service worker's copy of the page."""

import aiohttp
import pytest
from playwright.async_api import expect

from agent.app import create_app as create_agent_app
from agent.link.identity import public_key_of
from agent.state import STATE
from hub.app import create_app as create_hub_app
from hub.appkeys import STORE
from hub.config import HubConfig
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.web.diner.test_menu_and_order import open_table
from tests.services import free_port
from tests.waiting import eventually

OPERATOR = "operator-token-for-back-link-tests-0123"


@pytest.fixture
async def agent_and_hub(aiohttp_client, aiohttp_server, tmp_path, broker):
    """Agent and hub linked through a real Mosquitto (the bill page offers cards only while linked)."""
    (tmp_path / "hub").mkdir()
    hub = await aiohttp_server(create_hub_app(HubConfig(
        data_dir=tmp_path / "hub", operator_token=OPERATOR, broker_port=broker.port, shared_subscription=True,
        database_url=f"sqlite:///{tmp_path}/hub.sqlite", reconcile_interval_s=3600)))
    hub_url = str(hub.make_url("")).rstrip("/")
    port = free_port()  # known before it listens: the agent signs its own address into pay links
    agent = await aiohttp_client(create_agent_app(make_config(
        tmp_path, broker_port=broker.port, hub={"url": hub_url}, http={"public_url": f"http://127.0.0.1:{port}"})),
        server_kwargs={"port": port})
    state = agent.app[STATE]
    # what pairing does: the hub knows the agent's pay-link key, and the agent belongs to a restaurant
    assert await hub.app[STORE].remember_agent_key(state.config.agent.id, public_key_of(state.signing_key)) == "stored"
    async with aiohttp.ClientSession() as http, http.post(f"{hub_url}/api/v1/restaurants", json={
            "name": "Brasserie Lumière", "country": "FR", "currency": "EUR", "agent_ids": [state.config.agent.id],
            "fee_plan": {"basis_points": 150, "fixed_minor": 10, "min_minor": None, "cap_minor": None,
                         "fee_on_tips": False}}, headers={"Authorization": f"Bearer {OPERATOR}"}) as r:
        assert r.status == 201, await r.text()
    await eventually(lambda: state.link.connected, what="the agent's link up")
    return agent, hub_url


async def test_back_to_your_table_opens_the_bill_also_cold_and_offline(agent_and_hub, phone):
    agent, hub_url = agent_and_hub
    token = (await table_tokens(agent))["Table 1"]
    assert (await place(agent, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201  # 9.50
    table_page = str(agent.make_url(f"/t/{token}"))
    page = await phone()
    await open_table(page, table_page + "#bill")
    await page.get_by_role("button", name="Pay €9.50").click()
    await page.wait_for_url(f"{hub_url}/pay/**")
    await page.get_by_role("button", name="Pay €9.50").click()  # the hub's demo card page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Payment received")
    await expect(page.get_by_role("link", name="Back to your table")).to_have_attribute("href", table_page + "#bill")
    await page.get_by_role("link", name="Back to your table").click()
    await page.wait_for_url(table_page + "#bill")
    await expect(page.locator("#view-bill")).to_be_visible()
    await expect(page.locator("#view-menu")).to_be_hidden()
    await expect(page.locator("#tab-bill")).to_have_attribute("aria-current", "page")
    await expect(page.locator(".bill-lines li")).to_have_count(1)
    # the payment came over the link: the bill is paid and the party still sees it, with its receipt
    await expect(page.locator("#bill-box")).to_contain_text("The bill is fully paid. Thank you!", timeout=15_000)

    # the phone on mobile data, the restaurant's Wi-Fi out of reach: the worker's copy opens on the bill
    await page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=10_000)
    await page.wait_for_function("caches.match(location.pathname).then((hit) => !!hit)", timeout=10_000)
    await page.goto(f"{hub_url}/pay/done/unknown")  # anywhere else first: the next load is a cold one
    await page.context.set_offline(True)
    await page.goto(table_page + "#bill")
    await expect(page.locator("#view-bill")).to_be_visible()
    await expect(page.locator("#view-menu")).to_be_hidden()
    assert await page.evaluate("document.documentElement.dataset.offline") == "1"  # the saved copy, not the network
    await page.context.set_offline(False)
    assert page.js_errors == []
