"""The hub served on a real port, as the CLI and the demo serve it."""

import aiohttp
import pytest

from hub.app import create_app
from hub.config import HubConfig
from tableside.serve import Server
from tests.hub.factories import TOKEN
from tests.waiting import eventually


async def get_json(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_server_on_port_zero_connects_the_link(broker, tmp_path):
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, http_port=0, broker_port=broker.port)
    server = await Server(create_app(config), "127.0.0.1", 0).start()
    try:
        assert server.port > 0

        async def link_connected() -> bool:
            return (await get_json(f"{server.url}/healthz"))["link"]["connected"]

        await eventually(link_connected, what="/healthz reports the link connected")
        assert (tmp_path / "hub" / "hub.sqlite").exists()
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get_json(f"{server.url}/healthz")
