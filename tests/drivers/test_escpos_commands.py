import pytest

from drivers.escpos.commands import EscPos
from drivers.escpos.status import status_request


def test_init_is_esc_at():
    assert EscPos().init().to_bytes() == b"\x1b@"


def test_text_selects_code_page_once_then_encodes_cp437():
    doc = EscPos().text("café ").text("½")
    assert doc.to_bytes() == b"\x1bt\x00caf\x82 \xab"


def test_init_makes_text_select_the_code_page_again():
    assert EscPos().text("a").init().text("b").to_bytes() == b"\x1bt\x00a\x1b@\x1bt\x00b"


def test_unencodable_characters_become_question_marks():
    assert EscPos().text("ok ✓ 寿司").to_bytes() == b"\x1bt\x00ok ? ??"


def test_other_code_page_uses_its_number():
    assert EscPos("cp858").text("€").to_bytes() == b"\x1bt\x13\xd5"


def test_unknown_code_page_is_refused():
    with pytest.raises(ValueError, match="code page"):
        EscPos("utf-8")


def test_line_ends_with_lf():
    assert EscPos().line("x").line().to_bytes() == b"\x1bt\x00x\n\n"


def test_bold():
    assert EscPos().bold(True).bold(False).to_bytes() == b"\x1bE\x01\x1bE\x00"


@pytest.mark.parametrize(("w", "h", "n"), [(1, 1, 0x00), (2, 2, 0x11), (2, 1, 0x10), (1, 3, 0x02), (8, 8, 0x77)])
def test_size(w, h, n):
    assert EscPos().size(w, h).to_bytes() == bytes([0x1D, 0x21, n])


@pytest.mark.parametrize("bad", [(0, 1), (1, 9)])
def test_size_out_of_range(bad):
    with pytest.raises(ValueError):
        EscPos().size(*bad)


@pytest.mark.parametrize(("how", "n"), [("left", 0), ("center", 1), ("right", 2)])
def test_align(how, n):
    assert EscPos().align(how).to_bytes() == bytes([0x1B, 0x61, n])


def test_align_rejects_unknown():
    with pytest.raises(ValueError, match="left"):
        EscPos().align("middle")


def test_feed():
    assert EscPos().feed(3).to_bytes() == b"\x1bd\x03"
    with pytest.raises(ValueError):
        EscPos().feed(256)


def test_cut_is_feed_and_partial_cut():
    assert EscPos().cut().to_bytes() == b"\x1dVB\x00"


def test_methods_chain_and_bytes_accumulate_in_order():
    doc = EscPos().init().bold().line("A").cut()
    assert doc.to_bytes() == b"\x1b@\x1bE\x01\x1bt\x00A\n\x1dVB\x00"


def test_status_request_constants():
    assert status_request(1) == b"\x10\x04\x01"
    assert status_request(4) == b"\x10\x04\x04"
