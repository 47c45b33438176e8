"""Alembic environment. hub.store.migrate() hands over an open connection in
config.attributes["connection"]; a plain `alembic -x url=...` run builds its own engine."""

from alembic import context

from hub.store.engine import make_engine
from hub.store.tables import metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, pooled=False)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
