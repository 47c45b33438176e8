"""ESC/POS over a serial port (RS-232, or a USB-serial adapter), through pyserial.

The port is opened for each job and closed after it, so the printer can be unplugged and
plugged back between jobs. 8 data bits, no parity, 1 stop bit: what ESC/POS printers ship with.
"""

from __future__ import annotations

from typing import Any

import serial
import serial.tools.list_ports

from drivers.escpos.status import (
    OFFLINE_AFTER_JOB,
    PrinterState,
    PrinterStatus,
    offline_after_job,
    query_status,
    status_request,
)
from drivers.printer import Printer, PrinterMaybePrinted, PrinterOffline

BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
FLOW_CONTROLS = ("none", "rtscts", "xonxoff")


def discover_serial() -> list[str]:
    """Device paths of the serial ports this machine has, e.g. ['/dev/ttyS0', '/dev/ttyUSB0']."""
    return sorted(port.device for port in serial.tools.list_ports.comports())


class SerialPrinter(Printer):
    """With check_status (the default), a printer that says it cannot print gets no job, and one
    that answered is asked again after the job: saying it went offline, or silence for the whole
    timeout, raises PrinterMaybePrinted (see TcpPrinter)."""

    def __init__(
        self,
        *,
        port: str,
        baudrate: int = 19200,
        flow_control: str = "none",
        timeout: float = 5.0,
        write_timeout: float = 10.0,
        status_timeout: float = 1.0,
        check_status: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if not port:
            raise ValueError("SerialPrinter needs a port, e.g. /dev/ttyUSB0")
        if int(baudrate) not in BAUD_RATES:
            raise ValueError(f"SerialPrinter baudrate must be one of {', '.join(map(str, BAUD_RATES))}, got {baudrate}")
        if flow_control not in FLOW_CONTROLS:
            raise ValueError(f"SerialPrinter flow_control must be one of {', '.join(FLOW_CONTROLS)}, got {flow_control!r}")
        for name, value in (("timeout", timeout), ("write_timeout", write_timeout), ("status_timeout", status_timeout)):
            if not value > 0:
                raise ValueError(f"SerialPrinter {name} must be positive, got {value}")
        self.port = port
        self.baudrate = int(baudrate)
        self.flow_control = flow_control
        self.timeout = float(timeout)
        self.write_timeout = float(write_timeout)
        self.status_timeout = float(status_timeout)
        self.check_status = bool(check_status)

    def describe(self) -> str:
        return f"ESC/POS printer on {self.port} ({self.baudrate} baud)"

    def _open(self) -> serial.Serial:
        return serial.Serial(
            self.port,
            self.baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=self.status_timeout,
            write_timeout=self.write_timeout,
            rtscts=self.flow_control == "rtscts",
            xonxoff=self.flow_control == "xonxoff",
        )

    def send(self, data: bytes) -> PrinterStatus | None:
        try:
            with self._open() as port:
                status = None
                if self.check_status:
                    status = self._query(port)
                    if not status.can_print:
                        raise PrinterOffline(f"printer on {self.port} cannot print: {status.detail}", status)
                    if status.state is PrinterState.UNKNOWN:
                        status = None  # it said nothing: nothing to confirm the job by
                port.write(data + (status_request(1) if status is not None else b""))
                port.flush()
                if status is not None:
                    self._confirm_job(port)
                return status  # the job's answer said it did not go offline: still as before
        except serial.SerialTimeoutException as e:
            raise PrinterOffline(
                f"printer on {self.port} did not take the job within {self.write_timeout:g} s: "
                "is it switched on, and is the flow control setting right?"
            ) from e
        except (serial.SerialException, OSError) as e:
            raise PrinterOffline(f"cannot use serial port {self.port} ({e}): is the printer's cable plugged in?") from e

    def status(self) -> PrinterStatus:
        try:
            with self._open() as port:
                return self._query(port)
        except (serial.SerialException, OSError) as e:
            return PrinterStatus(PrinterState.OFFLINE, f"cannot use serial port {self.port} ({e})")

    def _confirm_job(self, port: serial.Serial) -> None:
        port.timeout = self.timeout  # the answer queues behind the job on a slow line
        answer = port.read(1)
        if not answer:
            raise PrinterMaybePrinted(
                f"printer on {self.port} stopped answering while taking the job: it may not be on paper")
        if offline_after_job(answer[0]):
            raise PrinterMaybePrinted(
                f"printer on {self.port} went offline while taking the job (paper out, cover open or an error): "
                "it may not be on paper", OFFLINE_AFTER_JOB)

    def _query(self, port: serial.Serial) -> PrinterStatus:
        port.reset_input_buffer()

        def exchange(request: bytes) -> int | None:
            port.write(request)
            answer = port.read(1)  # waits up to status_timeout
            return answer[0] if answer else None

        return query_status(exchange)
