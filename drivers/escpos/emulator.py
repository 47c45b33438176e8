"""An ESC/POS printer in software, for the demo and for tests.

One "printer brain" (PrinterBrain) does what a printer does with the bytes it receives: it
answers status requests, keeps each cut ticket as text (in memory, and as numbered files when
given a directory), and plays faults. Two small front-ends feed it: PrinterEmulator listens like
a network printer on raw TCP; SerialEmulator sits on a file descriptor such as the master end of
a pseudo-terminal, the other end standing for a serial printer's port.

Faults, settable while running (emulator.fault = ...):

- None: a healthy printer.
- "paper_out" / "cover_open": status says so; job bytes are thrown away and the connection is
  closed (status requests alone are answered).
- "paper_near_end": status says so; jobs print.
- "offline": connections are closed at once, nothing is answered.
- "slow": every read waits slow_seconds first.
- "drop_mid_ticket": the connection is closed halfway through the first chunk of job bytes; the
  half received is kept in .incomplete, never in .tickets.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import select
import threading
import time
from pathlib import Path
from types import MappingProxyType

from drivers.escpos.decoder import EscPosDecoder

log = logging.getLogger(__name__)

# DLE EOT n answers of a healthy printer: bits 1 and 4 are always set ("fixed bits").
STATUS_ONLINE = MappingProxyType({1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12})
# n=1 bit 3 offline; n=2 bit 2 cover open, bit 5 stopped at paper end; n=4 bits 2-3 near end, 5-6 out.
STATUS_FAULTS = MappingProxyType({
    "paper_out": MappingProxyType({1: 0x1E, 2: 0x32, 3: 0x12, 4: 0x12 | 0x0C | 0x60}),
    "cover_open": MappingProxyType({1: 0x1E, 2: 0x16, 3: 0x12, 4: 0x12}),
    "paper_near_end": MappingProxyType({1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12 | 0x0C}),
})
FAULTS = frozenset({"paper_out", "cover_open", "paper_near_end", "offline", "slow", "drop_mid_ticket"})
_REFUSES_JOBS = frozenset({"paper_out", "cover_open"})

_TICKET_FILE = re.compile(r"ticket-(\d+)\.txt")
_ONLY_STATUS_REQUESTS = re.compile(rb"(?:\x10\x04[\x01-\x04])*")


def _next_file_number(out_dir: Path) -> int:
    """Continue after the files already there, so a restart on the same directory keeps them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in out_dir.iterdir() if (m := _TICKET_FILE.fullmatch(p.name))]
    return max(numbers, default=0) + 1


class PrinterBrain:
    """The byte-level printer, shared by the front-ends. Thread-safe."""

    def __init__(self, out_dir: Path | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.tickets: list[str] = []
        self.files: list[Path] = []
        # Text of connections that closed without a cut: a real printer would leave it unprinted.
        self.incomplete: list[str] = []
        self.slow_seconds = 2.0
        self._fault: str | None = None
        self._changed = threading.Condition()
        self._next_number: int | None = None

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value is not None and value not in FAULTS:
            raise ValueError(f"unknown fault {value!r}; choose None or one of {', '.join(sorted(FAULTS))}")
        self._fault = value

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n, None for an n a real printer ignores (or when offline)."""
        if self._fault == "offline":
            return None
        return STATUS_FAULTS.get(self._fault or "", STATUS_ONLINE).get(n)

    def session(self) -> Session:
        """One connection's worth of bytes, with its own decoder."""
        return Session(self)

    def wait_for_tickets_sync(self, n: int, timeout: float = 5.0) -> list[str]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.tickets) >= n, timeout):
                raise TimeoutError(f"{len(self.tickets)} of {n} tickets arrived within {timeout:g} s")
            return list(self.tickets)

    def _record(self, text: str) -> None:
        with self._changed:
            if self.out_dir is not None:
                if self._next_number is None:
                    self._next_number = _next_file_number(self.out_dir)
                path = self.out_dir / f"ticket-{self._next_number:04d}.txt"
                self._next_number += 1
                partial = path.with_suffix(".part")  # renamed whole: a reader never sees half a ticket
                partial.write_text(text, encoding="utf-8")
                partial.replace(path)
                self.files.append(path)
            self.tickets.append(text)
            self._changed.notify_all()

    def _keep_incomplete(self, text: str) -> None:
        with self._changed:
            self.incomplete.append(text)
            self._changed.notify_all()


