"""Small helpers shared by the agent's tests."""

import uuid

from agent import tables
from agent.state import STATE


async def table_tokens(client) -> dict[str, str]:
    rows = await client.app[STATE].database.read(tables.all_tables)
    return {t.name: t.token for t in rows}


async def place(client, token: str, lines: list[dict], key: str | None = None):
    return await client.post(f"/api/v1/tables/{token}/orders", json={"lines": lines},
                             headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def count(client, sql: str) -> int:
    return await client.app[STATE].database.read(lambda db: db.execute(sql).fetchone()[0])
