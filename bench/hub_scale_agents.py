"""The load generator of bench/hub_scale.py: simulated agents, in processes of their own.

Each agent is a real MQTT connection with its own client id, as a restaurant's box is: a retained
presence and a last will, at most `window` messages unacked, resending what waits RESEND_AFTER_S
(and everything at once when a hub worker says hello), acking what the hub sends down and keeping
the share ids of the card payments it hears of. The offered rate follows a dinner rush: a ramp up
over the first fifth, a hold, a ramp down over the last fifth (`rate` 0: as fast as acks allow,
i.e. saturation).

Why processes of our own and not locust: an agent is a long-lived MQTT session with an outbox, not
a sequence of requests, and one asyncio loop holds hundreds of them; locust's gevent workers would
not mix with aiomqtt's asyncio.
"""

import asyncio
import contextlib
import multiprocessing
import random
import resource
import time
from datetime import UTC, datetime

import aiomqtt
import psutil

from contract import envelope, topics
from contract.ids import uuid7
from contract.messages import (
    Ack,
    BillChanged,
    DeviceStatus,
    OrderLine,
    OrderPlaced,
    PaymentRecorded,
    PaymentTaken,
    Presence,
)

RESEND_AFTER_S = 15.0  # as the agent's link.resend_after
RESEND_PATIENCE_MAX = 8  # as agent/link/pump.py
PUBLISH_TIMEOUT_S = 120.0  # a busy broker is slow to PUBACK; the agent's outbox would wait too
DRAIN_S = 90.0  # after the load, how long agents wait for their last acks
TICK_S = 0.02  # a paced agent's shortest sleep
CONNECTS_AT_ONCE = 50  # per process: 2,000 CONNECTs at one instant only measure the broker's backlog
MIX = {"dinner": [("order.placed", 45), ("bill.changed", 30), ("device.status", 10), ("payment.taken", 5),
                  ("presence", 2)],
       "orders": [("order.placed", 100)]}


