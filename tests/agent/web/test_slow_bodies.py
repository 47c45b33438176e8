"""Slow bodies and clients hanging up (issue 15, finding 9)."""

import asyncio
import logging

import pytest

from agent.app import create_app
from agent.state import STATE
from agent.visits import tables
from agent.web.rate_limits import LIMITS
from tableside.serve import Server
from tests.agent.helpers import make_config, table_tokens
from tests.waiting import eventually


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(make_config(tmp_path, http={"body_timeout": 0.5})))


async def _send_headers(server, path: str, length: int, body: bytes = b""):
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                 f"Idempotency-Key: slow-body-key-1\r\nContent-Length: {length}\r\n\r\n".encode() + body)
    await writer.drain()
    return reader, writer


async def test_a_body_that_never_comes_is_a_408_and_the_connection_closes(client, caplog):
    token = (await table_tokens(client))["Table 1"]
    conns = [await _send_headers(client.server, f"/api/v1/tables/{token}/orders", 200, b'{"lines": [') for _ in range(20)]
    for reader, writer in conns:
        answer = await asyncio.wait_for(reader.read(), 10)  # read() returns at EOF: the agent hung up
        assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout" in answer
        writer.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_client_hanging_up_mid_body_is_not_an_error(tmp_path, caplog):
    """Through the server the agent really runs on (the test server cancels handlers instead)."""
    caplog.set_level(logging.INFO)
    server = await Server(create_app(make_config(tmp_path)), "127.0.0.1", 0).start()
    try:
        token = (await server.app[STATE].database.read(tables.all_tables))[0].token
        reader, writer = await _send_headers(server, f"/api/v1/tables/{token}/orders", 500, b'{"lines": [')

        # the handler counted the order against the table's limit: it is waiting for the body now
        await eventually(lambda: server.app[LIMITS].tables._state, within=5, what="the handler")
        writer.close()
        await writer.wait_closed()

        await eventually(lambda: any("hung up" in r.getMessage() for r in caplog.records), within=5,
                         what="the hang-up noted")
    finally:
        await server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
