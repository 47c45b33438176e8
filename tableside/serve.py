"""Serve an aiohttp application on a host and port, and tell which port it got (0 = any free)."""

import asyncio
import os
import ssl
from collections.abc import Coroutine

from aiohttp import web

# Connections the kernel holds for us until the loop accepts them (capped by net.core.somaxconn).
# aiohttp's default, 128, is less than a half-time rush's burst of new connections (a thousand
# phones, up to six each): past it the kernel drops the SYN and the phone retries only after 1 s.
LISTEN_BACKLOG = 2048


class Server:
    def __init__(self, app: web.Application, host: str, port: int, *, reuse_port: bool = False,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.app, self.host, self.port = app, host, port
        self._ssl_context = ssl_context  # HTTPS here rather than in front (tests of a private CA)
        self._reuse_port = reuse_port  # several processes on one port (hub workers)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self.host}:{self.port}"

    async def start(self) -> "Server":
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()  # runs the app's start-up (cleanup_ctx) first
        try:
            await web.TCPSite(runner, self.host, self.port, reuse_address=True,
                              reuse_port=self._reuse_port or None, ssl_context=self._ssl_context,
                              backlog=LISTEN_BACKLOG).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]  # the bound port when 0 was asked
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


def run(main: Coroutine) -> None:
    """asyncio.run on uvloop where it is installed (bench/README.md: what it buys);
    TABLESIDE_EVENT_LOOP=asyncio runs on the standard loop instead."""
    if os.environ.get("TABLESIDE_EVENT_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)
