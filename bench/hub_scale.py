"""The hub at platform scale: N hub workers on PostgreSQL at a dinner rush, next to a bare consumer
on the same broker, in one command.

`.venv/bin/python bench/hub_scale.py [--workers 1,2,4] [--agents 200] [--rates 0,1000]
[--seconds 20] [--mix dinner|orders] [--diners 10] [--window 200]`

For each offered rate (0: saturation) it measures the bare consumer, then each worker count, each
measurement with its own Mosquitto (max_inflight_messages 1000, no queue limit: docs/scaling.md),
a fresh PostgreSQL database and `tableside hub run --workers N` (the supported deployment: one
HTTP address, `$share/hub/...`). The operator enrolls every agent by creating restaurants with
their ids. A load generator in processes of its own (bench/hub_scale_agents.py) runs `--agents`
agents, each a real MQTT connection with its own client id, through a rush that ramps up, holds
and ramps down; diners in a process of their own (bench/hub_scale_diners.py) open pay pages and
pay with the demo provider meanwhile. The bare consumer (bench/hub_scale_bare.py) takes the same
load on the same kind of broker, storing nothing: the ceiling, in the same run.

Reported per run: messages acked and applied a second in the hold, what the generator really
offered, publish-to-ack p50/p99/max, the slowest agent's p99 against the median agent's, CPU
seconds per 1,000 messages for the hub's processes and for the PostgreSQL backends serving them,
PostgreSQL commits per message, the largest hub process's memory, the diners' pay page and
payment latency; then the exactly-once check (bench/hub_scale_checks.py).
"""

import argparse
import asyncio
import contextlib
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hub_scale_diners as diners_process  # noqa: E402
from agent_http import profiled  # noqa: E402
from hub_scale_agents import MIX, agent_names, raise_open_files, run_load  # noqa: E402
from hub_scale_bare import BareConsumer  # noqa: E402
from hub_scale_checks import (  # noqa: E402
    agents_online,
    applied_rate,
    down_undelivered,
    link_transactions,
    verify,
    wait_until,
)
from hub_scale_hub import HubWorkers, PeakMemory, cpu_seconds, enroll, fresh_database, pg_backends, pg_commits  # noqa: E402

from tests.services import mosquitto  # noqa: E402

WINDOW = 200  # unacked messages per agent, as the agent's link.window
# Fewer, fuller load processes compete less with the hub for the two cores: 2,000 agents in 4
# processes took 0.63 CPU ms a message and the hub's p99 was 203 ms; in 8, 0.80 ms and 420 ms
# (bench/README.md, 2026-12-06).
AGENTS_PER_PROCESS = 500
BROKER_CONFIG = "max_inflight_messages 1000\nmax_queued_messages 0\nmax_connections -1\n"
# A PostgreSQL 15 backend publishes its counters at most once a second while busy, and one that goes
# idle with counts pending waits PGSTAT_IDLE_INTERVAL (10 s): sample only after that, or the connect
# burst's commits land in the rush's window and the rush's last ones fall out of it
SETTLE_S = 11.0
DOWN_DRAIN_S = 60  # after the diners, how long the agents have to ack the payments sent down


