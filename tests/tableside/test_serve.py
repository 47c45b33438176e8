"""The listening socket holds a half-time rush of new connections, not aiohttp's default 128."""

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from tableside.serve import LISTEN_BACKLOG, Server


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the listen queue's size")
async def test_the_listen_backlog_is_the_rush_sized_one():
    server = await Server(web.Application(), "127.0.0.1", 0).start()
    try:
        ss = await asyncio.create_subprocess_exec("ss", "-ltnH", f"sport = :{server.port}",
                                                  stdout=asyncio.subprocess.PIPE)
        out = (await ss.communicate())[0].decode().split()
    finally:
        await server.stop()
    somaxconn = int(await asyncio.to_thread(Path("/proc/sys/net/core/somaxconn").read_text))
    assert int(out[2]) == min(LISTEN_BACKLOG, somaxconn) > 128  # Send-Q of a listener: its backlog
