"""What a printer says about itself: the four DLE EOT n real-time status bytes, decoded.

Each answer is one byte with fixed bits (bit 1 and bit 4 set, bit 0 and bit 7 clear) around the
flags, per the Epson ESC/POS reference:

- n=1 printer:        bit 3 offline
- n=2 offline cause:  bit 2 cover open, bit 3 paper being fed by the button,
                      bit 5 printing stopped at paper end, bit 6 an error occurred
- n=3 error cause:    bit 3 auto-cutter error, bit 5 unrecoverable error, bit 6 auto-recoverable
                      error (e.g. the head is too hot)
- n=4 paper sensor:   bits 2-3 roll near its end, bits 5-6 paper out

A printer that did not answer is UNKNOWN, never ONLINE.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from drivers.escpos.commands import DLE, EOT

FIXED_MASK = 0b1001_0011
FIXED_VALUE = 0b0001_0010


class PrinterState(enum.StrEnum):
    ONLINE = "online"
    COVER_OPEN = "cover_open"
    PAPER_NEAR_END = "paper_near_end"  # still prints: change the roll soon
    PAPER_OUT = "paper_out"
    ERROR = "error"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


# States in which a job sent now would not print.
NOT_PRINTING = frozenset({PrinterState.COVER_OPEN, PrinterState.PAPER_OUT, PrinterState.ERROR, PrinterState.OFFLINE})


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    detail: str = ""

    @property
    def can_print(self) -> bool:
        """False only when the printer said it cannot print; UNKNOWN is given the benefit of the doubt."""
        return self.state not in NOT_PRINTING


def status_request(n: int) -> bytes:
    """DLE EOT n."""
    return bytes([DLE, EOT, n])


def parse_status(responses: Mapping[int, int | None]) -> PrinterStatus:
    """The state from the answers to DLE EOT 1..4, keyed by n; None or absent means no answer."""
    for n in (1, 2, 3, 4):
        byte = responses.get(n)
        if byte is None:
            return PrinterStatus(PrinterState.UNKNOWN, f"no answer to status request DLE EOT {n}")
        if not 0 <= byte <= 255 or byte & FIXED_MASK != FIXED_VALUE:
            return PrinterStatus(PrinterState.UNKNOWN, "garbled status")
    printer, offline, error, paper = (responses[n] for n in (1, 2, 3, 4))
    assert printer is not None and offline is not None and error is not None and paper is not None

    if paper & 0x60 or offline & 0x20:
        return PrinterStatus(PrinterState.PAPER_OUT, "out of paper: load a new roll")
    if offline & 0x04:
        return PrinterStatus(PrinterState.COVER_OPEN, "the cover is open: close it")
    if error & 0x08:
        return PrinterStatus(PrinterState.ERROR, "auto-cutter error: clear the paper jam, then close the cover")
    if error & 0x20:
        return PrinterStatus(PrinterState.ERROR, "unrecoverable error: switch the printer off and on")
    if error & 0x40:
        return PrinterStatus(PrinterState.ERROR, "printing paused (e.g. the head is too hot); it resumes by itself")
    if offline & 0x40:
        return PrinterStatus(PrinterState.ERROR, "the printer reports an error")
    if printer & 0x08:
        if offline & 0x08:
            return PrinterStatus(PrinterState.OFFLINE, "paper is being fed with the button")
        return PrinterStatus(PrinterState.OFFLINE, "the printer says it is offline")
    if paper & 0x0C:
        return PrinterStatus(PrinterState.PAPER_NEAR_END, "the paper roll is nearly used up: have a new one ready")
    return PrinterStatus(PrinterState.ONLINE)


def offline_after_job(byte: int | None) -> bool:
    """Whether the DLE EOT 1 answer that follows a job says the printer is offline (paper out,
    cover open, an error): it took the bytes but may not have put them on paper."""
    return byte is not None and byte & FIXED_MASK == FIXED_VALUE and bool(byte & 0x08)


OFFLINE_AFTER_JOB = PrinterStatus(
    PrinterState.OFFLINE, "the printer went offline as it took the last job (paper out, cover open or an error)")


def query_status(exchange: Callable[[bytes], int | None]) -> PrinterStatus:
    """Asks DLE EOT 1..4 through exchange (send a request, return the one-byte answer or None).

    Stops at the first request left unanswered: a late answer must not be read as the next one.
    """
    responses: dict[int, int | None] = {}
    for n in (1, 2, 3, 4):
        responses[n] = exchange(status_request(n))
        if responses[n] is None:
            break
    return parse_status(responses)
