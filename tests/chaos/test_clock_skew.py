"""An agent whose clock is minutes off (or jumps) breaks neither ordering nor pay links: seq decides
the order at the hub, and the hub corrects a pay link's expiry by the agent's measured clock offset.

The agent's clock is faked in-process: what the agent stamps (the envelope's sent_at, an order's
placed_at, a share's hold) runs `skew` off; the hub's clock stays true.
"""

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contract import envelope
from drivers.escpos.emulator import PrinterEmulator
from tests.e2e.system import OPERATOR_TOKEN, broker, running_system
from tests.waiting import eventually

pytestmark = pytest.mark.service
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


class AgentClock:
    """What the agent's code reads as now: the true time plus `skew`, changeable mid-test."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def install(self, monkeypatch) -> None:
        clock = self
        true_now_iso = envelope.now_iso

        class SkewedDatetime(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + clock.skew

        def skewed_now_iso() -> str:
            true = datetime.fromisoformat(true_now_iso().replace("Z", "+00:00"))
            return (true + clock.skew).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        monkeypatch.setattr("contract.envelope.now_iso", skewed_now_iso)
        monkeypatch.setattr("agent.visits.shares.datetime", SkewedDatetime)
        monkeypatch.setattr("agent.orders.place.datetime", SkewedDatetime)


@pytest.mark.parametrize("minutes", [-20, 20])
async def test_skewed_agent_clock_keeps_order_and_pay_links(tmp_path, monkeypatch, minutes):
    clock = AgentClock(timedelta(minutes=minutes))
    clock.install(monkeypatch)
    printer = PrinterEmulator()
    await printer.start()
    try:
        async with broker("mosquitto") as (port, shared), running_system(tmp_path, port, shared, printer.port) as s:
            async with s.http.post(f"{s.hub.url}/api/v1/restaurants", headers=AUTH, json={
                    "name": "Skewed", "country": "FR", "currency": "EUR", "agent_ids": ["test-agent"],
                    "fee_plan": {"basis_points": 100}}) as resp:
                assert resp.status == 201, await resp.text()
            token = await s.token()
            numbers = []
            for step in range(4):
                # the clock jumps back and forth between orders, as after an NTP correction
                clock.skew = timedelta(minutes=minutes if step % 2 == 0 else -minutes)
                resp = await s.order(token, [{"item_id": "onion-soup", "qty": 1}])
                assert resp.status == 201, await resp.text()
                numbers.append((await resp.json())["order"]["number"])
            clock.skew = timedelta(minutes=minutes)

            hub_db = tmp_path / "hub" / "hub.sqlite"

            async def all_at_hub():
                return await s.hub_orders_count() == len(numbers)
            await eventually(all_at_hub, within=15, what="the orders at the hub")
            arrived = _hub_orders_by_seq(tmp_path / "agent" / "agent.sqlite", hub_db)
            assert [number for number, _ in arrived] == numbers  # seq order is the order they were placed in
            placed_at = [placed for _, placed in arrived]
            assert placed_at != sorted(placed_at)  # although the agent's clock said otherwise

            async def offset_measured():
                with sqlite3.connect(hub_db) as db:
                    value = db.execute("SELECT clock_offset_ms FROM agents WHERE id = 'test-agent'").fetchone()
                return value and value[0] is not None and abs(value[0] + minutes * 60_000) < 10_000
            await eventually(offset_measured, within=15, what="the hub measuring the agent's clock")

            async with s.http.post(f"{s.agent.url}/api/v1/tables/{token}/bill/shares", json={"kind": "remaining", "tip_minor": 0},
                                   headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
                body = await resp.json()
                assert resp.status == 201, body
            pay_url = body["pay_url"]
            hold_ends = datetime.fromisoformat(body["share"]["expires_at"].replace("Z", "+00:00"))
            if minutes < 0:  # by the agent's slow clock the hold ended before the diner even looked
                assert hold_ends < datetime.now(UTC)
            async with s.http.get(pay_url) as page:
                assert page.status == 200, await page.text()  # the signature holds, the expiry is corrected
                assert "Pay " in await page.text()
            async with s.http.post(f"{s.hub.url}/pay/demo",
                                   data={"token": pay_url.rsplit("/", 1)[-1], "action": "pay"}) as resp:
                assert resp.status == 200 and "received" in (await resp.text()).lower()

            share_id = body["share"]["id"]

            def paid_at_agent():
                with sqlite3.connect(tmp_path / "agent" / "agent.sqlite") as db:
                    row = db.execute("SELECT status FROM bill_shares WHERE id = ?", [share_id]).fetchone()
                return row is not None and row[0] == "paid"
            await eventually(paid_at_agent, within=15, what="the payment on the agent's bill")
    finally:
        await printer.stop()


def _hub_orders_by_seq(agent_db, hub_db) -> list[tuple[int, str]]:
    """(number, placed_at) of the hub's orders in the seq order the hub applied them under."""
    with sqlite3.connect(agent_db) as db:
        sent = {mid: json.loads(payload)["data"]["order_id"]
                for mid, payload in db.execute("SELECT id, payload FROM outbox WHERE type = 'order.placed'")}
    with sqlite3.connect(hub_db) as db:
        applied = db.execute("SELECT message_id FROM inbox WHERE type = 'order.placed' ORDER BY seq").fetchall()
        orders = {oid: (number, placed) for oid, number, placed in
                  db.execute("SELECT id, number, placed_at FROM orders")}
    return [orders[sent[mid]] for (mid,) in applied]
