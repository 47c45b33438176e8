"""Text from outside (a diner's note, item, modifier and table names) reaches the printer only as
printable text: no byte of it can become a command."""

from datetime import datetime

import pytest

from drivers.escpos.codepages import encode_text, printable
from drivers.escpos.emulator import PrinterBrain
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket

# Cut, bold-size, drawer kick and reset, then a right-to-left override and a C1 control.
HOSTILE = "no onions\x1dV\x00\x1b!\x30\x1bp\x00\x19\xfa\x1b@\u202eevil\x85\x7f\x00\ttab\r"


def test_a_hostile_note_prints_as_text_and_cuts_once():
    ticket = KitchenTicket(
        table_name="T\x1bp\x00\x19\xfa 1\u202e", order_number=1, placed_at=datetime(2024, 5, 17, 19, 5),
        lines=[TicketLine(1, "Pizza\x1d!\x11 €", ["Basil\x1b@"], HOSTILE)],
    )
    data = render_kitchen_ticket(ticket)
    assert data.count(b"\x1b@") == 1 and data.startswith(b"\x1b@")  # only the renderer's own reset
    assert data.count(b"\x1dV") == 1 and b"\x1bp" not in data and b"\x1b!" not in data
    brain = PrinterBrain()
    session = brain.session()
    session.feed(data)
    session.close()
    assert brain.incomplete == []
    [text] = brain.tickets
    assert "Pizza! €" in text  # the code page was never reset under the euro sign
    assert "Tpú 1" in text.splitlines()  # ESC p 0 25 250 lost its ESC, so it kicks no drawer
    assert "  + Basil@" in text.splitlines()
    assert "  ! no onionsV!0pú@evil  tab" in text.splitlines()  # wrapping made U+0085 a space
    assert "\u202e" not in text and "\x85" not in text


@pytest.mark.parametrize("codec", ["cp858", "cp437", "cp866"])
def test_no_control_byte_survives_encoding(codec):
    every_char = "".join(map(chr, range(0x3000))) + "\u202e\u2066\ufeff\U000e0001"
    data = encode_text(printable(every_char), codec)
    assert not any(b < 0x20 and b != 0x0A or b == 0x7F for b in data)


def test_printable_keeps_newlines_and_makes_tabs_spaces():
    assert printable("a\tb\nc\r\n") == "a b\nc\n"
    assert printable("Käse – € 12") == "Käse – € 12"
