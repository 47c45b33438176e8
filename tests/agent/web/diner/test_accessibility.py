"""Accessibility checks that can fail: colour contrast of the palette (WCAG 2.2 AA), and in
Chromium at 200% zoom: no sideways scrolling, tap targets of 44 px, every control named."""

import re

import pytest
from playwright.async_api import expect

from agent.web.diner.pages import DINER
from tests.agent.web.diner.test_menu_and_order import add, open_table


def _six(colour: str) -> str:
    return colour if len(colour) == 7 else "#" + "".join(c * 2 for c in colour[1:])


CSS_VARS = {name: _six(value) for name, value in
            re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", (DINER / "diner.css").read_text())}

# (text or part, background, minimum ratio): 4.5 for text, 3 for borders and focus rings
PAIRS = [("fg", "bg", 4.5), ("muted", "bg", 4.5), ("muted", "card", 4.5), ("muted", "soft", 4.5),
         ("on-accent", "accent", 4.5), ("accent", "soft", 4.5), ("accent", "card", 4.5), ("err", "bg", 4.5),
         ("ok", "bg", 4.5), ("fg", "warn-bg", 4.5), ("focus", "bg", 3), ("focus", "card", 3), ("on-accent", "accent", 3)]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("fore", "back", "minimum"), PAIRS)
def test_palette_meets_wcag_aa(fore, back, minimum):
    assert contrast(CSS_VARS[fore], CSS_VARS[back]) >= minimum, f"--{fore} on --{back}"


def test_contrast_formula_is_right():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0 and round(contrast("#777777", "#ffffff"), 2) == 4.48


TAP_CHECK = """() => {
  const bad = [];
  for (const e of document.querySelectorAll('button, a, select, summary, input[type=search], .chip label, .opt label')) {
    const r = e.getBoundingClientRect();
    if (!r.width || getComputedStyle(e).visibility === 'hidden') continue;
    if (r.height < 44 - 0.5) bad.push(`${e.tagName} "${(e.textContent || e.getAttribute('aria-label') || '').trim()}" ${r.height}px`);
  }
  return bad;
}"""
UNNAMED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((e) => e.getBoundingClientRect().width && e.type !== 'hidden')
  .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent.trim()))
  .map((e) => e.outerHTML.slice(0, 80))"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def test_usable_at_200_percent_zoom_with_big_targets_and_named_controls(agent_client, phone, table_url):
    # a 390 px phone at 200% zoom lays out like a 195 px wide one
    page = await phone(viewport={"width": 195, "height": 422}, device_scale_factor=4)
    await open_table(page, await table_url())
    await page.get_by_text("Filters", exact=True).click()
    await expect(page.locator("#menu")).not_to_have_attribute("aria-busy", "true")
    assert await page.evaluate(SIDEWAYS) <= 0
    assert await page.evaluate(TAP_CHECK) == []
    assert await page.evaluate(UNNAMED) == []
    await page.get_by_role("button", name="Add Steak frites").click()
    assert await page.evaluate(SIDEWAYS) <= 0
    assert await page.evaluate(TAP_CHECK) == []
    assert await page.evaluate(UNNAMED) == []
    await page.get_by_role("button", name="Close").click()
    await add(page, "Crème brûlée")
    await page.locator("#cart-open").click()
    assert await page.evaluate(TAP_CHECK) == []
    assert await page.evaluate(UNNAMED) == []
