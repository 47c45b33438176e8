"""The PostgreSQL pool pings a connection only when it sat idle, and survives a dead one either way."""

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import NullPool, create_engine, exc, text

from hub.store import engine as engines
from tests.services import postgres_url

pytestmark = pytest.mark.service


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def terminate(pid: int) -> None:
    admin = create_engine(postgres_url(), poolclass=NullPool)
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


@pytest.fixture
def engine():
    engine = engines.make_engine(postgres_url(), pool_size=1)
    yield engine
    engine.dispose()


def test_a_connection_back_from_idle_is_pinged_and_replaced_when_dead(engine, monkeypatch):
    monkeypatch.setattr(engines, "PING_IDLE_S", 0.0)  # everything counts as idle
    dead = backend_pid(engine)
    terminate(dead)
    assert backend_pid(engine) != dead  # the ping found it dead; the caller never saw an error


def test_a_connection_just_returned_is_used_without_a_ping(engine, monkeypatch):
    monkeypatch.setattr(engines, "PING_IDLE_S", 3600.0)
    dead = backend_pid(engine)
    terminate(dead)
    # no round trip before the statement: it meets the dead connection (a batch the agents resend)
    with pytest.raises(exc.OperationalError):
        backend_pid(engine)
    assert backend_pid(engine) != dead  # and the pool starts afresh at once


def test_a_pinged_connection_starts_its_transaction_clean(engine, monkeypatch):
    monkeypatch.setattr(engines, "PING_IDLE_S", 0.0)
    backend_pid(engine)
    with engine.connect() as conn:  # pinged on checkout; the ping's implicit transaction was ended
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE
