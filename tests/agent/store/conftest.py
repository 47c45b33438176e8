import pytest

from agent.store.database import Database
from agent.store.migrations import migrate


@pytest.fixture
def database(tmp_path):
    """A migrated agent database at tmp_path/a.sqlite, its writer running."""
    db = Database(tmp_path / "a.sqlite")
    db.start()
    migrate(db)
    yield db
    db.close()
