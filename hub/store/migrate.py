"""Run the hub's Alembic migrations from code: no alembic.ini needed at run time."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from hub.store.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Arbitrary constant: serialises hub workers that start together against one PostgreSQL.
_PG_LOCK_KEY = 0x7AB1E5


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision`. Blocking: call it in a thread from async code."""
    cfg = alembic_config()
    engine = make_engine(database_url, pooled=False)
    try:
        # The URL goes through the connection, never through the ini parser ('%' in passwords).
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
