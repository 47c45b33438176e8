"""Catch-up after a long time offline: how fast the agent's backlog reaches the hub, in order, and
how long diners wait for their 201 meanwhile.

One command: `.venv/bin/python bench/catchup.py [--backlog 5000] [--rate 5]`.
It runs Mosquitto, `tableside hub run` and `tableside agent run` as processes on loopback (the
agent reaches the broker through a relay that stands for the restaurant's uplink), cuts the
uplink, places `--backlog` orders (hours of a busy evening), then restores the uplink and keeps
placing orders at `--rate` a second while the backlog drains. It prints the drain time and rate,
whether the hub applied the backlog in seq order, and the diners' p50/p99/max during catch-up.
"""

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.escpos.emulator import PrinterEmulator  # noqa: E402
from tests.chaos.cluster import agent_service, enroll_agent, hub_service  # noqa: E402
from tests.chaos.uplink import Uplink  # noqa: E402
from tests.services import mosquitto  # noqa: E402

LINES = [{"item_id": "onion-soup", "qty": 1}, {"item_id": "creme-brulee", "qty": 2}]


def _count(path: Path, sql: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


async def _order(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.post(url, json={"lines": LINES}, headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
        assert resp.status == 201, await resp.text()
    return time.perf_counter() - started


async def main(backlog: int, rate: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="tableside-catchup-"))
    with mosquitto() as broker:
        uplink = Uplink(broker.port)
        await uplink.start()
        printer = PrinterEmulator()  # tickets in memory: this measures the link
        await printer.start()
        hub = hub_service(root, broker.port)
        agent = agent_service(root, uplink.port, hub.url, printer.port)
        await asyncio.to_thread(hub.start)
        await asyncio.to_thread(enroll_agent, hub)
        await asyncio.to_thread(agent.start)
        agent_db, hub_db = root / "agent" / "agent.sqlite", root / "hub" / "hub.sqlite"
        try:
            # orders spread over the tables, as parties are: one table's bill of thousands of orders
            # would measure the bill, not the link
            tokens = [r[0] for r in sqlite3.connect(agent_db).execute("SELECT token FROM tables")]
            urls = [f"{agent.url}/api/v1/tables/{token}/orders" for token in tokens]
            async with aiohttp.ClientSession() as http:
                await uplink.cut_off("drop")
                began = time.perf_counter()
                queue = list(range(backlog))

                async def offline_diner() -> None:
                    while queue:
                        await _order(http, urls[queue.pop() % len(urls)])

                await asyncio.gather(*(offline_diner() for _ in range(10)))
                print(f"backlog: {backlog} orders placed offline in {time.perf_counter() - began:.1f} s; "
                      f"outbox waiting {_count(agent_db, 'SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL')}")
                last_backlog_seq = _count(agent_db, "SELECT MAX(seq) FROM outbox")

                uplink.restore()
                restored = time.perf_counter()
                latencies: list[float] = []
                done = asyncio.Event()

                async def diners_during_catch_up() -> None:
                    tasks, i = [], 0
                    while not done.is_set():
                        await asyncio.sleep(max(0.0, restored + i / rate - time.perf_counter()))
                        tasks.append(asyncio.create_task(_order(http, urls[i % len(urls)])))
                        i += 1
                    latencies.extend(await asyncio.gather(*tasks))

                driving = asyncio.create_task(diners_during_catch_up())
                at_hub = 0
                while at_hub < backlog:  # polled, as an operator's dashboard would
                    at_hub = await asyncio.to_thread(
                        _count, hub_db, "SELECT COUNT(*) FROM inbox WHERE type = 'order.placed' "
                                        f"AND seq <= {last_backlog_seq}")
                    await asyncio.sleep(0.2)
                drained = time.perf_counter() - restored
                done.set()
                await driving
                seqs = [r[0] for r in sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True).execute(
                    "SELECT seq FROM inbox WHERE type = 'order.placed' ORDER BY received_at, rowid")]
                out_of_order = sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b < a)
        finally:
            agent.stop()
            hub.stop()
            await uplink.stop()
            await printer.stop()
    took = sorted(x * 1000 for x in latencies)
    p50, p99 = took[len(took) // 2], took[max(0, int(len(took) * 0.99) - 1)]
    print(f"catch-up: {backlog} orders at the hub {drained:.1f} s after the uplink came back "
          f"({backlog / drained:.0f} orders/s, each table's latest bill state with them); "
          f"applied out of seq order: {out_of_order}")
    print(f"diners during catch-up: {len(latencies)} orders at {rate:g}/s, p50 {p50:.0f} ms, "
          f"p99 {p99:.0f} ms, max {took[-1]:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000, help="orders placed while the uplink is down")
    parser.add_argument("--rate", type=float, default=5.0, help="orders a second during catch-up")
    args = parser.parse_args()
    asyncio.run(main(args.backlog, args.rate))