def raise_open_files() -> int:
    """Each agent is a socket: lift the soft limit on open files to the hard one; the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def agent_names(count: int) -> list[str]:
    return [f"bench-agent-{i:05d}" for i in range(count)]


def _message(kind: str, n: int):
    now = datetime.now(UTC).isoformat()
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


def _empty() -> dict:
    return {"latency": [], "acked": [], "ack_times": [], "orders": [], "cash": [], "kinds": {}, "unacked": 0,
            "resent": 0, "offered_times": [], "per_agent_p99": [], "recorded": [], "connect_failures": 0,
            "timeline": []}


class _Agent:
    def __init__(self, name: str, port: int, window: int, out: dict) -> None:
        self.name, self.port, self.window, self.out = name, port, window, out
        self.sent: dict[str, float] = {}  # id -> first publish time, until acked
        self.unacked: dict[str, tuple[float, str, bytes]] = {}  # id -> (last sent, topic, body)
        self.room = asyncio.Semaphore(window)
        self.latency: list[float] = []
        self.seq = 0
        self.client: aiomqtt.Client | None = None
        self.tasks: list[asyncio.Task] = []
        self.sending_done = False
        self.drained = asyncio.Event()  # set once sending is done and everything sent is acked
        self.patience = 1  # x RESEND_AFTER_S before the next resend (agent/link/pump.py)

    def presence(self, online: bool) -> bytes:
        return envelope.encode(self.name, 0, Presence(online=online))

    def publish(self, topic: str, body: bytes) -> None:
        """Straight to paho, as the hub's wire does (hub/link/wire.py): no task, future or PUBACK to
        wait for per message (aiomqtt's cost a millisecond of this process's CPU per message, more
        than the hub's own). What is not acked is resent, as an agent's outbox would."""
        self.client._client.publish(topic, body, qos=1)  # noqa: SLF001

    def take(self) -> None:
        """From now on what the hub sends comes to received(), from paho's callback (no aiomqtt
        Message, queue or iterator per message)."""
        self.client._client.on_message = lambda _client, _userdata, message: self.received(message.payload)  # noqa: SLF001

    def received(self, payload: bytes) -> None:
        env = envelope.decode(payload)
        data = envelope.decode_data(env)
        if not isinstance(data, Ack):
            if isinstance(data, PaymentRecorded):
                self.out["recorded"].append(data.share_id)
            self.publish(topics.up(self.name, Ack.TYPE), envelope.encode(self.name, 0, Ack(ids=[env.id])))
            return
        now = time.monotonic()
        if not data.ids:  # a hub worker (re)started: resend now, as agent/link/pump.py does
            self.resend(older_than=0)
        for message_id in data.ids:
            at = self.sent.pop(message_id, None)
            last = self.unacked.pop(message_id, None)
            if last is not None and now - last[0] < RESEND_AFTER_S:
                self.patience = 1  # the hub keeps up again
            if at is not None:
                self.latency.append(now - at)
                self.out["acked"].append(message_id)
                wall = time.time()
                self.out["ack_times"].append(wall)
                self.out["timeline"].append((wall - (now - at), now - at))  # (published, latency)
                self.room.release()
        if self.sending_done and not self.sent:
            self.drained.set()

    def resend(self, older_than: float) -> None:
        now = time.monotonic()
        for message_id, (at, topic, body) in list(self.unacked.items()):
            if now - at >= older_than:
                self.unacked[message_id] = (now, topic, body)
                self.out["resent"] += 1
                self.publish(topic, body)

    async def resend_overdue(self) -> None:
        """As agent/link/pump.py: each resend that met no timely ack doubles the wait before the next."""
        while True:
            await asyncio.sleep(RESEND_AFTER_S / 3)
            waited = RESEND_AFTER_S * self.patience
            if any(time.monotonic() - at >= waited for at, _, _ in self.unacked.values()):
                self.resend(waited)
                self.patience = min(self.patience * 2, RESEND_PATIENCE_MAX)

    async def send(self, kind: str) -> None:
        self.seq += 1
        body = envelope.encode(self.name, self.seq, _message(kind, self.seq))
        self.out["offered_times"].append(time.time())
        if kind == "presence":
            self.publish(topics.up(self.name, kind), body)
            return
        await self.room.acquire()
        message_id = envelope.decode(body).id
        self.sent[message_id] = time.monotonic()
        self.unacked[message_id] = (self.sent[message_id], topics.up(self.name, kind), body)
        self.out["kinds"][kind] = self.out["kinds"].get(kind, 0) + 1
        if kind == "order.placed":
            self.out["orders"].append(message_id)
        elif kind == "payment.taken":
            self.out["cash"].append(message_id)
        self.publish(topics.up(self.name, kind), body)


async def _connect(agent: _Agent, connecting: asyncio.Semaphore, stack: contextlib.AsyncExitStack) -> None:
    will = aiomqtt.Will(topics.up(agent.name, "presence"), agent.presence(False), qos=1, retain=True)
    for _ in range(10):
        async with connecting:
            try:
                agent.client = await stack.enter_async_context(aiomqtt.Client(
                    "127.0.0.1", agent.port, identifier=agent.name, keepalive=120, will=will, timeout=30,
                    max_inflight_messages=agent.window))
                agent.client.pending_calls_threshold = 2 * agent.window + 10  # a window in flight is normal
                break
            except (aiomqtt.MqttError, OSError):
                agent.out["connect_failures"] += 1
        await asyncio.sleep(random.uniform(0.5, 2))
    else:
        raise RuntimeError(f"{agent.name} could not connect to the broker")
    agent.take()  # before subscribing: nothing the hub sends may go to aiomqtt's queue
    await agent.client.subscribe(topics.agent_subscription(agent.name), qos=1)
    await agent.client.publish(topics.up(agent.name, "presence"), agent.presence(True), qos=1, retain=True)


async def _run_agent(agent: _Agent, rate: float, seconds: float, mix: list, start_at: float) -> None:
    """Offer this agent's share of the rush, then wait (bounded) for the acks of what it sent."""
    kinds, weights = zip(*mix, strict=True)
    agent.tasks = [asyncio.create_task(agent.resend_overdue())]
    await asyncio.sleep(max(0.0, start_at - time.time()) + random.uniform(0, TICK_S))
    # a random start of credit spreads agents' messages evenly, or all would send at the same instants
    begin, credit = time.monotonic(), random.random()
    last = begin
    while (elapsed := time.monotonic() - begin) < seconds:
        if rate > 0:
            # the rush's shape: ramp up over the first fifth, hold, ramp down over the last fifth
            shape = max(0.0, min(1.0, elapsed / (seconds / 5), (seconds - elapsed) / (seconds / 5)))
            now = time.monotonic()
            credit += rate * shape * (now - last)
            last = now
            if credit < 1:
                # sleep until the next message is owed (rechecked at least every second: the rate moves)
                owed_in = (1 - credit) / rate / shape if shape > 0 else 1.0
                await asyncio.sleep(min(max(owed_in, TICK_S), 1.0))
                continue
            credit -= 1
        await agent.send(random.choices(kinds, weights)[0])
    agent.sending_done = True
    if agent.sent:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                await agent.drained.wait()
    agent.out["unacked"] += len(agent.sent)


