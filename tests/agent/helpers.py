"""Small helpers shared by the agent's tests."""

import uuid

from agent.config import from_dict
from agent.state import STATE
from agent.visits import tables
from tests.services import free_port


async def table_tokens(client) -> dict[str, str]:
    rows = await client.app[STATE].database.read(tables.all_tables)
    return {t.name: t.token for t in rows}


async def place(client, token: str, lines: list[dict], key: str | None = None):
    return await client.post(f"/api/v1/tables/{token}/orders", json={"lines": lines},
                             headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def session_id_of(client, token: str) -> str:
    """The id of the visit (table session, its bill) now open at the table."""
    return (await (await client.get(f"/api/v1/tables/{token}")).json())["session"]["id"]


async def count(client, sql: str) -> int:
    return await client.app[STATE].database.read(lambda db: db.execute(sql).fetchone()[0])


def make_config(tmp_path, broker_port=None, printers=(), pos=True, **sections):
    raw = {
        "agent": {"id": "test-agent", "data_dir": str(tmp_path / "agent")},
        # a closed port unless a test brings a broker: the link just keeps retrying
        "broker": {"host": "127.0.0.1", "port": broker_port or free_port()},
        "tables": [{"name": "Table 1"}, {"name": "Table 2"}],
        "printers": list(printers),
        **sections,
    }
    if pos:
        raw["pos"] = {"kind": "simulator", "options": {"path": str(tmp_path / "pos.jsonl")}}
    return from_dict(raw)
