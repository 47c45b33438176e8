"""The agent at the limit of its box: wrk against the agent and, in the same run, nginx serving the
same menu bytes, for the menu, the table page and orders (over many tables and over one long tab).

One command: `.venv/bin/python bench/agent_http.py [--duration 10] [--connections 100,500]`;
`--only orders` runs the order cases alone, `--profile DIR` records the agent with py-spy while they run
(a flame graph per case and its top functions printed).
Needs wrk and nginx (Debian: `apt-get install wrk nginx-light`). It starts, as processes of their
own on loopback: a printer emulator, the agent (`tableside agent run`, sample menu, the simulator
POS, no broker: the outbox grows, as with the uplink down) and nginx with one worker. Each case runs
wrk for --duration seconds; then everything again with the agent pinned to one core (`taskset`),
wrk and the rest on the other, as the stand-in for a small box. Orders use a fresh
Idempotency-Key per request; afterwards the bench checks that every 201 wrk counted is an order on
disk exactly once, counts the device jobs (tickets, POS orders) not yet delivered when wrk stopped
and waits until they are (at most 30 s) before the next case, then flushes the disk (`sync`), so
no case's fsyncs wait behind the writeback of the one before. Beside the orders, SQLite's own
fsynced commits per second on the same disk are the reference.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import free_port  # noqa: E402

TABLES = 100
ORDER = {"lines": [{"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-medium"]},
                   {"item_id": "onion-soup", "qty": 1}]}

# wrk posts an order per request with a key never used before (a nonce per run, then thread and
# counter); the tokens to spread the orders over come as arguments after the nonce.
ORDER_SCRIPT = """
local tokens, counter, nonce = {}, 0, ""
local body = '%s'
local threads = 0
function setup(thread) threads = threads + 1; thread:set("thread_no", threads) end
function init(args)
  nonce = args[1]
  for i = 2, #args do tokens[#tokens + 1] = args[i] end
end
function request()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  return wrk.format("POST", "/api/v1/tables/" .. token .. "/orders",
    {["Content-Type"] = "application/json",
     ["Idempotency-Key"] = "bench-" .. nonce .. "-" .. thread_no .. "-" .. counter}, body)
end
"""


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def process(args: list[str], log: Path, env: dict | None = None):
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# wrk is one client standing for a thousand phones, and the one-table case is a long tab on purpose:
# the per-client and per-table limits would refuse it (by design), so here they are out of the way
BENCH_LIMITS = """[limits]
per_table_per_minute = 1000000000.0
per_table_burst = 1000000
per_client_per_minute = 1000000000.0
per_client_burst = 1000000"""


def agent_config(root: Path, port: int, printer_port: int, *, default_limits: bool = False) -> Path:
    tables = "\n".join(f'[[tables]]\nname = "Table {i}"' for i in range(1, TABLES + 1))
    path = root / "agent.toml"
    path.write_text(f"""
[agent]
id = "bench"
data_dir = "{root / 'data'}"
[http]
host = "127.0.0.1"
port = {port}
[broker]
host = "127.0.0.1"
port = 1
{"" if default_limits else BENCH_LIMITS}
{tables}
[[printers]]
name = "kitchen"
kind = "escpos-tcp"
stations = ["kitchen", "desserts", "bar"]
options = {{ host = "127.0.0.1", port = {printer_port} }}
[pos]
kind = "simulator"
options = {{ path = "{root / 'pos.jsonl'}" }}
""")
    return path


def nginx_config(root: Path, port: int, menu: bytes) -> Path:
    site = root / "nginx"
    (site / "api" / "v1").mkdir(parents=True, exist_ok=True)
    (site / "api" / "v1" / "menu").write_bytes(menu)
    (site / "api" / "v1" / "menu.gz").write_bytes(gzip.compress(menu, 9))
    path = root / "nginx.conf"
    path.write_text(f"""