def _q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def _agents_p99(load: dict) -> tuple[float, float]:
    """(the median agent's p99, the slowest agent's p99), in seconds."""
    per_agent = sorted(p for p in load["per_agent_p99"] if p > 0)
    return (per_agent[len(per_agent) // 2], per_agent[-1]) if per_agent else (0.0, 0.0)


def _latency_row(load: dict) -> dict:
    lat = load["latency"]
    median, slowest = _agents_p99(load)
    return {"p50": _q(lat, 0.5), "p99": _q(lat, 0.99), "max": _q(lat, 1.0),
            **({"fairness": slowest / median} if median else {})}


def _latency(load: dict) -> str:
    row = _latency_row(load)
    median, slowest = _agents_p99(load)
    return (f"p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms, max {row['max']:.0f} ms; agents' p99: "
            f"median {median * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms; the load generator's cpu "
            f"{load['load_cpu'] / max(len(load['acked']), 1) * 1000:.2f} s/1k msg")


def _timeline(load: dict) -> str:
    """Latency by the second the message was published (from the rush's start): where it stalled."""
    start, seconds = load["start"], {}
    for published, latency in load["timeline"]:
        seconds.setdefault(int(published - start), []).append(latency)
    return " ".join(f"{s}:{len(v)}/{_q(v, 0.99):.0f}" for s, v in sorted(seconds.items()))


def _rates(load: dict) -> tuple[float, float]:
    """(acked a second, offered a second) in the rush's hold (at saturation: the middle three fifths)."""
    begin, end = load["hold"]
    return tuple(sum(begin <= t < end for t in load[key]) / (end - begin) for key in ("ack_times", "offered_times"))


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
        cpu: list[float] = []
        load = run_load(args.agents, args.load_processes, broker.port, rate, args.seconds, mix, args.window,
                        on_ready=lambda: cpu.append(cpu_seconds([bare.proc.pid])),
                        on_drained=lambda: cpu.append(cpu_seconds([bare.proc.pid])))
    acked, offered = _rates(load)
    n = max(len(load["acked"]), 1)
    used = cpu[1] - cpu[0]
    print(f"  bare consumer: {len(load['acked'])} acked, {acked:,.0f} msg/s acked (offered {offered:,.0f}/s), "
          f"{_latency(load)}; cpu {used / n * 1000:.2f} s/1k msg", flush=True)
    return {"label": "bare consumer", "acked": len(load["acked"]), "rate": acked, "offered": offered,
            **_latency_row(load), "cpu": used / n * 1000}


def _hub_run(args, root: Path, rate: float, mix: list, workers: int) -> dict:
    """One measurement: its own broker (no retained presence from the run before), database and hub."""
    with mosquitto(extra_config=BROKER_CONFIG) as broker:
        database_url = fresh_database()
        hub = HubWorkers(root, workers, broker.port, database_url, args.link)
        hub.start()
        try:
            return _measure_hub(args, hub, database_url, broker.port, rate, mix)
        finally:
            hub.stop()


class _Costs:
    """CPU of the hub's processes and of the PostgreSQL backends serving them, and the database's
    commits, between two samples."""

    def __init__(self, hub: HubWorkers, database_url: str) -> None:
        self._hub, self._url = hub, database_url

    def sample(self) -> dict:
        time.sleep(SETTLE_S)
        return {"hub": cpu_seconds(self._hub.all_pids()), "commits": pg_commits(self._url),
                "backends": {pid: cpu_seconds([pid]) for pid in pg_backends(self._url)},
                "link": self._hub.link_figures()}

    @staticmethod
    def between(before: dict, after: dict) -> tuple[float, float, int, dict[str, float]]:
        pg = sum(cpu - before["backends"].get(pid, 0.0) for pid, cpu in after["backends"].items())
        link = {k: v - before["link"].get(k, 0.0) for k, v in after["link"].items()}
        return after["hub"] - before["hub"], pg, after["commits"] - before["commits"], link


def _measure_hub(args, hub: HubWorkers, database_url: str, broker_port: int, rate: float, mix: list) -> dict:
    names = agent_names(args.agents)
    paying = names[:diners_process.PAYING_AGENTS]
    asyncio.run(enroll(hub.url, names, database_url, paying))
    asyncio.run(_link_up(hub.url, hub.workers))
    costs, samples, diners = _Costs(hub, database_url), [], {}
    profiling = contextlib.ExitStack()

    def ready() -> None:  # the hub has every agent online: the rush is what gets measured
        wait_until(lambda: agents_online(database_url) >= args.agents, 120, "every agent online at the hub")
        samples.append(costs.sample())

    def started() -> None:
        if args.profile is not None:  # the first worker, over the rush
            args.profile.mkdir(parents=True, exist_ok=True)
            out = args.profile / f"hub-w{hub.workers}-r{rate:.0f}.svg"
            profiling.enter_context(profiled(hub.worker_pids()[0], out, gil=True))
        if args.diners > 0:
            diners["collect"] = diners_process.start(hub.url, paying, args.diners, args.seconds)

    def drained() -> None:  # every up-message acked; the diners' payments must reach their agents too
        profiling.close()
        if "collect" in diners:
            diners["out"] = diners["collect"]()
            wait_until(lambda: down_undelivered(database_url) == 0, DOWN_DRAIN_S, "payments acked by the agents")
        samples.append(costs.sample())

    with PeakMemory(hub.all_pids) as memory:
        load = run_load(args.agents, args.load_processes, broker_port, rate, args.seconds, mix, args.window,
                        on_ready=ready, on_started=started, on_drained=drained)
    cpu, pg_cpu, commits, link = _Costs.between(*samples)
    outcomes = {k.split(":", 1)[1]: int(v) for k, v in sorted(link.items()) if k.startswith("outcome:") and v}
    batch = link.get("sum", 0) / link["count"] if link.get("count") else 0
    paid = diners.get("out")
    ok, found = verify(database_url, load, paid)
    applied = applied_rate(database_url, *load["hold"])
    inbox_rows, transactions = link_transactions(database_url)
    acked, offered = _rates(load)
    n = max(len(load["acked"]), 1)
    pays = (f"; diners: {len(paid['paid'])} paid of {paid['arrived']}, pay page p50 {_q(paid['page'], 0.5):.0f} "
            f"p99 {_q(paid['page'], 0.99):.0f} ms, paying p50 {_q(paid['pay'], 0.5):.0f} p99 "
            f"{_q(paid['pay'], 0.99):.0f} ms, failed {len(paid['failed'])} {sorted(set(paid['failed']))[:3]}"
            if paid else "")
    print(f"  {hub.workers} worker(s): {len(load['acked'])} acked, {acked:,.0f} msg/s acked, {applied:,.0f} applied "
          f"(offered {offered:,.0f}/s), {_latency(load)}; hub cpu {cpu / n * 1000:.2f} s/1k msg, postgres "
          f"{pg_cpu / n * 1000:.2f} s/1k, commits/msg {commits / n:.3f} (pg_stat_database; link transactions/msg "
          f"{transactions / max(inbox_rows, 1):.3f}), hub rss {memory.peak / 2**20:.0f} MB"
          f", mean batch {batch:.1f} messages{pays}; sent {load['kinds']}, hub outcomes {outcomes}, "
          f"connect retries {load['connect_failures']}", flush=True)
    print(f"    check: {'OK' if ok else 'FAILED'}: {found}", flush=True)
    if args.timeline:
        print(f"    timeline (second of the rush: acked/p99 ms): {_timeline(load)}", flush=True)
    return {"label": f"{hub.workers} worker{'s' if hub.workers > 1 else ''}", "acked": len(load["acked"]),
            "rate": acked, "offered": offered, **_latency_row(load), "cpu": cpu / n * 1000, "pg_cpu": pg_cpu / n * 1000, "commits": commits / n,
            "link_tx": transactions / max(inbox_rows, 1), "rss": memory.peak / 2**20, "ok": ok,
            "check": "OK" if ok else "FAILED"}


COLUMNS = [("offered", "offered_label", "{}"), ("consumer", "label", "{}"), ("acked", "acked", "{:,}"),
           ("msg/s", "rate", "{:,.0f}"), ("p50 ms", "p50", "{:.0f}"), ("p99 ms", "p99", "{:.0f}"),
           ("max ms", "max", "{:.0f}"), ("slowest agent's p99 / median's", "fairness", "{:.1f}x"),
           ("hub CPU s/1k", "cpu", "{:.2f}"), ("PG CPU s/1k", "pg_cpu", "{:.2f}"),
           ("commits/msg", "commits", "{:.3f}"), ("link tx/msg", "link_tx", "{:.3f}"), ("RSS MB", "rss", "{:.0f}"),
           ("check", "check", "{}")]


def _table(rows: list[dict]) -> None:
    """The runs as a markdown table, for bench/README.md."""
    print("\n| " + " | ".join(title for title, _, _ in COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(form.format(row[key]) if key in row else "-" for _, key, form in COLUMNS) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--agents", type=int, default=200, help="agents, each its own MQTT connection")
    parser.add_argument("--rates", default="0,1000", help="comma-separated offered msg/s in all; 0: saturation")
    parser.add_argument("--seconds", type=float, default=20, help="the rush: ramp up, hold, ramp down")
    parser.add_argument("--mix", choices=sorted(MIX), default="dinner")
    parser.add_argument("--diners", type=float, default=10, help="diners paying by card a second; 0: none")
    parser.add_argument("--load-processes", type=int, default=0, help="load-generator processes (0: one per 500 "
                        "agents, at least 2)")
    parser.add_argument("--window", type=int, default=WINDOW, help="unacked messages per agent (the agent's "
                        "link.window is 200; 2 x 200 agents = the issue's 400 unacked)")
    parser.add_argument("--link", action="append", default=[], metavar="KEY=VALUE",
                        help="a [link] setting for the hub, as TOML (e.g. apply_concurrency=1); repeatable")
    parser.add_argument("--timeline", action="store_true", help="print each second's count and p99 (by "
                        "publish time) for the hub's runs: where the latency comes from")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record the first worker with py-spy over "
                        "the rush: DIR/hub-w<workers>-r<rate>.svg and its top functions")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare consumer")
    args = parser.parse_args()
    args.link = dict(setting.split("=", 1) for setting in args.link)
    args.load_processes = args.load_processes or max(2, math.ceil(args.agents / AGENTS_PER_PROCESS))
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
