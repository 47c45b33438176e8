from datetime import datetime

import pytest

from drivers.escpos.decoder import decode_escpos
from drivers.escpos.receipt import Receipt, ReceiptLine, format_amount, render_receipt

QR_PRINT = b"\x1d(k\x03\x001Q0"


def make_receipt(**changes) -> Receipt:
    fields = dict(
        restaurant_name="Trattoria Da Mario",
        table_name="Table 7",
        order_numbers=[41, 42],
        lines=[
            ReceiptLine(2, "Margherita with buffalo mozzarella and fresh basil", 2400, ["Extra cheese"]),
            ReceiptLine(1, "Tiramisu", 650),
        ],
        currency="EUR",
        subtotal_minor=3050,
        taxes=[("VAT 10% incl.", 277)],
        tip_minor=450,
        total_minor=3500,
        paid_by="Visa ****4242",
        printed_at=datetime(2024, 5, 17, 21, 30),
    )
    return Receipt(**(fields | changes))


def lines_of(data: bytes) -> list[str]:
    [text] = decode_escpos(data)
    return text.splitlines()


@pytest.mark.parametrize(("paper", "columns"), [("80mm", 48), ("58mm", 32)])
def test_width_totals_taxes_tip(paper, columns):
    data = render_receipt(make_receipt(footer="Thank you! Grazie mille, see you soon at Da Mario"), paper=paper)
    lines = lines_of(data)
    assert all(len(line) <= columns for line in lines)
    assert "-" * columns in lines
    assert "Subtotal".ljust(columns - 5) + "30.50" in lines
    assert "VAT 10% incl.".ljust(columns - 4) + "2.77" in lines
    assert "Tip".ljust(columns - 4) + "4.50" in lines
    assert "Total".ljust(columns - 9) + "EUR 35.00" in lines
    assert "Paid by".ljust(columns - 13) + "Visa ****4242" in lines
    assert any(line.startswith("1 x Tiramisu") and line.endswith(" 6.50") for line in lines)
    assert any(line.startswith("2 x Margherita") and line.endswith(" 24.00") for line in lines)
    assert "  + Extra cheese" in lines
    assert "Order #41, #42" in lines
    assert data.count(b"\x1dV") == 1 and data.endswith(b"\x1dVB\x00")
    assert QR_PRINT not in data


def test_qr_code_when_url_set():
    url = "https://hub.example/r/7f3a"
    data = render_receipt(make_receipt(e_receipt_url=url), paper="58mm")
    store = len(url) + 3
    assert b"\x1d(k" + bytes([store, 0]) + b"1P0" + url.encode() in data
    assert data.index(url.encode()) < data.index(QR_PRINT) < data.index(b"\x1dV")
    assert url not in "\n".join(lines_of(data))  # the QR payload is not printed as text


def test_no_tip_line_when_no_tip():
    assert not any(line.startswith("Tip") for line in lines_of(render_receipt(make_receipt(tip_minor=0))))


def test_jpy_has_no_decimals():
    receipt = make_receipt(
        currency="JPY", exponent=0, lines=[ReceiptLine(1, "Ramen", 1200)], subtotal_minor=1200,
        taxes=[("Tax 10%", 120)], tip_minor=0, total_minor=1320,
    )
    lines = lines_of(render_receipt(receipt))
    assert "Total".ljust(48 - 9) + "JPY 1,320" in lines
    assert any(line.startswith("1 x Ramen") and line.endswith(" 1,200") for line in lines)


@pytest.mark.parametrize(
    ("minor", "exponent", "language", "text"),
    [(123456, 2, "en", "1,234.56"), (123456, 2, "de", "1.234,56"), (5, 2, "en", "0.05"), (-250, 2, "en", "-2.50"),
     (1200, 0, "en", "1,200"), (1234, 3, "en", "1.234"), (99, 2, "fr", "0,99")],
)
def test_format_amount(minor, exponent, language, text):
    assert format_amount(minor, exponent, language) == text


def test_german_receipt_keeps_umlauts_and_euro():
    receipt = make_receipt(restaurant_name="Gasthaus Zur Mühle", footer="Preise in € inkl. MwSt.")
    lines = lines_of(render_receipt(receipt, language="de"))
    assert "Gasthaus Zur Mühle" in lines and "Preise in € inkl. MwSt." in lines
    assert "Gesamt".ljust(48 - 9) + "EUR 35,00" in lines


def test_reprint_marked():
    assert lines_of(render_receipt(make_receipt(reprint=True)))[0] == "** COPY **"


def test_unknown_paper_refused():
    with pytest.raises(ValueError):
        render_receipt(make_receipt(), paper="A4")
