"""What the agent's request handlers share, reached through one web.AppKey."""

from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.config import AgentConfig
from agent.dispatch import Dispatcher
from agent.events import EventBus
from agent.link import AgentLink
from agent.menu import Menu, read_menu
from agent.store.database import Database


@dataclass
class AgentState:
    config: AgentConfig
    database: Database
    menu: Menu
    dispatcher: Dispatcher
    link: AgentLink
    events: EventBus = field(default_factory=EventBus)
    signing_key: Ed25519PrivateKey | None = None  # signs pay links (agent/identity.py)

    async def reload_menu(self) -> None:
        self.menu = await self.database.read(read_menu)
        self.events.publish("menu", {"etag": self.menu.public()[1]})


STATE = web.AppKey("state", AgentState)
