import pytest

from drivers.escpos.tcp import TcpPrinter
from drivers.pos.simulator import SimulatorPos
from drivers.registry import available_pos, available_printers, load_pos, load_printer


def test_builtins_are_listed():
    assert "escpos-tcp" in available_printers()
    assert "simulator" in available_pos()
    assert available_printers() == sorted(available_printers())


def test_loads_printer_with_options():
    printer = load_printer("escpos-tcp", host="10.0.0.5", port=9101, timeout=1.5)
    assert isinstance(printer, TcpPrinter)
    assert (printer.host, printer.port, printer.timeout) == ("10.0.0.5", 9101, 1.5)


def test_loads_pos_with_options(tmp_path):
    pos = load_pos("simulator", path=tmp_path / "checks.jsonl")
    assert isinstance(pos, SimulatorPos)
    assert pos.path == tmp_path / "checks.jsonl"


def test_unknown_printer_kind_names_it_and_the_known_ones():
    with pytest.raises(LookupError, match=r"'laser'.*known kinds: .*escpos-tcp"):
        load_printer("laser")


def test_unknown_pos_kind_names_it_and_the_known_ones():
    with pytest.raises(LookupError, match=r"'abacus'.*known kinds: .*simulator.*square.*webhook"):
        load_pos("abacus")
