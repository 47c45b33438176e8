"""A network ESC/POS printer in software, for the demo and for tests.

It listens like a real printer on raw TCP, answers status requests, and keeps each cut ticket as
text: in memory, and as numbered files when given a directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from pathlib import Path
from types import MappingProxyType

from drivers.escpos.decoder import EscPosDecoder

log = logging.getLogger(__name__)

# DLE EOT n answers of a healthy printer: bits 1 and 4 are always set ("fixed bits").
STATUS_ONLINE = MappingProxyType({1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12})

_TICKET_FILE = re.compile(r"ticket-(\d+)\.txt")


def _next_file_number(out_dir: Path) -> int:
    """Continue after the files already there, so a restart on the same directory keeps them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in out_dir.iterdir() if (m := _TICKET_FILE.fullmatch(p.name))]
    return max(numbers, default=0) + 1


class PrinterEmulator:
    def __init__(self, out_dir: Path | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.tickets: list[str] = []
        self.files: list[Path] = []
        # Text of connections that closed without a cut: a real printer would leave it unprinted.
        self.incomplete: list[str] = []
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._next_number = 1

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the printer emulator is not running: call start() first")
        return self._server.sockets[0].getsockname()[1]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self.out_dir is not None:
            self._next_number = await asyncio.to_thread(_next_file_number, self.out_dir)
        self._server = await asyncio.start_server(self._serve, host, port)
        log.info("printer emulator listening on %s:%s", host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def wait_for_tickets(self, n: int, timeout: float = 5.0) -> list[str]:  # noqa: ASYNC109 - tests want a plain deadline
        """Wait until at least n tickets have arrived (and their files are written)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.tickets) >= n), timeout)
            return list(self.tickets)

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n, None for an n a real printer ignores.

        Faults (offline, cover open, paper out) will set their bits here.
        """
        return STATUS_ONLINE.get(n)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        decoder = EscPosDecoder()  # one per connection, so a status poll never splits a job's command
        try:
            while data := await reader.read(4096):
                decoded = decoder.feed(data)
                answers = [b for n in decoded.status_requests if (b := self.status_byte(n)) is not None]
                if answers:
                    # Real-time commands: answered at once, ahead of anything still printing.
                    writer.write(bytes(answers))
                    await writer.drain()
                for text in decoded.tickets:
                    await self._record(text)
        except ConnectionError:
            pass  # the client went away; whatever was cut is already recorded
        finally:
            self._connections.discard(task)
            if decoder.pending.strip():
                self.incomplete.append(decoder.pending)
                log.warning("printer emulator: a job ended without a cut; its text is kept as incomplete")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _record(self, text: str) -> None:
        if self.out_dir is not None:
            path = self.out_dir / f"ticket-{self._next_number:04d}.txt"
            self._next_number += 1
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
            self.files.append(path)
        async with self._changed:
            self.tickets.append(text)
            self._changed.notify_all()
