import errno
import os
import threading
import tty

import pytest

from drivers.escpos import usb as usb_module
from drivers.escpos.emulator import SerialEmulator
from drivers.escpos.status import PrinterState
from drivers.escpos.usb import UsbPrinter, discover_usb
from drivers.printer import PrinterOffline
from drivers.registry import load_printer


def test_job_written_to_a_temp_file_standing_for_the_device(tmp_path):
    device = tmp_path / "lp0"
    device.write_bytes(b"")
    UsbPrinter(device=str(device)).send(b"\x1b@hello\n\x1dVB\x00")
    assert device.read_bytes() == b"\x1b@hello\n\x1dVB\x00"


def test_job_written_through_a_fifo(tmp_path):
    fifo = tmp_path / "lp1"
    os.mkfifo(fifo)
    received = bytearray()

    def read_all():
        with open(fifo, "rb") as f:
            received.extend(f.read())

    reader = threading.Thread(target=read_all)
    reader.start()
    data = bytes(range(256)) * 1000  # more than a pipe holds: the writer must wait for the reader
    try:
        # open(O_NONBLOCK) of a FIFO fails with ENXIO until the reader has it open
        for _ in range(100):
            try:
                UsbPrinter(device=str(fifo), timeout=5).send(data)
                break
            except PrinterOffline:
                threading.Event().wait(0.02)
    finally:
        reader.join(5)
    assert bytes(received) == data


def test_missing_device_says_what_to_check(tmp_path):
    with pytest.raises(PrinterOffline, match="no such device .*plugged in and switched on"):
        UsbPrinter(device=str(tmp_path / "lp7")).send(b"x")


def test_permission_denied_says_lp_group(tmp_path, monkeypatch):
    device = tmp_path / "lp0"
    device.write_bytes(b"")

    def denied(path, flags, *args):  # what the kernel answers a user outside the lp group
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(usb_module.os, "open", denied)
    with pytest.raises(PrinterOffline, match="lp group"):
        UsbPrinter(device=str(device)).send(b"x")


def test_status_unknown_when_the_device_says_nothing(tmp_path):
    device = tmp_path / "lp0"
    device.write_bytes(b"")
    assert UsbPrinter(device=str(device), status_timeout=0.2).status().state is PrinterState.UNKNOWN


def test_status_of_missing_device_is_offline(tmp_path):
    status = UsbPrinter(device=str(tmp_path / "lp7")).status()
    assert status.state is PrinterState.OFFLINE and "plugged in" in status.detail


@pytest.mark.parametrize(("fault", "state"), [(None, PrinterState.ONLINE), ("paper_out", PrinterState.PAPER_OUT)])
def test_status_read_back_from_a_device_that_answers(fault, state):
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with SerialEmulator(master) as emu:
            emu.fault = fault
            assert UsbPrinter(device=os.ttyname(slave), status_timeout=1).status().state is state
    finally:
        os.close(slave)
        os.close(master)


def test_loaded_by_entry_point():
    printer = load_printer("escpos-usb", device="/dev/usb/lp3", timeout=2)
    assert isinstance(printer, UsbPrinter) and printer.device == "/dev/usb/lp3"


def test_discover_usb_lists_strings():
    assert all(p.startswith("/dev/usb/lp") for p in discover_usb())
