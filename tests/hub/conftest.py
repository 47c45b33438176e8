import pytest

from hub.store import HubStore, migrate
from tests.hub.factories import TEST_AGENTS, enroll
from tests.services import postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def database_url(request, tmp_path):
    """An empty database: a SQLite file, or a private schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def store(database_url):
    migrate(database_url)
    s = HubStore.open(database_url, workers=10)
    enroll(s.engine, *TEST_AGENTS)
    yield s
    await s.close()
