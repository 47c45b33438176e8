from datetime import datetime

from drivers.escpos.commands import EscPos
from drivers.escpos.decoder import EscPosDecoder, decode_escpos
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket


def ticket(number: int, table: str = "Terrasse 3") -> bytes:
    return render_kitchen_ticket(
        KitchenTicket(table, number, datetime(2024, 1, 2, 8, 30), [TicketLine(1, "Crème brûlée", ["Extra sauce"], "sans sucre")])
    )


def test_round_trip_gives_readable_text():
    [text] = decode_escpos(ticket(5))
    assert text.splitlines()[:3] == ["Terrasse 3", "Order #5", "08:30" + " " * 33 + "2024-01-02"]
    assert "1 x Crème brûlée\n  + Extra sauce\n  ! sans sucre\n" in text
    assert "\x1b" not in text and "\x1d" not in text
    assert text.endswith("\n")


def test_several_tickets_in_one_stream():
    tickets = decode_escpos(ticket(1) + ticket(2) + ticket(3))
    assert [t.splitlines()[1] for t in tickets] == ["Order #1", "Order #2", "Order #3"]


def test_bytes_after_the_last_cut_are_pending_not_a_ticket():
    decoder = EscPosDecoder()
    assert decoder.feed(ticket(1) + EscPos().init().line("half a ticket").to_bytes()).tickets[0].count("Order #1") == 1
    assert decoder.pending == "half a ticket\n"
    assert decode_escpos(EscPos().line("no cut").to_bytes()) == []
    assert decoder.feed(b"\x1dV\x00").tickets == ["half a ticket\n"]
    assert decoder.pending == ""


def test_all_cut_forms_split():
    stream = b"a\x1dV\x00b\x1dV\x01c\x1dV0d\x1dV1e\x1dVA\x05f\x1dVB\x00g"
    assert decode_escpos(stream) == ["a\n", "b\n", "c\n", "d\n", "e\n", "f\n"]


def test_command_arguments_are_not_text():
    stream = (
        b"\x1b@\x1bE\x01\x1b!\x30\x1ba\x01\x1bd\x41\x1bt\x00\x1d!\x11\x1b-\x01\x1dB\x01"
        b"\x10\x04\x01\x1bJ\x42\x1b\x32\x1bp\x00\x19\xfaHi\n\x1dVB\x00"
    )
    assert decode_escpos(stream) == ["Hi\n"]


def test_unknown_esc_skips_one_byte():
    # ESC q and ESC Z are not ours: each takes exactly one byte after ESC, the rest is text
    assert decode_escpos(b"\x1bqA\x1bZBC\x1dV\x00") == ["ABC\n"]


def test_status_requests_are_reported_not_printed():
    out = EscPosDecoder().feed(b"\x10\x04\x01ab\x10\x04\x04")
    assert out.status_requests == [1, 4]
    assert out.tickets == []


def test_commands_split_across_chunks():
    data = ticket(9) + b"\x10\x04\x02"
    decoder = EscPosDecoder()
    tickets, requests = [], []
    for i in range(len(data)):
        out = decoder.feed(data[i : i + 1])
        tickets += out.tickets
        requests += out.status_requests
    assert tickets == decode_escpos(ticket(9))
    assert requests == [2]


def test_code_page_switch_is_honoured():
    data = EscPos("cp858").line("5 €").cut().to_bytes()
    assert decode_escpos(data) == ["5 €\n"]
