from datetime import datetime

import pytest

from drivers.escpos.decoder import decode_escpos
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket

CUT = b"\x1dVB\x00"


def make_ticket(**changes) -> KitchenTicket:
    fields = {
        "table_name": "Table 7",
        "order_number": 42,
        "placed_at": datetime(2024, 5, 17, 19, 5),
        "lines": [
            TicketLine(2, "Margherita", ["Extra cheese", "Basil"], "no onions"),
            TicketLine(1, "Tiramisu"),
        ],
    }
    return KitchenTicket(**(fields | changes))


def text_of(data: bytes) -> str:
    [text] = decode_escpos(data)
    return text


def test_contains_every_part():
    data = render_kitchen_ticket(make_ticket())
    assert data.startswith(b"\x1b@")
    text = text_of(data)
    lines = text.splitlines()
    assert "Table 7" in lines
    assert "Order #42" in lines
    assert "19:05" in text and "2024-05-17" in text
    assert "2 x Margherita" in lines
    assert "  + Extra cheese" in lines
    assert "  + Basil" in lines
    assert "  ! no onions" in lines
    assert "1 x Tiramisu" in lines
    assert "-" * 48 in lines
    assert lines.index("2 x Margherita") < lines.index("  + Extra cheese") < lines.index("1 x Tiramisu")


def test_table_name_is_double_size_bold_and_items_bold():
    data = render_kitchen_ticket(make_ticket())
    assert b"\x1bE\x01\x1d!\x11" + b"\x1bt\x13Table 7\n" in data
    assert b"\x1bE\x012 x Margherita\n" in data


def test_exactly_one_cut_at_the_end():
    data = render_kitchen_ticket(make_ticket())
    assert data.count(b"\x1dV") == 1
    assert data.endswith(CUT)


def test_reprint_banner_only_when_set():
    assert "REPRINT" not in text_of(render_kitchen_ticket(make_ticket()))
    text = text_of(render_kitchen_ticket(make_ticket(reprint=True)))
    assert text.splitlines()[0] == "** REPRINT **"


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_wraps_to_columns(columns):
    long_name = "Slow roasted pork belly with apple, celeriac puree and crackling"
    ticket = make_ticket(lines=[TicketLine(3, long_name, ["a really long modifier " * 3], "allergic " * 8)])
    text = text_of(render_kitchen_ticket(ticket, columns=columns))
    lines = text.splitlines()
    assert all(len(line) <= columns for line in lines)
    # the double-size header must fit too: each of its characters takes two columns
    assert all(len(line) * 2 <= columns for line in lines[:2])
    body = " ".join(line.strip() for line in lines if not line.startswith("-"))
    assert " ".join(long_name.split()) in body
    assert "allergic allergic" in body


def test_32_columns_wraps_a_dish_with_hanging_indent():
    ticket = make_ticket(lines=[TicketLine(2, "Chargrilled halloumi and watermelon salad")])
    lines = text_of(render_kitchen_ticket(ticket, columns=32)).splitlines()
    i = lines.index("2 x Chargrilled halloumi and")
    assert lines[i + 1] == "    watermelon salad"
    assert "-" * 32 in lines


def test_time_line_spans_the_paper():
    text = text_of(render_kitchen_ticket(make_ticket(), columns=32))
    assert "19:05" + " " * 17 + "2024-05-17" in text.splitlines()


def test_too_narrow_is_refused():
    with pytest.raises(ValueError):
        render_kitchen_ticket(make_ticket(), columns=8)


def test_paper_58mm_is_32_columns():
    lines = text_of(render_kitchen_ticket(make_ticket(), paper="58mm")).splitlines()
    assert "-" * 32 in lines and all(len(line) <= 32 for line in lines)


def test_lines_grouped_by_course_in_service_order():
    ticket = make_ticket(lines=[
        TicketLine(1, "Espresso", course="drink"),
        TicketLine(1, "Tiramisu", course="dessert"),
        TicketLine(2, "Bruschetta", course="starter"),
        TicketLine(1, "Bread"),
        TicketLine(1, "Fries", course="side"),
        TicketLine(1, "Lasagne", course="main"),
        TicketLine(1, "Olives", course="Starter"),
    ])
    lines = text_of(render_kitchen_ticket(ticket)).splitlines()
    order = ["-- STARTER --", "2 x Bruschetta", "1 x Olives", "-- MAIN --", "1 x Lasagne", "-- SIDE --", "1 x Fries",
             "-- DESSERT --", "1 x Tiramisu", "-- DRINK --", "1 x Espresso", "-- OTHER --", "1 x Bread"]
    assert [line for line in lines if line in order] == order


def test_no_course_headers_when_no_line_names_a_course():
    assert "--" not in " ".join(text_of(render_kitchen_ticket(make_ticket())).splitlines()[2:-1]).replace("-" * 48, "")


def test_language_picks_the_code_page_and_text_round_trips():
    ticket = make_ticket(table_name="Terrasse", lines=[TicketLine(1, "Œufs brouillés à 9 €", note="sans crème")])
    data = render_kitchen_ticket(ticket, language="fr")
    assert b"\x1bt\x13" in data
    text = text_of(data)
    assert "1 x OEufs brouillés à 9 €" in text and "  ! sans crème" in text
    pl = text_of(render_kitchen_ticket(make_ticket(lines=[TicketLine(1, "Żurek, gołąbki")]), language="pl"))
    assert "1 x Żurek, gołąbki" in pl
