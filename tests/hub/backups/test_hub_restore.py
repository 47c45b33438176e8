"""The hub's disaster, on a real PostgreSQL: pg_dump a hub's schema mid-service, go on taking orders
and payments, lose the database, pg_restore the older dump into a fresh database, start the hub on
it, and let the agent's outbox resend: every order and payment once, the ledger balanced.

What an agent resends today is what its outbox holds unacked (docs/recovery.md): here the agent
resends all it sent since the dump, as its outbox would within its retention."""

import secrets
import time

import pytest
from sqlalchemy import NullPool, create_engine, func, select, text

from contract import topics
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.link.applying import Incoming
from hub.store.tables import orders
from tests.hub.backups import postgres_dump
from tests.hub.factories import encoded, order_placed, payment_taken
from tests.hub.payments.conftest import AGENT, create_restaurant, hub_config
from tests.hub.payments.helpers import assert_ledger_balanced, payments_of
from tests.services import postgres_url

pytestmark = pytest.mark.service


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
    postgres_dump.tool("pg_dump"), postgres_dump.tool("pg_restore")
    base = postgres_url()
    schema = f"hub_{secrets.token_hex(5)}"
    restored_db = f"restored_{secrets.token_hex(5)}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    live_url = postgres_dump.url_of(base, schema)
    try:
        hub = await aiohttp_client(create_app(hub_config(tmp_path, live_url)))
        await create_restaurant(hub)
        before = [(order_placed(number=1), 1), (order_placed(number=2), 2), (payment_taken(amount=1500), 3)]
        assert len(await _apply(hub, before)) == 3

        dump = tmp_path / "hub.dump"
        await postgres_dump.dump(base, schema, dump)
        after = [(order_placed(number=3), 4), (payment_taken(amount=2500), 5)]
        assert len(await _apply(hub, after)) == 2
        assert _count_orders(hub) == 3
        await hub.close()
        with admin.connect() as conn:  # the disaster: the live database is gone
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

        # the procedure of docs/recovery.md: a fresh database, pg_restore, the hub started on it
        started = time.monotonic()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{restored_db}"'))
        await postgres_dump.restore(base, restored_db, dump)
        restored_url = postgres_dump.url_of(base, schema, restored_db)
        hub = await aiohttp_client(create_app(hub_config(tmp_path / "again", restored_url)))
        assert _count_orders(hub) == 2 and len(await payments_of(hub)) == 1
        await assert_ledger_balanced(hub)
        print(f"hub restored from its dump and serving in {time.monotonic() - started:.1f}s")

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
