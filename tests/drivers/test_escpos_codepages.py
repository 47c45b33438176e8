import pytest

from drivers.escpos.codepages import CODE_PAGES, codepage_for_language, encode_text
from drivers.escpos.commands import EscPos
from drivers.escpos.decoder import decode_escpos


@pytest.mark.parametrize(
    ("language", "codec", "n"),
    [("en", "cp858", 19), ("de", "cp858", 19), ("fr-CA", "cp858", 19), ("pt_BR", "cp858", 19), ("pl", "cp852", 18),
     ("cs", "cp852", 18), ("hu", "cp852", 18), ("ru", "cp866", 17), ("uk", "cp866", 17), ("el", "cp737", 14),
     ("tr", "cp857", 13), ("ja", "cp858", 19), ("", "cp858", 19)],
)
def test_language_to_page(language, codec, n):
    assert codepage_for_language(language) == codec
    assert EscPos.for_language(language).text("x").to_bytes() == bytes([0x1B, ord("t"), n]) + b"x"
    assert CODE_PAGES[codec] == n


@pytest.mark.parametrize(
    ("language", "text"),
    [("de", "Käsespätzle für 12,50 € – Grüße, Straße"), ("fr", "Crème brûlée, œuf cocotte, façon maître: 9 €"),
     ("pl", "Żurek z jajkiem, pierogi ruskie, gołąbki"), ("ru", "Борщ со сметаной"), ("el", "Χωριάτικη σαλάτα"),
     ("tr", "Işkembe çorbası, döner, ğ ş İ ı")],
)
def test_round_trip_through_the_decoder(language, text):
    data = EscPos.for_language(language).init().line(text).cut().to_bytes()
    expected = text.replace("–", "-")
    if language == "fr":
        expected = expected.replace("œ", "oe")
    assert decode_escpos(data) == [expected + "\n"]


def test_decoder_follows_page_switches_mid_ticket():
    data = EscPos("cp858").init().text("€ ").to_bytes() + b"\x1bt\x11" + "Щи".encode("cp866") + b"\n\x1dV\x00"
    assert decode_escpos(data) == ["€ Щи\n"]


def test_unprintable_loses_accent_or_becomes_question_mark():
    assert encode_text("Łódź 寿司 “ok”", "cp858") == b'L\xa2dz ?? "ok"'
