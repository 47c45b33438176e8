"""`tableside hub run --workers 2` on PostgreSQL and a real Mosquitto, with a worker SIGKILLed while
orders, cash payments and card payments are flowing, and started again.

Two agents, paired with one-time codes (their pay-link keys registered at enrollment), send orders
and cash payments (`payment.taken`) over the link, at most a window unacked, resending what waits.
Diners pay shares by card through the hub's pay page and the demo card form, over HTTP on the one
address both workers share (a new connection each request, so the kernel spreads them), and reload
when the worker under them dies. One worker is killed once a third of the messages are acked, with
the rest in flight and half the diners still to come. Afterwards: every message acked is applied
exactly once, every card payment is recorded once and reached its agent, each payment has one
balanced set of ledger entries, and the day's report adds up to what was paid.
"""

import asyncio
import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import aiohttp
import psutil
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from contract import pay_link
from contract.ids import uuid7
from contract.messages import PaymentRecorded, PaymentTaken
from hub.payments.fees import FeePlan, platform_fee
from tests.hub.factories import TOKEN, order_placed
from tests.hub.link_agent import LinkAgent, enrollment_request
from tests.services import free_port, postgres_url, wait_for_port
from tests.waiting import eventually

pytestmark = pytest.mark.service
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLAN = {"basis_points": 150, "fixed_minor": 10, "min_minor": None, "cap_minor": None, "fee_on_tips": False}
AGENTS = 2
ORDERS = 100  # per agent
CASH = 20  # per agent
CARDS = 8  # per agent: half paid before the kill, half after
WORKERS = 2


