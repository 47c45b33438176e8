"""After a payment: the POS gets it on the right check (the visit's one check with the simulator, as
a till keeps one per table; spread over a check per order with other drivers), closing what is paid,
once; and a customer receipt prints when staff ask for it."""

import uuid

from agent.link import payments_inbox
from agent.state import STATE
from agent.visits import settlement, table_sessions
from contract import messages
from drivers.pos.simulator import SimulatorPos
from tests.agent.helpers import place, table_tokens
from tests.waiting import eventually

SOUP, ESCARGOTS = "onion-soup", "escargots"  # 9.50, 13.50


async def _visit(client):
    token = (await table_tokens(client))["Table 1"]
    for item in (SOUP, ESCARGOTS):
        assert (await place(client, token, [{"item_id": item, "qty": 1}])).status == 201
    return token


async def _share(client, token, body):
    response = await client.post(f"/api/v1/tables/{token}/bill/shares", json=body)
    assert response.status == 201
    return (await response.json())["share"]


async def _pay(client, share, payment_id=None):
    state = client.app[STATE]
    handler = payments_inbox.make_handlers(lambda: state.config)["payment.recorded"]
    data = messages.PaymentRecorded(payment_id=payment_id or str(uuid.uuid4()), share_id=share["id"], bill_id="b",
                                    currency="EUR", amount_minor=share["amount_minor"], tip_minor=share["tip_minor"],
                                    fee_minor=0, provider="demo", paid_at="2026-01-01T12:00:00.000+00:00")
    await state.database.write(lambda db: handler(db, None, data))
    state.dispatcher.wake()  # as the link does after applying a message


def _pos(client) -> SimulatorPos:
    return client.app[STATE].dispatcher.devices["pos"].pos


async def test_a_payment_goes_onto_the_visits_one_check_which_closes_when_the_bill_is_paid(agent_client):
    token = await _visit(agent_client)
    pos = _pos(agent_client)
    await eventually(lambda: len(pos.checks) == 1 and pos.checks[0]["orders"] == [1, 2], what="both orders on one check")
    [check] = pos.checks
    assert check["total_minor"] == 2300 and check["table_name"] == "Table 1"
    first = await _share(agent_client, token, {"kind": "amount", "amount_minor": 1200, "tip_minor": 100})
    await _pay(agent_client, first)
    await eventually(lambda: pos.payments_for(check["ref"]), what="the first payment on the check")
    assert [(p["amount_minor"], p["tip_minor"]) for p in pos.payments_for(check["ref"])] == [(1200, 100)]
    assert not pos.is_closed(check["ref"])
    rest = await _share(agent_client, token, {"kind": "remaining"})
    await _pay(agent_client, rest)
    await eventually(lambda: pos.is_closed(check["ref"]), what="the check closed")
    assert pos.paid_on(check["ref"]) == 2300 and len(pos.checks) == 1


async def test_a_pos_with_a_check_per_order_gets_the_payment_spread_over_them(agent_client):
    """Drivers that keep no visit check (Square, the webhook POS): oldest order first, each closed once paid."""
    pos = _pos(agent_client)
    pos.one_check_per_visit = False  # the simulator then makes a check per order, as those drivers do
    token = await _visit(agent_client)
    await eventually(lambda: len(pos.checks) == 2)
    soup_check, snail_check = (c["ref"] for c in pos.checks)
    first = await _share(agent_client, token, {"kind": "amount", "amount_minor": 1200, "tip_minor": 100})
    await _pay(agent_client, first)
    await eventually(lambda: pos.payments_for(snail_check))
    assert [(p["amount_minor"], p["tip_minor"]) for p in pos.payments_for(soup_check)] == [(950, 0)]
    assert [(p["amount_minor"], p["tip_minor"]) for p in pos.payments_for(snail_check)] == [(250, 100)]
    assert pos.is_closed(soup_check) and not pos.is_closed(snail_check)
    rest = await _share(agent_client, token, {"kind": "remaining"})
    await _pay(agent_client, rest)
    await eventually(lambda: pos.is_closed(snail_check))
    assert sum(p["amount_minor"] for p in pos.payments_for(snail_check)) == 1350


async def test_the_same_payment_twice_reaches_the_pos_once(agent_client):
    token = await _visit(agent_client)
    pos = _pos(agent_client)
    share = await _share(agent_client, token, {"kind": "remaining"})
    payment_id = str(uuid.uuid4())
    await _pay(agent_client, share, payment_id)
    await _pay(agent_client, share, payment_id)
    await eventually(lambda: len(pos.checks) == 1 and pos.is_closed(pos.checks[0]["ref"]))
    jobs = await agent_client.app[STATE].database.read(
        lambda db: db.execute("SELECT COUNT(*) FROM device_jobs WHERE kind = 'pos_payment'").fetchone()[0])
    assert jobs == 1
    assert len(pos.payments_for(pos.checks[0]["ref"])) == 1


async def test_a_receipt_prints_the_bill_with_tax_and_payment(agent_client, emulator):
    token = await _visit(agent_client)
    await emulator.wait_for_tickets(2)
    share = await _share(agent_client, token, {"kind": "remaining", "tip_minor": 200})
    state = agent_client.app[STATE]
    await _pay(agent_client, share)
    table_id = await state.database.read(
        lambda db: db.execute("SELECT table_id FROM table_sessions ORDER BY opened_at DESC LIMIT 1").fetchone()[0])
    session_id = await state.database.read(lambda db: db.execute(
        "SELECT id FROM table_sessions WHERE table_id = ? ORDER BY opened_at DESC", [table_id]).fetchone()[0])
    assert await state.database.read(table_sessions.get, session_id)
    printer = await state.database.write(settlement.print_receipt, state.config, session_id, "Brasserie Lumière")
    assert printer == "kitchen"
    state.dispatcher.wake(printer)
    tickets = await emulator.wait_for_tickets(3)
    receipt = tickets[-1]
    assert "Brasserie Lumière" in receipt and "Table 1" in receipt
    assert "23.00" in receipt and "25.00" in receipt  # bill, and bill + tip
    assert "Card" in receipt
