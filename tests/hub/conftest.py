import secrets

import pytest
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from hub.store import HubStore, migrate
from tests.hub.factories import TEST_AGENTS, enroll
from tests.services import postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def database_url(request, tmp_path):
    """An empty database: a SQLite file, or a private schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite"
        return
    base = postgres_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
async def store(database_url):
    migrate(database_url)
    s = HubStore.open(database_url, workers=10)
    enroll(s.engine, *TEST_AGENTS)
    yield s
    await s.close()
