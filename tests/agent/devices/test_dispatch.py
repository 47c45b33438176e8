"""Device queues: tickets reach the printer, one device down never holds up another, and a
job interrupted mid-print is held for staff instead of printed twice."""

import asyncio
import contextlib

from agent.app import create_app
from agent.devices.device import Device
from agent.devices.dispatch import recover_interrupted
from agent.state import STATE
from agent.store.database import Database
from agent.store.migrations import migrate
from tests.agent.helpers import count, make_config, place, table_tokens
from tests.services import free_port
from tests.waiting import eventually

STEAK = {"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-rare"], "note": "cut in half"}



async def test_ticket_reaches_the_printer_with_the_lines(agent_client, emulator):
    token = (await table_tokens(agent_client))["Table 2"]
    order = (await (await place(agent_client, token, [STEAK])).json())["order"]
    [ticket] = await emulator.wait_for_tickets(1, timeout=10)
    assert "Table 2" in ticket and f"#{order['number']}" in ticket
    assert "2 x Steak frites" in ticket and "Rare" in ticket and "cut in half" in ticket
    await eventually(lambda: _done(agent_client))


async def _done(client):
    return await count(client, "SELECT COUNT(*) FROM device_jobs WHERE status = 'done'") == 2


async def test_one_printer_down_does_not_hold_up_another(aiohttp_client, tmp_path, emulator):
    dead_port = free_port()
    config = make_config(tmp_path, pos=False, printers=[
        {"name": "bar", "stations": ["bar"], "options": {"host": "127.0.0.1", "port": dead_port, "timeout": 1}},
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": emulator.port}},
    ])
    client = await aiohttp_client(create_app(config))
    token = (await table_tokens(client))["Table 1"]
    menu = await (await client.get("/api/v1/menu")).json()
    drink = next(i["id"] for c in menu["categories"] for i in c["items"]
                 if not i["modifier_groups"] and i["course"] == "drink" and i["available"])
    for _ in range(3):  # the bar's tickets pile up first
        assert (await place(client, token, [{"item_id": drink}])).status == 201
    assert (await place(client, token, [STEAK])).status == 201
    [ticket] = await emulator.wait_for_tickets(1, timeout=10)
    assert "Steak frites" in ticket
    state = client.app[STATE]
    await eventually(lambda: _bar_failed(client))
    # its attempt is counted as it starts; what went wrong once the try is over
    await eventually(lambda: state.dispatcher.health["bar"].last_error, what="the bar's failure recorded")
    assert "PrinterOffline" in state.dispatcher.health["bar"].last_error
    health = await (await client.get("/healthz")).json()
    assert health["devices"]["bar"]["state"] == "failing" and health["devices"]["kitchen"]["state"] == "ok"
    assert await count(client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'bar' AND status = 'done'") == 0


async def _bar_failed(client):
    return await count(client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'bar' AND attempts > 0") > 0


async def test_interrupted_print_is_held_but_pos_job_retried(tmp_path):
    database = Database(tmp_path / "x.sqlite")
    database.start()
    try:
        migrate(database)

        def seed(db):
            for job_id, device in (("j1", "kitchen"), ("j2", "pos")):
                db.execute("INSERT INTO device_jobs (id, device, kind, payload, status, created_at) "
                           "VALUES (?, ?, 'k', '{}', 'sending', 'now')", [job_id, device])

        await database.write(seed)
        assert await database.write(recover_interrupted, ["pos"]) == 1
        rows = dict(await database.read(lambda db: db.execute("SELECT id, status FROM device_jobs").fetchall()))
        assert rows == {"j1": "held", "j2": "pending"}
    finally:
        database.close()


async def test_pos_gets_each_order_once(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    await place(agent_client, token, [STEAK], key="pos-once-key")
    await place(agent_client, token, [STEAK], key="pos-once-key")
    await eventually(lambda: _done(agent_client))
    pos = agent_client.app[STATE].dispatcher.devices["pos"].pos
    assert len(pos.checks) == 1 and pos.checks[0]["total_minor"] > 0


async def test_a_backlog_older_than_hold_after_waits_for_staff(aiohttp_client, tmp_path, emulator):
    """The printer was off overnight: in the morning its old tickets are held, not printed."""
    dead_port = free_port()
    config = make_config(tmp_path, dispatch={"hold_after": 1.0}, printers=[
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": dead_port, "timeout": 1}}])
    client = await aiohttp_client(create_app(config))
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [STEAK])).status == 201
    held = "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status = 'held'"
    await eventually(lambda: _count_is(client, held, 1), within=15, what="old ticket held")
    # the POS dedupes, so its job is never held for age
    assert await count(client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'pos' AND status = 'held'") == 0
    reason = await client.app[STATE].database.read(
        lambda db: db.execute("SELECT last_error FROM device_jobs WHERE status = 'held'").fetchone()[0])
    assert "confirm to print" in reason
    assert emulator.tickets == []


async def _count_is(client, sql, expected):
    return await count(client, sql) == expected


async def test_fallback_printer_takes_the_tickets_of_one_that_is_out(aiohttp_client, tmp_path, emulator):
    config = make_config(tmp_path, pos=False, dispatch={"fallback_after": 2}, printers=[
        {"name": "bar", "stations": ["bar"], "fallback": "kitchen",
         "options": {"host": "127.0.0.1", "port": free_port(), "timeout": 1}},
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": emulator.port}},
    ])
    client = await aiohttp_client(create_app(config))
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "kronenbourg", "qty": 2}])).status == 201
    [ticket] = await emulator.wait_for_tickets(1, timeout=20)
    assert "for BAR" in ticket and "2 x Kronenbourg" in ticket
    done = "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status = 'done'"
    await eventually(lambda: _count_is(client, done, 1), what="redirected job done")


