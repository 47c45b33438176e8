"""The hub at platform scale: N hub workers on PostgreSQL at a dinner rush, next to a bare consumer
on the same broker, in one command.

`.venv/bin/python bench/hub_scale.py [--workers 1,2,4] [--agents 200] [--rates 0,1000]
[--seconds 20] [--mix dinner|orders] [--diners 10] [--window 200]`

It starts its own Mosquitto (max_inflight_messages 1000, no queue limit: docs/scaling.md) and, for
each offered rate (0: saturation) and each worker count, a fresh PostgreSQL database and
`tableside hub run --workers N` (the supported deployment: one HTTP address, `$share/hub/...`).
The operator enrolls every agent by creating restaurants with their ids. A load generator in
processes of its own (bench/hub_scale_agents.py) runs `--agents` agents, each a real MQTT
connection with its own client id, through a rush that ramps up, holds and ramps down; diners in a
process of their own (bench/hub_scale_diners.py) open pay pages and pay with the demo provider
meanwhile. Before the hubs, the same load against a bare consumer (bench/hub_scale_bare.py): the
ceiling, in the same run.

Reported per run: messages acked and applied a second in the hold, what the generator really
offered, publish-to-ack p50/p99/max, the slowest agent's p99 against the median agent's, CPU
seconds per 1,000 messages for the hub's processes and for the PostgreSQL backends serving them,
PostgreSQL commits per message, the largest hub process's memory, the diners' pay page and
payment latency; then the exactly-once check (bench/hub_scale_checks.py).
"""

import argparse
import asyncio
import concurrent.futures
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hub_scale_diners as diners_process  # noqa: E402
from hub_scale_agents import MIX, agent_names, raise_open_files, run_load, stop_event  # noqa: E402
from hub_scale_bare import BareConsumer  # noqa: E402
from hub_scale_checks import applied_rate, down_undelivered, hold_rate, verify  # noqa: E402
from hub_scale_hub import HubWorkers, PeakMemory, cpu_seconds, enroll, fresh_database, pg_backends, pg_commits  # noqa: E402

from tests.services import mosquitto  # noqa: E402

WINDOW = 200  # unacked messages per agent, as the agent's link.window
BROKER_CONFIG = "max_inflight_messages 1000\nmax_queued_messages 0\nmax_connections -1\n"
PG_STATS_FLUSH_S = 11  # PostgreSQL 15 backends flush their counters when idle, at the latest after 10 s
DOWN_DRAIN_S = 60  # after the diners, how long the agents have to ack the payments sent down


