"""A payment for a share the diner released (finding 3 of issue 15): it never counts towards the
bill, it is kept as an overpayment staff see on their bill list, even after the table closed, and
can refund."""

import uuid

import pytest

from agent.app import create_app
from agent.link import payments_inbox
from agent.state import STATE
from agent.visits import bills
from agent.visits.table_sessions import now_iso
from contract import messages
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import csrf, signed_in, with_staff_routes


@pytest.fixture
async def staff_client(aiohttp_client, tmp_path):
    return await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))


async def _pay(client, share_id, amount):
    state = client.app[STATE]
    handlers = payments_inbox.make_handlers(lambda: state.config)
    data = messages.PaymentRecorded(payment_id=str(uuid.uuid4()), share_id=share_id, bill_id="b", currency="EUR",
                                    amount_minor=amount, tip_minor=0, fee_minor=10, provider="demo",
                                    paid_at="2026-01-01T12:00:00Z")
    return await state.database.write(lambda db: handlers["payment.recorded"](db, None, data))


async def _bill(client, event: dict) -> dict:
    """The whole bill a bill event is news of (the event carries its totals only)."""
    state = client.app[STATE]
    bill = await state.database.read(bills.load, event["id"], state.config.restaurant.tax_mode, now_iso())
    assert bill.version == event["version"]
    return bill.as_dict()


async def _share(client, token):
    resp = await client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["share"]


async def test_a_released_share_paid_late_is_an_overpayment_staff_can_refund(staff_client):
    client = staff_client
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201  # 9.50
    old = await _share(client, token)
    assert (await client.delete(f"/api/v1/tables/{token}/bill/shares/{old['id']}")).status == 204
    new = await _share(client, token)
    await _pay(client, new["id"], 950)  # settled: the visit closes

    events = await _pay(client, old["id"], 950)  # the old link, paid after all
    [news] = [data for kind, data, _ in events if kind == "bill"]
    assert news["paid_minor"] == 950 and news["left_minor"] == 0
    bill = await _bill(client, news)
    assert bill["paid_minor"] == 950 and bill["overpaid_minor"] == 950 and bill["left_minor"] == 0
    assert {s["id"]: s["status"] for s in bill["shares"]} == {new["id"]: "paid", old["id"]: "overpaid"}

    manager = csrf(await signed_in(client, "manager"))
    listed = (await (await client.get("/api/v1/staff/bills")).json())["bills"]
    [shown] = [b for b in listed if b["id"] == bill["id"]]  # closed, but not hidden
    assert shown["overpaid_minor"] == 950
    assert {p["id"]: p["status"] for p in shown["payments"]}[old["id"]] == "overpaid"
    resp = await client.post(f"/api/v1/staff/shares/{old['id']}/refunds", headers=manager,
                             json={"amount_minor": 950, "reason": "paid twice"})
    assert resp.status == 202, await resp.text()
    # a second delivery of the same payment changes nothing
    again = await _pay(client, old["id"], 950)
    assert [d for k, d, _ in again if k == "bill"][0]["paid_minor"] == 950


async def test_a_share_paid_after_its_hold_ran_out_and_others_paid_is_an_overpayment(staff_client):
    client = staff_client
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    late = await _share(client, token)
    await client.app[STATE].database.write(lambda db: db.execute(
        "UPDATE bill_shares SET expires_at = '2000-01-01T00:00:00.000+00:00' WHERE id = ?", [late["id"]]))
    other = await _share(client, token)  # the hold ran out: someone else took the whole bill
    await _pay(client, other["id"], 950)
    events = await _pay(client, late["id"], 950)
    [news] = [data for kind, data, _ in events if kind == "bill"]
    bill = await _bill(client, news)
    assert bill["paid_minor"] == 950 and bill["overpaid_minor"] == 950
    await signed_in(client, "server")
    listed = (await (await client.get("/api/v1/staff/bills")).json())["bills"]
    assert [b["overpaid_minor"] for b in listed if b["id"] == bill["id"]] == [950]
