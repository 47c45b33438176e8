"""The hub's database: tables, migrations runner and the async HubStore."""

from hub.store.migrate import migrate
from hub.store.store import HubStore

__all__ = ["HubStore", "migrate"]
