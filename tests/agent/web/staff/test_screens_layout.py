"""The staff screens as a restaurant sees them on a 1024x768 tablet: board cards that keep their
contents inside them and dish names on one line where they fit, a station view for a kitchen screen,
a header that says the role once, an icon, and no stray "null" when the hub link is up."""

import asyncio

import pytest
from playwright.async_api import expect

from agent.app import create_app
from agent.state import STATE
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import PINS, add_account
from tests.browser import chromium

TABLET = {"viewport": {"width": 1024, "height": 768}, "locale": "en-GB", "timezone_id": "Europe/Paris"}


@pytest.fixture
async def agent(aiohttp_client, tmp_path, emulator, broker):
    config = make_config(tmp_path, broker_port=broker.port, printers=[
        {"name": "kitchen", "stations": ["kitchen", "desserts"], "options": {"host": "127.0.0.1", "port": emulator.port}},
        {"name": "bar", "stations": ["bar"], "options": {"host": "127.0.0.1", "port": emulator.port}}])
    client = await aiohttp_client(create_app(config))
    for _ in range(100):
        if client.app[STATE].link.connected:
            return client
        await asyncio.sleep(0.1)
    raise AssertionError("the agent's link did not come up")


@pytest.fixture
async def tablet(agent):
    async with chromium() as browser:
        await add_account(agent, "Manager", "manager", PINS["manager"])
        context = await browser.new_context(**TABLET)
        page = await context.new_page()
        failed = []
        # a page, script, style or icon that fails (the API's own 401 before signing in is expected)
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "/api/" not in r.url else None)
        page.failed_requests = failed
        await page.goto(str(agent.make_url("/staff")))
        await page.get_by_label("Name").fill("Manager")
        await page.get_by_label("PIN or password").fill(PINS["manager"])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#shell")).to_be_visible()
        yield page


async def _order(agent, table, lines):
    token = (await table_tokens(agent))[table]
    assert (await place(agent, token, lines)).status == 201


OVERFLOWS = """() => {
  const out = [];
  for (const card of document.querySelectorAll('.board .order')) {
    const box = card.getBoundingClientRect();
    for (const e of card.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5)) out.push(e.className || e.tagName);
    }
  }
  return out;
}"""

ONE_LINE = """(text) => {
  const name = [...document.querySelectorAll('.board .line-name')].find((e) => e.textContent.includes(text));
  const lh = parseFloat(getComputedStyle(name).lineHeight);
  return name.getBoundingClientRect().height < lh * 1.5;
}"""


async def test_board_cards_keep_everything_inside_and_names_on_one_line(agent, tablet):
    await _order(agent, "Table 1", [{"item_id": "creme-brulee", "qty": 1}, {"item_id": "onion-soup", "qty": 2}])
    await _order(agent, "Table 2", [
        {"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-medium", "sauce-pepper"],
         "note": "sauce on the side, no salt at all please"},
        {"item_id": "espresso", "qty": 2}])
    cards = tablet.locator(".board .order")
    await expect(cards).to_have_count(2)
    assert await tablet.evaluate(OVERFLOWS) == []  # a fresh card too: it glows, nothing sticks out
    assert await tablet.evaluate(ONE_LINE, "Crème brûlée")
    assert await tablet.evaluate(ONE_LINE, "French onion soup")
    # measured in one go: a live event re-rendering the board between two reads detached a card
    boxes = await cards.evaluate_all("els => els.map(e => { const r = e.getBoundingClientRect(); "
                                     "return {width: r.width, y: r.y}; })")
    assert boxes[0]["width"] >= 380 and abs(boxes[0]["y"] - boxes[1]["y"]) < 1  # two wide columns
    await expect(tablet.locator(".board .order").first).to_contain_text("Table 1")  # oldest first


