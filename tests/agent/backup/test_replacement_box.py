"""Destroying a box mid-service and bringing up a replacement from the hub's backups, on real
processes: a real Mosquitto, the hub, the agent, and `tableside agent setup --replace` run as the
installer runs it. The restored box keeps the printed QR tokens, pays a pay link issued before the
crash, sends a new order to the hub exactly once, and says which order the backup missed."""

import shutil
import time

import aiohttp
from sqlalchemy import func, select

from agent.backup import recovery_code
from agent.backup.service import BACKUPS
from agent.config import load_config
from agent.staff.accounts import create_account
from agent.state import STATE
from hub.app import create_app as create_hub_app
from hub.appkeys import STORE
from hub.config import HubConfig
from hub.store.tables import inbox, orders
from tableside.serve import Server
from tests.agent.backup.boxes import (
    AUTH,
    OPERATOR_TOKEN,
    box_config,
    code_for,
    order,
    paired_box,
    restaurant,
    setup_command,
    start_box,
    tokens,
    unused_port,
)
from tests.services import mosquitto
from tests.waiting import eventually


async def _hub_has(hub: Server, order_id: str) -> int:
    def count() -> int:
        with hub.app[STORE].engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(orders).where(orders.c.id == order_id)).scalar()
    return count()


async def _sent(backups, name: str) -> None:
    """Uploaded in the background (or now, whichever comes first)."""
    await backups.upload_newest()
    await eventually(lambda: backups.status.last_uploaded_name == name, within=20, what=f"{name} at the hub")


async def test_a_dead_box_is_replaced_from_the_hubs_backup(tmp_path, emulator):
    with mosquitto() as broker:
        hub = await Server(create_hub_app(HubConfig(
            data_dir=tmp_path / "hub", operator_token=OPERATOR_TOKEN, broker_port=broker.port,
            shared_subscription=True)), "127.0.0.1", 0).start()
        try:
            async with aiohttp.ClientSession() as http:
                await _scenario(tmp_path, hub, broker.port, emulator.port, http)
        finally:
            await hub.stop()


async def _scenario(tmp_path, hub, broker_port, printer_port, http):
    rid = await restaurant(http, hub.url)
    old_dir = tmp_path / "old-box"
    pairing = await paired_box(old_dir, hub.url, await code_for(http, hub.url, rid))
    agent_id = pairing.agent_id
    box = await start_box(box_config(old_dir, agent_id, hub.url, broker_port, printer_port))
    try:
        state = box.app[STATE]
        table_tokens = await tokens(box)
        token = table_tokens["Table 1"]
        first = await order(http, box, token)
        await eventually(lambda: _hub_has(hub, first["id"]), within=20, what="first order at the hub")
        async with http.post(f"{box.url}/api/v1/tables/{token}/bill/shares",
                             json={"kind": "amount", "amount_minor": 500, "tip_minor": 0}) as resp:
            assert resp.status == 201, await resp.text()
            pay_url = (await resp.json())["pay_url"]
        await state.database.write(create_account, "Ana", "manager", "2468")
        async with http.get(f"{box.url}/api/v1/menu") as resp:
            menu_before = await resp.json()
        backups = box.app[BACKUPS]
        kept = await backups.backup_now()  # b1: the first order and the share
        await _sent(backups, kept.name)
        second = await order(http, box, token, "creme-brulee")  # after b1: only the hub will know it
        await eventually(lambda: _hub_has(hub, second["id"]), within=20, what="second order at the hub")
        newest = await backups.backup_now()  # b2: will be damaged at the hub
        await _sent(backups, newest.name)
        code = recovery_code.load(old_dir)
        assert code is not None
        seq_before = await state.database.read(lambda db: db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0])
        shutil.rmtree(old_dir)  # mid-service, the SD card dies: disk, keys, everything
    finally:
        await box.stop()
    assert not old_dir.exists()

    # the newest backup was damaged in storage: one byte flipped
    held = tmp_path / "hub" / "backups" / agent_id / newest.name
    damaged = bytearray(held.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    held.write_bytes(bytes(damaged))

    new_dir = tmp_path / "new-box"
    config_path = tmp_path / "new-agent.toml"
    config_path.write_text(f'[agent]\ndata_dir = "{new_dir}"\n')
    replacement = await code_for(http, hub.url, rid, replaces=True)

    # a mistyped recovery code: refused before the replacement code is used, nothing written
    wrong = recovery_code.new_code()
    status, out, err = await setup_command(config_path, "--replace", "--hub", hub.url, "--code", replacement,
                                           "--recovery-code", wrong)
    assert status == 1 and "recovery code is not the one" in err and "still unused" in err, err
    assert not new_dir.exists() or not any(new_dir.iterdir())

    started = time.monotonic()
    status, out, err = await setup_command(config_path, "--replace", "--hub", hub.url, "--code", replacement,
                                           "--recovery-code", code)
    assert status == 0, err
    assert f"skipped     {newest.name}" in out and "authentication tag" in out
    assert f"Restored {kept.name}" in out and agent_id in out
    assert "1 order(s) reached the hub after this backup" in out and f"#{second['number']} Table 1" in out

    box = await start_box(box_config(new_dir, agent_id, hub.url, broker_port, printer_port))
    try:
        serving_after = time.monotonic() - started
        print(f"replacement box serving diners {serving_after:.1f}s after `setup --replace` started")
        assert serving_after < 300
        # the printed QR cards keep working: same tokens, the table page answers
        assert await tokens(box) == table_tokens
        # the menu, staff accounts and the old box's configuration (its printer) came back too
        async with http.get(f"{box.url}/api/v1/menu") as resp:
            assert await resp.json() == menu_before
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as staff:
            async with staff.post(f"{box.url}/api/v1/staff/session", json={"name": "Ana", "secret": "2468"}) as resp:
                assert resp.status == 200, await resp.text()
        restored_config = load_config(config_path, {})
        assert [p.name for p in restored_config.printers] == ["kitchen"]
        assert restored_config.data_dir == new_dir and restored_config.agent.id == agent_id
        async with http.get(f"{box.url}/t/{token}") as page:
            assert page.status == 200
        # the link continues above every seq the hub has seen from the dead box
        third = await order(http, box, token, "onion-soup", 2)
        await eventually(lambda: _hub_has(hub, third["id"]), within=30, what="new order at the hub")
        state = box.app[STATE]
        third_seq = await state.database.read(lambda db: db.execute(
            "SELECT seq FROM outbox WHERE type = 'order.placed' ORDER BY seq DESC LIMIT 1").fetchone()[0])
        assert third_seq > seq_before
        # the pay link handed out before the crash still pays, and the payment reaches the new box
        signed = pay_url.rsplit("/pay/", 1)[1]
        async with http.get(pay_url) as page:
            assert page.status == 200, await page.text()
        async with http.post(f"{hub.url}/pay/demo", data={"token": signed, "action": "pay"}) as done:
            assert done.status == 200 and "Payment received" in await done.text()

        async def paid() -> bool:
            async with http.get(f"{box.url}/api/v1/tables/{token}/bill") as resp:
                return (await resp.json())["bill"]["paid_minor"] == 500
        await eventually(paid, within=30, what="the old pay link's payment at the new box")
        # every order once at the hub, each message id once
        with hub.app[STORE].engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(orders)).scalar() == 3
            ids = conn.execute(select(inbox.c.message_id).where(inbox.c.agent_id == agent_id)).scalars().all()
            assert len(ids) == len(set(ids))
        async with http.get(f"{hub.url}/api/v1/agents/{agent_id}/backups", headers=AUTH) as resp:
            assert resp.status == 200 and len((await resp.json())["backups"]) == 2
    finally:
        await box.stop()