async def test_a_ticket_cut_off_mid_print_is_held_not_printed_again(agent_client, emulator):
    emulator.fault = "drop_mid_ticket"
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [STEAK])).status == 201
    held = "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status = 'held'"
    await eventually(lambda: _count_is(agent_client, held, 1), within=15, what="cut-off ticket held")
    emulator.fault = None
    # the queue is oldest first: were the cut-off ticket to be sent again, it would print before this one
    assert (await place(agent_client, (await table_tokens(agent_client))["Table 2"], [STEAK])).status == 201
    [ticket] = await emulator.wait_for_tickets(1)
    assert "Table 2" in ticket
    await eventually(lambda: _count_is(agent_client, "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' "
                                       "AND status = 'done'", 1), what="the next ticket done")
    assert len(emulator.tickets) == 1
    assert await count(agent_client, "SELECT SUM(attempts) FROM device_jobs WHERE device = 'kitchen'") == 2


async def test_printer_status_is_polled_and_shown(aiohttp_client, tmp_path, emulator):
    emulator.fault = "paper_out"
    config = make_config(tmp_path, pos=False, dispatch={"status_interval": 0.2}, printers=[
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": emulator.port}}])
    client = await aiohttp_client(create_app(config))

    async def kitchen_status():
        return (await (await client.get("/healthz")).json())["devices"]["kitchen"]["status"]

    await eventually(lambda: _equals(kitchen_status(), "paper_out"), what="paper out shown")
    emulator.fault = None
    await eventually(lambda: _equals(kitchen_status(), "online"), what="back online")


async def _equals(awaitable, expected):
    return await awaitable == expected


class _Misbehaving(Device):
    """A driver that hangs, raises nonsense, or works, as told."""

    def __init__(self, name, behaviour, retry_safe=False):
        super().__init__(name)
        self.behaviour, self.retry_safe, self.delivered = behaviour, retry_safe, []

    async def deliver(self, kind, payload):
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        if self.behaviour == "garbage":
            raise ZeroDivisionError("driver bug")
        self.delivered.append(payload["n"])


async def test_hanging_or_broken_drivers_do_not_stop_the_others(tmp_path):
    from agent.config import DispatchSection
    from agent.devices.dispatch import Dispatcher

    database = Database(tmp_path / "d.sqlite")
    database.start()
    migrate(database)

    def seed(db):
        for device in ("hangs", "hangs-pos", "broken", "fine"):
            for n in range(3):
                db.execute("INSERT INTO device_jobs (id, device, kind, payload, created_at) VALUES (?, ?, 'k', ?, ?)",
                           [f"{device}-{n}", device, f'{{"n": {n}}}', f"2999-01-01T00:00:0{n}+00:00"])

    await database.write(seed)
    devices = {"hangs": _Misbehaving("hangs", "hang"), "hangs-pos": _Misbehaving("hangs-pos", "hang", retry_safe=True),
               "broken": _Misbehaving("broken", "garbage"), "fine": _Misbehaving("fine", "ok")}
    dispatcher = Dispatcher(database, devices, DispatchSection(deliver_timeout=0.3))
    task = asyncio.create_task(dispatcher.run())
    try:
        await eventually(lambda: devices["fine"].delivered == [0, 1, 2], what="the healthy device's jobs")

        def status(db, job):
            return db.execute("SELECT status FROM device_jobs WHERE id = ?", [job]).fetchone()[0]

        # a printer that hung may have printed: held; a POS that hung is retried (it dedupes)
        await eventually(lambda: _is(database.read(status, "hangs-0"), "held"), what="hung printer job held")
        assert await database.read(status, "hangs-pos-0") in ("pending", "sending")
        assert await database.read(status, "broken-0") in ("pending", "sending")
        assert "ZeroDivisionError" in dispatcher.health["broken"].last_error
        assert "did not finish" in dispatcher.health["hangs"].last_error
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        database.close()


async def _is(awaitable, expected):
    return await awaitable == expected


async def test_a_worker_woken_just_as_the_agent_stops_still_stops(tmp_path):
    """On Python 3.11 asyncio.wait_for swallows a cancel that comes a step after the wait ended;
    a worker waiting that way outlived the agent's shutdown (a 120 s hang in the suite)."""
    from agent.devices.dispatch import Dispatcher

    class Idle(Device):
        async def deliver(self, kind, payload):
            return None

    database = Database(tmp_path / "agent.sqlite")
    database.start()
    try:
        await asyncio.to_thread(migrate, database)
        for steps in range(4):  # the cancel lands 0..3 loop steps after the wake
            dispatcher = Dispatcher(database, {"kitchen": Idle("kitchen")})
            running = asyncio.create_task(dispatcher.run())
            await asyncio.sleep(0.2)  # the worker waits for work
            dispatcher.wake()
            for _ in range(steps):
                await asyncio.sleep(0)
            running.cancel()
            done, _ = await asyncio.wait([running], timeout=2)
            assert done, f"the dispatcher did not stop when cancelled {steps} steps after a wake"
    finally:
        await asyncio.to_thread(database.close)


class _Recording(Device):
    """A POS that takes jobs in order and refuses the ones named in `refuse` once."""

    retry_safe = True

    def __init__(self, name, refuse=()):
        super().__init__(name)
        self.refuse, self.delivered = set(refuse), []

    async def deliver(self, kind, payload):
        if payload["n"] in self.refuse:
            self.refuse.discard(payload["n"])
            raise RuntimeError("not now")
        self.delivered.append(payload["n"])
        return f"check-{payload['n']}"


async def test_a_rush_of_jobs_goes_out_in_batches_in_order_and_a_failure_puts_the_rest_back(tmp_path):
    """Under a rush a worker marks the waiting jobs sending together, delivers them in order and
    marks those delivered done together: the kitchen keeps up with the orders. A job that fails sends
    the untried rest of its batch back to the queue, their attempt not counted."""
    from agent.config import DispatchSection
    from agent.devices import dispatch

    database = Database(tmp_path / "r.sqlite")
    database.start()
    migrate(database)
    jobs = 2 * dispatch.BATCH + 5

    def seed(db):
        for n in range(jobs):
            db.execute("INSERT INTO device_jobs (id, device, kind, payload, created_at) VALUES (?, 'pos', 'pos_order', ?, ?)",
                       [f"job-{n:03d}", f'{{"n": {n}}}', f"2999-01-01T00:00:00.{n:03d}+00:00"])

    await database.write(seed)
    device = _Recording("pos", refuse={7})
    dispatcher = dispatch.Dispatcher(database, {"pos": device}, DispatchSection())
    writes = database.writes
    task = asyncio.create_task(dispatcher.run())
    try:
        await eventually(lambda: len(device.delivered) == jobs, what="every job delivered")
        assert device.delivered == list(range(jobs))  # in order, 7 again after its refusal, nothing twice

        def rows(db):
            return db.execute("SELECT id, status, attempts, result FROM device_jobs ORDER BY id").fetchall()

        await eventually(lambda: _all_done(database), what="every job marked done")
        stored = await database.read(rows)
        assert [r[3] for r in stored] == [f"check-{n}" for n in range(jobs)]
        # 7 was tried twice; the ones after it in its batch were put back untried, so once each
        assert {r[0]: r[2] for r in stored if r[2] != 1} == {"job-007": 2}
        # a few writes per batch (sending, done; the failure's), not one per job
        assert database.writes - writes < 16
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        database.close()


async def _all_done(database):
    return await database.read(lambda db: db.execute(
        "SELECT COUNT(*) FROM device_jobs WHERE status != 'done'").fetchone()[0]) == 0


def test_a_pos_payment_goes_alone_after_the_orders_before_it():
    from datetime import UTC, datetime

    from agent.devices.dispatch import Job, together

    def job(n, kind):
        return Job(f"j{n}", kind, {}, datetime.now(UTC))

    queue = [job(1, "pos_order"), job(2, "pos_order"), job(3, "pos_payment"), job(4, "pos_order")]
    assert [j.id for j in together(queue)] == ["j1", "j2"]  # the payment waits for their done marks
    assert [j.id for j in together(queue[2:])] == ["j3"]


async def test_while_orders_are_being_placed_devices_give_way_before_each_job(tmp_path, monkeypatch):
    """Orders first: while one is being placed a worker pauses before each job (the diner's 201
    does not wait behind tickets), and once none is, jobs go without a pause; every job still goes."""
    from agent.config import DispatchSection
    from agent.devices import dispatch

    pauses = []

    async def give_way():
        pauses.append(len(device.delivered))
        await asyncio.sleep(0)

    monkeypatch.setattr(dispatch, "_give_way", give_way)
    database = Database(tmp_path / "w.sqlite")
    database.start()
    migrate(database)

    def seed(db, numbers):
        for n in numbers:
            db.execute("INSERT INTO device_jobs (id, device, kind, payload, created_at) VALUES (?, 'pos', 'pos_order', ?, ?)",
                       [f"job-{n:03d}", f'{{"n": {n}}}', f"2999-01-01T00:00:00.{n:03d}+00:00"])

    device = _Recording("pos")
    dispatcher = dispatch.Dispatcher(database, {"pos": device}, DispatchSection())
    task = asyncio.create_task(dispatcher.run())
    try:
        with dispatcher.placing():
            await database.write(seed, range(3))
            dispatcher.wake()
            await eventually(lambda: len(device.delivered) == 3, what="the jobs delivered during the rush")
        assert pauses == [0, 1, 2]  # one pause before each
        await database.write(seed, range(3, 6))
        dispatcher.wake()
        await eventually(lambda: len(device.delivered) == 6, what="the jobs delivered after it")
        assert pauses == [0, 1, 2] and device.delivered == list(range(6))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        database.close()
