"""`tableside hub run --workers 2` on PostgreSQL and a real Mosquitto: one HTTP address, the link
shared through $share/hub/..., a worker SIGKILLed mid-traffic and started again; afterwards every
acked order is stored exactly once."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys

import aiohttp
import aiomqtt
import psutil
import pytest
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from contract import envelope, topics
from hub.store import migrate
from tests.hub.factories import TOKEN, encoded, enroll, order_placed
from tests.services import free_port, postgres_url, wait_for_port
from tests.waiting import eventually

pytestmark = pytest.mark.service
AGENT = "agent-workers"
ORDERS = 300
RESEND_S = 1.0  # the fake agent resends what is unacked this often (an agent's outbox does)


@pytest.fixture
def schema_url():
    base = postgres_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False), admin
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def hub_workers(tmp_path, broker, schema_url):
    url, _ = schema_url
    port = free_port()
    config = tmp_path / "hub.toml"
    config.write_text(f"""
[hub]
data_dir = "{tmp_path / 'hub'}"
database_url = "{url}"
operator_token = "{TOKEN}"
[http]
port = {port}
[broker]
port = {broker.port}
client_id = "test-hub"
""")
    migrate(url)
    enroll(create_engine(url, poolclass=NullPool), AGENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
    with open(tmp_path / "hub.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tableside.cli", "hub", "run", "--workers", "2",
                                 "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_for_port(port, timeout=60, alive=proc)
    yield proc, port
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def workers(proc: subprocess.Popen) -> list[int]:
    return [child.pid for child in psutil.Process(proc.pid).children() if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE]


async def test_two_workers_share_the_load_and_survive_a_sigkill(hub_workers, broker, schema_url):
    proc, port = hub_workers
    url, admin = schema_url
    await eventually(lambda: len(workers(proc)) == 2, within=30, what="two workers")
    bodies = {}
    for n in range(ORDERS):
        body = encoded(AGENT, order_placed(number=n), seq=n + 1)
        bodies[envelope.decode(body).id] = body
    unacked = dict(bodies)
    killed: list[int] = []
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier=f"test-{AGENT}") as agent:
        await agent.subscribe(topics.down(AGENT, "ack"), qos=1)

        async def send_unacked() -> None:
            while unacked:
                for body in list(unacked.values()):
                    await agent.publish(topics.up(AGENT, "order.placed"), body, qos=1)
                await asyncio.sleep(RESEND_S)

        sender = asyncio.create_task(send_unacked())
        async with asyncio.timeout(90):
            async for message in agent.messages:
                for message_id in envelope.decode_data(envelope.decode(message.payload)).ids:
                    unacked.pop(message_id, None)
                if not killed and len(unacked) < ORDERS * 2 // 3:
                    victim = workers(proc)[0]
                    os.kill(victim, signal.SIGKILL)  # mid-traffic, nothing flushed
                    killed.append(victim)
                if not unacked:
                    break
        sender.cancel()
    assert killed, "no worker was killed: the test did not test the crash"
    await eventually(lambda: len(workers(proc)) == 2 and killed[0] not in workers(proc), within=30,
                     what="the killed worker started again")

    with admin.connect() as conn:
        schema = make_url(url).query["options"].split("=", 1)[1]
        orders = conn.execute(text(f'SELECT count(*), count(DISTINCT id) FROM "{schema}".orders')).one()
        inbox = conn.execute(text(f'SELECT count(*) FROM "{schema}".inbox')).scalar_one()
    assert tuple(orders) == (ORDERS, ORDERS) and inbox == ORDERS

    answered = set()
    async with aiohttp.ClientSession() as http:
        for _ in range(20):  # one address, whichever worker takes the connection
            async with http.get(f"http://127.0.0.1:{port}/api/v1/agents",
                                headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                assert resp.status == 200
                [agent_row] = (await resp.json())["agents"]
                answered.add(agent_row["order_count"])
    assert answered == {ORDERS}
