"""Order intake on the agent: how many orders a second, and how long a diner waits for the 201.

One command: `.venv/bin/python bench/orders.py [--orders 2000] [--concurrency 20]`.
It runs an agent (sample menu, one printer emulator, the simulator POS, no broker: the outbox
just grows, as when the uplink is down) and places orders over real HTTP on loopback. Each 201
means the order, its device jobs and its outbox message are on disk (synchronous=FULL).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.app import create_app  # noqa: E402
from agent.config import from_dict  # noqa: E402
from agent.state import STATE  # noqa: E402
from agent.visits import tables
from drivers.escpos.emulator import PrinterEmulator  # noqa: E402
from tableside.serve import Server  # noqa: E402

LINES = [{"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-medium", "sauce-pepper"]},
         {"item_id": "onion-soup", "qty": 1}, {"item_id": "creme-brulee", "qty": 2}]


async def main(orders: int, concurrency: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="tableside-bench-"))
    printer = PrinterEmulator()
    await printer.start("127.0.0.1", 0)
    config = from_dict({
        "agent": {"id": "bench", "data_dir": str(data)}, "broker": {"port": 1},  # nothing listens there
        "tables": [{"name": f"Table {n}"} for n in range(1, 21)],
        "printers": [{"name": "kitchen", "stations": ["kitchen", "desserts", "bar"],
                      "options": {"host": "127.0.0.1", "port": printer.port}}],
        "pos": {"kind": "simulator"},
        # every simulated diner comes from one address: the rate limits would measure themselves
        "limits": {"per_client_per_minute": 1e9, "per_client_burst": 10**9,
                   "per_table_per_minute": 1e9, "per_table_burst": 10**9},
    })
    server = await Server(create_app(config), "127.0.0.1", 0).start()
    tokens = [t.token for t in await server.app[STATE].database.read(tables.all_tables)]
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(orders):
        queue.put_nowait(i)

    async def diner(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            async with http.post(f"{server.url}/api/v1/tables/{tokens[i % len(tokens)]}/orders",
                                 json={"lines": LINES}, headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
                assert resp.status == 201, await resp.text()
            latencies.append(time.perf_counter() - started)

    database = server.app[STATE].database
    commits_before, writes_before = database.commits, database.writes
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(diner(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    commits, writes = database.commits - commits_before, database.writes - writes_before
    await server.stop()
    await printer.stop()
    latencies.sort()
    print(f"orders: {orders}, concurrency: {concurrency}, elapsed: {elapsed:.2f} s")
    print(f"throughput: {orders / elapsed:.0f} orders/s")
    print(f"writes: {writes} in {commits} commits ({writes / orders:.1f} writes and {commits / orders:.2f} fsynced "
          "commits per order, device jobs included)")
    print(f"latency ms: p50 {statistics.median(latencies) * 1000:.1f}, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f}, max {latencies[-1] * 1000:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency))