async def _leave(agent: _Agent) -> None:
    for task in agent.tasks:
        task.cancel()
    await asyncio.gather(*agent.tasks, return_exceptions=True)
    with contextlib.suppress(Exception):  # leave as a box would: offline, retained
        await agent.client.publish(topics.up(agent.name, "presence"), agent.presence(False), qos=1, retain=True,
                                   timeout=5)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


CONTEXT = multiprocessing.get_context("spawn")  # a clean interpreter for each process, no inherited loop


def run_load(agents: int, processes: int, port: int, rate: float, seconds: float, mix: list, window: int, *,
             on_ready=None, on_started=None, on_drained=None) -> dict:
    """Run the agents, `processes` load-generator processes sharing them; what they saw, merged.

    on_ready() runs once every agent is connected, before the first message (to wait until the hub
    has them all online and to start measuring); on_started() once the rush has begun; on_drained()
    once every agent's messages are acked, while they are still connected acking what comes down
    (to wait for that and stop measuring); then the agents leave."""
    names = agent_names(agents)
    results, connected, drained = CONTEXT.Queue(), CONTEXT.Semaphore(0), CONTEXT.Semaphore(0)
    go, stop, start_at = CONTEXT.Event(), CONTEXT.Event(), CONTEXT.Value("d", 0.0)
    procs = [CONTEXT.Process(target=_load_process, args=(
        names[i::processes], port, rate / agents, seconds, mix, window, connected, go, drained, stop, results,
        start_at)) for i in range(processes)]
    for p in procs:
        p.start()
    _each(connected, procs, "connected")
    if on_ready is not None:
        on_ready()
    load_cpu = _cpu(procs)
    start_at.value = time.time() + 0.5  # all begin together
    go.set()
    if on_started is not None:
        on_started()
    _each(drained, procs, "drained")
    load_cpu = _cpu(procs) - load_cpu
    if on_drained is not None:
        on_drained()
    stop.set()
    parts = [results.get() for _ in procs]
    for p in procs:
        p.join()
    merged = _empty()
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                merged[key] += value
            elif isinstance(value, dict):
                for kind, count in value.items():
                    merged[key][kind] = merged[key].get(kind, 0) + count
            else:
                merged[key] += value
    merged["start"] = start_at.value
    merged["load_cpu"] = load_cpu  # the load generator's own CPU seconds over the rush
    merged["hold"] = (start_at.value + seconds / 5, start_at.value + seconds * 4 / 5)  # the rush's hold, by the clock
    return merged


def _cpu(procs: list) -> float:
    return sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs)


def _each(semaphore, procs: list, what: str) -> None:
    """Wait until every process has said `what`; RuntimeError if one died instead."""
    told = 0
    while told < len(procs):
        if semaphore.acquire(timeout=1.0):
            told += 1
        elif any(p.exitcode not in (None, 0) for p in procs):
            for p in procs:
                p.terminate()
            raise RuntimeError(f"a load-generator process died before all were {what}")


def _load_process(names, port, rate, seconds, mix, window, connected, go, drained, stop, results, start_at) -> None:
    """Connect every agent of this process, wait for the common start, then load."""
    raise_open_files()
    out = _empty()

    async def main() -> None:
        connecting = asyncio.Semaphore(CONNECTS_AT_ONCE)
        agents = [_Agent(name, port, window, out) for name in names]
        async with contextlib.AsyncExitStack() as stack:
            await asyncio.gather(*(_connect(a, connecting, stack) for a in agents))
            connected.release()
            await asyncio.to_thread(go.wait)
            await asyncio.gather(*(_run_agent(a, rate, seconds, mix, start_at.value) for a in agents))
            drained.release()
            # stay connected, acking what the hub sends down, until the run says it is over
            await asyncio.to_thread(stop.wait)
            await asyncio.gather(*(_leave(a) for a in agents))
            for a in agents:
                out["latency"] += a.latency
                out["per_agent_p99"].append(_p99(a.latency))

    asyncio.run(main())
    results.put(out)
