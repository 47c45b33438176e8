"""The staff Devices screen in Chromium: the backup card says when the last good backup was taken,
and a backup older than an hour raises the red banner on every screen."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from agent.backup.service import BACKUPS
from tests.agent.staff.helpers import add_account
from tests.browser import chromium

TABLET = {"viewport": {"width": 1180, "height": 820}, "locale": "en-GB"}


@pytest.fixture
async def browser():
    async with chromium() as b:
        yield b


async def test_the_devices_screen_shows_the_last_backup_and_the_banner_when_it_is_old(browser, staff_client):
    await add_account(staff_client, "Ana", "manager", "2468")
    backups = staff_client.app[BACKUPS]
    await backups.backup_now()
    context = await browser.new_context(**TABLET)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(staff_client.make_url("/staff#devices")))
    await page.get_by_label("Name").fill("Ana")
    await page.get_by_label("PIN or password").fill("2468")
    await page.get_by_role("button", name="Sign in").click()
    card = page.locator(".card.backup")
    await expect(card).to_contain_text("Backed up")
    await expect(card).to_contain_text("Last good backup")
    await expect(page.locator("#alerts")).not_to_contain_text("Backups")

    backups.status.last_good_at = datetime.now(UTC) - timedelta(minutes=90)  # the backup disk stopped working
    backups.status.last_error = "backup failed: [Errno 28] No space left on device"
    await page.reload()
    await expect(card).to_contain_text("No recent backup")
    await expect(card).to_contain_text("No space left on device")
    await expect(page.locator("#alerts")).to_contain_text("Backups: no good backup for over an hour")
    assert errors == []
    await context.close()
