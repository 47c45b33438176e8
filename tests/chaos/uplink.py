"""The agent's uplink, as a TCP relay between the agent and its broker, that the suite can cut.

Why a relay and not a network namespace: namespaces need root and `ip`, and the hub must keep its
own connection to the broker while the restaurant's internet is down (a diner with mobile data
still pays then). The relay stands for the restaurant's router: the agent connects to the relay,
the relay to Mosquitto. Two ways to cut it, as a real uplink fails:

- "drop": every connection is closed and new ones are refused (the router lost its line and says so);
- "blackhole": connections stay open but no byte passes either way, and new ones hang (a line that
  went silent); the agent notices only by its MQTT keepalive.
"""

import asyncio
import contextlib
from typing import Literal

Cut = Literal["drop", "blackhole"]
CHUNK = 65536


class Uplink:
    def __init__(self, upstream_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.cut: Cut | None = None
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._restored = asyncio.Event()
        self._restored.set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.sockets[0].getsockname()[1]

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._close_all()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def cut_off(self, how: Cut) -> None:
        self.cut = how
        self._restored.clear()
        if how == "drop":
            self._close_all()

    def restore(self) -> None:
        if self.cut == "blackhole":
            # both ends gave up on the silent line long ago (keepalive, retransmission): it is dead
            self._close_all()
        self.cut = None
        self._restored.set()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # an RST, as a dead line gives
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        self._writers.add(writer)
        try:
            if self.cut == "drop":
                return
            await self._restored.wait()  # a blackholed line: the connect hangs
            try:
                up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
            except OSError:
                return  # the broker is down: the agent sees its connection closed
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                                 return_exceptions=True)
        finally:
            self._pipes.discard(task)
            for w in (writer, locals().get("up_writer")):
                if w is not None:
                    self._writers.discard(w)
                    with contextlib.suppress(Exception):
                        w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            if self.cut == "blackhole":
                await self._restored.wait()  # silent: the bytes go nowhere; restore() ends the line
                break
            if self.cut == "drop":
                break
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(Exception):
            writer.transport.abort()
