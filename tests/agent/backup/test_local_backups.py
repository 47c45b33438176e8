"""Backups on the box itself: taken while diners order, after a settled bill, shown to staff and
Prometheus; the database deleted and restored from a local file (no hub) with the same tokens;
a damaged backup and a wrong recovery code refused by `verify` and by restore, changing nothing."""

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta

from agent.app import create_app
from agent.backup import archive, recovery_code
from agent.backup.service import BACKUPS
from agent.devices.held_jobs import list_held
from agent.state import STATE
from tests.agent.backup.boxes import backup_command, setup_command
from tests.agent.helpers import make_config, place, session_id_of, table_tokens
from tests.agent.staff.helpers import signed_in, with_staff_routes
from tests.services import free_port
from tests.waiting import eventually


async def test_backups_while_serving_a_settled_bill_and_what_staff_see(aiohttp_client, tmp_path):
    client = await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))
    backups = client.app[BACKUPS]
    token = (await table_tokens(client))["Table 1"]
    # orders while a backup is taken: none waits for it, every 201 is in the next one
    orders = [place(client, token, [{"item_id": "onion-soup", "qty": 1}]) for _ in range(20)]
    made, *answers = await asyncio.gather(backups.backup_now(), *orders)
    assert all(a.status == 201 for a in answers)
    assert made.path.parent == tmp_path / "agent" / "backups" and made.path.stat().st_mode & 0o777 == 0o600

    csrf = await signed_in(client, "manager")
    devices = await (await client.get("/api/v1/staff/devices")).json()
    assert devices["backup"]["last_good_name"] == made.name and not devices["backup"]["stale"]
    assert not any("Backups" in a for a in devices["alerts"])
    metrics = await (await client.get("/metrics")).text()
    values = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))
    assert abs(float(values["tableside_agent_backup_last_good_timestamp_seconds"]) - made.created_at.timestamp()) < 1

    # a settled bill asks for a backup of its own (bursts of them share one, here at most 1 s apart)
    backups.settled_gap_s = 1.0
    session = await session_id_of(client, token)
    paid = await client.post(f"/api/v1/staff/bills/{session}/payments", headers={"X-CSRF-Token": csrf},
                             json={"method": "cash"})
    assert paid.status == 201, await paid.text()
    after = await eventually(lambda: backups.status.last_good_name != made.name and backups.status.last_good_name,
                             within=20, what="a backup after the settled bill")
    assert archive.time_of(after) > made.created_at

    # an hour without a good backup raises the red banner
    backups.status.last_good_at = datetime.now(UTC) - timedelta(minutes=61)
    devices = await (await client.get("/api/v1/staff/devices")).json()
    assert devices["backup"]["stale"] and any(a.startswith("Backups: no good backup") for a in devices["alerts"])


async def test_a_deleted_database_comes_back_from_a_local_file(aiohttp_client, tmp_path):
    # the kitchen printer does not answer: its ticket is still queued when the backups are taken
    printers = [{"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": free_port()}}]
    config = make_config(tmp_path, printers=printers)
    data_dir = config.data_dir
    config_path = tmp_path / "agent.toml"
    config_path.write_text(f'[agent]\nid = "test-agent"\ndata_dir = "{data_dir}"\n')
    client = await aiohttp_client(create_app(config))
    tokens = await table_tokens(client)
    placed = await place(client, tokens["Table 1"], [{"item_id": "onion-soup", "qty": 3}])
    order_id = (await placed.json())["order"]["id"]
    older = await client.app[BACKUPS].backup_now()
    newest = await client.app[BACKUPS].backup_now()
    await client.close()
    code = recovery_code.load(data_dir)
    usb = tmp_path / "usb"
    shutil.copytree(data_dir / "backups", usb)
    shutil.rmtree(data_dir)  # the SD card died

    # the newest file was damaged: verify names it, a restore from it refuses and writes nothing
    damaged = bytearray((usb / newest.name).read_bytes())
    damaged[-5] ^= 0xFF
    (usb / newest.name).write_bytes(bytes(damaged))
    status, out, err = await backup_command(config_path, "verify", str(usb / newest.name), "--recovery-code", code)
    assert status == 1 and "FAILED" in out and "authentication tag" in out
    status, out, err = await backup_command(config_path, "verify", str(usb / older.name), "--recovery-code", code)
    assert status == 0 and "OK" in out and "1 orders" in out
    status, out, err = await setup_command(config_path, "--from-file", str(usb / newest.name), "--recovery-code", code)
    assert status == 1 and "damaged or altered" in err
    assert not data_dir.exists() or not any(data_dir.iterdir())
    # a wrong recovery code: said clearly, nothing written
    status, out, err = await setup_command(config_path, "--from-file", str(usb / older.name),
                                           "--recovery-code", recovery_code.new_code())
    assert status == 1 and "recovery code is not the one" in err
    assert not data_dir.exists() or not any(data_dir.iterdir())

    # the USB stick as a whole: the newest good backup is taken, the damaged one named
    started = time.monotonic()
    status, out, err = await setup_command(config_path, "--from-file", str(usb), "--recovery-code", code)
    assert status == 0, err
    assert f"Restored {older.name}" in out and f"skipped     {newest.name}" in out and "authentication tag" in out
    assert "no hub" in out
    restored = await aiohttp_client(create_app(make_config(tmp_path, printers=printers)))
    assert await table_tokens(restored) == tokens
    # that ticket may have printed on the old box after the backup: held for staff, never printed twice
    held = await restored.app[STATE].database.read(list_held)
    assert [(j["device"], j["order_id"]) for j in held] == [("kitchen", order_id)]
    assert "may have printed on the old box" in held[0]["reason"]
    answer = await restored.get(f"/api/v1/tables/{tokens['Table 1']}/orders/{order_id}")
    assert answer.status == 200 and (await answer.json())["order"]["lines"][0]["qty"] == 3
    signing_key = restored.app[STATE].signing_key
    assert (data_dir / "agent_key.pem").stat().st_mode & 0o777 == 0o600 and signing_key is not None
    # the restored box serves a new order at once
    assert (await place(restored, tokens["Table 2"], [{"item_id": "onion-soup", "qty": 1}])).status == 201
    print(f"box restored from the USB stick and serving {time.monotonic() - started:.1f}s after `setup --from-file`")
