"""The hub's database: tables, migrations runner and the async HubStore."""

from hub.store import enrollment_tables, payment_tables  # noqa: F401  (register their tables on the metadata)
from hub.store.migrate import migrate
from hub.store.store import HubStore

__all__ = ["HubStore", "migrate"]
