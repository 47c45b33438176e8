"""The hub's database: tables, migrations runner and the async HubStore."""

from hub.store import payment_tables  # noqa: F401  (registers the payment tables on the metadata)
from hub.store.migrate import migrate
from hub.store.store import HubStore

__all__ = ["HubStore", "migrate"]
