"""The interface every printer driver implements."""

from __future__ import annotations

import abc
from typing import Any

from drivers.escpos.status import PrinterState, PrinterStatus
from drivers.options import reject_unknown


class PrinterError(Exception):
    """A print job failed; the message says what is wrong and what to do about it.

    status: what the printer said about itself while failing the job (paper out, ...), if it said anything.
    """

    def __init__(self, message: str, status: PrinterStatus | None = None) -> None:
        super().__init__(message)
        self.status = status


class PrinterOffline(PrinterError):
    """The printer could not be reached: worth retrying later, unlike other errors."""


class PrinterMaybePrinted(PrinterOffline):
    """The connection broke while the job was going out: some or all of it may be on paper.
    Sending it again could give the kitchen the order twice, so a person decides."""


class Printer(abc.ABC):
    """A printer that takes whole jobs as raw bytes.

    Subclasses take their settings as keyword-only arguments and pass anything they do not know
    on to this constructor, so a misspelt option in the config fails loudly at start-up.
    """

    def __init__(self, **options: Any) -> None:
        reject_unknown(self, options)

    @abc.abstractmethod
    def send(self, data: bytes) -> PrinterStatus | None:
        """Write one whole job. Blocks, but never forever: every step has a timeout.

        Returns what the printer said about itself as it took the job, None when it said nothing.
        Raises PrinterOffline when the printer cannot be reached, PrinterError on other failures.
        """

    def status(self) -> PrinterStatus:
        """Ask the printer how it is. Blocks briefly; never raises for an unreachable printer.

        OFFLINE when it cannot be reached, UNKNOWN when it does not say (as here, by default).
        """
        return PrinterStatus(PrinterState.UNKNOWN, "this connection is one-way")

    def describe(self) -> str:
        """A short human label, e.g. for the staff dashboard and log lines."""
        return type(self).__name__
