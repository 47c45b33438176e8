"""Serve an aiohttp application on a host and port, and tell which port it got (0 = any free)."""

from aiohttp import web


class Server:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> "Server":
        await self._runner.setup()  # runs the app's start-up (cleanup_ctx) first
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the bound port when 0 was asked
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()
