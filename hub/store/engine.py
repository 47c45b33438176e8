"""Engines for the hub database: SQLite (default) or PostgreSQL, each set up the way it needs."""

import time
from typing import Any

from sqlalchemy import Engine, NullPool, QueuePool, StaticPool, create_engine, event, exc
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_S = 30
# A pooled PostgreSQL connection idle this long is pinged before use. Not every checkout, as
# pool_pre_ping does: under load connections come back within milliseconds, and a ping per
# checkout was a round trip and a commit per store call (half the hub's commits at 2,000 agents).
PING_IDLE_S = 10.0
RECYCLE_S = 1800  # idle-connection reapers and server-side timeouts never see a connection older


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the link writes; FULL because an acked order must survive
    # a power cut; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def make_engine(database_url: str, *, pool_size: int = 5, pooled: bool = True) -> Engine:
    """An Engine with pool and pragmas fit for the URL's backend; pooled=False for one-offs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        if memory:  # one shared connection, or every thread would see its own empty database
            pool: dict[str, Any] = {"poolclass": StaticPool}
        elif pooled:
            pool = {"pool_size": pool_size, "max_overflow": _overflow("sqlite", pool_size)}
        else:
            pool = {"poolclass": NullPool}
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not pooled:
        return create_engine(url, poolclass=NullPool)
    # A hub outlives database restarts and idle-connection reapers: recycle, and ping what sat idle.
    # A restart under load costs the statement that meets a dead connection (SQLAlchemy then
    # drops every pooled connection at once): a batch the agents resend, or one HTTP 500.
    engine = create_engine(url, pool_size=pool_size, max_overflow=_overflow("postgresql", pool_size),
                           pool_recycle=RECYCLE_S)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
        return  # new, or back in the pool a moment ago
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # end the ping's implicit transaction: the caller starts clean
    except Exception as error:  # the pool discards this connection and checks out another
        raise exc.DisconnectionError(f"pooled connection is dead: {error}") from error


def _overflow(backend: str, pool_size: int) -> int:
    """Connections opened past pool_size when all are busy: PostgreSQL takes a burst, a SQLite
    file has one writer anyway."""
    return pool_size if backend == "postgresql" else 0


def connections_in_use(engine: Engine) -> int:
    """Connections checked out of the pool now (threads inside a query or transaction); for the
    metrics, read at scrape time without touching the database."""
    pool = engine.pool
    return pool.checkedout() if isinstance(pool, QueuePool) else 0


def connections_limit(engine: Engine) -> int:
    """The most the pool hands out at once (0: not pooled; a one-connection StaticPool says 1)."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return pool.size() + _overflow(engine.dialect.name, pool.size())
    return 1 if isinstance(pool, StaticPool) else 0
