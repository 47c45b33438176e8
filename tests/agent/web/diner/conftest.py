"""A phone in Chromium against a real agent (aiohttp's test server listens on loopback)."""

from pathlib import Path

import pytest

from agent.app import create_app
from agent.state import STATE
from tests.agent.helpers import make_config, table_tokens
from tests.browser import PHONE, chromium
from tests.waiting import eventually

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"


@pytest.fixture
async def browser():
    async with chromium() as b:
        yield b


async def url_of(client, name: str = "Table 1") -> str:
    return str(client.make_url(f"/t/{(await table_tokens(client))[name]}"))


@pytest.fixture
def table_url(agent_client):
    return lambda name="Table 1": url_of(agent_client, name)


@pytest.fixture
async def online_client(aiohttp_client, tmp_path, broker):
    """An agent whose link to the hub is up (through a real broker): the bill says it can take cards."""
    client = await aiohttp_client(create_app(make_config(tmp_path, broker_port=broker.port)))
    await eventually(lambda: client.app[STATE].link.connected, what="the agent's link up")
    return client


@pytest.fixture
def phone(browser):
    """A new phone (browser context) at the phone viewport; extra options override PHONE."""
    contexts = []

    async def new(**options):
        context = await browser.new_context(**{**PHONE, **options})
        contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # a test fails on a script error, not only on a missing element
        return page

    yield new


def screenshot(page, name: str, full_page: bool = False):
    return page.screenshot(path=str(SCREENSHOTS / f"diner-{name}.png"), full_page=full_page)
