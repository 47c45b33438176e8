"""Turns an ESC/POS byte stream back into readable tickets, one per cut.

Used by the printer emulator and by tests. It knows how long each command is, so command
arguments are never mistaken for text or for a status request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from drivers.escpos.commands import CODE_PAGES, DLE, EOT, ESC, GS, LF

FS = 0x1C
HT = 0x09

# Length in bytes, prefix included, of the fixed-length commands we skip. ESC x not listed here
# is taken to be two bytes long, which is right for most of the rest.
_ESC_LENGTHS = MappingProxyType({
    ord(c): n
    for c, n in {
        "@": 2, "E": 3, "!": 3, "a": 3, "d": 3, "t": 3, "-": 3, "J": 3, "G": 3, "M": 3,
        " ": 3, "3": 3, "{": 3, "R": 3, "r": 3, "V": 3, "e": 3, "c": 4, "$": 4, "p": 5,
    }.items()
})
_GS_LENGTHS = MappingProxyType({ord(c): 3 for c in "!BHfhwabr"} | {ord("L"): 4, ord("W"): 4})
_CUT_SHORT = frozenset({0, 1, 48, 49})  # GS V m
_CUT_FEED = frozenset({65, 66, 97, 98})  # GS V m n: feed n, then cut
_PAGE_CODECS = MappingProxyType({n: codec for codec, n in CODE_PAGES.items()})
_DEFAULT_CODEC = "cp437"


@dataclass
class Decoded:
    """What one chunk of the stream completed."""

    tickets: list[str] = field(default_factory=list)
    status_requests: list[int] = field(default_factory=list)  # n of each DLE EOT n, in order


class EscPosDecoder:
    """Incremental: feed it chunks as they arrive; a command split across chunks is kept until whole."""

    def __init__(self) -> None:
        self._unparsed = b""
        self._codec = _DEFAULT_CODEC
        self._text: list[str] = []  # decoded parts of the ticket being printed
        self._raw_text = bytearray()  # text bytes not yet decoded, all in self._codec

    @property
    def pending(self) -> str:
        """Text received since the last cut: a ticket the printer has not finished."""
        return "".join(self._text) + self._raw_text.decode(self._codec, errors="replace")

    def feed(self, data: bytes) -> Decoded:
        out = Decoded()
        buf = self._unparsed + data
        i = 0
        while i < len(buf):
            size = self._command_length(buf, i)
            if size is None:
                break  # incomplete command: wait for more bytes
            self._apply(buf[i : i + size], out)
            i += size
        self._unparsed = buf[i:]
        return out

    def _command_length(self, buf: bytes, i: int) -> int | None:
        """Bytes taken by the command or character at buf[i], or None when it is cut off."""
        lead = buf[i]
        if lead not in (ESC, GS, DLE, FS):
            return 1
        if i + 1 >= len(buf):
            return None
        op = buf[i + 1]
        if lead == ESC and op == ord("*"):
            # ESC * m nL nH data: a bit image n dots wide, 1 byte a dot in 8-dot modes, else 3
            if i + 4 >= len(buf):
                return None
            size = 5 + (buf[i + 3] + 256 * buf[i + 4]) * (1 if buf[i + 2] in (0, 1) else 3)
        elif lead == ESC:
            size = _ESC_LENGTHS.get(op, 2)
        elif lead == GS and op == ord("V"):
            if i + 2 >= len(buf):
                return None
            size = 4 if buf[i + 2] in _CUT_FEED else 3
        elif lead == GS and op == ord("("):
            # GS ( fn pL pH data: the length is in the command
            if i + 4 >= len(buf):
                return None
            size = 5 + buf[i + 3] + 256 * buf[i + 4]
        elif lead == GS and op == ord("v"):
            # GS v 0 m xL xH yL yH data: a raster image of x bytes by y dots
            if i + 7 >= len(buf):
                return None
            size = 8 + (buf[i + 4] + 256 * buf[i + 5]) * (buf[i + 6] + 256 * buf[i + 7])
        elif lead == GS:
            size = _GS_LENGTHS.get(op, 2)
        elif lead == DLE:
            size = 3 if op in (EOT, 0x05) else 1  # DLE EOT n, DLE ENQ n; a lone DLE is just skipped
        else:
            size = 2
        return size if i + size <= len(buf) else None

    def _apply(self, cmd: bytes, out: Decoded) -> None:
        lead = cmd[0]
        if len(cmd) == 1:
            if lead == LF or lead == HT or lead >= 0x20:
                self._raw_text.append(lead)
            return  # other control characters (CR, ...) print nothing
        op = cmd[1]
        if lead == GS and op == ord("V") and (cmd[2] in _CUT_SHORT or cmd[2] in _CUT_FEED):
            out.tickets.append(self._finish_ticket())
        elif lead == DLE and op == EOT:
            out.status_requests.append(cmd[2])
        elif lead == ESC and op == ord("t"):
            self._switch_codec(_PAGE_CODECS.get(cmd[2], _DEFAULT_CODEC))
        elif lead == ESC and op == ord("@"):
            self._switch_codec(_DEFAULT_CODEC)

    def _switch_codec(self, codec: str) -> None:
        self._text.append(self._raw_text.decode(self._codec, errors="replace"))
        self._raw_text.clear()
        self._codec = codec

    def _finish_ticket(self) -> str:
        text = self.pending.rstrip("\n")
        self._text.clear()
        self._raw_text.clear()
        return text + "\n" if text else ""


def decode_escpos(data: bytes) -> list[str]:
    """The readable text of each ticket in a whole stream; text after the last cut is left out."""
    return EscPosDecoder().feed(data).tickets
