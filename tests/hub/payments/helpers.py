"""Reading what the hub did: messages queued for the agent, the ledger, payments."""

from contract import envelope
from hub.appkeys import STORE
from hub.payments.context import PAYMENTS
from hub.payments.fees import FeePlan, platform_fee
from hub.payments.service import entry_sets


async def queued(client, agent_id: str) -> list:
    """(type, data) of every message waiting for the agent, in seq order."""
    pending = await client.app[STORE].down_pending(agent_id, 0, 1000)
    return [(m.type, envelope.decode_data(envelope.decode(m.payload))) for m in pending]


async def ledger_rows(client) -> list[dict]:
    return await client.app[PAYMENTS].service.all_entries()


async def assert_ledger_balanced(client) -> list[dict]:
    """Every set sums to zero, and so does the whole ledger (per currency)."""
    rows = await ledger_rows(client)
    for set_id, entries in entry_sets(rows).items():
        totals: dict[str, int] = {}
        for e in entries:
            totals[e.currency] = totals.get(e.currency, 0) + e.amount_minor
        assert all(v == 0 for v in totals.values()), (set_id, entries)
    overall: dict[str, int] = {}
    for row in rows:
        overall[row["currency"]] = overall.get(row["currency"], 0) + row["amount_minor"]
    assert all(v == 0 for v in overall.values()), overall
    return rows


def plan_fee(plan: dict, amount: int, tip: int = 0) -> int:
    return platform_fee(FeePlan(**plan), amount, tip)


async def payments_of(client, restaurant_id: str | None = None) -> list[dict]:
    return await client.app[PAYMENTS].service.list_payments(restaurant_id=restaurant_id, start=None, end=None)
