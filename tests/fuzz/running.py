"""An agent and a hub served on loopback from a thread of their own, so schemathesis (which calls
them synchronously, through requests) can fuzz them from a plain pytest test."""

import asyncio
import functools
import hashlib
import threading
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import Engine, NullPool, create_engine, inspect, text

from agent.app import create_app as create_agent_app
from agent.staff.accounts import create_account
from agent.state import STATE
from agent.visits import table_sessions, tables
from hub.app import create_app as create_hub_app
from hub.config import HubConfig
from tableside.serve import Server
from tests.agent.helpers import make_config
from tests.agent.staff.helpers import PINS, with_staff_routes

OPERATOR_TOKEN = "fuzz-operator-token-0123456789abcdef"
# Far above anything the fuzzer sends, so it reaches the handlers instead of meeting 429 at the door
# (the limits themselves are tested in tests/agent/web/diner/test_rate_limits.py); 429 stays a
# documented answer of the routes that can give it.
HIGH_LIMITS = {"per_table_per_minute": 1e6, "per_table_burst": 1_000_000,
               "per_client_per_minute": 1e6, "per_client_burst": 1_000_000}


class Running:
    """agent_url, hub_url; staff's cookie and CSRF token; both databases' URLs (agent_db, hub_db).
    The agent's hub is on SQLite; add_hub serves another on a database of the caller's."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzzed-servers", daemon=True)
        self._servers: list[Server] = []
        self._hubs: dict[str, Server] = {}  # added by add_hub, by their database's URL
        self.answers: Counter = Counter()  # (side, status) -> cases, shown after the run

    def _run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> "Running":
        self._thread.start()
        self._run(self._start())
        resp = requests.post(f"{self.agent_url}/api/v1/staff/session",
                             json={"name": "Manager", "secret": PINS["manager"]}, timeout=30)
        resp.raise_for_status()
        self.staff_cookie = resp.cookies["tableside_staff"]
        self.csrf_token = resp.json()["csrf_token"]
        return self

    async def _start(self) -> None:
        hub_dir = self.tmp / "hub"
        hub = await _hub(_hub_config(hub_dir))
        self._servers.append(hub)
        config = make_config(self.tmp, limits=HIGH_LIMITS, hub={"url": hub.url})
        agent = await Server(with_staff_routes(create_agent_app(config)), "127.0.0.1", 0).start()
        self._servers.append(agent)
        database = agent.app[STATE].database
        await database.write(create_account, "Manager", "manager", PINS["manager"])
        # real names for half the cases (the rest are the fuzzer's own): Table 1's token for a diner,
        # Table 2's id for staff, so cases get past "no such table" to the handler's own checks
        by_name = {t.name: t for t in await database.read(tables.all_tables)}
        visit = await database.write(table_sessions.join, by_name["Table 1"].id, None)  # for its receipt
        self.known = {"table_token": by_name["Table 1"].token, "table_id": by_name["Table 2"].id,
                      "visit_key": visit.visit_key}
        self.agent_url, self.hub_url = agent.url, hub.url
        self.agent_db, self.hub_db = _read_only(self.tmp / "agent" / "agent.sqlite"), _read_only(hub_dir / "hub.sqlite")

    def add_hub(self, database_url: str) -> str:
        """Another hub, on `database_url`, fuzzed like the first; its URL. stop_hub before the database goes."""
        hub = self._run(_hub(_hub_config(self.tmp / f"hub-{len(self._hubs) + 1}", database_url)))
        self._hubs[database_url] = hub
        return hub.url

    def stop_hub(self, database_url: str) -> None:
        self._run(self._hubs.pop(database_url).stop())

    def stop(self) -> None:
        async def stop_all():
            for server in [*self._hubs.values(), *reversed(self._servers)]:
                await server.stop()
        try:
            self._run(stop_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def _hub_config(data_dir: Path, database_url: str = "") -> HubConfig:
    data_dir.mkdir()
    # a webhook secret, so /stripe/webhook checks signatures (without one it answers 503 on purpose)
    return HubConfig(data_dir=data_dir, database_url=database_url, operator_token=OPERATOR_TOKEN,
                     stripe_webhook_secret="whsec_fuzz0123456789abcdef", broker_port=_closed_port())


async def _hub(config: HubConfig) -> Server:
    return await Server(create_hub_app(config), "127.0.0.1", 0).start()


def _read_only(path: Path) -> str:
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _closed_port() -> int:
    from tests.services import free_port
    return free_port()  # nobody listens: the link keeps retrying, nothing arrives


# Tables a refused request may rightly write, and tables the background (device dispatch, the link,
# session touches) rewrites on its own schedule: their row counts are compared, not their rows.
COUNTED_ONLY = {
    "agent": {"staff_sessions", "device_jobs", "outbox", "inbox"},
    "hub": set(),
}
SKIPPED = {"staff_sign_in_failures"}  # a refused sign-in is counted on purpose (finding 1)


@functools.cache
def _engine(url: str) -> Engine:
    # no pool: nothing held open between cases (a SQLite writer, a schema to drop at the end)
    return create_engine(url, poolclass=NullPool, connect_args={"timeout": 30} if url.startswith("sqlite") else {})


def fingerprint(url: str, side: str) -> dict[str, str]:
    """Per table, a hash of its rows (or only their count): what a refused request must not change."""
    with _engine(url).connect() as db:
        out = {}
        for name in sorted(inspect(db).get_table_names()):
            if name in SKIPPED:
                continue
            if name in COUNTED_ONLY[side]:
                out[name] = str(db.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            else:
                # sorted here, not by ORDER BY: rows that tie on it may come back in either order
                rows = sorted(repr(tuple(row)) for row in db.execute(text(f'SELECT * FROM "{name}"')))
                out[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out
