"""Diners' order latency with a backup running, beside a reference without one, in the same run.

One command: `.venv/bin/python bench/backup_p99.py [--seed 5000] [--orders 1000] [--concurrency 4]`.
It runs an agent (sample menu, a printer emulator, the simulator POS, no broker), fills its
database with `--seed` orders, then places `--orders` orders twice over HTTP on loopback: once
alone (the reference), once while backups (agent/backup: online-backup snapshot, seal, write,
rotate) run back to back for the whole phase, far more often than the 5-minute schedule would.
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
from agent.backup.service import BACKUPS  # noqa: E402
from agent.config import from_dict  # noqa: E402
from agent.state import STATE  # noqa: E402
from agent.visits import tables  # noqa: E402
from drivers.escpos.emulator import PrinterEmulator  # noqa: E402
from tableside.serve import Server  # noqa: E402

LINES = [{"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-medium", "sauce-pepper"]},
         {"item_id": "onion-soup", "qty": 1}, {"item_id": "creme-brulee", "qty": 2}]


async def place_all(http, url: str, tokens: list[str], count: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def diner() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            async with http.post(f"{url}/api/v1/tables/{tokens[i % len(tokens)]}/orders", json={"lines": LINES},
                                 headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
                assert resp.status == 201, await resp.text()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(diner() for _ in range(concurrency)))
    return sorted(latencies)


def summary(name: str, latencies: list[float]) -> str:
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    return (f"{name:<18} p50 {statistics.median(latencies) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
            f"max {latencies[-1] * 1000:6.1f} ms")


async def main(seed: int, orders: int, concurrency: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="tableside-bench-"))
    printer = PrinterEmulator()
    await printer.start("127.0.0.1", 0)
    config = from_dict({
        "agent": {"id": "bench", "data_dir": str(data)}, "broker": {"port": 1},
        "tables": [{"name": f"Table {n}"} for n in range(1, 21)],
        "printers": [{"name": "kitchen", "stations": ["kitchen", "desserts", "bar"],
                      "options": {"host": "127.0.0.1", "port": printer.port}}],
        "pos": {"kind": "simulator"},
        "limits": {"per_client_per_minute": 1e9, "per_client_burst": 10**9,
                   "per_table_per_minute": 1e9, "per_table_burst": 10**9},
        "backup": {"interval_minutes": 24 * 60},  # the bench drives the backups itself
    })
    server = await Server(create_app(config), "127.0.0.1", 0).start()
    tokens = [t.token for t in await server.app[STATE].database.read(tables.all_tables)]
    backups = server.app[BACKUPS]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max(concurrency, 20))) as http:
            await place_all(http, server.url, tokens, seed, 20)
            database_mb = (data / "agent.sqlite").stat().st_size / 1e6
            reference = await place_all(http, server.url, tokens, orders, concurrency)
            durations: list[float] = []
            stop = asyncio.Event()

            async def back_to_back() -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    made = await backups.backup_now()
                    durations.append(time.perf_counter() - started)
                    sizes.append(made.size)

            sizes: list[int] = []
            running = asyncio.create_task(back_to_back())
            with_backup = await place_all(http, server.url, tokens, orders, concurrency)
            stop.set()
            await running
    finally:
        await server.stop()
        await printer.stop()
    print(f"database {database_mb:.1f} MB after {seed} seed orders; {orders} orders per phase, "
          f"{concurrency} diners at once")
    print(summary("reference", reference))
    print(summary("backups running", with_backup))
    print(f"backups taken meanwhile: {len(durations)}, each {statistics.median(durations) * 1000:.0f} ms "
          f"(median), {sizes[-1] / 1e6:.2f} MB sealed")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.seed, args.orders, args.concurrency))
