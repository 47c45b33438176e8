"""`tableside demo`: the whole system on one machine, on loopback, in one process.

Broker (embedded amqtt), hub (SQLite, demo payments), one agent with the sample menu, two
network ESC/POS printer emulators (kitchen and bar) whose tickets land as text files, and the
demo POS. Everything lives under --data-dir, so a second start keeps the data.
"""

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import qrcode

from agent.app import create_app as create_agent_app
from agent.config import from_dict as agent_config
from agent.link.pairing import pair
from agent.menu.catalog import load_menu_file
from agent.paired import read_pairing
from agent.staff.accounts import create_account
from agent.state import STATE as AGENT_STATE
from agent.store.database import connect
from agent.visits import tables
from drivers.escpos.emulator import PrinterEmulator
from drivers.pos.simulator_view import create_view_app
from hub.app import create_app as create_hub_app
from hub.appkeys import ENROLLMENT
from hub.config import HubConfig
from hub.payments.context import PAYMENTS
from hub.payments.demo_restaurant import ensure_demo_restaurant
from tableside.broker import EmbeddedBroker
from tableside.serve import Server

HOST = "127.0.0.1"
MANAGER_NAME = "Manager"
TABLE_NAMES = [f"Table {n}" for n in range(1, 9)] + ["Terrace 1", "Terrace 2"]
PRINTERS = {"kitchen": ["kitchen", "desserts"], "bar": ["bar"]}


@dataclass
class DemoOptions:
    data_dir: Path
    agent_port: int = 8080
    hub_port: int = 8090
    broker_port: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _secrets(data_dir: Path) -> dict:
    """Tokens made at the first start and kept, so URLs and credentials survive a restart."""
    path = data_dir / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    wanted = {"operator_token": lambda: secrets.token_urlsafe(32),
              "manager_pin": lambda: f"{secrets.randbelow(10**6):06d}"}
    if all(key in values for key in wanted):
        return values
    values = {**{key: make() for key, make in wanted.items()}, **values}
    _write_private(path, json.dumps(values))
    return values


