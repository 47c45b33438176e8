"""ESC/POS over USB through the Linux kernel's usblp driver (/dev/usb/lp0, ...), no pyusb needed.

The device belongs to root:lp, so the user the agent runs as must be in the lp group. usblp
can also read what the printer sends back, which status() uses; many printers say nothing over
USB, and then the status is UNKNOWN.
"""

from __future__ import annotations

import errno
import glob
import os
import select
import time
from typing import Any

from drivers.escpos.status import PrinterState, PrinterStatus, query_status
from drivers.printer import Printer, PrinterOffline


def discover_usb() -> list[str]:
    """usblp printer devices present now, e.g. ['/dev/usb/lp0']."""
    return sorted(glob.glob("/dev/usb/lp*"))


class UsbPrinter(Printer):
    def __init__(
        self, *, device: str = "/dev/usb/lp0", timeout: float = 5.0, status_timeout: float = 1.0, **options: Any
    ) -> None:
        super().__init__(**options)
        if not device:
            raise ValueError("UsbPrinter needs a device, e.g. /dev/usb/lp0")
        for name, value in (("timeout", timeout), ("status_timeout", status_timeout)):
            if not value > 0:
                raise ValueError(f"UsbPrinter {name} must be positive, got {value}")
        self.device = device
        self.timeout = float(timeout)
        self.status_timeout = float(status_timeout)

    def describe(self) -> str:
        return f"ESC/POS printer on {self.device}"

    def _explain(self, e: OSError) -> str:
        if e.errno == errno.ENOENT:
            return f"no such device {self.device}: is the printer plugged in and switched on?"
        if e.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied on {self.device}: add the tableside user to the lp group"
        if e.errno in (errno.ENODEV, errno.ENXIO):
            return f"{self.device} is not answering: is the printer switched on? (unplug and plug it back if it is)"
        if e.errno == errno.EBUSY:
            return f"{self.device} is in use by another program (a print spooler such as CUPS?)"
        return f"cannot use {self.device} ({e.strerror or e}): is the printer plugged in and switched on?"

    def _open(self, flags: int) -> int:
        try:
            return os.open(self.device, flags | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as e:
            raise PrinterOffline(self._explain(e)) from e

    def send(self, data: bytes) -> None:
        fd = self._open(os.O_WRONLY)
        try:
            deadline = time.monotonic() + self.timeout
            view = memoryview(data)
            while view:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [fd], [], left)[1]:
                    raise PrinterOffline(
                        f"printer on {self.device} did not take the job within {self.timeout:g} s: "
                        "is it out of paper or is its cover open?"
                    )
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise PrinterOffline(self._explain(e)) from e
        finally:
            os.close(fd)

    def status(self) -> PrinterStatus:
        try:
            fd = self._open(os.O_RDWR)
        except PrinterOffline as e:
            return PrinterStatus(PrinterState.OFFLINE, str(e))
        try:
            return query_status(lambda request: self._exchange(fd, request))
        except OSError as e:
            return PrinterStatus(PrinterState.OFFLINE, self._explain(e))
        finally:
            os.close(fd)

    def _exchange(self, fd: int, request: bytes) -> int | None:
        if not select.select([], [fd], [], self.status_timeout)[1]:
            return None
        os.write(fd, request)
        deadline = time.monotonic() + self.status_timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                return None
            try:
                answer = os.read(fd, 1)
            except BlockingIOError:
                continue
            if not answer:
                return None  # nothing to read back (e.g. a printer that never answers over USB)
            return answer[0]
        return None
