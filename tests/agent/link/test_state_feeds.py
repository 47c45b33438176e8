"""What the agent tells the hub about state: each bill after every change, each device when its
state changes; only the latest undelivered report of each waits in the outbox."""

import asyncio
import threading

import msgspec

from agent.devices.feed import DeviceFeed
from agent.state import STATE
from agent.visits import bill_feed
from contract import envelope, messages
from tests.agent.helpers import place, session_id_of, table_tokens
from tests.agent.staff.helpers import csrf, signed_in
from tests.waiting import eventually

SOUP, ESCARGOTS = "onion-soup", "escargots"  # 9.50, 13.50


async def _waiting_reports(client, type_: str) -> list[tuple[int, msgspec.Struct]]:
    rows = await client.app[STATE].database.read(lambda db: db.execute(
        "SELECT payload FROM outbox WHERE delivered_at IS NULL AND type = ? ORDER BY seq", [type_]).fetchall())
    return [(env.seq, envelope.decode_data(env)) for env in (envelope.decode(r[0]) for r in rows)]


def _stop_background_reports() -> None:
    """These tests make bill_feed.run's rounds themselves (_bill_reports), when they choose."""
    for task in asyncio.all_tasks():
        if task.get_name() == "bill-reports":
            task.cancel()


async def _bill_reports(client) -> list[messages.BillChanged]:
    """The bill reports waiting, after a round of the background reports (what orders owe)."""
    state = client.app[STATE]
    await bill_feed.report_round(state.database, state.config)
    return [data for _, data in await _waiting_reports(client, messages.BillChanged.TYPE)]


async def test_each_bill_change_reaches_the_outbox_and_only_the_latest_waits(agent_client):
    _stop_background_reports()
    staff = csrf(await signed_in(agent_client, "manager"))
    tokens = await table_tokens(agent_client)
    assert (await place(agent_client, tokens["Table 1"], [{"item_id": SOUP, "qty": 1}])).status == 201
    [first] = await _bill_reports(agent_client)
    assert (first.total_minor, first.paid_minor, first.left_minor, first.status) == (950, 0, 950, "open")
    assert first.table_name == "Table 1" and first.currency == "EUR"

    assert (await place(agent_client, tokens["Table 1"], [{"item_id": ESCARGOTS, "qty": 1}])).status == 201
    assert (await place(agent_client, tokens["Table 2"], [{"item_id": SOUP, "qty": 2}])).status == 201
    reports = await _bill_reports(agent_client)
    by_bill = {r.bill_id: r for r in reports}
    assert len(reports) == 2 == len(by_bill)  # the first report of Table 1 was replaced, not queued twice
    table1 = by_bill[first.bill_id]
    assert (table1.total_minor, table1.left_minor) == (2300, 2300)

    session = await session_id_of(agent_client, tokens["Table 1"])
    paid = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                   json={"method": "cash", "share": {"kind": "amount", "amount_minor": 1000}})
    assert paid.status == 201, await paid.text()
    table1 = next(r for r in await _bill_reports(agent_client) if r.bill_id == session)
    assert (table1.paid_minor, table1.left_minor, table1.status) == (1000, 1300, "open")

    order = (await (await agent_client.get("/api/v1/staff/orders")).json())["orders"]
    escargots = next(o for o in order if o["session_id"] == session and o["lines"][0]["item_id"] == ESCARGOTS)
    voided = await agent_client.post(f"/api/v1/staff/orders/{escargots['id']}/lines/0/void", headers=staff)
    assert voided.status == 200, await voided.text()
    table1 = next(r for r in await _bill_reports(agent_client) if r.bill_id == session)
    assert (table1.total_minor, table1.left_minor) == (950, 0)

    closed = await agent_client.post(f"/api/v1/staff/bills/{session}/close", headers=staff, json={"force": True})
    assert closed.status == 200, await closed.text()
    table1 = next(r for r in await _bill_reports(agent_client) if r.bill_id == session)
    assert table1.status == "closed"


