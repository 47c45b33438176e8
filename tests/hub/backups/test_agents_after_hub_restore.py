"""The hub's database restored from an older dump, on real processes (PostgreSQL, Mosquitto, a
paired agent): the agent learns at its next backup upload that the hub holds fewer of its messages
than it saw acked, sends them again from its outbox, and the hub ends with every order once."""

import secrets
import time

import aiohttp
import pytest
from sqlalchemy import NullPool, create_engine, func, select, text

from agent.backup.service import BACKUPS
from agent.state import STATE
from hub.app import create_app as create_hub_app
from hub.appkeys import STORE
from hub.config import HubConfig
from hub.store.tables import orders
from tableside.serve import Server
from tests.agent.backup.boxes import (
    OPERATOR_TOKEN,
    box_config,
    code_for,
    order,
    paired_box,
    restaurant,
    start_box,
    tokens,
)
from tests.hub.backups import postgres_dump
from tests.services import free_port, mosquitto, postgres_url
from tests.waiting import eventually

pytestmark = pytest.mark.service


def _orders_at(hub: Server) -> set[str]:
    with hub.app[STORE].engine.connect() as conn:
        return set(conn.execute(select(orders.c.id)).scalars())


async def _start_hub(tmp_path, url: str, broker_port: int, port: int) -> Server:
    # the same data_dir: the CA and the backups are files the operator keeps beside the database
    return await Server(create_hub_app(HubConfig(data_dir=tmp_path / "hub", operator_token=OPERATOR_TOKEN,
                                                 database_url=url, broker_port=broker_port)), "127.0.0.1",
                        port).start()


async def test_agents_send_again_what_a_restored_hub_lost(tmp_path):
    postgres_dump.tool("pg_dump"), postgres_dump.tool("pg_restore")
    base = postgres_url()
    schema, restored_db = f"hub_{secrets.token_hex(5)}", f"restored_{secrets.token_hex(5)}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    box = hub = None
    try:
        with mosquitto() as broker:
            hub_port = free_port()  # the restored hub answers at the same address
            hub = await _start_hub(tmp_path, postgres_dump.url_of(base, schema), broker.port, hub_port)
            async with aiohttp.ClientSession() as http:
                rid = await restaurant(http, hub.url)
                data_dir = tmp_path / "box"
                agent_id = (await paired_box(data_dir, hub.url, await code_for(http, hub.url, rid))).agent_id
                box = await start_box(box_config(data_dir, agent_id, hub.url, broker.port))
                token = (await tokens(box))["Table 1"]
                early = [(await order(http, box, token))["id"] for _ in range(2)]
                await eventually(lambda: set(early) <= _orders_at(hub), within=20, what="early orders at the hub")
                await postgres_dump.dump(base, schema, tmp_path / "hub.dump")
                late = [(await order(http, box, token, "creme-brulee"))["id"] for _ in range(2)]
                await eventually(lambda: set(late) <= _orders_at(hub), within=20, what="late orders at the hub")
                state = box.app[STATE]

                async def all_acked() -> bool:
                    return await state.database.read(lambda db: db.execute(
                        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0)
                await eventually(all_acked, within=20, what="the agent's outbox acked")
                # a hub that lost nothing: an upload changes nothing in the outbox
                backups = box.app[BACKUPS]
                await backups.backup_now()
                await backups.upload_newest()
                assert await all_acked()

                # the disaster: the hub's database is lost; the operator restores last night's dump
                started = time.monotonic()
                await hub.stop()
                hub = None
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    conn.execute(text(f'CREATE DATABASE "{restored_db}"'))
                await postgres_dump.restore(base, restored_db, tmp_path / "hub.dump")
                hub = await _start_hub(tmp_path, postgres_dump.url_of(base, schema, restored_db), broker.port, hub_port)
                assert _orders_at(hub) == set(early)

                # the agent's next backup upload tells it what the hub holds; it sends the rest again
                await backups.backup_now()
                await backups.upload_newest()
                await eventually(lambda: set(early + late) == _orders_at(hub), within=30,
                                 what="the lost orders back at the hub")
                print(f"hub restored and every lost order back {time.monotonic() - started:.1f}s after the loss")
                with hub.app[STORE].engine.connect() as conn:
                    assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 4
    finally:
        if box is not None:
            await box.stop()
        if hub is not None:
            await hub.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)'))
        admin.dispose()