@pytest.fixture
def schema_url():
    base = postgres_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def hub_workers(tmp_path, broker, schema_url):
    port = free_port()
    config = tmp_path / "hub.toml"
    config.write_text(f"""
[hub]
data_dir = "{tmp_path / 'hub'}"
database_url = "{schema_url}"
operator_token = "{TOKEN}"
[http]
port = {port}
[broker]
port = {broker.port}
client_id = "test-hub"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
    with open(tmp_path / "hub.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tableside.cli", "hub", "run", "--workers", str(WORKERS),
                                 "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, timeout=60, alive=proc)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def workers(proc: subprocess.Popen) -> list[int]:
    return [child.pid for child in psutil.Process(proc.pid).children() if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE]


async def _json(http: aiohttp.ClientSession, method: str, url: str, **kwargs) -> tuple[int, dict]:
    async with http.request(method, url, headers=AUTH, **kwargs) as resp:
        return resp.status, await resp.json()


async def _pair(http: aiohttp.ClientSession, hub: str, restaurant_id: str, key: Ed25519PrivateKey) -> str:
    """An agent paired as `tableside agent setup` pairs it: its agent id."""
    status, code = await _json(http, "POST", f"{hub}/api/v1/restaurants/{restaurant_id}/enrollment-codes")
    assert status == 201, code
    async with http.post(f"{hub}/api/v1/enroll", json=enrollment_request(code["code"], key)) as resp:
        enrolled = await resp.json()
        assert resp.status == 201, enrolled
    return enrolled["agent_id"]


def _share(agent: LinkAgent, n: int) -> tuple[str, pay_link.ShareToPay]:
    """A share as the agent signs it into its pay link."""
    now = int(time.time())
    share = pay_link.ShareToPay(
        v=pay_link.VERSION, agent_id=agent.agent_id, share_id=uuid7(), bill_id=f"bill-{n % 3}",
        table_name="Table 4", currency="EUR", amount_minor=1000 + 37 * n, tip_minor=100 * (n % 3),
        description="Share of table 4", issued_at=now, expires_at=now + 600, return_url="http://agent.test/t/tok")
    return pay_link.sign(share, agent.key), share


async def _pay_by_card(hub: str, token: str) -> int:
    """A diner on the pay page, pressing Pay on the demo card form; reloading when the worker under
    the request dies, as a diner would. How many tries it took."""
    # force_close: a new connection each request, so SO_REUSEPORT spreads them over the workers
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for tries in range(1, 40):
            try:
                async with http.get(f"{hub}/pay/{token}") as page:
                    body = await page.text()
                    if "Already paid" in body:
                        return tries
                    assert page.status == 200 and "DEMO" in body, (page.status, body[:300])
                async with http.post(f"{hub}/pay/demo", data={"token": token, "action": "pay"}) as done:
                    body = await done.text()  # after the 303 to /pay/done/{attempt}
                    if done.status == 200 and ("Payment received" in body or "Already paid" in body):
                        return tries
            except (aiohttp.ClientConnectionError, aiohttp.ServerDisconnectedError):
                pass  # the worker died under the request: reload
            await asyncio.sleep(0.2)
    raise AssertionError(f"the diner could not pay {token[:16]}...")


async def test_orders_and_payments_survive_a_worker_sigkill(hub_workers, broker, schema_url):
    proc, hub = hub_workers
    await eventually(lambda: len(workers(proc)) == WORKERS, within=30, what=f"{WORKERS} workers")
    async with aiohttp.ClientSession() as http:
        status, restaurant = await _json(http, "POST", f"{hub}/api/v1/restaurants", json={
            "name": "Brasserie Kill", "country": "FR", "currency": "EUR", "fee_plan": PLAN,
            "fee_on_external": True})
        assert status == 201, restaurant
        keys = [Ed25519PrivateKey.generate() for _ in range(AGENTS)]
        agent_ids = [await _pair(http, hub, restaurant["id"], key) for key in keys]

    agents = [LinkAgent(agent_id, broker.port, key) for agent_id, key in zip(agent_ids, keys, strict=True)]
    async with contextlib.AsyncExitStack() as stack:
        for agent in agents:
            await stack.enter_async_context(agent)

        async def online() -> bool:
            async with aiohttp.ClientSession() as http:
                _, listed = await _json(http, "GET", f"{hub}/api/v1/agents")
            return sum(a["online"] for a in listed["agents"] if a["id"] in agent_ids) == AGENTS
        await eventually(online, within=30, what="both agents online at the hub")

        cash: dict[str, PaymentTaken] = {}
        for agent in agents:
            kinds = ["order"] * ORDERS + ["cash"] * CASH
            random.Random(agent.agent_id).shuffle(kinds)
            for n, kind in enumerate(kinds):
                if kind == "order":
                    agent.send(order_placed(number=n))
                else:
                    taken = PaymentTaken(payment_id=uuid7(), share_id=uuid7(), bill_id=f"bill-{n % 3}",
                                         table_name="Table 4", method="cash", currency="EUR",
                                         amount_minor=1500 + n, tip_minor=50 * (n % 2),
                                         taken_at=datetime.now(UTC).isoformat())
                    cash[taken.payment_id] = taken
                    agent.send(taken)
        shares = {agent.agent_id: [_share(agent, n) for n in range(CARDS)] for agent in agents}
        cards = {share.share_id: share for listed in shares.values() for _, share in listed}
        total = AGENTS * (ORDERS + CASH)

        def diners(half: slice) -> list[asyncio.Task]:
            return [asyncio.create_task(_pay_by_card(hub, token)) for listed in shares.values()
                    for token, _ in listed[half]]

        before = diners(slice(0, CARDS // 2))
        await eventually(lambda: sum(len(a.acked) for a in agents) >= total // 3, within=60, every=0.01,
                         what="a third of the messages acked")
        victim = workers(proc)[0]
        os.kill(victim, signal.SIGKILL)  # mid-traffic: nothing flushed, its in-flight messages lost
        waiting_at_kill = sum(a.waiting for a in agents)
        after = diners(slice(CARDS // 2, CARDS))
        assert waiting_at_kill > 0, "everything was acked before the kill: the test did not test the crash"

        await asyncio.wait_for(asyncio.gather(*before, *after), timeout=60)
        await eventually(lambda: all(a.waiting == 0 for a in agents), within=60, what="every message acked")
        await eventually(lambda: len(workers(proc)) == WORKERS and victim not in workers(proc), within=30,
                         what="the killed worker started again")
        # the restarted worker greets online agents (an Ack with no ids) so they resend at once
        await eventually(lambda: all(a.hellos for a in agents), within=30, what="hello from the restarted worker")
        recorded = {a.agent_id: a for a in agents}
        await eventually(lambda: all({d.share_id for d in recorded[aid].down_of(PaymentRecorded.TYPE)}
                                     == {s.share_id for _, s in listed} for aid, listed in shares.items()),
                         within=45, what="every card payment sent to its agent")
        engine = create_engine(schema_url, poolclass=NullPool)
        stack.callback(engine.dispose)

        def undelivered() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM down_messages WHERE delivered_at IS NULL")).scalar_one()
        await eventually(lambda: undelivered() == 0, within=15, what="the agents' acks of every down-message")

        with engine.connect() as conn:
            _check_applied_once(conn, agents, cash)
            _check_card_payments(conn, agents, cards)
            _check_ledger(conn, restaurant["id"], cash, cards)

    answered = set()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(20):  # one address, whichever worker takes the connection
            status, listed = await _json(http, "GET", f"{hub}/api/v1/agents")
            assert status == 200
            answered.add(tuple(sorted(a["order_count"] for a in listed["agents"] if a["id"] in agent_ids)))
        status, report = await _json(http, "GET", f"{hub}/api/v1/reports/daily?date={datetime.now(UTC).date()}")
    assert answered == {(ORDERS,) * AGENTS}
    assert status == 200, report
    [day] = report["restaurants"]
    plan = FeePlan(**PLAN)
    expected = {
        "gross": sum(p.amount_minor for p in [*cash.values(), *cards.values()]),
        "tips": sum(p.tip_minor for p in [*cash.values(), *cards.values()]),
        "fees": sum(platform_fee(plan, p.amount_minor, p.tip_minor) for p in [*cash.values(), *cards.values()]),
    }
    assert {k: day[k] for k in expected} == expected


def _check_applied_once(conn, agents: list[LinkAgent], cash: dict[str, PaymentTaken]) -> None:
    sent = {message_id: kind for a in agents for message_id, kind in a.sent.items()}
    acked = set().union(*(a.acked for a in agents))
    assert acked == set(sent), "every message sent was acked"
    inbox = dict(conn.execute(text("SELECT message_id, type FROM inbox WHERE type IN ('order.placed', "
                                   "'payment.taken')")).all())
    assert inbox == sent, "the inbox holds exactly the messages sent, once each"
    orders = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM orders")).one()
    lines = conn.execute(text("SELECT count(*) FROM order_lines")).scalar_one()
    assert tuple(orders) == (AGENTS * ORDERS, AGENTS * ORDERS) and lines == 2 * AGENTS * ORDERS
    cash_rows = conn.execute(text("SELECT id, amount_minor, tip_minor FROM payments WHERE method = 'cash'")).all()
    assert {r.id: (r.amount_minor, r.tip_minor) for r in cash_rows} == {
        p.payment_id: (p.amount_minor, p.tip_minor) for p in cash.values()}
    assert len(cash_rows) == len(cash)


def _check_card_payments(conn, agents: list[LinkAgent], cards: dict[str, pay_link.ShareToPay]) -> None:
    rows = conn.execute(text("SELECT id, share_id, agent_id, amount_minor, tip_minor, provider FROM payments "
                             "WHERE method = 'card'")).all()
    assert len(rows) == len(cards) and {r.share_id for r in rows} == set(cards), "each share paid once"
    for row in rows:
        share = cards[row.share_id]
        assert (row.agent_id, row.amount_minor, row.tip_minor, row.provider) == (
            share.agent_id, share.amount_minor, share.tip_minor, "demo")
    sent_down = conn.execute(text("SELECT count(*) FROM down_messages WHERE type = 'payment.recorded'")).scalar_one()
    assert sent_down == len(cards), "one payment.recorded per card payment, however often it was delivered"
    by_agent = {a.agent_id: {d.payment_id for d in a.down_of(PaymentRecorded.TYPE)} for a in agents}
    for agent_id, payment_ids in by_agent.items():
        assert payment_ids == {r.id for r in rows if r.agent_id == agent_id}


def _check_ledger(conn, restaurant_id: str, cash: dict, cards: dict) -> None:
    unbalanced = conn.execute(text("SELECT entry_set_id, currency, sum(amount_minor) FROM ledger_entries "
                                   "GROUP BY entry_set_id, currency HAVING sum(amount_minor) <> 0")).all()
    assert unbalanced == [], "every set of entries sums to zero"
    sets = dict(conn.execute(text("SELECT payment_id, count(DISTINCT entry_set_id) FROM ledger_entries "
                                  "GROUP BY payment_id")).all())
    payment_ids = {r[0] for r in conn.execute(text("SELECT id FROM payments")).all()}
    assert len(payment_ids) == len(cash) + len(cards)
    assert sets == dict.fromkeys(payment_ids, 1), "each payment booked once, in one set"
    kept = conn.execute(text("SELECT sum(amount_minor) FROM ledger_entries WHERE account = :a"),
                        {"a": f"restaurant:{restaurant_id}"}).scalar_one()
    plan = FeePlan(**PLAN)
    assert kept == sum(p.amount_minor + p.tip_minor - platform_fee(plan, p.amount_minor, p.tip_minor)
                        for p in [*cash.values(), *cards.values()]), "the restaurant keeps what was paid less fees"