class Session:
    """Bytes of one connection in, (answer bytes, whether to hang up) out."""

    def __init__(self, brain: PrinterBrain) -> None:
        self.brain = brain
        self._decoder = EscPosDecoder()  # one per connection, so a status poll never splits a job's command
        self.closed = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        fault = self.brain.fault
        if fault == "offline":
            return b"", True
        has_job_bytes = _ONLY_STATUS_REQUESTS.fullmatch(data) is None
        if fault in _REFUSES_JOBS and has_job_bytes:
            # Answer what was asked, throw the job away, hang up.
            decoded = EscPosDecoder().feed(data)
            self._decoder = EscPosDecoder()
            log.warning("printer emulator (%s): job refused", fault)
            return self._answers(decoded.status_requests), True
        hang_up = fault == "drop_mid_ticket" and has_job_bytes
        if hang_up:
            data = data[: len(data) // 2]
        decoded = self._decoder.feed(data)
        for text in decoded.tickets:
            self.brain._record(text)
        # Real-time commands: answered at once, ahead of anything still printing.
        return (b"" if hang_up else self._answers(decoded.status_requests)), hang_up

    def _answers(self, requests: list[int]) -> bytes:
        return bytes(b for n in requests if (b := self.brain.status_byte(n)) is not None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._decoder.pending.strip():
            self.brain._keep_incomplete(self._decoder.pending)
            log.warning("printer emulator: a job ended without a cut; its text is kept as incomplete")


class _FrontEnd:
    """What both front-ends expose of the brain."""

    brain: PrinterBrain

    @property
    def out_dir(self) -> Path | None:
        return self.brain.out_dir

    @property
    def tickets(self) -> list[str]:
        return self.brain.tickets

    @property
    def files(self) -> list[Path]:
        return self.brain.files

    @property
    def incomplete(self) -> list[str]:
        return self.brain.incomplete

    @property
    def fault(self) -> str | None:
        return self.brain.fault

    @fault.setter
    def fault(self, value: str | None) -> None:
        self.brain.fault = value

    @property
    def slow_seconds(self) -> float:
        return self.brain.slow_seconds

    @slow_seconds.setter
    def slow_seconds(self, value: float) -> None:
        self.brain.slow_seconds = value

    def status_byte(self, n: int) -> int | None:
        return self.brain.status_byte(n)


class PrinterEmulator(_FrontEnd):
    """A network printer on raw TCP (asyncio)."""

    def __init__(self, out_dir: Path | None = None, *, brain: PrinterBrain | None = None) -> None:
        self.brain = brain if brain is not None else PrinterBrain(out_dir)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the printer emulator is not running: call start() first")
        return self._server.sockets[0].getsockname()[1]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self.out_dir is not None:
            await asyncio.to_thread(_next_file_number, self.out_dir)  # fail early on a bad directory
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
        deadline = time.monotonic() + timeout
        while len(self.tickets) < n:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(self.tickets)} of {n} tickets arrived within {timeout:g} s")
            await asyncio.sleep(0.01)
        return list(self.tickets)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        session = self.brain.session()
        try:
            while self.brain.fault != "offline":
                if self.brain.fault == "slow":
                    await asyncio.sleep(self.brain.slow_seconds)
                data = await reader.read(4096)
                if not data:
                    break
                answer, hang_up = await asyncio.to_thread(session.feed, data)
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if hang_up:
                    break
        except ConnectionError:
            pass  # the client went away; whatever was cut is already recorded
        finally:
            self._connections.discard(task)
            session.close()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class SerialEmulator(_FrontEnd):
    """A serial printer on a file descriptor (or a path to open), served by a thread.

    With master, slave = os.openpty(), run it on master and point a SerialPrinter at
    os.ttyname(slave). The serial line has no connections: a job "ends" when the far side closes
    its end of the line (or the fault hangs up), which is when uncut text goes to .incomplete.
    """

    def __init__(self, port: int | str | os.PathLike, out_dir: Path | None = None, *, brain: PrinterBrain | None = None) -> None:
        self.brain = brain if brain is not None else PrinterBrain(out_dir)
        self._port = port
        self._fd: int | None = None
        self._owns_fd = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the serial printer emulator is already running")
        if isinstance(self._port, int):
            self._fd = self._port
        else:
            self._fd = os.open(self._port, os.O_RDWR | os.O_NOCTTY)
            self._owns_fd = True
            with contextlib.suppress(OSError):
                import tty

                tty.setraw(self._fd)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="serial-printer-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._owns_fd and self._fd is not None:
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> SerialEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_tickets(self, n: int, timeout: float = 5.0) -> list[str]:
        return self.brain.wait_for_tickets_sync(n, timeout)

    def _discard_until_quiet(self, fd: int, quiet: float = 0.2) -> None:
        while not self._stop.is_set() and select.select([fd], [], [], quiet)[0]:
            try:
                if not os.read(fd, 4096):
                    return
            except OSError:
                return

    def _run(self) -> None:
        fd = self._fd
        assert fd is not None
        session = self.brain.session()
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([fd], [], [], 0.05)
                if not readable:
                    continue
                if self.brain.fault == "slow":
                    time.sleep(self.brain.slow_seconds)
                try:
                    data = os.read(fd, 4096)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""  # a pty master reads EIO while nothing has the other end open
                if not data:
                    session.close()  # the far side closed the line: that ends a job
                    session = self.brain.session()
                    self._stop.wait(0.05)
                    continue
                answer, hang_up = session.feed(data)
                if answer:
                    os.write(fd, answer)
                if hang_up:
                    session.close()
                    self._discard_until_quiet(fd)  # the rest of the job is lost, as on a dropped connection
                    session = self.brain.session()
        except Exception:
            log.exception("serial printer emulator stopped")
        finally:
            session.close()
