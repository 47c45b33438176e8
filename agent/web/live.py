"""Telling open pages what changed: orders, bills, requests and visits, after each change commits."""

from agent.orders import order_status
from agent.state import AgentState
from agent.visits import bills


def order_event(order: dict) -> tuple[str, dict, str]:
    return "order", order, order["table"]["id"]


def publish(state: AgentState, *events: tuple[str, dict, str | None] | None) -> None:
    for event in events:
        if event is not None:
            kind, data, table_id = event
            state.events.publish(kind, data, table_id=table_id)


async def publish_order(state: AgentState, order_id: str) -> None:
    order = await state.database.read(order_status.order_view, order_id)
    event = await state.database.read(bills.bill_event, order["session_id"], state.config.restaurant.tax_mode)
    publish(state, order_event(order), event)


async def publish_bill(state: AgentState, session_id: str) -> None:
    publish(state, await state.database.read(bills.bill_event, session_id, state.config.restaurant.tax_mode))
