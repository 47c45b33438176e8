"""The staff dashboard in Chromium at a tablet's size: signing in (and the clear refusals), marking
an item sold out that the diner menu then shows, the menu editor refusing a stale form, tables,
and the printable table cards. Screenshots go to docs/screenshots/."""

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from agent.state import STATE
from tests.agent.staff.helpers import add_account, csrf, sign_in
from tests.browser import chromium

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"
TABLET = {"viewport": {"width": 1180, "height": 820}, "locale": "en-GB"}


@pytest.fixture
async def browser():
    async with chromium() as b:
        yield b


async def _tablet(browser, staff_client):
    context = await browser.new_context(**TABLET)
    page = await context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    await page.goto(str(staff_client.make_url("/staff")))
    return page


async def _sign_in(page, name: str, secret: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("PIN or password").fill(secret)
    async with page.expect_response("**/api/v1/staff/session"):
        await page.get_by_role("button", name="Sign in").click()


async def _diner_item(staff_client, item_id: str) -> dict:
    menu = await (await staff_client.get("/api/v1/menu")).json()
    return next(i for c in menu["categories"] for i in c["items"] if i["id"] == item_id)


async def test_sign_in_refusals_then_sold_out_reaches_the_diner_menu(browser, staff_client):
    await add_account(staff_client, "Ana", "manager", "2468")
    page = await _tablet(browser, staff_client)
    await expect(page.locator("#signin")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "staff-signin.png"))

    await _sign_in(page, "Ana", "0000")
    await expect(page.locator("#signin-message")).to_contain_text("do not match")
    await expect(page.locator("#shell")).to_be_hidden()
    for _ in range(4):
        await _sign_in(page, "Ana", "0000")
    await expect(page.locator("#signin-message")).to_contain_text("locked until")
    await staff_client.app[STATE].database.write(  # a manager lifts the lock (as a new PIN would)
        lambda db: db.execute("UPDATE staff_accounts SET locked_until = NULL"))

    await _sign_in(page, "Ana", "2468")
    await expect(page.locator("#shell")).to_be_visible()
    await expect(page.locator("#who-name")).to_have_text("Ana")
    await expect(page.locator("#alerts")).to_be_attached()
    await page.get_by_role("navigation", name="Screens").get_by_role("link", name="Menu").click()
    row = page.locator('#menu-root li[data-item="steak-frites"]')
    await row.get_by_role("button", name="available, tap when sold out").click()
    await expect(row.get_by_role("button", name="sold out, tap when back")).to_be_visible()
    assert (await _diner_item(staff_client, "steak-frites"))["available"] is False
    await page.get_by_label("Find a dish").fill("steak")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SCREENSHOTS / "staff-menu.png"))
    assert page.js_errors == []


async def test_an_expired_session_sends_staff_back_to_sign_in_with_a_message(browser, staff_client):
    await add_account(staff_client, "Bo", "server", "1357")
    page = await _tablet(browser, staff_client)
    await _sign_in(page, "Bo", "1357")
    await expect(page.locator("#shell")).to_be_visible()
    await staff_client.app[STATE].database.write(
        lambda db: db.execute("UPDATE staff_sessions SET last_seen_at = '2000-01-01T00:00:00.000000+00:00'"))
    await page.evaluate("location.hash = '#tables'")  # any screen's next call finds the session gone
    await expect(page.locator("#signin-message")).to_contain_text("expired")
    await expect(page.locator("#shell")).to_be_hidden()


async def test_the_editor_refuses_a_stale_form_and_keeps_the_newer_change(browser, staff_client):
    await add_account(staff_client, "Ana", "manager", "2468")
    page = await _tablet(browser, staff_client)
    await _sign_in(page, "Ana", "2468")
    await page.goto(str(staff_client.make_url("/staff#menu")))
    await page.get_by_role("button", name="Edit menu").click()
    row = page.locator('#menu-root li[data-item="onion-soup"]')
    await row.get_by_role("button", name="Edit").click()
    dialog = page.locator("dialog[open]")
    await dialog.get_by_label("Price (EUR)").fill("12.00")
    # meanwhile another manager changes the same dish
    await add_account(staff_client, "Cy", "manager", "9753")
    token = await sign_in(staff_client, "Cy", "9753")
    item = next(i for c in (await (await staff_client.get("/api/v1/staff/menu")).json())["categories"]
                for i in c["items"] if i["id"] == "onion-soup")
    form = {k: item[k] for k in ("name", "category_id", "price_minor", "description", "allergens", "tags",
                                 "stations", "course", "modifier_groups", "translations", "available", "version")}
    resp = await staff_client.put("/api/v1/staff/menu/items/onion-soup", json={**form, "price_minor": 1100},
                                  headers=csrf(token))
    assert resp.status == 200
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator(".status")).to_contain_text("Someone else changed")
    assert (await _diner_item(staff_client, "onion-soup"))["price_minor"] == 1100
    assert page.js_errors == []


async def test_tables_and_printable_cards(browser, staff_client):
    await add_account(staff_client, "Ana", "manager", "2468")
    page = await _tablet(browser, staff_client)
    await _sign_in(page, "Ana", "2468")
    await page.goto(str(staff_client.make_url("/staff#tables")))
    await page.get_by_label("New table name").fill("Terrace 1")
    await page.get_by_label("Area").fill("Terrace")
    await page.get_by_role("button", name="Add table").click()
    await expect(page.locator('#tables-root li[data-table="Terrace 1"]')).to_be_visible()
    await expect(page.locator("#tables-root h3", has_text="Terrace")).to_be_visible()

    await page.get_by_role("link", name="Print table cards").click()
    await expect(page.locator(".card")).to_have_count(3)
    await page.get_by_role("link", name="A5").click()
    await expect(page.locator(".card").first).to_be_visible()
    assert "size=a5" in page.url
    card = await page.locator(".card").first.bounding_box()
    assert abs(card["width"] / card["height"] - 148 / 210) < 0.02  # an A5 sheet, portrait
    await expect(page.locator(".card .wifi").first).to_contain_text("Scan to join our Wi-Fi")
    await page.get_by_role("link", name="A6").click()
    await page.screenshot(path=str(SCREENSHOTS / "staff-table-cards.png"), full_page=False)
    # printing hides the toolbar and puts one card on each page
    await page.emulate_media(media="print")
    await expect(page.locator(".toolbar")).to_be_hidden()
    pdf = await page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 3  # one sheet per table
    assert page.js_errors == []
