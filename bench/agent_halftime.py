"""Half-time on a small box: 1,000 diners open the table page and the menu within 10 s, 300 of them
order in the same 10 s, against the agent pinned to one core, with its default rate limits.

One command: `.venv/bin/python bench/agent_halftime.py [--diners 1000] [--ordering 300] [--window 10]`.
Needs nginx and taskset (Debian: `apt-get install nginx-light util-linux`).

wrk sends the same request again and again; a rush is a thousand phones each doing a few things
once. So the load here is this process, on core 1, an asyncio loop of diners: each is its own
client (its own connections, cookie jar and loopback address 127.10.x.y, so the per-phone limits
count each phone on its own, as on the Wi-Fi) that at a random moment in the window opens its
table's page, fetches the menu (the app does, for its language) and its visit, and, for the ones
who order, posts one order at a random later moment in the window (a fresh Idempotency-Key).
The agent (`tableside agent run`, sample menu, 100 tables, printer emulator, simulator POS, no
broker) runs on core 0. The reference, in the same run and on the same core, is nginx serving the
same page and menu bytes and answering the order's POST with a fixed 201: what this load
generator and loopback cost on their own. Afterwards the orders on disk are counted against the
201s seen.

`--first-visit`: each phone also loads the scripts and styles the page names, as a phone does the
first time (later its service worker and cache answer, with 304s at most); nginx serves the same
files for the reference.
"""

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from agent_http import ORDER, agent_config, count_orders, process, wait_http  # noqa: E402

from agent.web.static_files import STATIC  # noqa: E402
from tests.services import free_port  # noqa: E402

AGENT_CORE, LOAD_CORE = "0", 1


@dataclass
class Outcomes:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    finished_at: float = 0.0

    def add(self, kind: str, status: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        by_status = self.statuses.setdefault(kind, {})
        by_status[status] = by_status.get(status, 0) + 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def _timed(out: Outcomes, kind: str, started_run: float, call) -> aiohttp.ClientResponse | None:
    started = time.monotonic()
    try:
        async with call() as resp:
            await resp.read()
            out.add(kind, str(resp.status), time.monotonic() - started)
            return resp
    except (aiohttp.ClientError, TimeoutError) as exc:
        out.add(kind, type(exc).__name__, time.monotonic() - started)
        return None
    finally:
        out.finished_at = max(out.finished_at, time.monotonic() - started_run)


async def diner(n: int, base: str, token: str, opens_at: float, orders_at: float | None, started: float,
                out: Outcomes, assets: list[str]) -> None:
    await asyncio.sleep(max(0.0, started + opens_at - time.monotonic()))
    address = f"127.10.{n // 250}.{n % 250 + 1}"  # one phone, one address: the per-client limit is per phone
    connector = aiohttp.TCPConnector(local_addr=(address, 0), limit=6)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout,
                                     headers={"Accept-Language": "en"}) as http:
        await _timed(out, "table page", started, lambda: http.get(f"/t/{token}"))
        await asyncio.gather(*(_timed(out, "static", started, lambda a=a: http.get(a)) for a in assets))
        await asyncio.gather(
            _timed(out, "menu", started, lambda: http.get("/api/v1/menu?lang=en")),
            _timed(out, "visit", started, lambda: http.get(f"/api/v1/tables/{token}")))
        if orders_at is None:
            return
        await asyncio.sleep(max(0.0, started + orders_at - time.monotonic()))
        await _timed(out, "order", started, lambda: http.post(
            f"/api/v1/tables/{token}/orders", json=ORDER, headers={"Idempotency-Key": str(uuid.uuid4())}))


async def rush(base: str, tokens: list[str], diners: int, ordering: int, window: float, seed: int,
               assets: list[str]) -> Outcomes:
    rng = random.Random(seed)
    who_orders = set(rng.sample(range(diners), ordering))
    plan = []
    for n in range(diners):
        opens_at = rng.uniform(0, window)
        plan.append((n, tokens[n % len(tokens)], opens_at, rng.uniform(opens_at, window) if n in who_orders else None))
    out = Outcomes()
    started = time.monotonic()
    await asyncio.gather(*(diner(n, base, token, o, a, started, out, assets) for n, token, o, a in plan))
    return out