def _write_private(path: Path, text: str) -> None:
    """Written private, never chmod-ed after: secrets are never readable by others, even briefly."""
    tmp = path.with_suffix(".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    os.chmod(tmp, 0o600)  # an existing .tmp keeps its old mode through O_CREAT
    tmp.replace(path)


def _ensure_manager(db, pin: str) -> None:
    """The demo's first manager (a real set-up makes one with `tableside agent add-staff`)."""
    if db.execute("SELECT COUNT(*) FROM staff_accounts").fetchone()[0] == 0:
        create_account(db, MANAGER_NAME, "manager", pin)


def _stripe_settings() -> dict:
    """With TABLESIDE_STRIPE_SECRET_KEY set the demo takes payments through Stripe (test keys!);
    without it, the hub's demo provider. Stripe cannot reach a loopback webhook, so the hub asks
    Stripe itself every 15 s (reconciliation)."""
    key = os.environ.get("TABLESIDE_STRIPE_SECRET_KEY")
    if not key:
        return {}
    settings = {"stripe_secret_key": key, "reconcile_interval_s": 15.0,
                "stripe_webhook_secret": os.environ.get("TABLESIDE_STRIPE_WEBHOOK_SECRET") or None}
    if os.environ.get("TABLESIDE_STRIPE_API_BASE"):
        settings["stripe_api_base"] = os.environ["TABLESIDE_STRIPE_API_BASE"]
    return settings


def _table_links(agent_db: Path, public_url: str) -> list[dict]:
    db = connect(agent_db, readonly=True)
    try:
        rows = tables.all_tables(db)
    finally:
        db.close()
    return [{"name": t.name, "token": t.token, "url": f"{public_url}/t/{t.token}"} for t in rows]


def _print_banner(info: dict, out=None) -> None:
    out = out or sys.stdout
    qr = qrcode.QRCode(border=1)
    qr.add_data(info["tables"][0]["url"])
    print("\nTableside demo is running. Ctrl-C stops it.\n", file=out)
    print(f"  Scan for {info['tables'][0]['name']}:", file=out)
    qr.print_ascii(out=out, invert=True)
    print("  Diner links:", file=out)
    for table in info["tables"]:
        print(f"    {table['name']:<10} {table['url']}", file=out)
    print(f"\n  Staff dashboard   {info['staff_url']}", file=out)
    print(f"  Staff sign-in     {info['staff_sign_in']['name']} / PIN {info['staff_sign_in']['pin']}", file=out)
    print(f"  Hub               {info['hub_url']}", file=out)
    print(f"  Agent             {info['agent_id']}, paired with a one-time code as an installer would", file=out)
    print(f"  POS (simulator)   {info['pos_url']}", file=out)
    print(f"  Operator token    {info['operator_token']}", file=out)
    payments = "demo provider (no real money)" if info.get("payments") == "demo" else "Stripe"
    print(f"  Card payments     {payments}, restaurant {info.get('restaurant_id')}", file=out)
    if info.get("restaurant_onboarding_url"):
        print(f"  Stripe onboarding {info['restaurant_onboarding_url']}", file=out)
    print(f"  Kitchen tickets   {info['tickets']['kitchen']}", file=out)
    print(f"  Bar tickets       {info['tickets']['bar']}", file=out)
    print(f"  All of this is in {info['demo_json']}\n", file=out, flush=True)


async def _paired_agent(hub_app, restaurant_id: str, agent_dir: Path, hub_url: str):
    """The demo agent's pairing, made the installer's way on the first start: a one-time code from
    the hub, then `tableside agent setup`'s own pairing (a key on the box, a CSR, the hub choosing the
    agent id and signing its certificate, the pay-link key registered). Kept for later starts."""
    pairing = read_pairing(agent_dir)
    if pairing is None:
        code, _ = await hub_app[ENROLLMENT].make_code(restaurant_id)
        pairing = await asyncio.to_thread(pair, agent_dir, hub_url, code)
    return pairing


async def run_demo(options: DemoOptions, ready: asyncio.Event | None = None,
                   stop: asyncio.Event | None = None) -> None:
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    keep = _secrets(data_dir)
    broker_port = options.broker_port or free_port()
    stop = stop or asyncio.Event()
    started: list = []
    try:
        broker = EmbeddedBroker(HOST, broker_port)
        await broker.start()
        started.append(broker)

        emulators = {}
        for name in PRINTERS:
            emulator = PrinterEmulator(out_dir=data_dir / "tickets" / name)
            await emulator.start(HOST, 0)
            started.append(emulator)
            emulators[name] = emulator

        hub_port = options.hub_port or free_port()
        hub_config = HubConfig(
            data_dir=data_dir / "hub", operator_token=keep["operator_token"], http_host=HOST, http_port=hub_port,
            broker_host=HOST, broker_port=broker_port, shared_subscription=False, **_stripe_settings())
        hub_app = create_hub_app(hub_config)
        hub = await Server(hub_app, HOST, hub_port).start()
        started.append(hub)
        hub_url = f"http://{HOST}:{hub.port}"
        restaurant = await ensure_demo_restaurant(hub_app[PAYMENTS], load_menu_file(None).restaurant.name)
        pairing = await _paired_agent(hub_app, restaurant["id"], data_dir / "agent", hub_url)

        pos_view = await Server(create_view_app(data_dir / "pos-checks.jsonl"), HOST, 0).start()
        started.append(pos_view)

        agent_port = options.agent_port or free_port()
        config = agent_config({
            "agent": {"id": pairing.agent_id, "data_dir": str(data_dir / "agent")},
            "http": {"host": HOST, "port": agent_port},
            "hub": {"url": hub_url},
            "restaurant": {"tax_mode": "inclusive", "tax_rate_bp": 1000},  # French restaurant VAT; alcohol 20 % in the menu
            "broker": {"host": HOST, "port": broker_port},
            "tables": [{"name": n} for n in TABLE_NAMES],
            "printers": [{"name": name, "kind": "escpos-tcp", "stations": stations,
                          "options": {"host": HOST, "port": emulators[name].port}}
                         for name, stations in PRINTERS.items()],
            "pos": {"kind": "simulator", "options": {"path": str(data_dir / "pos-checks.jsonl")}},
        })
        agent_app = create_agent_app(config)
        agent = await Server(agent_app, HOST, agent_port).start()
        started.append(agent)
        agent_url = f"http://{HOST}:{agent.port}"
        await agent_app[AGENT_STATE].database.write(_ensure_manager, keep["manager_pin"])

        info = {
            "agent_url": agent_url,
            "staff_url": f"{agent_url}/staff",
            "staff_sign_in": {"name": MANAGER_NAME, "pin": keep["manager_pin"], "role": "manager"},
            "hub_url": hub_url,
            "broker": f"mqtt://{HOST}:{broker_port}",
            "operator_token": keep["operator_token"],
            "agent_id": pairing.agent_id,
            "tables": await asyncio.to_thread(_table_links, Path(config.data_dir) / "agent.sqlite", agent_url),
            "tickets": {name: str(data_dir / "tickets" / name) for name in PRINTERS},
            "pos_checks": str(data_dir / "pos-checks.jsonl"),
            "pos_url": pos_view.url,
            "demo_json": str(data_dir / "demo.json"),
            "restaurant_id": restaurant["id"],
            "payments": hub_app[PAYMENTS].provider.name,
            "restaurant_onboarding_url": restaurant["onboarding_url"],
        }
        # the manager's PIN and the operator token are in it
        await asyncio.to_thread(_write_private, data_dir / "demo.json", json.dumps(info, indent=2))
        _print_banner(info)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        for part in reversed(started):
            await part.stop()


def main(options: DemoOptions) -> int:
    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_demo(options, stop=stop)

    try:
        asyncio.run(_main())
    except OSError as exc:
        print(f"tableside demo: {exc.strerror or exc} (is another demo using the same port? "
              "try --agent-port 0 --hub-port 0)", file=sys.stderr)
        return 1
    print("Tableside demo stopped.")
    return 0
