"""The hub's disaster, on a real PostgreSQL: pg_dump a hub's schema mid-service, go on taking orders
and payments, lose the database, pg_restore the older dump into a fresh database, start the hub on
it, and let the agent's outbox resend: every order and payment once, the ledger balanced.

What an agent resends today is what its outbox holds unacked (docs/recovery.md): here the agent
resends all it sent since the dump, as its outbox would within its retention."""

import asyncio
import secrets
import shutil
import subprocess

import pytest
from sqlalchemy import NullPool, create_engine, func, select, text
from sqlalchemy.engine import make_url

from contract import topics
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.link.applying import Incoming
from hub.store.tables import orders
from tests.hub.factories import encoded, order_placed, payment_taken
from tests.hub.payments.conftest import AGENT, create_restaurant, hub_config
from tests.hub.payments.helpers import assert_ledger_balanced, payments_of
from tests.services import missing, postgres_url

pytestmark = pytest.mark.service


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (postgresql-client)")
    return path


def _libpq(url: str) -> list[str]:
    """pg_dump's connection options from a SQLAlchemy URL (trust auth in the test database)."""
    parts = make_url(url)
    return ["--host", parts.host or "127.0.0.1", "--port", str(parts.port or 5432), "--username",
            parts.username or "postgres"]


def _count_orders(client) -> int:
    with client.app[STORE].engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(orders)).scalar_one()


async def _apply(client, messages: list[tuple[object, int]]) -> list:
    acks, waiting = await client.app[LINK].apply_many(
        [Incoming(topics.up(AGENT, data.TYPE), encoded(AGENT, data, seq=seq, id=f"msg-{seq}"), qos=1)
         for data, seq in messages])
    assert not waiting
    return acks


async def test_the_hub_restored_from_an_older_dump_ends_with_everything_once(aiohttp_client, tmp_path):
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    base = postgres_url()
    schema = f"hub_{secrets.token_hex(5)}"
    restored_db = f"restored_{secrets.token_hex(5)}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    live_url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    try:
        hub = await aiohttp_client(create_app(hub_config(tmp_path, live_url)))
        await create_restaurant(hub)
        before = [(order_placed(number=1), 1), (order_placed(number=2), 2), (payment_taken(amount=1500), 3)]
        assert len(await _apply(hub, before)) == 3

        dump = tmp_path / "hub.dump"
        await asyncio.to_thread(subprocess.run, [pg_dump, *_libpq(base), "--format=custom", f"--schema={schema}",
                                                 f"--file={dump}", make_url(base).database], check=True)
        after = [(order_placed(number=3), 4), (payment_taken(amount=2500), 5)]
        assert len(await _apply(hub, after)) == 2
        assert _count_orders(hub) == 3
        await hub.close()
        with admin.connect() as conn:  # the disaster: the live database is gone
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

        # the procedure of docs/recovery.md: a fresh database, pg_restore, the hub started on it
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{restored_db}"'))
        await asyncio.to_thread(subprocess.run, [pg_restore, *_libpq(base), "--no-owner", f"--dbname={restored_db}",
                                                 str(dump)], check=True)
        restored_url = make_url(base).set(database=restored_db).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        hub = await aiohttp_client(create_app(hub_config(tmp_path / "again", restored_url)))
        assert _count_orders(hub) == 2 and len(await payments_of(hub)) == 1
        await assert_ledger_balanced(hub)

        # the agent resends: what the restored hub has is a duplicate, the rest is applied once
        acks = await _apply(hub, before + after)
        assert len(acks) == 5
        assert _count_orders(hub) == 3
        paid = sorted(p["amount_minor"] for p in await payments_of(hub))
        assert paid == [1500, 2500]
        await assert_ledger_balanced(hub)
        await hub.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)'))
        admin.dispose()
