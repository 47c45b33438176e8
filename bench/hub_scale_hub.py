"""The hub side of bench/hub_scale.py: a fresh PostgreSQL database, `tableside hub run --workers N`
as the supported deployment runs it, the agents enrolled, and what the processes cost."""

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psutil
from hub_scale_diners import pay_key
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from contract import pay_link
from tests.services import free_port, postgres_url, wait_for_port

TOKEN = "bench-operator-token-0123456789"
DATABASE = "tableside_hub_bench"
PLAN = {"basis_points": 150, "fixed_minor": 10, "min_minor": None, "cap_minor": None, "fee_on_tips": False}
AGENTS_PER_RESTAURANT = 100  # the operator API's limit per restaurant


def fresh_database() -> str:
    base = make_url(postgres_url())
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return base.set(database=DATABASE).render_as_string(hide_password=False)


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports, below the ephemeral range so no
    outgoing connection takes one meanwhile (a worker whose port is taken exits, and is restarted)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


class HubWorkers:
    """`tableside hub run --workers N` (one plain `hub run` for N = 1) on one HTTP port."""

    def __init__(self, root: Path, workers: int, broker_port: int, database_url: str,
                 link: dict[str, str] | None = None) -> None:
        self.root, self.workers = root, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # each worker serves its metrics on metrics_port + n (tableside/workers.py)
        self.metrics_port = _free_ports(workers)
        self.metrics_urls = [f"http://127.0.0.1:{self.metrics_port + n}/metrics" for n in range(workers)]
        self.config = root / "hub.toml"
        settings = "".join(f"{key} = {value}\n" for key, value in (link or {}).items())
        self.config.write_text(f"""
[hub]
data_dir = "{root / 'hub'}"
database_url = "{database_url}"
operator_token = "{TOKEN}"
[http]
port = {self.port}
[broker]
port = {broker_port}
client_id = "bench-hub"
[metrics]
port = {self.metrics_port}
[link]
{settings}""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
        command = [sys.executable, "-m", "tableside.cli", "hub", "run", "--config", str(self.config)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        with open(self.root / "hub.log", "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port, timeout=90, alive=self.proc)
        deadline = time.monotonic() + 90
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:  # every worker, not just one
            time.sleep(0.2)

    def link_figures(self) -> dict[str, float]:
        """From every worker's /metrics, summed: messages by outcome, batches and their sizes."""
        figures: dict[str, float] = {}
        for url in self.metrics_urls:
            with urllib.request.urlopen(url, timeout=10) as resp:
                exposition = resp.read().decode()
            for family in text_string_to_metric_families(exposition):
                for sample in family.samples:
                    if sample.name == "tableside_hub_link_messages_total":
                        key = f"outcome:{sample.labels['outcome']}"
                    elif sample.name in ("tableside_hub_link_batch_size_messages_sum",
                                         "tableside_hub_link_batch_size_messages_count"):
                        key = sample.name.rsplit("_", 1)[1]
                    else:
                        continue
                    figures[key] = figures.get(key, 0.0) + sample.value
        return figures

    def worker_pids(self) -> list[int]:
        if self.workers == 1:
            return [self.proc.pid]
        return [c.pid for c in psutil.Process(self.proc.pid).children() if c.status() != psutil.STATUS_ZOMBIE]

    def all_pids(self) -> list[int]:
        return list({self.proc.pid, *self.worker_pids()})

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


async def enroll(hub_url: str, agent_ids: list[str], database_url: str, paying: list[str]) -> None:
    """The operator vouches for every agent by creating restaurants with their ids (100 a restaurant,
    the API's limit); the paying agents' pay-link keys are registered as enrollment would register them."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for i in range(0, len(agent_ids), AGENTS_PER_RESTAURANT):
            body = {"name": f"Bench {i // AGENTS_PER_RESTAURANT}", "country": "DE", "currency": "EUR",
                    "fee_plan": PLAN, "fee_on_external": True, "agent_ids": agent_ids[i:i + AGENTS_PER_RESTAURANT]}
            async with http.post(f"{hub_url}/api/v1/restaurants", json=body) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"restaurant not created: {resp.status} {await resp.text()}")
    await asyncio.to_thread(_register_keys, database_url, paying)


def _register_keys(database_url: str, agent_ids: list[str]) -> None:
    from hub.enrollment.records import add_agent

    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        for agent_id in agent_ids:
            add_agent(conn, agent_id, name=agent_id, now=datetime.now(UTC),
                      public_key=pay_link.public_key_text(pay_key(agent_id).public_key()))
    engine.dispose()


# --- what it costs ---

def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def pg_backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (the hub's pooled connections)."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).scalars().all()
    engine.dispose()
    return list(pids)


def pg_commits(database_url: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        commits = conn.execute(text("SELECT xact_commit FROM pg_stat_database "
                                    "WHERE datname = current_database()")).scalar_one()
    engine.dispose()
    return commits


class PeakMemory:
    """The largest RSS any of the hub's processes reached, sampled twice a second."""

    def __init__(self, pids) -> None:
        self._pids, self.peak = pids, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self._pids():
                try:
                    self.peak = max(self.peak, psutil.Process(pid).memory_info().rss)
                except psutil.NoSuchProcess:
                    pass

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