async def test_orders_committed_together_on_one_bill_report_it_once_with_all_of_them(agent_client):
    """A rush on one long tab: the orders of one group commit share one report, summed after the last."""
    _stop_background_reports()
    tokens = await table_tokens(agent_client)
    assert (await place(agent_client, tokens["Table 1"], [{"item_id": SOUP, "qty": 1}])).status == 201
    await _bill_reports(agent_client)
    database = agent_client.app[STATE].database
    seq_before = await database.read(lambda db: db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0])
    release, entered = threading.Event(), threading.Event()
    held = asyncio.ensure_future(database.write(lambda db: (entered.set(), release.wait(10))))
    await asyncio.to_thread(entered.wait, 10)
    orders = [asyncio.ensure_future(place(agent_client, tokens["Table 1"], [{"item_id": ESCARGOTS, "qty": 1}]))
              for _ in range(8)]
    await eventually(lambda: database._queue.qsize() >= 8)  # the eight wait together behind the held write
    release.set()
    await held
    assert [a.status for a in await asyncio.gather(*orders)] == [201] * 8

    await _bill_reports(agent_client)
    rows = await database.read(lambda db: db.execute(
        "SELECT seq, type FROM outbox WHERE seq > ? ORDER BY seq", [seq_before]).fetchall())
    placed = [seq for seq, kind in rows if kind == messages.OrderPlaced.TYPE]
    [(bill_seq, report)] = [(seq, data) for seq, data in await _waiting_reports(agent_client, messages.BillChanged.TYPE)]
    assert len(placed) == 8 and bill_seq > max(placed)  # reported after the last order of the group
    assert report.total_minor == 950 + 8 * 1350
    # one report for the group, not one per order (each would have taken a seq of its own)
    others = sum(1 for _, kind in rows if kind not in (messages.OrderPlaced.TYPE, messages.BillChanged.TYPE))
    assert bill_seq - seq_before == 8 + 1 + others


async def test_a_card_payment_from_the_hub_is_reported_with_the_bill_settled(agent_client):
    from agent.link import payments_inbox

    _stop_background_reports()

    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": SOUP, "qty": 1}])).status == 201
    share = (await (await agent_client.post(f"/api/v1/tables/{token}/bill/shares",
                                            json={"kind": "remaining"})).json())["share"]
    state = agent_client.app[STATE]
    handler = payments_inbox.make_handlers(lambda: state.config)[messages.PaymentRecorded.TYPE]
    data = messages.PaymentRecorded(payment_id="pay-1", share_id=share["id"], bill_id="b", currency="EUR",
                                    amount_minor=950, tip_minor=0, fee_minor=0, provider="demo",
                                    paid_at="2026-01-01T12:00:00.000+00:00")
    await state.database.write(lambda db: handler(db, None, data))
    # in the payment's own transaction, with no round of the background reports
    [report] = [data for _, data in await _waiting_reports(agent_client, messages.BillChanged.TYPE)]
    # settled, so the hub refuses further pay links; the visit goes on for its party (issue 16)
    assert (report.paid_minor, report.left_minor, report.status) == (950, 0, "settled")


async def test_a_device_is_reported_when_its_state_changes_and_not_on_every_round(agent_client, emulator):
    state = agent_client.app[STATE]
    feed = DeviceFeed(state.database, state.dispatcher, "test-agent", state.link.wake)
    # the app's own feed reports at start; this one starts from nothing, as after a restart
    await eventually(lambda: _reported(agent_client, 2), what="the app's first reports")
    # the printer's first answer changes its state (from "ok" to "online"): wait for it first
    await eventually(lambda: state.dispatcher.health["kitchen"].status == "online", what="the first status poll")
    assert await feed.report_changes() == 2
    assert await feed.report_changes() == 0  # nothing changed: nothing sent

    emulator.fault = "paper_out"
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": SOUP, "qty": 1}])).status == 201  # queued, cannot print
    await eventually(lambda: state.dispatcher.health["kitchen"].failures > 0, what="the ticket fails")
    assert await feed.report_changes() >= 1
    kitchen = [(seq, d) for seq, d in await _waiting_reports(agent_client, messages.DeviceStatus.TYPE)
               if d.device == "kitchen"]
    assert len(kitchen) == 1  # the older report of the kitchen printer was replaced
    _, report = kitchen[0]
    assert report.kind == "printer" and report.waiting == 1 and report.state in ("failing", "paper_out")
    assert "paper" in report.detail

    emulator.fault = None
    state.dispatcher.wake("kitchen")
    await eventually(lambda: _kitchen_idle(agent_client), within=40, what="the ticket prints")
    assert await feed.report_changes() >= 1
    [(_, report)] = [(seq, d) for seq, d in await _waiting_reports(agent_client, messages.DeviceStatus.TYPE)
                     if d.device == "kitchen"]
    assert report.waiting == 0 and report.state not in ("failing", "paper_out")


async def _reported(client, n: int) -> bool:
    return len(await _waiting_reports(client, messages.DeviceStatus.TYPE)) == n


async def _kitchen_idle(client) -> bool:
    state = client.app[STATE]
    counts = await state.database.read(lambda db: db.execute(
        "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status != 'done'").fetchone()[0])
    return counts == 0 and state.dispatcher.health["kitchen"].failures == 0
