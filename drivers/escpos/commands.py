"""A builder for ESC/POS documents: formatting calls in, printer bytes out."""

from __future__ import annotations

from types import MappingProxyType
from typing import Self

from drivers.escpos.codepages import CODE_PAGES, codepage_for_language, encode_text

ESC = 0x1B
GS = 0x1D
DLE = 0x10
EOT = 0x04
LF = 0x0A

__all__ = ["CODE_PAGES", "EscPos"]  # CODE_PAGES (codec -> n of ESC t n) lives in codepages.py

QR_ERROR_LEVELS = MappingProxyType({"L": 48, "M": 49, "Q": 50, "H": 51})
ALIGNMENTS = MappingProxyType({"left": 0, "center": 1, "right": 2})


def _byte(value: int, what: str) -> int:
    if not 0 <= value <= 255:
        raise ValueError(f"{what} must be 0..255, got {value}")
    return value


class EscPos:
    """Collects ESC/POS bytes. Every method returns the builder, so calls can be chained."""

    def __init__(self, codepage: str = "cp437") -> None:
        if codepage not in CODE_PAGES:
            raise ValueError(f"unsupported code page {codepage!r}; choose one of {', '.join(CODE_PAGES)}")
        self.codepage = codepage
        self._codepage_selected = False
        self._buf = bytearray()

    @classmethod
    def for_language(cls, language: str) -> Self:
        """A builder in the code page that prints the language (see codepages.py)."""
        return cls(codepage_for_language(language))

    def _raw(self, *parts: int) -> Self:
        self._buf += bytes(parts)
        return self

    def init(self) -> Self:
        """ESC @: reset the printer, which also drops the code page, so text() selects it again."""
        self._codepage_selected = False
        return self._raw(ESC, ord("@"))

    def text(self, s: str) -> Self:
        """Text in the builder's code page; characters it cannot encode print as '?'."""
        if not self._codepage_selected:
            # The printer's default page is a setting on the printer: never trust it.
            self._raw(ESC, ord("t"), CODE_PAGES[self.codepage])
            self._codepage_selected = True
        self._buf += encode_text(s, self.codepage)
        return self

    def line(self, s: str = "") -> Self:
        return self.text(s + "\n")

    def bold(self, on: bool = True) -> Self:
        """ESC E n."""
        return self._raw(ESC, ord("E"), 1 if on else 0)

    def size(self, width: int = 1, height: int = 1) -> Self:
        """GS ! n: character magnification, 1..8 each way."""
        for name, value in (("width", width), ("height", height)):
            if not 1 <= value <= 8:
                raise ValueError(f"{name} must be 1..8, got {value}")
        return self._raw(GS, ord("!"), (width - 1) << 4 | (height - 1))

    def align(self, how: str) -> Self:
        """ESC a n; takes effect at the start of a line."""
        if how not in ALIGNMENTS:
            raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, got {how!r}")
        return self._raw(ESC, ord("a"), ALIGNMENTS[how])

    def feed(self, lines: int = 1) -> Self:
        """ESC d n: print what is buffered and feed n lines."""
        return self._raw(ESC, ord("d"), _byte(lines, "feed lines"))

    def cut(self) -> Self:
        """GS V 66 0: feed to the cutter and cut partially (a full cut can jam some printers)."""
        return self._raw(GS, ord("V"), 66, 0)

    def qr(self, data: str, module_size: int = 6, error_level: str = "M") -> Self:
        """GS ( k: a QR code (model 2) of ASCII data, e.g. a URL, printed where the line starts."""
        if not 1 <= module_size <= 16:
            raise ValueError(f"QR module size must be 1..16, got {module_size}")
        if error_level not in QR_ERROR_LEVELS:
            raise ValueError(f"QR error level must be one of {', '.join(QR_ERROR_LEVELS)}, got {error_level!r}")
        payload = data.encode("ascii")
        if not 0 < len(payload) <= 7089:
            raise ValueError(f"QR data must be 1..7089 bytes, got {len(payload)}")
        store = len(payload) + 3
        return (
            self._raw(GS, ord("("), ord("k"), 4, 0, 49, 65, 50, 0)  # model 2
            ._raw(GS, ord("("), ord("k"), 3, 0, 49, 67, module_size)
            ._raw(GS, ord("("), ord("k"), 3, 0, 49, 69, QR_ERROR_LEVELS[error_level])
            ._raw(GS, ord("("), ord("k"), store & 0xFF, store >> 8, 49, 80, 48, *payload)
            ._raw(GS, ord("("), ord("k"), 3, 0, 49, 81, 48)  # print what was stored
        )

    def to_bytes(self) -> bytes:
        return bytes(self._buf)
