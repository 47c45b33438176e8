"""Builders for link messages as an agent would send them."""

from contract import envelope, messages
from contract.ids import uuid7

TOKEN = "operator-token-for-tests-0123456789"


def order_placed(order_id: str | None = None, *, number: int = 7, lines: int = 2) -> messages.OrderPlaced:
    line_list = [
        messages.OrderLine(
            item_id=f"item-{i}", name=f"Dish {i}", qty=i + 1, unit_price_minor=450 + i,
            line_total_minor=(450 + i) * (i + 1) + 50,
            modifiers=[messages.LineModifier(id="extra-cheese", name="Extra cheese", price_minor=50)],
            note="no onions" if i == 0 else "",
        )
        for i in range(lines)
    ]
    return messages.OrderPlaced(
        order_id=order_id or uuid7(), number=number, table_id="table-4", table_name="Table 4",
        placed_at="2025-03-01T19:30:00.000Z", currency="EUR",
        total_minor=sum(line.line_total_minor for line in line_list), lines=line_list,
    )


def encoded(agent_id: str, data, *, seq: int = 1, id: str | None = None) -> bytes:
    return envelope.encode(agent_id, seq, data, id=id)


def decoded(agent_id: str, data, *, seq: int = 1, id: str | None = None) -> envelope.Envelope:
    return envelope.decode(encoded(agent_id, data, seq=seq, id=id))


def bill_changed(bill_id: str = "bill-1", *, total: int = 2000, paid: int = 0) -> messages.BillChanged:
    return messages.BillChanged(bill_id=bill_id, table_name="Table 4", currency="EUR", total_minor=total,
                                paid_minor=paid, left_minor=total - paid, status="open",
                                changed_at="2025-03-01T19:31:00.000Z")


def device_status(device: str = "kitchen", *, state: str = "online") -> messages.DeviceStatus:
    return messages.DeviceStatus(device=device, kind="printer", state=state, detail="", waiting=0, held=0,
                                 changed_at="2025-03-01T19:31:00.000Z")


def payment_taken(payment_id: str | None = None, *, amount: int = 1500) -> messages.PaymentTaken:
    return messages.PaymentTaken(payment_id=payment_id or uuid7(), share_id=uuid7(), bill_id="bill-1",
                                 table_name="Table 4", method="cash", currency="EUR", amount_minor=amount,
                                 tip_minor=0, taken_at="2025-03-01T19:40:00.000Z")



# Agent ids the hub tests talk as. The hub applies messages only from agents it enrolled, so the
# `store` fixture enrolls these (as an operator vouching for them would); any other id is a stranger.
TEST_AGENTS = ("agent-1", "agent-2", "agent-3", "agent-a", "agent-b", "agent-cash", "agent-other")


def enroll(engine, *agent_ids: str) -> None:
    """Enroll agents directly in the database (what pairing or an operator's restaurant does)."""
    from datetime import UTC, datetime

    from hub.enrollment.records import add_agent

    with engine.begin() as conn:
        for agent_id in agent_ids:
            add_agent(conn, agent_id, name=agent_id, now=datetime.now(UTC))