async def test_a_box_restored_offline_pairs_later_and_keeps_what_it_served(tmp_path, emulator):
    """The restaurant was offline: the new box came back from the USB stick, took an order, and is
    paired once the uplink is back. It keeps that order, the hub gets it once, and the seqs it used
    offline (which the dead box had used too, after its backup) move above what the hub has seen."""
    with mosquitto() as broker:
        hub = await Server(create_hub_app(HubConfig(
            data_dir=tmp_path / "hub", operator_token=OPERATOR_TOKEN, broker_port=broker.port)),
            "127.0.0.1", 0).start()
        try:
            async with aiohttp.ClientSession() as http:
                rid = await restaurant(http, hub.url)
                old_dir = tmp_path / "old-box"
                agent_id = (await paired_box(old_dir, hub.url, await code_for(http, hub.url, rid))).agent_id
                box = await start_box(box_config(old_dir, agent_id, hub.url, broker.port))
                try:
                    token = (await tokens(box))["Table 1"]
                    kept = await box.app[BACKUPS].backup_now()
                    after_backup = await order(http, box, token)
                    await eventually(lambda: _hub_has(hub, after_backup["id"]), within=20, what="order at the hub")
                finally:
                    await box.stop()
                usb = tmp_path / "usb.tsb"
                shutil.copy(kept.path, usb)
                code = recovery_code.load(old_dir)
                shutil.rmtree(old_dir)

                new_dir = tmp_path / "new-box"
                config_path = tmp_path / "new-agent.toml"
                config_path.write_text(f'[agent]\ndata_dir = "{new_dir}"\n')
                status, out, err = await setup_command(config_path, "--from-file", str(usb), "--recovery-code", code)
                assert status == 0 and "no hub" in out, err
                offline = await start_box(box_config(new_dir, agent_id, hub.url, broker_port=unused_port()))
                try:
                    served = await order(http, offline, token, "creme-brulee")  # the uplink is still down
                finally:
                    await offline.stop()

                replacement = await code_for(http, hub.url, rid, replaces=True)
                status, out, err = await setup_command(config_path, "--replace", "--keep-data", "--hub", hub.url,
                                                       "--code", replacement, "--recovery-code", code)
                assert status == 0, err
                assert f"#{after_backup['number']} Table 1" in out  # the hub has it, this box does not
                box = await start_box(box_config(new_dir, agent_id, hub.url, broker.port))
                try:
                    await eventually(lambda: _hub_has(hub, served["id"]), within=30, what="offline order at the hub")

                    def seqs() -> list[int]:
                        with hub.app[STORE].engine.connect() as conn:
                            return conn.execute(select(inbox.c.seq).where(inbox.c.agent_id == agent_id,
                                                                          inbox.c.type == "order.placed")
                                                .order_by(inbox.c.received_at)).scalars().all()
                    order_seqs = seqs()
                    assert len(order_seqs) == 2 and order_seqs[1] > order_seqs[0]
                    assert await _hub_has(hub, served["id"]) == 1
                finally:
                    await box.stop()
        finally:
            await hub.stop()
