"""An order's bill report to the hub, made after the order by a background round (bill_feed.run):
owed in the order's own transaction, made once for all the orders of a round, and still made
after a stop that came first."""

import asyncio

from agent.app import create_app
from agent.state import STATE
from contract import envelope, messages
from tests.agent.helpers import place, session_id_of, table_tokens
from tests.waiting import eventually

SOUP, ESCARGOTS = "onion-soup", "escargots"  # 9.50, 13.50


async def _reports(client) -> list[messages.BillChanged]:
    """Every bill report in the outbox, delivered or not, in seq order."""
    rows = await client.app[STATE].database.read(lambda db: db.execute(
        "SELECT payload FROM outbox WHERE type = ? ORDER BY seq", [messages.BillChanged.TYPE]).fetchall())
    return [envelope.decode_data(envelope.decode(r[0])) for r in rows]


async def _owed(client) -> list[str]:
    return await client.app[STATE].database.read(lambda db: [
        r[0] for r in db.execute("SELECT session_id FROM bill_reports_due").fetchall()])


def _background_reports() -> asyncio.Task:
    return next(t for t in asyncio.all_tasks() if t.get_name() == "bill-reports")


async def test_orders_owe_their_bill_one_report_made_by_the_next_round(agent_client):
    tokens = await table_tokens(agent_client)
    orders = [place(agent_client, tokens["Table 1"], [{"item_id": item, "qty": 1}]) for item in (SOUP, ESCARGOTS)]
    assert [r.status for r in await asyncio.gather(*orders)] == [201, 201]
    session = await session_id_of(agent_client, tokens["Table 1"])

    reports = await eventually(lambda: _reports(agent_client), what="the bill reported")
    await asyncio.sleep(2.5)  # two more rounds: nothing owed, nothing more reported
    assert await _reports(agent_client) == reports
    # one report, the bill with both orders (the two may have come in two rounds; then the first
    # report was replaced while undelivered, and only the latest is kept)
    [report] = [r for r in reports if r.bill_id == session][-1:]
    assert (report.total_minor, report.left_minor, report.status) == (2300, 2300, "open")
    assert await _owed(agent_client) == []


async def test_a_report_owed_when_the_agent_stops_is_made_after_it_starts_again(aiohttp_client, agent_client):
    _background_reports().cancel()  # the agent stops before its next round
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": SOUP, "qty": 2}])).status == 201
    session = await session_id_of(agent_client, token)
    assert await _owed(agent_client) == [session]  # durable with the order, not in memory
    assert await _reports(agent_client) == []
    config = agent_client.app[STATE].config
    await agent_client.close()

    again = await aiohttp_client(create_app(config))
    [report] = await eventually(lambda: _reports(again), what="the owed report made")
    assert (report.bill_id, report.total_minor) == (session, 1900)
    assert await _owed(again) == []


async def test_a_payment_reported_at_once_settles_what_its_bill_owed(agent_client):
    """A change reported in its own transaction (cash taken) covers the report an order owed: the
    round after it reports nothing again."""
    from tests.agent.staff.helpers import csrf, signed_in

    _background_reports().cancel()
    staff = csrf(await signed_in(agent_client, "manager"))
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": SOUP, "qty": 1}])).status == 201
    session = await session_id_of(agent_client, token)
    paid = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                   json={"method": "cash", "share": {"kind": "remaining"}})
    assert paid.status == 201, await paid.text()
    [report] = await _reports(agent_client)
    assert report.status == "settled" and await _owed(agent_client) == []


async def test_a_round_reports_every_bill_owed_a_few_per_write(agent_client, monkeypatch):
    """Orders waiting for the writer go between a round's writes, not behind all its bills' sums."""
    from agent.visits import bill_feed

    _background_reports().cancel()
    monkeypatch.setattr(bill_feed, "REPORTS_PER_WRITE", 1)
    tokens = await table_tokens(agent_client)
    for name in ("Table 1", "Table 2"):
        assert (await place(agent_client, tokens[name], [{"item_id": SOUP, "qty": 1}])).status == 201
    sessions = {await session_id_of(agent_client, tokens[name]) for name in ("Table 1", "Table 2")}
    database = agent_client.app[STATE].database
    writes, write = [], database.write

    async def counted(fn, *args):
        if fn is bill_feed.report_due:
            writes.append(args[1])
        return await write(fn, *args)

    monkeypatch.setattr(database, "write", counted)
    assert await bill_feed.report_round(database, agent_client.app[STATE].config) == 2
    assert sorted(writes) == sorted([s] for s in sessions)  # one bill per write
    assert {r.bill_id for r in await _reports(agent_client)} == sessions
    assert await _owed(agent_client) == []
    assert await bill_feed.report_round(database, agent_client.app[STATE].config) == 0  # nothing twice
