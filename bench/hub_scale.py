"""The hub at platform scale: how many link messages a second N hub workers apply on PostgreSQL,
and how long an agent waits for its ack, next to a bare consumer on the same broker.

One command: `.venv/bin/python bench/hub_scale.py [--workers 1,2,4] [--agents 200] [--rate 0]
[--seconds 20] [--mix dinner|orders]`.

It starts its own Mosquitto (max_inflight_messages 1000, no queue limit: docs/scaling.md), a
fresh PostgreSQL database, N `tableside hub run` processes sharing `$share/hub/...`, and a load
generator in its own processes: `--agents` agents, each a real MQTT connection with its own client
id and at most WINDOW messages unacked (as an agent's link), offering `--rate` messages a second in
all (0: as fast as acks allow, i.e. saturation) with a ramp up, hold and ramp down. The dinner-rush
mix is order.placed, bill.changed, device.status, payment.taken (acked) and presence (not acked).
Then the same load against a bare consumer (decode, answer an Ack, nothing stored): the ceiling.

Reported per run: messages acked a second, publish-to-ack p50/p99/max, hub CPU seconds per 1,000
messages (PostgreSQL's too: every postgres process on the machine, so other users count),
PostgreSQL commits per message, the largest hub worker's memory; afterwards every acked message
must be in the hub's inbox exactly once and every acked order stored once.
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import psutil
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract import envelope, topics  # noqa: E402
from contract.ids import uuid7  # noqa: E402
from contract.messages import Ack, BillChanged, DeviceStatus, OrderLine, OrderPlaced, PaymentTaken, Presence  # noqa: E402
from tests.services import free_port, mosquitto, postgres_url, wait_for_port  # noqa: E402

WINDOW = 200  # unacked messages per agent, as the agent's link.window
RESEND_AFTER_S = 15.0  # as the agent's link.resend_after
PUBLISH_TIMEOUT_S = 120.0  # a busy broker is slow to PUBACK; the bench waits, as the agent's outbox would
DRAIN_S = 90.0  # after the load, how long agents wait for their last acks
BROKER_CONFIG = "max_inflight_messages 1000\nmax_queued_messages 0\n"
TOKEN = "bench-operator-token-0123456789"
MIX = {"dinner": [("order.placed", 45), ("bill.changed", 30), ("device.status", 10), ("payment.taken", 5),
                  ("presence", 2)],
       "orders": [("order.placed", 100)]}


# --- the load generator (its own processes) ---

def _message(kind: str, agent: str, n: int):
    now = "2026-12-02T19:30:00.000Z"
    if kind == "order.placed":
        lines = [OrderLine(item_id=f"item-{i}", name=f"Dish {i}", qty=1, unit_price_minor=900 + i,
                           line_total_minor=900 + i) for i in range(3)]
        return OrderPlaced(order_id=uuid7(), number=n, table_id="t-1", table_name="Table 1", placed_at=now,
                           currency="EUR", total_minor=sum(li.line_total_minor for li in lines), lines=lines)
    if kind == "bill.changed":
        return BillChanged(bill_id=f"bill-{n % 20}", table_name="Table 1", currency="EUR", total_minor=2700 + n,
                           paid_minor=0, left_minor=2700 + n, status="open", changed_at=now)
    if kind == "device.status":
        return DeviceStatus(device=f"printer-{n % 3}", kind="printer", state="online", detail="", waiting=n % 5,
                            held=0, changed_at=now)
    if kind == "payment.taken":
        return PaymentTaken(payment_id=uuid7(), share_id=uuid7(), bill_id=f"bill-{n % 20}", table_name="Table 1",
                            method="cash", currency="EUR", amount_minor=2500, tip_minor=0, taken_at=now)
    return Presence(online=True)


async def _agent(agent: str, port: int, rate: float, seconds: float, mix: list, out: dict, start_at: float,
                 window: int) -> None:
    kinds, weights = zip(*mix, strict=True)
    sent: dict[str, float] = {}
    unacked: dict[str, tuple[float, str, bytes]] = {}  # id -> (last sent, topic, body): resent as an agent does
    room = asyncio.Semaphore(window)
    done = asyncio.Event()
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"bench-{agent}", keepalive=60,
                              max_inflight_messages=window) as client:
        await client.subscribe(topics.down(agent, Ack.TYPE), qos=1)

        async def acks() -> None:
            async for message in client.messages:
                now = time.monotonic()
                for message_id in envelope.decode_data(envelope.decode(message.payload)).ids:
                    at = sent.pop(message_id, None)
                    unacked.pop(message_id, None)
                    if at is not None:
                        out["latency"].append(now - at)
                        out["acked"].append(message_id)
                        out["ack_times"].append(now)
                        room.release()
                if done.is_set() and not sent:
                    return

        async def resend() -> None:
            while True:
                await asyncio.sleep(RESEND_AFTER_S / 3)
                now = time.monotonic()
                for message_id, (at, topic, body) in list(unacked.items()):
                    if now - at > RESEND_AFTER_S:
                        unacked[message_id] = (now, topic, body)
                        out["resent"] += 1
                        publishing.add(task := asyncio.create_task(client.publish(topic, body, qos=1,
                                                                                  timeout=PUBLISH_TIMEOUT_S)))
                        task.add_done_callback(publishing.discard)

        reader = asyncio.create_task(acks())
        resender = asyncio.create_task(resend())
        publishing: set[asyncio.Task] = set()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        begin, seq, n = time.monotonic(), 0, 0
        while (elapsed := time.monotonic() - begin) < seconds:
            # ramp up over the first fifth, hold, ramp down over the last fifth
            shape = min(1.0, elapsed / (seconds / 5), (seconds - elapsed) / (seconds / 5))
            if rate > 0:
                await asyncio.sleep(1.0 / max(rate * max(shape, 0.05), 0.01))
            kind = random.choices(kinds, weights)[0]
            n += 1
            seq += 1
            body = envelope.encode(agent, seq, _message(kind, agent, n))
            if kind == "presence":
                await client.publish(topics.up(agent, kind), body, qos=1)
                continue
            await room.acquire()
            message_id = envelope.decode(body).id
            sent[message_id] = time.monotonic()
            unacked[message_id] = (sent[message_id], topics.up(agent, kind), body)
            out["kinds"][kind] = out["kinds"].get(kind, 0) + 1
            if kind == "order.placed":
                out["orders"].append(message_id)
            # not awaited one by one: each publish waits for its PUBACK, an agent's link does not
            publishing.add(task := asyncio.create_task(client.publish(topics.up(agent, kind), body, qos=1,
                                                                      timeout=PUBLISH_TIMEOUT_S)))
            task.add_done_callback(publishing.discard)
        done.set()
        try:
            async with asyncio.timeout(DRAIN_S):
                if sent:
                    await reader
        except TimeoutError:
            out["unacked"] += len(sent)
        for task in (reader, resender, *publishing):
            task.cancel()
        await asyncio.gather(reader, resender, *publishing, return_exceptions=True)


def _load_process(agents: list[str], port: int, rate: float, seconds: float, mix: list, start_at: float,
                  window: int, results) -> None:
    out = {"latency": [], "acked": [], "ack_times": [], "orders": [], "kinds": {}, "unacked": 0, "resent": 0}

    async def main() -> None:
        await asyncio.gather(*(_agent(a, port, rate, seconds, mix, out, start_at, window) for a in agents))

    asyncio.run(main())
    results.put(out)


def run_load(agents: int, processes: int, port: int, rate: float, seconds: float, mix: list,
             window: int) -> dict:
    names = [f"agent-{i:05d}" for i in range(agents)]
    results = multiprocessing.Queue()
    start_at = time.time() + 3 + agents / 200  # every connection up before the first message
    procs = [multiprocessing.Process(target=_load_process, args=(
        names[i::processes], port, rate / agents, seconds, mix, start_at, window, results)) for i in range(processes)]
    for p in procs:
        p.start()
    parts = [results.get() for _ in procs]
    for p in procs:
        p.join()
    merged = {"latency": [], "acked": [], "ack_times": [], "orders": [], "kinds": {}, "unacked": 0, "resent": 0}
    for part in parts:
        for key in ("latency", "acked", "ack_times", "orders"):
            merged[key] += part[key]
        merged["unacked"] += part["unacked"]
        merged["resent"] += part["resent"]
        for kind, count in part["kinds"].items():
            merged["kinds"][kind] = merged["kinds"].get(kind, 0) + count
    return merged


# --- the bare consumer: the ceiling ---

def _bare_consumer(port: int, ready) -> None:
    """paho on its own thread: decode each message, answer an Ack for it, store nothing."""
    import paho.mqtt.client as paho

    seq = [0]

    def on_connect(client, userdata, flags, reason, properties) -> None:
        client.subscribe(topics.HUB_SHARED_SUBSCRIPTION, qos=1)
        ready.set()

    def on_message(client, userdata, message) -> None:
        env = envelope.decode(message.payload)
        if env.type != "presence":
            seq[0] += 1
            client.publish(topics.down(env.agent_id, Ack.TYPE), envelope.encode(env.agent_id, seq[0],
                                                                                Ack(ids=[env.id])), qos=1)

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.max_inflight_messages_set(1000)
    client.on_connect, client.on_message = on_connect, on_message
    client.connect("127.0.0.1", port)
    client.loop_forever()


# --- hub workers ---

def _fresh_database() -> str:
    base = make_url(postgres_url())
    name = "tableside_hub_bench"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _start_workers(root: Path, count: int, broker_port: int, database_url: str) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        port = free_port()
        config = root / f"hub-{i}.toml"
        config.write_text(f"""