worker_processes 1;
daemon off;
pid {root / 'nginx.pid'};
error_log {root / 'nginx-error.log'};
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/nginx-tmp;
  proxy_temp_path {root}/nginx-tmp;
  fastcgi_temp_path {root}/nginx-tmp;
  uwsgi_temp_path {root}/nginx-tmp;
  scgi_temp_path {root}/nginx-tmp;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    location = /api/v1/menu {{ gzip_static on; default_type application/json; etag on; }}
  }}
}}
""")
    return path


def wrk(url: str, connections: int, duration: int, *, script: Path | None = None, args: list[str] = (),
        cpus: str | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-H", "Accept-Encoding: gzip, br"]
    if script:
        cmd += ["-s", str(script)]
    cmd += [url]
    if args:
        cmd += ["--", *args]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": total, "p50": p.get("50"), "p99": p.get("99"),
            "non2xx": int(errors.group(1)) if errors else 0, "socket_errors": sock.group(1) if sock else ""}


@contextmanager
def profiled(pid: int, out: Path | None, *, gil: bool = False):
    """py-spy (a profiling tool, not a dependency) sampling the agent while the block runs: a flame
    graph and the raw stacks, whose top functions are then printed. gil: only the thread holding
    the GIL, so where the CPU goes, not who waits on a socket."""
    if out is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = out.with_suffix(".txt")
    procs = [subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--format", fmt,
                               "--output", str(path), *(["--gil"] if gil else [])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for fmt, path in (("flamegraph", out), ("raw", raw))]
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            proc.wait(30)
    print_top(raw)


def print_top(raw: Path, n: int = 15) -> None:
    """The functions with the most samples of their own (self) and with what they call (total),
    as shares of the samples of the threads that were busy."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";")[1:] if f]  # the first is the thread
        if not frames:
            continue
        n_samples = int(count)
        samples += n_samples
        own[frames[-1]] = own.get(frames[-1], 0) + n_samples
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n_samples
    print(f"  py-spy, {raw.stem}: {samples} samples, flame graph {raw.with_suffix('.svg')}")
    for title, table in (("self", own), ("total", total)):
        print(f"  top by {title}:")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:n]:
            print(f"    {100 * count / max(samples, 1):5.1f} %  {frame}")


def fsynced_commits_per_second(directory: Path, seconds: float = 2.0) -> float:
    """The reference for orders: SQLite on the same disk, as the agent opens it (WAL,
    synchronous=FULL), one small insert per commit, one after another."""
    path = directory / "reference.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    commits, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (v) VALUES ('an order')")
        conn.execute("COMMIT")
        commits += 1
    elapsed = time.perf_counter() - began
    conn.close()
    path.unlink()
    return commits / elapsed


def count_orders(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]


def tickets_waiting(db: Path) -> int:
    """Device jobs (kitchen tickets, POS orders) not yet delivered."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM device_jobs WHERE status IN ('pending', 'sending')").fetchone()[0]


def drain_seconds(db: Path, limit: float = 30) -> float | None:
    """How long after the load stops the devices' queues take to empty (None: not within limit)."""
    began = time.monotonic()
    while tickets_waiting(db):
        if time.monotonic() - began > limit:
            return None
        time.sleep(0.1)
    return time.monotonic() - began


def reads_beside_nginx(root: Path, base: str, menu: bytes, token: str, connections: list[int], duration: int,
                       agent_cpus: str | None, load_cpus: str | None) -> list[tuple]:
    """The menu from nginx (the reference) and from the agent, and a table page, at each count."""
    rows = []
    nginx_port = free_port()
    (root / "nginx-tmp").mkdir(exist_ok=True)
    nginx_cmd = ["nginx", "-c", str(nginx_config(root, nginx_port, menu)), "-p", str(root)]
    if agent_cpus:
        nginx_cmd = ["taskset", "-c", agent_cpus, *nginx_cmd]
    with process(nginx_cmd, root / "nginx.log"):
        wait_http(f"http://127.0.0.1:{nginx_port}/api/v1/menu")
        for c in connections:
            ref = wrk(f"http://127.0.0.1:{nginx_port}/api/v1/menu", c, duration, cpus=load_cpus)
            rows.append(("nginx menu (gzip_static)", c, ref))
            rows.append(("agent menu", c, wrk(base + "/api/v1/menu", c, duration, cpus=load_cpus)))
            rows.append(("agent table page", c, wrk(f"{base}/t/{token}", c, duration, cpus=load_cpus)))
    return rows


