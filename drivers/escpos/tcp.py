"""ESC/POS over raw TCP (port 9100): the usual way to reach a network kitchen printer."""

from __future__ import annotations

import socket
import time
from typing import Any

from drivers.printer import Printer, PrinterOffline

# After the job is sent, how long to wait for the printer to hang up before closing anyway.
DRAIN_SECONDS = 1.0


class TcpPrinter(Printer):
    """One connection per job, so a printer that was power-cycled between jobs just works."""

    def __init__(self, *, host: str, port: int = 9100, timeout: float = 5.0, **options: Any) -> None:
        super().__init__(**options)
        if not host:
            raise ValueError("TcpPrinter needs a host")
        if not 0 < int(port) < 65536:
            raise ValueError(f"TcpPrinter port must be 1..65535, got {port}")
        if not timeout > 0:
            raise ValueError(f"TcpPrinter timeout must be positive, got {timeout}")
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)

    def describe(self) -> str:
        return f"ESC/POS printer at {self.address}"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def send(self, data: bytes) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                self._drain(sock)
        except ConnectionRefusedError as e:
            raise PrinterOffline(
                f"printer {self.address} refused the connection: is it switched on and on the network?"
            ) from e
        except TimeoutError as e:
            raise PrinterOffline(
                f"printer {self.address} did not answer within {self.timeout:g} s: "
                "is it switched on, on the network, and not out of paper?"
            ) from e
        except socket.gaierror as e:
            raise PrinterOffline(
                f"printer {self.address}: cannot resolve the host name ({e.strerror}): check the printer's address"
            ) from e
        except OSError as e:
            raise PrinterOffline(
                f"printer {self.address} could not be reached ({e.strerror or e}): "
                "is it switched on and on the network?"
            ) from e

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        """Read until the printer closes, briefly.

        Closing a socket with unread bytes (status a printer sends on its own) resets the
        connection, and a reset can throw away the tail of the job still in flight. The job is
        already sent, so a printer that keeps the connection open or resets it here is no error.
        """
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                if not sock.recv(4096):
                    return
        except OSError:
            return
