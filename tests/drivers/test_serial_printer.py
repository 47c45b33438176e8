import os
import threading
import tty
from datetime import datetime

import pytest

from drivers.escpos.emulator import SerialEmulator
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket
from drivers.escpos.serial import SerialPrinter, discover_serial
from drivers.escpos.status import PrinterState
from drivers.printer import PrinterOffline
from drivers.registry import load_printer


def job(number: int = 1) -> bytes:
    return render_kitchen_ticket(
        KitchenTicket("Bar", number, datetime(2024, 3, 1, 21, 0), [TicketLine(2, "Käsespätzle")]), language="de"
    )


@pytest.fixture
def line():
    """A pseudo-terminal: the emulator on the master end, the printer driver on the slave's path."""
    master, slave = os.openpty()
    tty.setraw(slave)
    emu = SerialEmulator(master)
    emu.start()
    yield emu, os.ttyname(slave)
    emu.stop()
    os.close(slave)
    os.close(master)


def test_ticket_printed_over_pyserial_and_status_online(line):
    emu, port = line
    printer = SerialPrinter(port=port, baudrate=115200, timeout=2, status_timeout=0.5)
    assert printer.status().state is PrinterState.ONLINE
    assert printer.send(job(1)).state is PrinterState.ONLINE
    [ticket] = emu.wait_for_tickets(1, timeout=5)
    assert "Order #1" in ticket and "2 x Käsespätzle" in ticket


def test_paper_out_status_and_send_refused(line):
    emu, port = line
    emu.fault = "paper_out"
    printer = SerialPrinter(port=port, status_timeout=0.5)
    assert printer.status().state is PrinterState.PAPER_OUT
    with pytest.raises(PrinterOffline, match="out of paper") as refused:
        printer.send(job(2))
    assert refused.value.status.state is PrinterState.PAPER_OUT
    emu.fault = None
    printer.send(job(3))
    [ticket] = emu.wait_for_tickets(1)
    assert "Order #3" in ticket


def test_offline_emulator_gives_unknown_status(line):
    emu, port = line
    emu.fault = "offline"
    assert SerialPrinter(port=port, status_timeout=0.2).status().state is PrinterState.UNKNOWN


def test_missing_port_is_offline_naming_it(tmp_path):
    port = str(tmp_path / "ttyUSB9")
    printer = SerialPrinter(port=port, check_status=False)
    with pytest.raises(PrinterOffline, match="ttyUSB9"):
        printer.send(b"x")
    assert printer.status().state is PrinterState.OFFLINE


@pytest.mark.parametrize("options", [{"baudrate": 14400}, {"baudrate": 230400}, {"flow_control": "dsrdtr"}, {"timeout": 0}])
def test_bad_settings_are_refused(options):
    with pytest.raises(ValueError):
        SerialPrinter(port="/dev/ttyS0", **options)


@pytest.mark.parametrize("rate", [9600, 19200, 38400, 57600, 115200])
def test_standard_rates_accepted(rate):
    assert SerialPrinter(port="/dev/ttyS0", baudrate=rate).baudrate == rate


def test_loaded_by_entry_point():
    printer = load_printer("escpos-serial", port="/dev/ttyUSB0", baudrate=9600, flow_control="rtscts")
    assert isinstance(printer, SerialPrinter) and "/dev/ttyUSB0" in printer.describe()


def test_discover_serial_lists_strings():
    assert all(isinstance(p, str) for p in discover_serial())


def _printer_on_master(master: int, answers_after_job: bytes) -> threading.Thread:
    """A printer answering the pre-check 'online', then the request after the job as told."""
    from drivers.escpos.emulator import STATUS_ONLINE

    def serve():
        received = b""
        for n in (1, 2, 3, 4):
            while not received.endswith(bytes([0x10, 0x04, n])):
                received += os.read(master, 4096)
            os.write(master, bytes([STATUS_ONLINE[n]]))
        received = b""
        while not received.endswith(b"\x10\x04\x01"):
            received += os.read(master, 4096)
        os.write(master, answers_after_job)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("answer", "says"), [(b"\x1e", "went offline"), (b"", "stopped answering")])
def test_a_printer_that_fails_while_taking_the_job_is_not_counted_as_printed(answer, says):
    from drivers.printer import PrinterMaybePrinted

    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        printer_side = _printer_on_master(master, answer)
        printer = SerialPrinter(port=os.ttyname(slave), timeout=0.5, status_timeout=0.5)
        with pytest.raises(PrinterMaybePrinted, match=says):
            printer.send(job(4))
        printer_side.join(2)
    finally:
        os.close(slave)
        os.close(master)