def run(root: Path, duration: int, connections: list[int], pinned: bool, *, reads: bool = True,
        orders: bool = True, profile: Path | None = None) -> list[tuple]:
    agent_cpus, load_cpus = ("0", "1") if pinned else (None, None)
    printer_port, agent_port = free_port(), free_port()
    tableside = [sys.executable, "-m", "tableside.cli"]
    data = root / "data"
    # a fresh restaurant each run: the run before's database, tickets and POS checks gone (the
    # simulator POS reads all its checks back at its first order: 10,000 of them stalled the pinned
    # run's first case for half a second)
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(root / "tickets", ignore_errors=True)
    (root / "pos.jsonl").unlink(missing_ok=True)
    rows = []
    with process(tableside + ["printer", "emulator", "--port", str(printer_port), "--out-dir", str(root / "tickets")],
                 root / "printer.log"):
        agent_cmd = tableside + ["agent", "run", "--config", str(agent_config(root, agent_port, printer_port))]
        if agent_cpus:
            agent_cmd = ["taskset", "-c", agent_cpus, *agent_cmd]
        with process(agent_cmd, root / "agent.log") as agent:
            base = f"http://127.0.0.1:{agent_port}"
            wait_http(base + "/api/v1/menu")
            menu = urllib.request.urlopen(base + "/api/v1/menu").read()
            with sqlite3.connect(data / "agent.sqlite") as conn:
                tokens = [r[0] for r in conn.execute("SELECT token FROM tables ORDER BY name")]
            script = root / "orders.lua"
            script.write_text(ORDER_SCRIPT % json.dumps(ORDER).replace("'", "\\'"))
            if reads:
                rows += reads_beside_nginx(root, base, menu, tokens[0], connections, duration, agent_cpus, load_cpus)
            os.sync()  # the reference too measures this disk, not the writeback of the run before
            if agent_cpus:
                reference = subprocess.run(["taskset", "-c", agent_cpus, sys.executable, __file__, "--fsync-reference",
                                            str(data)], capture_output=True, text=True, check=True).stdout
                rate = float(reference)
            else:
                rate = fsynced_commits_per_second(data)
            rows.append(("SQLite fsynced commits", 1, {"rps": rate, "requests": 0, "p50": "", "p99": "",
                                                       "non2xx": 0, "socket_errors": "reference, same disk"}))
            for label, spread in (("orders, 100 tables", tokens), ("orders, one table", tokens[:1])) if orders else ():
                c = 20
                # what the case before wrote (tens of thousands of ticket files, the last run's
                # database) goes to disk now, not in the background under this case's fsyncs
                os.sync()
                before = count_orders(data / "agent.sqlite")
                flame = profile / f"{'pinned' if pinned else 'both'}-{'one' if len(spread) == 1 else 'many'}.svg" \
                    if profile else None
                with profiled(agent.pid, flame):  # taskset execs the agent: the same pid
                    result = wrk(base + "/", c, duration, script=script, args=[uuid.uuid4().hex, *spread],
                                 cpus=load_cpus)
                created = count_orders(data / "agent.sqlite") - before
                result["jobs_waiting"] = tickets_waiting(data / "agent.sqlite")
                result["drained_in"] = drain_seconds(data / "agent.sqlite")
                # wrk counts requests it sent; ones still in flight when it stops may land after it
                result["on_disk"] = created
                rows.append((label, c, result))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="100,500")
    parser.add_argument("--no-pinned", action="store_true", help="skip the run with the agent on one core")
    parser.add_argument("--only", choices=("all", "orders", "reads"), default="all",
                        help="orders: only the order cases (no nginx, no menu or table page); reads: no orders")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record the agent with py-spy during each order case: DIR/<case>.svg, top functions")
    parser.add_argument("--fsync-reference", type=Path, help=argparse.SUPPRESS)  # the bench's own child
    args = parser.parse_args()
    if args.fsync_reference:
        print(fsynced_commits_per_second(args.fsync_reference))
        return
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is needed: apt-get install wrk nginx-light util-linux")
    connections = [int(c) for c in args.connections.split(",")]
    root = Path(tempfile.mkdtemp(prefix="tableside-http-bench-"))
    root.chmod(0o755)  # nginx workers run as an unprivileged user and must read the menu file
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; logs in {root}")
    for pinned in ([False] if args.no_pinned else [False, True]):
        print(f"\n{'agent pinned to one core' if pinned else 'agent on both cores'}")
        print(f"{'case':28} {'conns':>5} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8}  notes")
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        for label, c, r in run(root, args.duration, connections, pinned, reads=args.only != "orders", orders=args.only != "reads",
                               profile=args.profile):
            notes = r["socket_errors"]
            if "on_disk" in r:
                notes += f" orders on disk {r['on_disk']} for {r['requests'] - r['non2xx']} answered 201"
                drained = "not in 30 s" if r["drained_in"] is None else f"in {r['drained_in']:.1f} s"
                notes += f"; device jobs waiting at the end {r['jobs_waiting']}, delivered {drained}"
            print(f"{label:28} {c:5d} {r['rps']:9.0f} {r['p50']:>9} {r['p99']:>9} {r['non2xx']:8d}  {notes}")


if __name__ == "__main__":
    main()
