"""ESC/POS over raw TCP (port 9100): the usual way to reach a network kitchen printer."""

from __future__ import annotations

import socket
import time
from typing import Any

from drivers.escpos.status import (
    OFFLINE_AFTER_JOB,
    PrinterState,
    PrinterStatus,
    offline_after_job,
    query_status,
    status_request,
)
from drivers.printer import Printer, PrinterMaybePrinted, PrinterOffline

# After the job is sent, how long to wait for the printer to hang up before closing anyway.
DRAIN_SECONDS = 1.0


class _HungUp(Exception):
    """The printer closed the connection."""


class TcpPrinter(Printer):
    """One connection per job, so a printer that was power-cycled between jobs just works.

    With check_status (the default), each job first asks the printer's status on the same
    connection: a printer that says it cannot print (paper out, cover open, error, offline) gets
    no job and send raises PrinterOffline, so the job is retried rather than lost. The job is
    followed by one more status request, and send waits for the answers still owed (a slow
    printer's late pre-check answer included). The job is not counted as printed, and send
    raises PrinterMaybePrinted, when the printer hangs up before answering, says it went offline,
    or, having answered status before, stays silent for the whole timeout. A printer never heard
    to answer status is given status_timeout and then counted as printed: nothing else can tell.
    send returns the printer's status as the job's answer confirms it (None when it never answers).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int = 9100,
        timeout: float = 5.0,
        status_timeout: float = 1.0,
        check_status: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if not host:
            raise ValueError("TcpPrinter needs a host")
        if not 0 < int(port) < 65536:
            raise ValueError(f"TcpPrinter port must be 1..65535, got {port}")
        if not timeout > 0:
            raise ValueError(f"TcpPrinter timeout must be positive, got {timeout}")
        if not status_timeout > 0:
            raise ValueError(f"TcpPrinter status_timeout must be positive, got {status_timeout}")
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self.status_timeout = float(status_timeout)
        self.check_status = bool(check_status)
        # Learnt from any answer: a printer that answers status and then falls silent mid-job is suspect.
        self.answers_status = False

    def describe(self) -> str:
        return f"ESC/POS printer at {self.address}"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def send(self, data: bytes) -> PrinterStatus | None:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                owed = 0  # status answers not yet read
                status = None
                if self.check_status:
                    try:
                        status, owed = self._query(sock)
                    except _HungUp as e:
                        raise PrinterOffline(
                            f"printer {self.address} hung up at once: it may be offline or busy with another client"
                        ) from e
                    if not status.can_print:
                        raise PrinterOffline(f"printer {self.address} cannot print: {status.detail}", status)
                sock.settimeout(self.timeout)
                sock.sendall(data + (status_request(1) if self.check_status else b""))
                if status is not None:
                    status = self._confirm_job(sock, owed + 1, status)
                sock.shutdown(socket.SHUT_WR)
                self._drain(sock)
                return status
        except _HungUp as e:
            raise PrinterMaybePrinted(
                f"printer {self.address} hung up before it had the whole job: it may be partly printed"
            ) from e
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
        except ConnectionResetError as e:
            raise PrinterMaybePrinted(
                f"printer {self.address} reset the connection during the job: it may be partly printed"
            ) from e
        except OSError as e:
            raise PrinterOffline(
                f"printer {self.address} could not be reached ({e.strerror or e}): "
                "is it switched on and on the network?"
            ) from e

    def status(self) -> PrinterStatus:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                try:
                    return self._query(sock)[0]
                except _HungUp:
                    return PrinterStatus(PrinterState.OFFLINE, f"printer {self.address} hung up without answering")
        except ConnectionRefusedError:
            return PrinterStatus(PrinterState.OFFLINE, f"printer {self.address} refused the connection")
        except TimeoutError:
            return PrinterStatus(PrinterState.OFFLINE, f"printer {self.address} did not answer within {self.timeout:g} s")
        except OSError as e:
            return PrinterStatus(PrinterState.OFFLINE, f"printer {self.address} could not be reached ({e.strerror or e})")

    def _confirm_job(self, sock: socket.socket, owed: int, before: PrinterStatus) -> PrinterStatus | None:
        """Reads the owed status answers, the last being the one that follows the job; the status
        after the job (None if the printer said nothing).

        A hang-up raises _HungUp. A printer known to answer status gets the whole timeout, since a
        slow one's answers come late; one never heard answering gets status_timeout.
        """
        started = time.monotonic()
        last = None
        while owed:
            patience = self.timeout if self.answers_status else self.status_timeout
            left = started + patience - time.monotonic()
            byte = self._answer(sock, max(left, 0.001))
            if byte is None:
                if self.answers_status:
                    raise PrinterMaybePrinted(
                        f"printer {self.address} stopped answering while taking the job: it may not be on paper")
                return None  # a printer that does not answer status: silence is no sign
            owed -= 1
            last = byte
        if offline_after_job(last):
            raise PrinterMaybePrinted(
                f"printer {self.address} went offline while taking the job (paper out, cover open or "
                "an error): it may not be on paper", OFFLINE_AFTER_JOB)
        # the pre-check's full answer still holds; after a late one, the job's answer says online
        return before if before.state is not PrinterState.UNKNOWN else PrinterStatus(PrinterState.ONLINE)

    def _query(self, sock: socket.socket) -> tuple[PrinterStatus, int]:
        """The status, and how many requests are still owed an answer (a late one may yet come)."""
        owed = 0

        def exchange(request: bytes) -> int | None:
            nonlocal owed
            sock.settimeout(self.timeout)
            sock.sendall(request)
            answer = self._answer(sock)
            owed = int(answer is None)
            return answer

        return query_status(exchange), owed

    def _answer(self, sock: socket.socket, wait: float | None = None) -> int | None:
        """One status byte, None if none comes within wait (status_timeout); _HungUp if the printer hangs up."""
        sock.settimeout(self.status_timeout if wait is None else wait)
        try:
            byte = sock.recv(1)
        except TimeoutError:
            return None
        except ConnectionResetError as e:
            raise _HungUp from e
        if not byte:
            raise _HungUp
        self.answers_status = True
        return byte[0]

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
