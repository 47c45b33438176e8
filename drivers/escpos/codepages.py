"""Which ESC/POS code page prints a menu language, and how text is encoded for it.

A receipt printer has no Unicode: it prints one byte a character from a code page chosen with
ESC t n. Each menu language maps to the page that holds its letters:

========================  =========  ======  =====================================
languages                 page       ESC t   prints correctly
========================  =========  ======  =====================================
en de fr es it nl pt      CP858       19     Western European letters and the € sign
pl cs hu                  CP852       18     Central European letters (ą ł ő č ...)
ru uk                     CP866       17     Cyrillic (Ukrainian і prints as Latin i)
el                        CP737       14     Greek, tonos accents included
tr                        CP857       13     Turkish (ğ ı ş İ ...)
========================  =========  ======  =====================================

Every other language prints with CP858: Latin letters with accents a page lacks lose the
accent (ł -> l), typographic quotes and dashes become ASCII, anything else prints as '?'. The
page numbers are Epson's; most Epson-compatible printers agree, but a few cheap clones number
pages differently, which shows as wrong accented letters on an otherwise correct ticket.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType

# Python codec -> the n of ESC t n (Epson numbering).
CODE_PAGES = MappingProxyType({
    "cp437": 0, "cp850": 2, "cp860": 3, "cp863": 4, "cp865": 5, "cp857": 13, "cp737": 14,
    "cp1252": 16, "cp866": 17, "cp852": 18, "cp858": 19,
})

DEFAULT_CODEPAGE = "cp858"

LANGUAGE_CODEPAGES = MappingProxyType(
    dict.fromkeys(("en", "de", "fr", "es", "it", "nl", "pt"), "cp858")
    | dict.fromkeys(("pl", "cs", "hu"), "cp852")
    | dict.fromkeys(("ru", "uk"), "cp866")
    | {"el": "cp737", "tr": "cp857"}
)

# Typography a code page may lack, with the nearest ASCII.
_ASCII_STANDINS = MappingProxyType({
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*",
    "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D", "\u0131": "i",
    "\u0153": "oe", "\u0152": "OE",
    "\u0456": "i", "\u0406": "I",  # Ukrainian i: CP866 lacks it, and the Latin letter looks the same
})


def primary_language(language: str) -> str:
    """'de-AT' and 'pt_BR' -> 'de' and 'pt'."""
    return language.replace("_", "-").split("-")[0].strip().lower()


def codepage_for_language(language: str) -> str:
    """The Python codec (a key of CODE_PAGES) to print a menu language with."""
    return LANGUAGE_CODEPAGES.get(primary_language(language), DEFAULT_CODEPAGE)


def _stand_in(ch: str, codec: str) -> bytes:
    for candidate in (_ASCII_STANDINS.get(ch), unicodedata.normalize("NFKD", ch)):
        if candidate:
            base = "".join(c for c in candidate if not unicodedata.combining(c))
            try:
                if base:
                    return base.encode(codec)
            except UnicodeEncodeError:
                pass
    return b"?"


# Unicode categories never printed: controls (C0, DEL, C1), format characters (bidi overrides,
# zero-width marks), surrogates, private use, and line/paragraph separators.
_UNPRINTED = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def printable(text: str) -> str:
    """Text with nothing a printer could take as a command: every control but newline is removed
    (a tab becomes a space), as are bidi overrides and other invisible format characters."""
    if text.isascii() and text.replace("\n", "").isprintable():
        return text  # the usual case, checked in C
    return "".join(
        ch if ch == "\n" else " " if ch == "\t" else ""
        if unicodedata.category(ch) in _UNPRINTED else ch
        for ch in text
    )


def encode_text(text: str, codec: str) -> bytes:
    """Text as bytes of the code page; what it cannot hold loses its accent, or prints as '?'.

    Text from outside (notes, names, POS imports) passes through printable() first, here at the
    one place text becomes bytes, so no byte of it is ever read as ESC/POS.
    """
    text = printable(text)
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        return b"".join(_stand_in(ch, codec) if _cannot(ch, codec) else ch.encode(codec) for ch in text)


def _cannot(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return True
    return False
