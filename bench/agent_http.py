"""The agent at the limit of its box: wrk against the agent and, in the same run, nginx serving the
same menu bytes, for the menu, the table page and orders (over many tables and over one long tab).

One command: `.venv/bin/python bench/agent_http.py [--duration 10] [--connections 100,500]`.
Needs wrk and nginx (Debian: `apt-get install wrk nginx-light`). It starts, as processes of their
own on loopback: a printer emulator, the agent (`tableside agent run`, sample menu, the simulator
POS, no broker: the outbox grows, as with the uplink down) and nginx with one worker. Each case runs
wrk for --duration seconds; then everything again with the agent pinned to one core (`taskset`),
wrk and the rest on the other, as the stand-in for a small box. Orders use a fresh
Idempotency-Key per request; afterwards the bench checks that every 201 wrk counted is an order on
disk exactly once.
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


def count_orders(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]


def run(root: Path, duration: int, connections: list[int], pinned: bool) -> list[tuple]:
    agent_cpus, load_cpus = ("0", "1") if pinned else (None, None)
    printer_port, agent_port, nginx_port = free_port(), free_port(), free_port()
    tableside = [sys.executable, "-m", "tableside.cli"]
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    rows = []
    with process(tableside + ["printer", "emulator", "--port", str(printer_port), "--out-dir", str(root / "tickets")],
                 root / "printer.log"):
        agent_cmd = tableside + ["agent", "run", "--config", str(agent_config(root, agent_port, printer_port))]
        if agent_cpus:
            agent_cmd = ["taskset", "-c", agent_cpus, *agent_cmd]
        with process(agent_cmd, root / "agent.log"):
            base = f"http://127.0.0.1:{agent_port}"
            wait_http(base + "/api/v1/menu")
            menu = urllib.request.urlopen(base + "/api/v1/menu").read()
            with sqlite3.connect(data / "agent.sqlite") as conn:
                tokens = [r[0] for r in conn.execute("SELECT token FROM tables ORDER BY name")]
            script = root / "orders.lua"
            script.write_text(ORDER_SCRIPT % json.dumps(ORDER).replace("'", "\\'"))
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
                    rows.append(("agent table page", c, wrk(f"{base}/t/{tokens[0]}", c, duration, cpus=load_cpus)))
            for label, spread in (("orders, 100 tables", tokens), ("orders, one table", tokens[:1])):
                c = 20
                before = count_orders(data / "agent.sqlite")
                result = wrk(base + "/", c, duration, script=script, args=[uuid.uuid4().hex, *spread], cpus=load_cpus)
                created = count_orders(data / "agent.sqlite") - before
                # wrk counts requests it sent; ones still in flight when it stops may land after it
                result["on_disk"] = created
                rows.append((label, c, result))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="100,500")
    parser.add_argument("--no-pinned", action="store_true", help="skip the run with the agent on one core")
    args = parser.parse_args()
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
        for label, c, r in run(root, args.duration, connections, pinned):
            notes = r["socket_errors"]
            if "on_disk" in r:
                notes += f" orders on disk {r['on_disk']} for {r['requests'] - r['non2xx']} answered 201"
            print(f"{label:28} {c:5d} {r['rps']:9.0f} {r['p50']:>9} {r['p99']:>9} {r['non2xx']:8d}  {notes}")


if __name__ == "__main__":
    main()
