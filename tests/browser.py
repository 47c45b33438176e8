"""Debian's Chromium driven by Playwright, at a phone's size, for tests that need a real browser."""

import contextlib

from tests.services import CHROMIUM_ARGS, chromium_path

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "en-GB"}


@contextlib.asynccontextmanager
async def chromium():
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - dev extras missing
        from tests.services import missing

        missing("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