def nginx_config(root: Path, port: int, page: bytes, menu: bytes) -> Path:
    site = root / "nginx"
    (site / "api" / "v1").mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, site / "static", dirs_exist_ok=True)  # the same scripts and styles
    for path, body in ((site / "page.html", page), (site / "api" / "v1" / "menu", menu)):
        path.write_bytes(body)
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(body, 9))
    (root / "nginx-tmp").mkdir(exist_ok=True)
    temp = "\n".join(f"  {k}_temp_path {root}/nginx-tmp;" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = root / "nginx.conf"
    path.write_text(f"""
worker_processes 1;
daemon off;
pid {root / 'nginx.pid'};
error_log {root / 'nginx-error.log'};
events {{ worker_connections 8192; }}
http {{
  access_log off;
{temp}
  server {{
    listen 127.0.0.1:{port};
    root {site};
    gzip_static on;
    location /t/ {{ default_type text/html; try_files /page.html =404; }}
    location = /api/v1/menu {{ default_type application/json; }}
    location /api/v1/tables/ {{ default_type application/json; return 201 '{{"ok": true}}'; }}
  }}
}}
""")
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def report(label: str, out: Outcomes, window: float, cpu: float | None) -> None:
    everything = [s for values in out.latencies.values() for s in values]
    busy = f", agent CPU {cpu:.1f} s of one core" if cpu is not None else ""
    print(f"\n{label}: {len(everything)} requests, last answered {out.finished_at:.1f} s after the start "
          f"(window {window:g} s){busy}")
    print(f"{'what':12} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  answers")
    for kind in ("table page", "static", "menu", "visit", "order"):
        values = out.latencies.get(kind, [])
        if not values:
            continue
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(out.statuses.get(kind, {}).items()))
        print(f"{kind:12} {len(values):8d} {percentile(values, .5) * 1000:8.1f} {percentile(values, .99) * 1000:8.1f} "
              f"{max(values, default=0) * 1000:8.1f}  {statuses}")
    print(f"{'all':12} {len(everything):8d} {percentile(everything, .5) * 1000:8.1f} "
          f"{percentile(everything, .99) * 1000:8.1f} {max(everything, default=0) * 1000:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diners", type=int, default=1000)
    parser.add_argument("--ordering", type=int, default=300)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--no-reference", action="store_true", help="skip the nginx run")
    parser.add_argument("--first-visit", action="store_true",
                        help="each phone also loads the page's scripts and styles (a first visit: no cache yet)")
    args = parser.parse_args()
    for tool in ("nginx", "taskset"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is needed: apt-get install nginx-light util-linux")
    root = Path(tempfile.mkdtemp(prefix="tableside-halftime-"))
    root.chmod(0o755)  # nginx workers run as an unprivileged user and must read the files
    os.sched_setaffinity(0, {LOAD_CORE})  # the diners' phones on core 1, the box on core 0
    loop_name = os.environ.get("TABLESIDE_EVENT_LOOP", "uvloop")
    print(f"machine: {os.cpu_count()} cores, load {open('/proc/loadavg').read().split()[0]}, Python "
          f"{sys.version.split()[0]}, agent event loop {loop_name} (where installed); logs in {root}")
    printer_port, agent_port, nginx_port = free_port(), free_port(), free_port()
    tableside = [sys.executable, "-m", "tableside.cli"]
    with process(tableside + ["printer", "emulator", "--port", str(printer_port), "--out-dir", str(root / "tickets")],
                 root / "printer.log"):
        config = agent_config(root, agent_port, printer_port, default_limits=True)
        with process(["taskset", "-c", AGENT_CORE, *tableside, "agent", "run", "--config", str(config)],
                     root / "agent.log") as agent:
            base = f"http://127.0.0.1:{agent_port}"
            wait_http(base + "/api/v1/menu")
            db = root / "data" / "agent.sqlite"
            with sqlite3.connect(db) as conn:
                tokens = [r[0] for r in conn.execute("SELECT token FROM tables ORDER BY name")]
            page = urllib.request.urlopen(f"{base}/t/{tokens[0]}").read()
            menu = urllib.request.urlopen(base + "/api/v1/menu?lang=en").read()
            assets = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.decode()))) if args.first_visit else []
            if not args.no_reference:
                nginx = ["taskset", "-c", AGENT_CORE, "nginx", "-c", str(nginx_config(root, nginx_port, page, menu)),
                         "-p", str(root)]
                with process(nginx, root / "nginx.log"):
                    wait_http(f"http://127.0.0.1:{nginx_port}/api/v1/menu")
                    ref = asyncio.run(rush(f"http://127.0.0.1:{nginx_port}", tokens, args.diners, args.ordering,
                                           args.window, args.seed, assets))
                report("reference: nginx on core 0, same page and menu bytes, a fixed 201 for orders", ref,
                       args.window, None)
            before_orders, before_cpu = count_orders(db), cpu_seconds(agent.pid)
            out = asyncio.run(rush(base, tokens, args.diners, args.ordering, args.window, args.seed, assets))
            cpu = cpu_seconds(agent.pid) - before_cpu
            created = count_orders(db) - before_orders
    report("agent pinned to core 0, default rate limits", out, args.window, cpu)
    answered = out.statuses.get("order", {}).get("201", 0)
    print(f"orders on disk: {created} for {answered} answered 201"
          + ("" if created == answered else "  <-- MISMATCH"))
    print(json.dumps({"agent": {k: dict(v) for k, v in out.statuses.items()}}))


if __name__ == "__main__":
    main()
