"""What the agent's request handlers share, reached through one web.AppKey."""

import asyncio
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.config import AgentConfig
from agent.devices.dispatch import Dispatcher
from agent.events import EventBus
from agent.link.hub_pushes import stored_settings, with_settings
from agent.link.pump import AgentLink
from agent.link.renewal import Renewal
from agent.menu.catalog import Menu, read_menu
from agent.staff.hashing import SecretHasher
from agent.store.database import Database
from agent.visits.tables import Table, all_tables
from contract.messages import MenuPublished, SettingsPushed


@dataclass
class AgentState:
    config: AgentConfig
    database: Database
    menu: Menu
    dispatcher: Dispatcher
    link: AgentLink
    events: EventBus = field(default_factory=EventBus)
    signing_key: Ed25519PrivateKey | None = None  # signs pay links (agent/link/identity.py)
    tables: dict[str, Table] = field(default_factory=dict)  # by token: every diner request needs one
    bill_news: dict[str, asyncio.Task] = field(default_factory=dict)  # bills about to be published (web/live.py)
    hasher: SecretHasher = field(default_factory=SecretHasher)  # staff PINs and passwords, on its own pool
    renewal: Renewal | None = None  # the TLS certificate's renewal, on a box paired for TLS

    async def reload_menu(self) -> None:
        self.menu = await self.database.read(read_menu)
        self.events.publish("menu", {"etag": self.menu.public()[1]})

    async def reload_tables(self) -> None:
        """After every change of the tables (only staff's tables API makes them while running)."""
        self.tables = {t.token: t for t in await self.database.read(all_tables)}

    async def reload_settings(self) -> None:
        """Lay the settings the hub pushed over the configuration (agent/hub_pushes.py)."""
        self.config = with_settings(self.config, await self.database.read(stored_settings))

    async def after_hub_message(self, message_type: str) -> None:
        """A hub message was applied: let the parts that keep their own copy catch up."""
        self.dispatcher.wake()  # a payment may have queued a POS job
        if message_type == MenuPublished.TYPE:
            await self.reload_menu()
        elif message_type == SettingsPushed.TYPE:
            await self.reload_settings()


STATE = web.AppKey("state", AgentState)
