"""The whole system on loopback for end-to-end tests: broker, hub, agent, printer emulator."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from agent.app import create_app as create_agent_app
from agent.state import STATE
from agent.visits import tables
from hub.app import create_app as create_hub_app
from hub.appkeys import STORE
from hub.config import HubConfig
from tableside.broker import EmbeddedBroker
from tableside.serve import Server
from tests.agent.helpers import make_config
from tests.hub.factories import enroll
from tests.services import free_port, mosquitto

OPERATOR_TOKEN = "e2e-operator-token-0123456789abcdef"


@dataclass
class System:
    agent: Server
    hub: Server
    http: aiohttp.ClientSession

    @property
    def agent_state(self):
        return self.agent.app[STATE]

    async def token(self, name: str = "Table 1") -> str:
        return {t.name: t.token for t in await self.agent_state.database.read(tables.all_tables)}[name]

    async def order(self, token: str, lines: list[dict], key: str | None = None) -> aiohttp.ClientResponse:
        return await self.http.post(f"{self.agent.url}/api/v1/tables/{token}/orders", json={"lines": lines},
                                    headers={"Idempotency-Key": key or str(uuid.uuid4())})

    async def hub_order(self, order_id: str) -> dict | None:
        async with self.http.get(f"{self.hub.url}/api/v1/orders/{order_id}",
                                 headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as resp:
            return await resp.json() if resp.status == 200 else None

    async def hub_orders_count(self) -> int:
        async with self.http.get(f"{self.hub.url}/api/v1/agents",
                                 headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as resp:
            agents = (await resp.json())["agents"]
        return sum(a["order_count"] for a in agents)


@contextlib.asynccontextmanager
async def broker(kind: str) -> AsyncIterator[tuple[int, bool]]:
    """(port, whether the broker has shared subscriptions)."""
    if kind == "mosquitto":
        with mosquitto() as b:
            yield b.port, True
        return
    embedded = EmbeddedBroker("127.0.0.1", free_port())
    await embedded.start()
    try:
        yield embedded.port, False
    finally:
        await embedded.stop()


@contextlib.asynccontextmanager
async def running_system(tmp_path, broker_port: int, shared: bool, printer_port: int) -> AsyncIterator[System]:
    hub_config = HubConfig(data_dir=tmp_path / "hub", operator_token=OPERATOR_TOKEN, http_port=0,
                           broker_port=broker_port, shared_subscription=shared)
    (tmp_path / "hub").mkdir(exist_ok=True)
    hub_app = create_hub_app(hub_config)
    hub = await Server(hub_app, "127.0.0.1", 0).start()
    agent_config = make_config(tmp_path, broker_port=broker_port, printers=[
        {"name": "kitchen", "stations": ["kitchen", "desserts", "bar"],
         "options": {"host": "127.0.0.1", "port": printer_port}}], hub={"url": hub.url})
    enroll(hub_app[STORE].engine, agent_config.agent.id)  # as pairing would
    agent = await Server(create_agent_app(agent_config), "127.0.0.1", 0).start()
    try:
        # unsafe: keep cookies for 127.0.0.1 too (staff sign-in)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            yield System(agent, hub, http)
    finally:
        await agent.stop()
        await hub.stop()