[hub]
data_dir = "{root / f'hub-{i}'}"
database_url = "{database_url}"
operator_token = "{TOKEN}"
[http]
port = {port}
[broker]
port = {broker_port}
client_id = "bench-hub-{i}"
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
        with open(root / f"hub-{i}.log", "ab") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "tableside.cli", "hub", "run", "--config",
                                           str(config)], stdout=log, stderr=subprocess.STDOUT, env=env))
        wait_for_port(port, timeout=60, alive=procs[-1])  # the first migrates, the rest find it done
    return procs


def _restaurant_for(database_url: str, agents: int) -> None:
    """One restaurant owning every agent, so payment.taken has a fee plan to apply."""
    from hub.store.payment_tables import restaurant_agents, restaurants
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(restaurants.insert().values(
            id="bench-restaurant", name="Bench", country="DE", currency="EUR", fee_basis_points=150,
            fee_fixed_minor=10, created_at=datetime.now(UTC)))
        conn.execute(restaurant_agents.insert(), [{"agent_id": f"agent-{i:05d}", "restaurant_id": "bench-restaurant"}
                                                  for i in range(agents)])
    engine.dispose()


def _pg_commits(database_url: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
        commits = value.scalar_one()
    engine.dispose()
    return commits


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _sample_memory(pids: list[int], peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        with_rss = [psutil.Process(pid).memory_info().rss for pid in pids if psutil.pid_exists(pid)]
        peak[0] = max([peak[0], *with_rss])


def _postgres_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]


def _verify(database_url: str, load: dict) -> str:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE acked (id text PRIMARY KEY)"))
        conn.execute(text("INSERT INTO acked VALUES (:id) ON CONFLICT DO NOTHING"), [{"id": i} for i in load["acked"]])
        missing = conn.execute(text("SELECT count(*) FROM acked a LEFT JOIN inbox i ON i.message_id = a.id "
                                    "WHERE i.message_id IS NULL")).scalar_one()
        inbox = conn.execute(text("SELECT count(*) FROM inbox")).scalar_one()
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
        lines = conn.execute(text("SELECT count(*) FROM order_lines")).scalar_one()
    engine.dispose()
    acked_orders = len(set(load["orders"]) & set(load["acked"]))
    ok = missing == 0 and orders == acked_orders and lines == 3 * orders and len(set(load["acked"])) == len(load["acked"])
    return (f"{'OK' if ok else 'FAILED'}: acked {len(load['acked'])}, missing from inbox {missing}, inbox rows {inbox}, "
            f"orders {orders} (acked {acked_orders}), resent {load['resent']}, unacked at the end {load['unacked']}")


def _report(label: str, load: dict, seconds: float, extra: str = "") -> None:
    lat = sorted(load["latency"])
    if not lat:
        print(f"{label}: nothing acked")
        return
    times = sorted(load["ack_times"])
    # the hold phase: the middle three fifths of the acks' time span
    span = times[-1] - times[0]
    hold = [t for t in times if times[0] + span / 5 <= t <= times[-1] - span / 5]
    rate = len(hold) / max(hold[-1] - hold[0], 1e-6) if len(hold) > 1 else len(times) / max(span, 1e-6)

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"{label}: {len(lat)} acked, {rate:,.0f} msg/s (hold), p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms, "
          f"max {lat[-1] * 1000:.0f} ms {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2,4")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rate", type=float, default=0, help="messages a second offered in all; 0: saturation")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--mix", choices=sorted(MIX), default="dinner")
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--window", type=int, default=WINDOW, help="unacked messages per agent (the agent's "
                        "link.window is 200; 2 x 200 agents = the issue's 400 unacked)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare consumer")
    args = parser.parse_args()
    mix = MIX[args.mix]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"agents {args.agents}, offered {'saturation' if not args.rate else f'{args.rate:.0f} msg/s'}, "
          f"{args.seconds:.0f} s, mix {args.mix}, window {args.window} per agent")
    root = Path(tempfile.mkdtemp(prefix="tableside-hubscale-"))
    with mosquitto(extra_config=BROKER_CONFIG) as broker:
        if not args.no_bare:
            ready = multiprocessing.Event()
            bare = multiprocessing.Process(target=_bare_consumer, args=(broker.port, ready))
            bare.start()
            ready.wait(10)
            cpu0 = _cpu([bare.pid])
            load = run_load(args.agents, args.load_processes, broker.port, args.rate, args.seconds, mix, args.window)
            cpu = _cpu([bare.pid]) - cpu0
            bare.terminate()
            bare.join()
            _report("bare consumer", load, args.seconds, f"cpu {cpu / max(len(load['acked']), 1) * 1000:.2f} s/1k")
        for workers in [int(w) for w in args.workers.split(",")]:
            database_url = _fresh_database()
            (root / f"w{workers}").mkdir(parents=True)
            procs = _start_workers(root / f"w{workers}", workers, broker.port, database_url)
            try:
                _restaurant_for(database_url, args.agents)
                pids, pg = [p.pid for p in procs], _postgres_pids()
                cpu0, pg0, commits0 = _cpu(pids), _cpu(pg), _pg_commits(database_url)
                peak, sampling = [0], threading.Event()
                sampler = threading.Thread(target=_sample_memory, args=(pids, peak, sampling), daemon=True)
                sampler.start()
                load = run_load(args.agents, args.load_processes, broker.port, args.rate, args.seconds, mix, args.window)
                sampling.set()
                sampler.join()
                cpu, pg_cpu = _cpu(pids) - cpu0, _cpu(pg) - pg0
                commits = _pg_commits(database_url) - commits0
                n = max(len(load["acked"]), 1)
                _report(f"{workers} worker(s)", load, args.seconds,
                        f"| hub cpu {cpu / n * 1000:.2f} s/1k, postgres cpu {pg_cpu / n * 1000:.2f} s/1k, "
                        f"commits/msg {commits / n:.3f}, hub rss {peak[0] / 2**20:.0f} MB, kinds {load['kinds']}")
                print("  check:", _verify(database_url, load))
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(30)


if __name__ == "__main__":
    main()
