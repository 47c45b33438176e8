"""A hub, a broker and paired boxes on loopback for the backup tests: real processes where the
installer's command is tested (`tableside agent setup` runs as a subprocess)."""

import asyncio
import os
import sys
import uuid
from pathlib import Path

import aiohttp

from agent.app import create_app as create_agent_app
from agent.config import from_dict
from agent.link.pairing import pair
from agent.state import STATE
from agent.visits import tables
from tableside.serve import Server
from tests.services import free_port

OPERATOR_TOKEN = "backup-operator-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


async def restaurant(http: aiohttp.ClientSession, hub_url: str) -> str:
    async with http.post(f"{hub_url}/api/v1/restaurants", headers=AUTH, json={
            "name": "Brasserie Lumière", "country": "FR", "currency": "EUR",
            "fee_plan": {"basis_points": 150}}) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["id"]


async def code_for(http: aiohttp.ClientSession, hub_url: str, restaurant_id: str, replaces: bool = False) -> str:
    async with http.post(f"{hub_url}/api/v1/restaurants/{restaurant_id}/enrollment-codes", headers=AUTH,
                         json={"replaces": replaces}) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["code"]


async def paired_box(data_dir: Path, hub_url: str, code: str):
    return await asyncio.to_thread(pair, data_dir, hub_url, code)


def box_config(data_dir: Path, agent_id: str, hub_url: str, broker_port: int, printer_port: int | None = None,
               **sections):
    raw = {"agent": {"id": agent_id, "data_dir": str(data_dir)},
           "broker": {"host": "127.0.0.1", "port": broker_port}, "hub": {"url": hub_url},
           "tables": [{"name": "Table 1"}, {"name": "Table 2"}],
           "printers": [] if printer_port is None else [
               {"name": "kitchen", "stations": ["kitchen", "desserts", "bar"],
                "options": {"host": "127.0.0.1", "port": printer_port}}], **sections}
    return from_dict(raw)


async def start_box(config) -> Server:
    return await Server(create_agent_app(config), "127.0.0.1", 0).start()


async def tokens(agent: Server) -> dict[str, str]:
    return {t.name: t.token for t in await agent.app[STATE].database.read(tables.all_tables)}


async def order(http: aiohttp.ClientSession, agent: Server, token: str, item: str = "onion-soup", qty: int = 1):
    async with http.post(f"{agent.url}/api/v1/tables/{token}/orders", json={"lines": [{"item_id": item, "qty": qty}]},
                         headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["order"]


async def setup_command(config_path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tableside.cli", "agent", "setup", "--config", str(config_path), "--pair-only", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def backup_command(config_path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tableside.cli", "agent", "backup", *args, "--config", str(config_path),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


def unused_port() -> int:
    return free_port()
