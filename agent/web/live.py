"""Telling open pages what changed: orders, bills, requests and visits, after each change commits."""

import asyncio

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


BILL_NEWS_DELAY = 0.05  # seconds: a burst of orders on one table shares one bill computation


async def publish_order(state: AgentState, order_id: str) -> None:
    """The order at once; its bill soon after (bill_soon), so a diner's 201 never waits for the
    bill of a long tab to be worked out."""
    order = await state.database.read(order_status.order_view, order_id)
    publish(state, order_event(order))
    if order["session_id"]:
        bill_soon(state, order["session_id"], order["table"]["id"])


def order_placed(state: AgentState, view: dict) -> None:
    """A new order's news, from the view its write made (publish_order without reading it again)."""
    publish(state, order_event(view))
    if view["session_id"]:
        bill_soon(state, view["session_id"], view["table"]["id"])


def bill_soon(state: AgentState, session_id: str, table_id: str) -> None:
    """The bill's news after an order, if a page is open to hear it: in a rush over many tables each
    order would otherwise sum its bill on a reader for nobody. A page opened later loads the bill
    itself, and an order never settles a bill (the payment's news did), so listeners that wait for
    that (backups) miss nothing."""
    if session_id not in state.bill_news and state.events.watched(table_id):
        state.bill_news[session_id] = asyncio.create_task(_bill_after_a_moment(state, session_id),
                                                          name=f"bill-news:{session_id}")


async def _bill_after_a_moment(state: AgentState, session_id: str) -> None:
    try:
        await asyncio.sleep(BILL_NEWS_DELAY)
    finally:
        state.bill_news.pop(session_id, None)  # a change from here on asks for news of its own
    await publish_bill(state, session_id)


async def publish_bill(state: AgentState, session_id: str) -> None:
    publish(state, await state.database.read(bills.bill_event, session_id, state.config.restaurant.tax_mode))