async def test_a_station_view_shows_only_that_stations_lines_and_moves_them(agent, tablet):
    await _order(agent, "Table 1", [{"item_id": "onion-soup", "qty": 1}, {"item_id": "espresso", "qty": 1}])
    await _order(agent, "Table 2", [{"item_id": "onion-soup", "qty": 1}])
    await expect(tablet.locator(".board .line")).to_have_count(3)
    bar = tablet.get_by_role("group", name="Show lines for").get_by_role("button", name="Bar")
    await bar.click()
    await expect(bar).to_have_attribute("aria-pressed", "true")
    await expect(tablet.locator(".board .order")).to_have_count(1)  # Table 2 has nothing for the bar
    await expect(tablet.locator(".board .line-name")).to_have_text(["1 × Espresso"])
    await tablet.get_by_role("button", name="Table 1 · #1: mark all preparing").click()
    await expect(tablet.locator(".board .line .pill")).to_have_text(["Preparing"])
    token = (await table_tokens(agent))["Table 1"]
    orders = (await (await agent.get(f"/api/v1/tables/{token}/orders")).json())["orders"]
    assert {ln["name"]: ln["status"] for ln in orders[0]["lines"]} == {
        "French onion soup": "received", "Espresso": "preparing"}  # the kitchen's soup did not move
    await tablet.reload()  # the tablet keeps its station
    await expect(tablet.get_by_role("button", name="Bar")).to_have_attribute("aria-pressed", "true")


async def test_header_icon_and_the_devices_screen_say_nothing_twice_and_no_null(agent, tablet):
    await expect(tablet.locator("#who-name")).to_have_text("Manager")
    await expect(tablet.locator("#who-role")).to_be_hidden()  # not "Manager MANAGER"
    icon = await tablet.evaluate("document.querySelector('link[rel=icon]').href")
    assert (await agent.get(icon.replace(str(agent.make_url("")), "") or icon)).status == 200
    await tablet.get_by_role("navigation", name="Screens").get_by_role("link", name="Devices").click()
    link = tablet.locator("#screen-devices .link")
    await expect(link).to_contain_text("Connected")
    await expect(link).not_to_contain_text("null")
    await expect(link).not_to_contain_text("ago ago")
    assert "null" not in await tablet.locator("#shell").inner_text()
    assert tablet.failed_requests == []  # no 404 for a favicon or anything else


FORM_GEOMETRY = """() => {
  const dlg = document.querySelector('dialog[open]');
  const height = (label) => [...dlg.querySelectorAll('label')].find((l) => l.textContent.startsWith(label))
    .querySelector('input, textarea, select').getBoundingClientRect().height;
  const checks = [...dlg.querySelectorAll('label.check')].map((l) => {
    const box = l.querySelector('input').getBoundingClientRect(), text = l.querySelector('span').getBoundingClientRect();
    return { size: box.height, beside: box.right <= text.left && Math.abs(box.top + box.height / 2 - (text.top + text.height / 2)) < 4 };
  });
  return { course: height('Course'), name_de: height('Name (de)'),
           desc_de: dlg.querySelector('[data-lang=de][data-part=description]').tagName, checks };
}"""


async def test_the_menu_editors_item_form_is_laid_out_for_a_tablet(tablet):
    await tablet.get_by_role("navigation", name="Screens").get_by_role("link", name="Menu").click()
    await tablet.get_by_role("button", name="Edit menu").click()
    await expect(tablet.locator('li[data-item="onion-soup"] .what')).to_have_text("French onion soup9.50 EUR")
    await tablet.locator('li[data-item="steak-frites"]').get_by_role("button", name="Edit").click()
    g = await tablet.evaluate(FORM_GEOMETRY)
    assert g["course"] < 60 and g["name_de"] < 60  # no 330 px boxes beside the option groups
    assert g["desc_de"] == "TEXTAREA"  # a translated description is not cut to one line
    assert len(g["checks"]) >= 3 and all(c["size"] <= 30 and c["beside"] for c in g["checks"])
