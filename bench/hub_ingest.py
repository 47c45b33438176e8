"""The hub's apply path alone, no broker: batches of up-messages into PostgreSQL, against the same
messages applied one at a time (the hub before batching) in the same run.

One command: `.venv/bin/python bench/hub_ingest.py [--batch 500] [--batches 20] [--mix orders|state]`.
It makes a private schema in the `test` database, enrolls 200 agents, then applies `--batches`
batches of `--batch` messages through HubLink.apply_many (what the intake does under load) and
the same number of fresh messages through HubLink.process, one by one. `state` is the dinner
rush's state reports: bill.changed and device.status, half each, over a few bills and devices per
agent. It prints messages/s and the process's CPU ms per message for each path; PostgreSQL's own
CPU is not in it (bench/hub_scale.py measures the whole).
"""

import argparse
import asyncio
import secrets
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract import topics  # noqa: E402
from hub.config import HubConfig  # noqa: E402
from hub.link import HubLink  # noqa: E402
from hub.link.applying import Incoming  # noqa: E402
from hub.store import HubStore, migrate  # noqa: E402
from tests.hub.factories import bill_changed, device_status, encoded, enroll, order_placed  # noqa: E402
from tests.services import postgres_url  # noqa: E402

AGENTS = [f"bench-agent-{n}" for n in range(200)]


def messages(count: int, mix: str, seqs: dict[str, int]) -> list[Incoming]:
    out = []
    for n in range(count):
        agent = AGENTS[n % len(AGENTS)]
        seqs[agent] += 1
        if mix == "orders":
            type_, data = "order.placed", order_placed()
        elif n % 2:
            type_, data = "bill.changed", bill_changed(f"bill-{n % 7}")
        else:
            type_, data = "device.status", device_status(f"printer-{n % 3}")
        out.append(Incoming(topics.up(agent, type_), encoded(agent, data, seq=seqs[agent]), mid=n, qos=1))
    return out


async def measure(url: str, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    store = HubStore.open(url, workers=8)
    enroll(store.engine, *AGENTS)
    link = HubLink(HubConfig(data_dir=Path("/tmp"), operator_token="x" * 24), store)
    seqs = dict.fromkeys(AGENTS, 0)
    results = {}
    try:
        await link.apply_many(messages(args.batch, args.mix, seqs))  # warm: connections, caches
        batches = [messages(args.batch, args.mix, seqs) for _ in range(args.batches)]
        one_by_one = messages(args.batch * args.batches, args.mix, seqs)
        cpu, wall = time.process_time(), time.perf_counter()
        for batch in batches:
            acks, _ = await link.apply_many(batch)
            assert len(acks) == len(batch)
        results["batches"] = _rates(len(one_by_one), cpu, wall)
        cpu, wall = time.process_time(), time.perf_counter()
        for message in one_by_one:
            assert await link.process(message.topic, message.payload) is not None
        results["one by one (reference)"] = _rates(len(one_by_one), cpu, wall)
    finally:
        await store.close()
    return results


def _rates(count: int, cpu: float, wall: float) -> tuple[float, float]:
    return count / (time.perf_counter() - wall), (time.process_time() - cpu) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--mix", choices=("orders", "state"), default="state")
    args = parser.parse_args()
    base = postgres_url()
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        migrate(url)
        results = asyncio.run(measure(url, args))
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(f"{args.mix}, batches of {args.batch}, {args.batch * args.batches} messages each way")
    for name, (rate, cpu_ms) in results.items():
        print(f"  {name:<24} {rate:8,.0f} msg/s   {cpu_ms:.3f} CPU ms/message (the hub's process)")


if __name__ == "__main__":
    main()