def _q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def _latency(load: dict) -> str:
    lat = load["latency"]
    per_agent = sorted(p for p in load["per_agent_p99"] if p > 0)
    median = per_agent[len(per_agent) // 2] if per_agent else 0
    slowest = per_agent[-1] if per_agent else 0
    return (f"p50 {_q(lat, 0.5):.0f} ms, p99 {_q(lat, 0.99):.0f} ms, max {_q(lat, 1.0):.0f} ms; agents' p99: "
            f"median {median * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms "
            f"({slowest / median if median else float('nan'):.1f}x)")


def _rates(load: dict) -> tuple[float, float]:
    """(acked a second, offered a second), each over its hold."""
    return hold_rate(sorted(load["ack_times"])), hold_rate(sorted(load["offered_times"]))


async def _link_up(url: str, workers: int) -> None:
    """Every worker answers that its link is connected: ten answers in a row, over new connections
    (SO_REUSEPORT spreads them), so no message is published before its subscriber is there."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        in_a_row, deadline = 0, time.monotonic() + 60
        while in_a_row < 10 * workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the hub's link did not connect")
            async with http.get(f"{url}/healthz") as resp:
                in_a_row = in_a_row + 1 if (await resp.json())["link"]["connected"] else 0
            if not in_a_row:
                await asyncio.sleep(0.2)


def _bare_run(args, rate: float, mix: list) -> dict:
    with mosquitto(extra_config=BROKER_CONFIG) as broker, BareConsumer(broker.port) as bare:
        broker_port = broker.port
        cpu0 = cpu_seconds([bare.proc.pid])
        stop = stop_event()
        stop.set()  # nothing comes down from the bare consumer: leave once acked
        load = run_load(args.agents, args.load_processes, broker_port, rate, args.seconds, mix, args.window, stop)
        cpu = cpu_seconds([bare.proc.pid]) - cpu0
    acked, offered = _rates(load)
    n = max(len(load["acked"]), 1)
    print(f"  bare consumer: {len(load['acked'])} acked, {acked:,.0f} msg/s acked (offered {offered:,.0f}/s), "
          f"{_latency(load)}; cpu {cpu / n * 1000:.2f} s/1k msg", flush=True)
    return {"label": "bare consumer", "acked": len(load["acked"]), "rate": acked, "offered": offered,
            "p50": _q(load["latency"], 0.5), "p99": _q(load["latency"], 0.99), "cpu": cpu / n * 1000}


def _hub_run(args, root: Path, rate: float, mix: list, workers: int) -> dict:
    """One measurement: its own broker (no retained presence from the run before), database and hub."""
    with mosquitto(extra_config=BROKER_CONFIG) as broker:
        return _measure_hub(args, root, broker.port, rate, mix, workers)


def _measure_hub(args, root: Path, broker_port: int, rate: float, mix: list, workers: int) -> dict:
    database_url = fresh_database()
    hub = HubWorkers(root, workers, broker_port, database_url)
    hub.start()
    names = agent_names(args.agents)
    paying = names[:diners_process.PAYING_AGENTS]
    try:
        asyncio.run(enroll(hub.url, names, database_url, paying))
        asyncio.run(_link_up(hub.url, workers))
        time.sleep(PG_STATS_FLUSH_S)  # the migrations' and enrollment's commits counted before, not in the run
        backends0 = {pid: cpu_seconds([pid]) for pid in pg_backends(database_url)}
        cpu0, commits0 = cpu_seconds(hub.all_pids()), pg_commits(database_url)
        stop, started = stop_event(), threading.Event()
        with PeakMemory(hub.all_pids) as memory, concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_load, args.agents, args.load_processes, broker_port, rate, args.seconds, mix,
                                  args.window, stop, started)
            started.wait()
            diners = None
            if args.diners > 0:
                diners = diners_process.start(hub.url, paying, args.diners, args.seconds)()
                deadline = time.monotonic() + DOWN_DRAIN_S
                while down_undelivered(database_url) and time.monotonic() < deadline:
                    time.sleep(0.5)  # the agents ack the payments sent down to them
            stop.set()
            load = running.result()
        cpu = cpu_seconds(hub.all_pids()) - cpu0
        backends = {pid: cpu_seconds([pid]) - backends0.get(pid, 0) for pid in {*backends0, *pg_backends(database_url)}}
        time.sleep(PG_STATS_FLUSH_S)
        commits = pg_commits(database_url) - commits0
        ok, found = verify(database_url, load, diners)
        applied = applied_rate(database_url)
    finally:
        hub.stop()
    acked, offered = _rates(load)
    n = max(len(load["acked"]), 1)
    pg_cpu = sum(backends.values())
    pays = (f"; diners: {len(diners['paid'])} paid of {diners['arrived']}, pay page p50 {_q(diners['page'], 0.5):.0f} "
            f"p99 {_q(diners['page'], 0.99):.0f} ms, paying p50 {_q(diners['pay'], 0.5):.0f} p99 "
            f"{_q(diners['pay'], 0.99):.0f} ms, failed {len(diners['failed'])} {sorted(set(diners['failed']))[:3]}"
            if diners else "")
    print(f"  {workers} worker(s): {len(load['acked'])} acked, {acked:,.0f} msg/s acked, {applied:,.0f} applied "
          f"(offered {offered:,.0f}/s), {_latency(load)}; hub cpu {cpu / n * 1000:.2f} s/1k msg, postgres "
          f"{pg_cpu / n * 1000:.2f} s/1k, commits/msg {commits / n:.3f}, hub rss {memory.peak / 2**20:.0f} MB"
          f"{pays}; kinds {load['kinds']}, connect retries {load['connect_failures']}", flush=True)
    print(f"    check: {'OK' if ok else 'FAILED'}: {found}", flush=True)
    return {"label": f"{workers} worker{'s' if workers > 1 else ''}", "acked": len(load["acked"]), "rate": acked,
            "offered": offered, "p50": _q(load["latency"], 0.5), "p99": _q(load["latency"], 0.99),
            "cpu": cpu / n * 1000, "pg_cpu": pg_cpu / n * 1000, "commits": commits / n, "rss": memory.peak / 2**20,
            "ok": ok}


def _table(rows: list[dict]) -> None:
    print("\n| offered | consumer | acked | msg/s | p50 | p99 | hub CPU s/1k | PG CPU s/1k | commits/msg | RSS | check |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        hub = "pg_cpu" in r
        print(f"| {r['offered_label']} | {r['label']} | {r['acked']:,} | {r['rate']:,.0f} | {r['p50']:.0f} ms | "
              f"{r['p99']:.0f} ms | {r['cpu']:.2f} | {r['pg_cpu']:.2f} | {r['commits']:.3f} | {r['rss']:.0f} MB | "
              f"{'OK' if r['ok'] else 'FAILED'} |" if hub else
              f"| {r['offered_label']} | {r['label']} | {r['acked']:,} | {r['rate']:,.0f} | {r['p50']:.0f} ms | "
              f"{r['p99']:.0f} ms | {r['cpu']:.2f} | - | - | - | - |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--agents", type=int, default=200, help="agents, each its own MQTT connection")
    parser.add_argument("--rates", default="0,1000", help="comma-separated offered msg/s in all; 0: saturation")
    parser.add_argument("--seconds", type=float, default=20, help="the rush: ramp up, hold, ramp down")
    parser.add_argument("--mix", choices=sorted(MIX), default="dinner")
    parser.add_argument("--diners", type=float, default=10, help="diners paying by card a second; 0: none")
    parser.add_argument("--load-processes", type=int, default=0, help="load-generator processes (0: one per 250 "
                        "agents, at least 2)")
    parser.add_argument("--window", type=int, default=WINDOW, help="unacked messages per agent (the agent's "
                        "link.window is 200; 2 x 200 agents = the issue's 400 unacked)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare consumer")
    args = parser.parse_args()
    args.load_processes = args.load_processes or max(2, math.ceil(args.agents / 250))
    files = raise_open_files()  # mosquitto, started below, inherits it: one socket per agent
    if files < args.agents + 1000:
        print(f"open files limited to {files}: not enough for {args.agents} agents", file=sys.stderr)
        return 2
    mix = MIX[args.mix]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; agents {args.agents} "
          f"in {args.load_processes} processes, {args.seconds:.0f} s rush, mix {args.mix}, window {args.window}, "
          f"diners {args.diners:g}/s", flush=True)
    rows, ok = [], True
    root = Path(tempfile.mkdtemp(prefix="tableside-hubscale-"))
    for rate in [float(r) for r in args.rates.split(",")]:
        label = "saturation" if not rate else f"{rate:,.0f} msg/s"
        print(f"offered: {label} (load average {os.getloadavg()[0]:.1f})", flush=True)
        if not args.no_bare:
            rows.append({**_bare_run(args, rate, mix), "offered_label": label})
        for workers in [int(w) for w in args.workers.split(",")]:
            run_root = root / f"r{rate:.0f}-w{workers}"
            run_root.mkdir(parents=True)
            row = _hub_run(args, run_root, rate, mix, workers)
            rows.append({**row, "offered_label": label})
            ok = ok and row["ok"]
    print(f"load average at the end {os.getloadavg()[0]:.1f}; hub logs under {root}")
    _table(rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
